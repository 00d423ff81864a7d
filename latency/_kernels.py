"""Numba kernels of the routing layer: pure loops on typed arrays writing into ``out``.

The wrapper (:class:`latency.routing.RoutingGraph`) checks the graph and the
sources and allocates the outputs; ``tests/test_sweep_speed_dijkstra.py``
compares the kernels with :func:`scipy.sparse.csgraph.dijkstra`, their twin.

Two ways to the same rows. :func:`dijkstra_rows` searches from scratch.
:func:`shortest_rows` may instead start a source from a shortest-path tree
of an earlier timestep (a sweep at small steps changes one or two
predecessors a step): the old tree, summed with today's weights, gives
every satellite the length of a real path, an upper bound; label-correcting
relaxation from the satellites whose links beat their bound then lowers the
bounds until no link does. Such a fixed point *is* Dijkstra's answer, bit
for bit: floating-point addition of a non-negative weight is monotone, so
(by induction along any path) no path's left-to-right sum is below the
fixed point, and the fixed point is itself such a sum. Either way the
predecessor of a satellite is then chosen by one rule that depends only on
the final latencies (the lowest-numbered neighbour on a shortest path),
so hops and paths do not depend on where a search started.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dijkstra_rows", "shortest_rows"]


@njit(cache=True, nogil=True)
def _heap_push(heap_d, heap_v, size, d, v):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap_d[parent] > d:
            heap_d[i] = heap_d[parent]
            heap_v[i] = heap_v[parent]
            i = parent
        else:
            break
    heap_d[i] = d
    heap_v[i] = v
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(heap_d, heap_v, size):
    """Remove the root; returns the new size (the caller read the root first)."""
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
    return size


@njit(cache=True, nogil=True)
def _dijkstra(indptr, indices, weights, s, d, p, done, heap_d, heap_v):
    """Dijkstra from ``s`` into ``d`` (latencies) and ``p`` (first neighbour to reach each)."""
    n = indptr.size - 1
    for v in range(n):
        d[v] = np.inf
        p[v] = -9999
        done[v] = False
    d[s] = 0.0
    heap_d[0] = 0.0
    heap_v[0] = s
    size = 1
    while size > 0:
        du = heap_d[0]
        u = heap_v[0]
        size = _heap_pop(heap_d, heap_v, size)
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
                size = _heap_push(heap_d, heap_v, size, nd, v)


@njit(cache=True, nogil=True)
def _edge_ms(indptr, indices, weights, u, v):
    """Weight of the link u–v (``inf`` if there is none); the graph is symmetric."""
    for j in range(indptr[v], indptr[v + 1]):
        if indices[j] == u:
            return weights[j]
    return np.inf


@njit(cache=True, nogil=True)
def _warm(indptr, indices, weights, s, old_pred, d, p, stack, heap_d, heap_v):
    """Latencies from ``s`` starting from the tree ``old_pred`` (see the module docstring)."""
    n = indptr.size - 1
    for v in range(n):
        d[v] = np.nan
        p[v] = old_pred[v]
    d[s] = 0.0
    p[s] = -9999
    # Today's length of each satellite's old tree path; the stack unwinds one branch at a time.
    for v in range(n):
        if not np.isnan(d[v]):
            continue
        top = 0
        u = v
        while np.isnan(d[u]):
            parent = p[u]
            if parent < 0 or top >= n:
                d[u] = np.inf
                p[u] = -9999
                break
            stack[top] = u
            top += 1
            u = parent
        while top > 0:
            top -= 1
            x = stack[top]
            d[x] = d[p[x]] + _edge_ms(indptr, indices, weights, p[x], x)
            if d[x] == np.inf:
                p[x] = -9999
    # Relax from every satellite with a link that beats its neighbour's bound.
    size = 0
    for u in range(n):
        du = d[u]
        if du == np.inf:
            continue
        for j in range(indptr[u], indptr[u + 1]):
            if du + weights[j] < d[indices[j]]:
                size = _heap_push(heap_d, heap_v, size, du, u)
                break
    while size > 0:
        du = heap_d[0]
        u = heap_v[0]
        size = _heap_pop(heap_d, heap_v, size)
        if du > d[u]:
            continue  # a stale entry: u was lowered and pushed again since
        for j in range(indptr[u], indptr[u + 1]):
            v = indices[j]
            nd = du + weights[j]
            if nd < d[v]:
                d[v] = nd
                p[v] = u
                size = _heap_push(heap_d, heap_v, size, nd, v)


@njit(cache=True, nogil=True)
def _canonical_tree(indptr, indices, weights, s, d, p, h, stack):
    """Predecessors by the lowest-numbered-neighbour rule, then hops along them."""
    n = indptr.size - 1
    for v in range(n):
        h[v] = -1
        if v == s or d[v] == np.inf:
            continue
        dv = d[v]
        best = -1
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if d[u] < dv and d[u] + weights[j] == dv and (best < 0 or u < best):
                best = u
        if best >= 0:  # none only when a weight vanished in rounding; keep the search's
            p[v] = best
    h[s] = 0
    for v in range(n):
        if h[v] >= 0 or d[v] == np.inf:
            continue
        top = 0
        u = v
        while h[u] < 0 and top < n:
            stack[top] = u
            top += 1
            u = p[u]
        while top > 0:
            top -= 1
            x = stack[top]
            h[x] = h[p[x]] + 1


@njit(cache=True, nogil=True)
def shortest_rows(indptr, indices, weights, sources, old_pred, warm, dist_out, pred_out, hops_out):
    """Shortest paths from each of ``sources``, from scratch or from an earlier tree.

    ``old_pred`` is ``(len(sources), n)``: row ``k`` is an earlier
    predecessor tree of ``sources[k]`` (any graph on the same satellites),
    used when ``warm[k]``. ``dist_out``, ``pred_out`` and ``hops_out`` are
    ``(len(sources), n)``; unreachable satellites get ``inf``, -9999
    (scipy's "no predecessor") and -1. The latencies equal
    :func:`scipy.sparse.csgraph.dijkstra`'s bit for bit whichever way;
    predecessors follow the lowest-numbered-neighbour rule.
    """
    n = indptr.size - 1
    heap_d = np.empty(indices.size + n + 1)
    heap_v = np.empty(indices.size + n + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for k in range(sources.size):
        s = sources[k]
        if warm[k]:
            _warm(indptr, indices, weights, s, old_pred[k], dist_out[k], pred_out[k], stack, heap_d, heap_v)
        else:
            _dijkstra(indptr, indices, weights, s, dist_out[k], pred_out[k], done, heap_d, heap_v)
        _canonical_tree(indptr, indices, weights, s, dist_out[k], pred_out[k], hops_out[k], stack)


@njit(cache=True, nogil=True)
def dijkstra_rows(indptr, indices, weights, sources, dist_out, pred_out, hops_out):
    """Shortest paths from each of ``sources``, from scratch (:func:`shortest_rows` without a tree).

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices = np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1])
    >>> w = np.array([1.0, 1.0, 2.0, 2.0])
    >>> d, p, h = np.empty((1, 3)), np.empty((1, 3), np.int32), np.empty((1, 3), np.int64)
    >>> dijkstra_rows(indptr, indices, w, np.array([0]), d, p, h)
    >>> d.tolist(), h.tolist()
    ([[0.0, 1.0, 3.0]], [[0, 1, 2]])
    """
    n = indptr.size - 1
    heap_d = np.empty(indices.size + 1)
    heap_v = np.empty(indices.size + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for k in range(sources.size):
        s = sources[k]
        _dijkstra(indptr, indices, weights, s, dist_out[k], pred_out[k], done, heap_d, heap_v)
        _canonical_tree(indptr, indices, weights, s, dist_out[k], pred_out[k], hops_out[k], stack)
