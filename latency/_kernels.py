"""Numba kernels of the routing layer: pure loops on typed arrays writing into ``out``.

The wrapper (:class:`latency.routing.RoutingGraph`) checks the graph and the
sources and allocates the outputs; ``tests/test_routing_kernel.py``
compares the kernels with :func:`scipy.sparse.csgraph.dijkstra`, their twin.

Two ways to the same rows. :func:`shortest_rows` searches a source from
scratch (Dijkstra), or starts it from a shortest-path tree
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

Cost of a warm start: one pass in tree order and one flat pass over the
links (``du + w < dv`` finds the satellites to relax, ``du + w == dv``
counts the tight links: one per satellite unless two shortest paths tie,
the only case that needs the neighbour rule applied satellite by satellite).
Each tree keeps an order of its satellites with parents first (Dijkstra's
settling order, or the previous order while no parent moved behind its
child), so no pass needs a sort or a stack.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["shortest_rows", "hops_along"]


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
def _dijkstra(indptr, indices, weights, s, d, p, edge, order, done, heap_d, heap_v):
    """Dijkstra from ``s``: latencies, first neighbour to reach each, its link, the settling order."""
    n = indptr.size - 1
    for v in range(n):
        d[v] = np.inf
        p[v] = -9999
        edge[v] = -1
        order[v] = -1
        done[v] = False
    d[s] = 0.0
    heap_d[0] = 0.0
    heap_v[0] = s
    size = 1
    settled = 0
    while size > 0:
        du = heap_d[0]
        u = heap_v[0]
        size = _heap_pop(heap_d, heap_v, size)
        if done[u]:
            continue
        done[u] = True
        order[settled] = u
        settled += 1
        for j in range(indptr[u], indptr[u + 1]):
            v = indices[j]
            if done[v]:
                continue
            nd = du + weights[j]
            if nd < d[v]:
                d[v] = nd
                p[v] = u
                edge[v] = j
                size = _heap_push(heap_d, heap_v, size, nd, v)
    return settled


@njit(cache=True, nogil=True)
def _link_position(indptr, indices, u, v):
    """Position of the link u–v in v's part of ``indices``, −1 if there is none."""
    for j in range(indptr[v], indptr[v + 1]):
        if indices[j] == u:
            return j
    return -1


@njit(cache=True, nogil=True)
def _parent_link(indptr, indices, weights, d, v):
    """Position of v's link to its parent by the lowest-numbered-neighbour rule, −1 if none."""
    dv = d[v]
    best = -1
    for j in range(indptr[v], indptr[v + 1]):
        u = indices[j]
        if d[u] < dv and d[u] + weights[j] == dv and (best < 0 or u < indices[best]):
            best = j
    return best


@njit(cache=True, nogil=True)
def _scan(link_a, link_b, link_w, d, seeds):
    """Links that beat a bound (``du + w < dv``) and tight links (``du + w == dv``, finite), both ways.

    Returns both counts over the directed links; the satellites at the
    beating links' near ends go to ``seeds`` (while it has room; the caller
    checks the count).
    """
    beat = 0
    tight = 0
    for j in range(link_w.size):
        a = link_a[j]
        b = link_b[j]
        da = d[a]
        db = d[b]
        w = link_w[j]
        x = da + w
        y = db + w
        if x < db:
            if beat < seeds.size:
                seeds[beat] = a
            beat += 1
        elif y < da:
            if beat < seeds.size:
                seeds[beat] = b
            beat += 1
        tight += ((x == db) & (db < np.inf)) + ((y == da) & (da < np.inf))
    return beat, tight


@njit(cache=True, nogil=True)
def _apply_rule(indptr, indices, weights, links, s, d, p, edge, n_reach):
    """Parents by the lowest-numbered-neighbour rule where shortest paths tie (see the module docstring)."""
    n = indptr.size - 1
    _, tight = _scan(links[0], links[1], links[2], d, links[0][:0])
    if tight == n_reach - 1:
        return False  # one tight link per satellite: its parent already
    moved = False
    for v in range(n):
        if v == s or d[v] == np.inf:
            continue
        best = _parent_link(indptr, indices, weights, d, v)
        if best >= 0 and indices[best] != p[v]:
            p[v] = indices[best]
            edge[v] = best
            moved = True
    return moved


