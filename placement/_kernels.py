"""Numba kernel of the gate choice: the cost of every (layer, gate a, gate b) pair.

:func:`placement.gates._choose_gates` scores L·K·K gate pairs at every
placement (2,048 on the sweep's model), each the expected time of a layer
with its experts in the E cheapest slots of its subnet. In NumPy that is a
``(L, K, K, m)`` cost array, a partition, a sort and the expectation's own
sort, each a pass over memory. This kernel scores the pairs of one gate ``a``
with :data:`LANES` next gates ``b`` side by side: it keeps each pair's E
cheapest slots as it reads the subnet's members, by a branch-free merge that
the compiler vectorises across the pairs, then takes each pair's expectation.

It gives the NumPy path's numbers bit for bit (``tests/test_gate_kernel.py``
compares them), because it repeats NumPy's operations in NumPy's order:

* a member's cost is ``d(a, s) + d(s, b)``, one addition, as in NumPy;
* the E cheapest slots are a set of values, so any exact selection gives
  the same ascending vector as NumPy's partition and sort (up to the order
  of a ``-0.0`` and a ``0.0``, which changes no sum below);
* ``expected_max`` visits the slots by decreasing cost, ties in their given
  (ascending slot) order, as ``argsort(-cost, kind="stable")`` does; the
  probability that every costlier slot is idle is the running product of
  ``1 - p`` (``np.cumprod``), each weight ``p * before``, each term
  ``c * weight`` (0 when the weight is 0), and their sum ``0 + pairwise
  sum`` as NumPy's ``sum(axis=-1)`` of a row of at most
  :data:`PAIRWISE_BLOCK` values (the caller keeps longer rows on NumPy).

This module imports numba: :mod:`placement` imports it only when it scores
gates, so that ``import placement`` stays free of numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# NumPy's pairwise summation, shared with the token kernel. numba's cache
# does not notice edits to another file: clear placement/__pycache__ if
# that helper ever changes.
from latency.pairwise import PAIRWISE_BLOCK, pairwise_block

__all__ = ["gate_pair_costs", "min_cycle", "cycle_through", "PAIRWISE_BLOCK"]

_pairwise_block = njit(inline="always")(pairwise_block)

#: Gate pairs scored side by side, one per SIMD lane: the next layer's candidates, 8 at a time.
LANES = 8


@njit(inline="always")
def _expected_max_ascending(slot, p_desc, c, p, term):
    # expected_max(slot, p_desc) for ``slot`` ascending: the order argsort(-slot, stable) gives
    # is the tie groups from the dearest down, each group in ascending index order.
    n = slot.size
    pos = 0
    hi = n - 1
    while hi >= 0:
        lo = hi
        while lo > 0 and slot[lo - 1] == slot[hi]:
            lo -= 1
        for j in range(lo, hi + 1):
            c[pos] = slot[j]
            p[pos] = p_desc[j]
            pos += 1
        hi = lo - 1
    before = 1.0
    for i in range(n):
        weight = p[i] * before
        # np.where(weight > 0, c * weight, 0.0): 0 · inf stays 0 for a slot never active.
        term[i] = c[i] * weight if weight > 0 else 0.0
        before *= 1.0 - p[i]
    return 0.0 + _pairwise_block(term, n)


@njit(cache=True, nogil=True)
def gate_pair_costs(rows, src, members, cand, capacity, p_desc, out):
    """Expected time of every layer for every pair of candidate gates, experts placed by the sorted rule.

    Parameters
    ----------
    rows : float64 (n_src, n_sat)
        Shortest-path latency in ms from each distinct candidate gate, ``inf``
        if unreachable, never NaN.
    src : int (L, K)
        Row of ``rows`` of each candidate gate.
    members : int (L, m)
        Satellites of each subnet, −1 padded.
    cand : int (L, K)
        Candidate gates of each layer, members of its subnet.
    capacity : int (n_sat,)
        Experts per satellite.
    p_desc : float64 (L, E)
        Activation probabilities of each layer, in decreasing order; E at most
        :data:`PAIRWISE_BLOCK`.
    out : float64 (L, K, K)
        Output: ``out[l, a, b]``, cost of layer ``l`` with gate ``cand[l, a]``
        and next gate ``cand[l + 1, b]`` (layer 0's after the last); ``inf``
        where subnet ``l`` has fewer than E free slots besides its gate.

    Examples
    --------
    One layer, a 4-satellite subnet, one candidate gate (satellite 0): the
    experts take satellites 2 (1 + 1 ms) and 3 (2 + 2 ms), and the layer
    waits for the slower active one:

    >>> import numpy as np
    >>> rows = np.array([[0.0, 5.0, 1.0, 2.0]])
    >>> out = np.empty((1, 1, 1))
    >>> gate_pair_costs(rows, np.zeros((1, 1), np.int64), np.arange(4)[None, :],
    ...                 np.zeros((1, 1), np.int64), np.array([1, 0, 1, 1]),
    ...                 np.array([[0.5, 0.5]]), out)
    >>> float(out[0, 0, 0])  # 4 · 0.5 + 2 · 0.5 · 0.5
    2.5
    """
    n_layers, k = src.shape
    m = members.shape[1]
    n_experts = p_desc.shape[1]
    width = n_experts * LANES
    lanes = np.uint64(LANES)
    here = np.empty(m)
    free = np.empty(m, dtype=np.int64)
    # d(s, b) of each lane's next gate b, once for each of the E slots: the merge below then
    # reads it at the slot's own position, a plain loop the compiler vectorises.
    there = np.empty((m, width))
    # Two copies (old and new) of every lane's cheapest slots, each a guard row of -inf and then
    # slot i of lane j at LANES * (i + 1) + j; one array indexed by unsigned offsets, so that
    # no bounds wrap-around stops the vectorisation.
    half = width + LANES
    work = np.empty(2 * half)
    slot = np.empty(n_experts)
    c = np.empty(n_experts)
    p = np.empty(n_experts)
    term = np.empty(n_experts)
    for layer in range(n_layers):
        nxt = layer + 1 if layer + 1 < n_layers else 0
        for b0 in range(0, k, LANES):
            for s in range(m):
                sat = members[layer, s]
                for j in range(LANES):
                    b = b0 + j
                    # A lane past the last candidate sees only inf: nothing enters its slots.
                    d = rows[src[nxt, b], sat] if sat >= 0 and b < k else np.inf
                    for i in range(n_experts):
                        there[s, i * LANES + j] = d
            for a in range(k):
                row_a = src[layer, a]
                gate = cand[layer, a]
                total = 0
                for s in range(m):
                    sat = members[layer, s]
                    # The gate hosts no expert; a satellite without room is never used.
                    f = capacity[sat] if sat >= 0 and sat != gate else 0
                    free[s] = f
                    total += f
                    here[s] = rows[row_a, sat] if f > 0 else np.inf
                if total < n_experts:
                    out[layer, a, b0:b0 + LANES] = np.inf
                    continue
                # The E cheapest slots of every lane, ascending. A value x enters by a
                # branch-free merge, new[i] = max(old[i - 1], min(x, old[i])), the same for
                # every lane and slot (where x enters is unpredictable, so an insertion sort
                # would mispredict); a satellite offers one slot per expert it can hold.
                work[:LANES] = -np.inf
                work[LANES:half] = np.inf
                work[half:half + LANES] = -np.inf
                old = np.uint64(0)
                new = np.uint64(half)
                for s in range(m):
                    f = free[s]
                    if f == 0:
                        continue
                    h = here[s]
                    dearest = old + np.uint64(width)
                    enters = False
                    for j in range(LANES):
                        enters |= h + there[s, j] < work[dearest + np.uint64(j)]
                    if not enters:
                        continue
                    for _ in range(min(f, n_experts)):
                        for q in range(width):
                            uq = np.uint64(q)
                            x = h + there[s, q]
                            kept = work[old + lanes + uq]
                            kept = x if x < kept else kept
                            below = work[old + uq]
                            work[new + lanes + uq] = below if below > kept else kept
                        old, new = new, old
                for j in range(min(LANES, k - b0)):
                    for i in range(n_experts):
                        slot[i] = work[old + np.uint64(LANES * (i + 1) + j)]
                    out[layer, a, b0 + j] = _expected_max_ascending(slot, p_desc[layer], c, p, term)


@njit(inline="always")
def _argmin_step(value, low):
    # Whether np.argmin moves from ``low`` to the later ``value``: a smaller one, or the first NaN.
    return value < low or (value != value and low == low)


@njit(cache=True, nogil=True)
def min_cycle(f, choice):
    """Cheapest choice ``a_0 … a_{L−1}`` of ``sum_l f[l, a_l, a_{l+1}]`` with ``a_L = a_0``.

    The dynamic programming of its NumPy twin (``tests/test_gate_kernel.py``),
    with the same sums and NumPy's ``argmin``/``min`` choices, ties and NaN
    included, without the twin's (L, K, K, K) temporaries.

    Parameters
    ----------
    f : float64 (L, K, K)
        Cost of each layer for each pair of consecutive choices.
    choice : int64 (L,)
        Output: the choice at each layer.

    Examples
    --------
    Two layers of two choices; the cycle 1 → 0 → 1 costs 1 + 2:

    >>> import numpy as np
    >>> f = np.array([[[5.0, 9.0], [1.0, 9.0]], [[9.0, 2.0], [9.0, 9.0]]])
    >>> choice = np.empty(2, np.int64)
    >>> min_cycle(f, choice)
    >>> choice.tolist()
    [1, 0]
    """
    n_layers, k, _ = f.shape
    best = f[0].copy()
    new = np.empty((k, k))
    back = np.zeros((n_layers, k, k), dtype=np.int64)
    for layer in range(1, n_layers):
        for i in range(k):
            for j in range(k):
                arg = 0
                low = best[i, 0] + f[layer, 0, j]
                for via in range(1, k):
                    value = best[i, via] + f[layer, via, j]
                    if _argmin_step(value, low):
                        arg = via
                        low = value
                back[layer, i, j] = arg
                new[i, j] = low
        best[:, :] = new
    start = 0
    for i in range(1, k):
        if _argmin_step(best[i, i], best[start, start]):
            start = i
    choice[0] = start
    j = start  # a_L = a_0 closes the cycle
    for layer in range(n_layers - 1, 0, -1):
        j = back[layer, start, j]
        choice[layer] = j


@njit(inline="always")
def _min_plus(x, y, out):
    # out[i, a] = min over j of x[i, j] + y[j, a]
    k = x.shape[0]
    for i in range(k):
        for a in range(k):
            low = np.inf
            for j in range(k):
                value = x[i, j] + y[j, a]
                if value < low:
                    low = value
            out[i, a] = low


@njit(cache=True, nogil=True)
def cycle_through(f, through):
    """Cost of the cheapest cycle through each choice, ``through[l, a]``: :func:`placement.gate_bound.cheapest_cycle_through`.

    The same sums in the same order as its NumPy twin (``tests/test_gate_bound.py``
    compares them), without its per-layer temporaries: the gate bound calls
    it at every step, where the twin's 60-odd small NumPy operations cost
    more than the kernel's whole run.

    Parameters
    ----------
    f : float64 (L, K, K)
        Cost of each layer for each pair of consecutive choices, never NaN.
    through : float64 (L, K)
        Output.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([[[5.0, 9.0], [1.0, 9.0]], [[9.0, 2.0], [9.0, 9.0]]])
    >>> through = np.empty((2, 2))
    >>> cycle_through(f, through)
    >>> through.tolist()  # 1 -> 0 -> 1 costs 1 + 2
    [[14.0, 3.0], [3.0, 18.0]]
    """
    n_layers, k, _ = f.shape
    # forward[l, i, a]: cheapest from (0, i) to (l, a); back[i, a]: from (l, a) around to (0, i).
    forward = np.empty((n_layers, k, k))
    for i in range(k):
        for a in range(k):
            forward[0, i, a] = 0.0 if i == a else np.inf
    for layer in range(n_layers - 1):
        _min_plus(forward[layer], f[layer], forward[layer + 1])
    back = forward[0].copy()  # the same start: around to (0, i) from (0, a) costs nothing only for a = i
    new = np.empty((k, k))
    for layer in range(n_layers - 1, -1, -1):
        # new[i, a] = min over b of back[i, b] + f[layer, a, b] (addition commutes: the twin's sums).
        _min_plus(back, f[layer].T, new)
        back[:, :] = new
        for a in range(k):
            low = np.inf
            for i in range(k):
                value = forward[layer, i, a] + back[i, a]
                if value < low:
                    low = value
            through[layer, a] = low
