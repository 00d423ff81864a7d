"""Numba kernels of the routing layer: pure loops on typed arrays writing into ``out``.

The wrapper (:class:`latency.routing.RoutingGraph`) checks the graph and the
sources and allocates the outputs; ``tests/test_sweep_speed_dijkstra.py``
compares the kernel with :func:`scipy.sparse.csgraph.dijkstra`, its twin.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dijkstra_rows"]


@njit(cache=True, nogil=True)
def dijkstra_rows(indptr, indices, weights, sources, dist_out, pred_out, hops_out):
    """Single-source shortest paths from each of ``sources`` (Dijkstra, binary heap, lazy deletion).

    ``dist_out``, ``pred_out`` and ``hops_out`` are ``(len(sources), n)``;
    unreachable nodes get ``inf``, -9999 (scipy's "no predecessor") and -1.
    A node's distance is the least ``dist[u] + w(u, v)`` over the neighbours
    settled before it, the same sums as :func:`scipy.sparse.csgraph.dijkstra`
    and so the same floating-point values; its predecessor is the first
    neighbour to reach that value, and ``hops`` counts the edges of the
    path through the predecessors.
    """
    n = indptr.size - 1
    heap_d = np.empty(indices.size + 1)
    heap_v = np.empty(indices.size + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    for k in range(sources.size):
        s = sources[k]
        d = dist_out[k]
        p = pred_out[k]
        h = hops_out[k]
        for v in range(n):
            d[v] = np.inf
            p[v] = -9999
            h[v] = -1
            done[v] = False
        d[s] = 0.0
        h[s] = 0
        size = 1
        heap_d[0] = 0.0
        heap_v[0] = s
        while size > 0:
            du = heap_d[0]
            u = heap_v[0]
            size -= 1
            if size > 0:
                xd = heap_d[size]
                xv = heap_v[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                        c += 1
                    if heap_d[c] < xd:
                        heap_d[i] = heap_d[c]
                        heap_v[i] = heap_v[c]
                        i = c
                    else:
                        break
                heap_d[i] = xd
                heap_v[i] = xv
            if done[u]:
                continue
            done[u] = True
            for j in range(indptr[u], indptr[u + 1]):
                v = indices[j]
                if done[v]:
                    continue
                nd = du + weights[j]
                if nd < d[v]:
                    d[v] = nd
                    p[v] = u
                    h[v] = h[u] + 1
                    i = size
                    size += 1
                    while i > 0:
                        parent = (i - 1) >> 1
                        if heap_d[parent] > nd:
                            heap_d[i] = heap_d[parent]
                            heap_v[i] = heap_v[parent]
                            i = parent
                        else:
                            break
                    heap_d[i] = nd
                    heap_v[i] = v