@njit(cache=True, nogil=True)
def _order_by_hops(s, d, p, order, hops, stack):
    """A parents-first order of the reachable satellites (by hop count), −1 after the last."""
    n = d.size
    for v in range(n):
        hops[v] = -1
    hops[s] = 0
    max_h = 0
    for v in range(n):
        if hops[v] >= 0 or d[v] == np.inf:
            continue
        top = 0
        u = v
        while hops[u] < 0 and top < n:
            stack[top] = u
            top += 1
            u = p[u]
        while top > 0:
            top -= 1
            x = stack[top]
            hops[x] = hops[p[x]] + 1
            if hops[x] > max_h:
                max_h = hops[x]
    count = np.zeros(max_h + 2, dtype=np.int64)
    for v in range(n):
        if hops[v] >= 0:
            count[hops[v] + 1] += 1
    for k in range(1, max_h + 2):
        count[k] += count[k - 1]
    for v in range(n):
        order[v] = -1
    for v in range(n):
        if hops[v] >= 0:
            order[count[hops[v]]] = v
            count[hops[v]] += 1


@njit(cache=True, nogil=True)
def _warm(indptr, indices, weights, links, s, pred, order, edge, same_links, d, heap_d, heap_v, position, seeds,
          touched, mark):
    """Shortest paths from ``s`` starting from an earlier tree, which they replace in place (module docstring).

    The tree is ``pred`` with its satellites in ``order`` (parents first, −1
    after the last) and, when the links are the same as then
    (``same_links``), ``edge``: each satellite's link to its parent in this
    graph's arrays. Each satellite's entries are read before they are
    rewritten, so the old tree needs no copy; a tree that still holds
    (the usual case at small steps) is not written at all.
    """
    n = indptr.size - 1
    for v in range(n):
        d[v] = np.inf
    d[s] = 0.0
    # Today's length of each satellite's old tree path, parents before children.
    n_old = 0
    n_reach = 1
    for i in range(n):
        v = order[i]
        if v < 0:
            break
        n_old += 1
        if v == s:
            continue
        parent = pred[v]
        j = edge[v] if same_links else _link_position(indptr, indices, parent, v)
        if j >= 0 and d[parent] < np.inf:
            d[v] = d[parent] + weights[j]
            if not same_links:
                edge[v] = j
            n_reach += 1
        else:
            pred[v] = -9999  # cut off: its old path lost a link
            edge[v] = -1
    beat, tight = _scan(links[0], links[1], links[2], d, seeds)
    keep_order = n_reach == n_old  # else some satellites were cut off: the order must drop them
    ties = tight != n_reach - 1  # each satellite's old parent is tight: anything more is a tie
    if beat == 0 and not ties and keep_order:
        return
    for v in range(n):
        mark[v] = False
        position[v] = -1
    for i in range(n_old):
        position[order[i]] = i
    size = 0
    if beat <= seeds.size:
        for i in range(beat):
            size = _heap_push(heap_d, heap_v, size, d[seeds[i]], seeds[i])
    else:
        for u in range(n):
            if d[u] < np.inf:
                size = _heap_push(heap_d, heap_v, size, d[u], u)
    n_touched = 0
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
                if d[v] == np.inf:
                    keep_order = False  # newly reachable: not in the old order
                    n_reach += 1
                d[v] = nd
                pred[v] = u
                edge[v] = j
                if not mark[v]:
                    mark[v] = True
                    touched[n_touched] = v
                    n_touched += 1
                size = _heap_push(heap_d, heap_v, size, nd, v)
    if ties:
        _apply_rule(indptr, indices, weights, links, s, d, pred, edge, n_reach)
        n_touched = 0
        for v in range(n):
            touched[v] = v
        n_touched = n
    else:
        # Without ties before, a satellite's tight links can change only next to a lowered one:
        # apply the rule to those (the lowered ones first, their neighbours appended).
        n_lowered = n_touched
        for i in range(n_lowered):
            c = touched[i]
            for j in range(indptr[c], indptr[c + 1]):
                v = indices[j]
                if not mark[v]:
                    mark[v] = True
                    touched[n_touched] = v
                    n_touched += 1
        for i in range(n_touched):
            v = touched[i]
            if v == s or d[v] == np.inf:
                continue
            best = _parent_link(indptr, indices, weights, d, v)
            if best >= 0:
                pred[v] = indices[best]
                edge[v] = best
    # The old order still puts parents first unless a satellite's parent now comes after it (an
    # unchanged parent came before it).
    if keep_order:
        for i in range(n_touched):
            v = touched[i]
            if pred[v] >= 0 and position[pred[v]] > position[v]:
                keep_order = False
                break
    if not keep_order:
        _order_by_hops(s, d, pred, order, position, touched)


@njit(cache=True, nogil=True)
def shortest_rows(indptr, indices, weights, links, sources, slots, warm, same_links, pred, order, edge, dist_out):
    """Shortest paths from each of ``sources``, from scratch or from an earlier tree, trees kept in place.

    ``links`` is ``(a, b, w)``: each undirected link once, with its weight
    (the same as in ``weights``). ``pred``, ``order`` and ``edge`` are a
    store of trees, one per row: row ``slots[k]`` holds source ``k``'s tree
    and is rewritten with the new one: predecessors (-9999, scipy's "no
    predecessor", at the source and where unreachable), a position of each
    satellite's link to its predecessor (−1 there) and the reachable
    satellites parents first (−1 after the last). When ``warm[k]``, the row
    holds an earlier tree of the source to start from, found on a graph
    with the same links if ``same_links[k]`` (then its link positions index
    this graph's arrays). Row ``k`` of ``dist_out`` gets the latencies
    (``inf`` if unreachable), equal to :func:`scipy.sparse.csgraph.dijkstra`'s
    bit for bit whichever way; predecessors follow the
    lowest-numbered-neighbour rule.
    """
    n = indptr.size - 1
    heap_d = np.empty(indices.size + n + 1)
    heap_v = np.empty(indices.size + n + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    position = np.empty(n, dtype=np.int64)
    seeds = np.empty(n, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    for k in range(sources.size):
        s = sources[k]
        row = slots[k]
        if warm[k]:
            _warm(indptr, indices, weights, links, s, pred[row], order[row], edge[row], same_links[k], dist_out[k],
                  heap_d, heap_v, position, seeds, touched, done)
            continue
        settled = _dijkstra(indptr, indices, weights, s, dist_out[k], pred[row], edge[row], order[row], done,
                            heap_d, heap_v)
        # A parent by the rule has a lower latency than its child: settled before it, so the
        # settling order stays parents first.
        _apply_rule(indptr, indices, weights, links, s, dist_out[k], pred[row], edge[row], settled)


@njit(cache=True, nogil=True)
def hops_along(pred, order, rows, hops_out):
    """Hops of each satellite along the trees in ``rows`` of ``pred``, walked in ``order`` (parents first); −1 if unreachable.

    Examples
    --------
    >>> import numpy as np
    >>> hops = np.empty((1, 3), dtype=np.int64)
    >>> hops_along(np.array([[-9999, 0, 1]], np.int32), np.array([[0, 1, 2]], np.int32), np.array([0]), hops)
    >>> hops.tolist()
    [[0, 1, 2]]
    """
    for k in range(rows.size):
        row = rows[k]
        h = hops_out[k]
        for v in range(h.size):
            h[v] = -1
        for i in range(h.size):
            v = order[row, i]
            if v < 0:
                break
            h[v] = 0 if pred[row, v] < 0 else h[pred[row, v]] + 1
