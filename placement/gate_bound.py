"""Gate candidates a timestep need not search: those an earlier step proves worse than the best gate ring.

The gate choice (:mod:`placement.gates`) searches from every candidate gate
of every subnet (L·K searches) to score the candidate pairs ``f[l, a, b]``,
then takes the cheapest cycle. At small time steps most candidates lose by
a margin that the links' motion cannot close within a few steps; their
searches are wasted. A :class:`GateBound` keeps the costs of the last step
that searched them all (the reference) and tells later steps which
candidates can still be on an optimal cycle.

The bound. Between the reference and a later step with the same links up,
each link's latency changes from ``w`` to ``w + δ``. Pick a ratio ``r``
and call the links with ``|δ| > r w`` odd, ``Δ`` the sum of their ``|δ|``.
A shortest path is simple (every latency is positive), so its latency
changes by at most ``r`` times itself plus ``Δ``, and a shortest-path
latency ``d(a, s)`` (the minimum over paths) stays within ``(1 ± r) d ± Δ``.
A layer's cost ``f[l, a, b]`` is ``Σ_j c_j w_j``: the E cheapest sums
``c = d(a, s) + d(s, b)`` in ascending order, each weighed by the chance
``w_j ≥ 0`` that it is the dearest active slot, with ``Σ_j w_j ≤ 1``. Each
order statistic ``c_j`` stays within ``(1 ± r) c_j ± 2Δ``, so ``f`` stays
within ``(1 ± r) f ± 2Δ``, and a cycle of L layers within
``(1 ± r) T ± 2LΔ``. Let ``T[l, a]`` be the cheapest cycle through
candidate ``a`` of layer ``l`` at the reference and ``T*`` the cheapest of
all. Later, a cycle through ``a`` costs at least ``(1 - r) T[l, a] - 2LΔ``
and the best cycle at most ``(1 + r) T* + 2LΔ``: if the first exceeds the
second, no optimal cycle goes through ``a``. Its search is skipped, its
costs count as ``inf``, and the cheapest cycle is the one every candidate
gives: the dynamic programming's choices on an optimal cycle never compare
against a skipped candidate with an equal partial cost (that candidate
would then be on an optimal cycle). The step takes the ``r`` that needs
the smallest margin, ``2 r T* + 4LΔ`` (a few short links whose lengths
change fast, between satellites close to each other, would make a pure
ratio loose). A relative slack of :data:`SLACK` covers the rounding of the
sums, far below it.

The bound needs the same candidates, subnets and links as the reference;
otherwise, or when it would skip too few (more than :data:`REFRESH_SHARE`
of the candidates still needed), the step searches every candidate and
becomes the new reference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GateBound", "cheapest_cycle_through"]

#: Relative slack on both sides of the bound, for rounding in the latency sums and the cycle costs.
SLACK = 1e-9

#: A step searches every candidate (and becomes the reference) when the bound would still need more
#: than this share of them: the bound only loosens as the links move on.
REFRESH_SHARE = 2.0 / 3.0


class GateBound:
    """The last full gate choice of a time series, to skip the candidates it proves worse.

    Use one per sequence of steps on the same satellites, in time order:
    before each step, :meth:`observe` that step's links (the graph whose
    oracle the step uses), then hand it to the ``space-xnet`` strategy
    (``gate_bound=``). The gates chosen are the ones a search of every
    candidate gives; only the number of searches changes. A step whose
    links were not observed searches every candidate.

    Examples
    --------
    A reference, then the same links 0.1 % longer: the candidates far
    behind the best cycle need no search.

    >>> import numpy as np
    >>> bound = GateBound()
    >>> cand, members = np.array([[0, 1], [2, 3]]), np.array([[0, 1], [2, 3]])
    >>> f = np.array([[[1.0, 5.0], [5.0, 9.0]], [[1.0, 5.0], [5.0, 9.0]]])
    >>> bound.observe([0, 1], [1, 2], [1.0, 2.0])
    >>> bound.needed(cand, members) is None  # no reference yet: search them all
    True
    >>> bound.remember(cand, members, f)
    >>> bound.observe([0, 1], [1, 2], [1.001, 2.002])
    >>> bound.needed(cand, members).tolist()
    [[True, False], [True, False]]
    """

    def __init__(self):
        self._links = None  # (sat_a, sat_b, link latency ms) of the step observed, until a step uses them
        self._now = None  # the links of the step being chosen
        self._ref = None  # the reference: candidates, subnets, links, cheapest cycles

    def observe(self, sat_a, sat_b, link_ms) -> None:
        """The links up at the next step: end points and latency (ms, > 0) of each, in a fixed order."""
        self._links = (np.asarray(sat_a, dtype=np.int64), np.asarray(sat_b, dtype=np.int64),
                       np.asarray(link_ms, dtype=np.float64))

    def needed(self, cand, members, *more):
        """Which candidates ``(L, K)`` this step must search, or None: every one (then :meth:`remember` them).

        ``more``: any other arrays the layer costs depend on (capacities,
        activation probabilities), which must equal the reference's too.
        Uses up the links observed: a later step must observe its own.
        """
        self._now, self._links = self._links, None
        ref = self._ref
        if ref is None or self._now is None:
            return None
        sat_a, sat_b, link_ms = self._now
        same = [(cand, ref["cand"]), (members, ref["members"]), (sat_a, ref["sat_a"]), (sat_b, ref["sat_b"])]
        if len(more) != len(ref["more"]) or not all(
                np.array_equal(a, b) for a, b in same + list(zip(more, ref["more"]))):
            return None
        r, spread = _change_bound(ref["link_ms"], link_ms, ref["best"], ref["through"].shape[0])
        if not r < 1.0:
            return None
        keep = (1.0 - r) * ref["through"] - spread <= ((1.0 + r) * ref["best"] + spread) * (1.0 + SLACK)
        if keep.sum() > REFRESH_SHARE * keep.size:
            return None
        return keep

    def remember(self, cand, members, layer_cost, *more) -> None:
        """This step searched every candidate: its costs ``f`` (L, K, K) become the reference (``more`` as in :meth:`needed`)."""
        through = cheapest_cycle_through(layer_cost)
        best = float(through.min())
        if self._now is None or not np.isfinite(best) or not best > 0:
            self._ref = None
            return
        sat_a, sat_b, link_ms = self._now
        self._ref = {"cand": np.array(cand), "members": np.array(members), "sat_a": sat_a, "sat_b": sat_b,
                     "link_ms": link_ms, "through": through, "best": best,
                     "more": tuple(np.array(m) for m in more)}


def _change_bound(before_ms, now_ms, best, n_layers):
    """``(r, 2LΔ)`` of the module's bound, ``r`` chosen for the smallest margin ``2 r T* + 4LΔ``."""
    delta = np.abs(now_ms - before_ms)
    ratio = delta / before_ms
    order = np.argsort(-ratio)
    ratios = np.append(ratio[order], 0.0)  # r = ratios[i]: the i links of larger ratio are the odd ones
    odd_ms = np.concatenate([[0.0], np.cumsum(delta[order])])
    i = int(np.argmin(2.0 * ratios * best + 4.0 * n_layers * odd_ms))
    return float(ratios[i]) + SLACK, 2.0 * n_layers * float(odd_ms[i]) * (1.0 + SLACK)


def cheapest_cycle_through(f) -> np.ndarray:
    """Cost of the cheapest cycle through each choice: ``T[l, a]`` over cycles with ``a_l = a``, shape (L, K).

    For the cycle ``sum_l f[l, a_l, a_{l+1}]`` with ``a_L = a_0`` of
    :func:`placement.gates._cheapest_cycle`: paths forward from each first
    choice and back to it, joined at every layer.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([[[5.0, 9.0], [1.0, 9.0]], [[9.0, 2.0], [9.0, 9.0]]])
    >>> cheapest_cycle_through(f).tolist()  # 1 -> 0 -> 1 costs 1 + 2
    [[14.0, 3.0], [3.0, 18.0]]
    """
    f = np.asarray(f, dtype=np.float64)
    n_layers, k, _ = f.shape
    start = np.where(np.eye(k, dtype=bool), 0.0, np.inf)  # [first choice i, choice a] before any layer
    forward = np.empty((n_layers, k, k))  # [l, i, a]: cheapest from (0, i) to (l, a)
    forward[0] = start
    for layer in range(n_layers - 1):
        forward[layer + 1] = np.min(forward[layer][:, :, None] + f[layer][None, :, :], axis=1)
    back = start.copy()  # [i, a]: cheapest from (l, a) around to (0, i), built from the last layer down
    through = np.empty((n_layers, k))
    for layer in range(n_layers - 1, -1, -1):
        back = np.min(f[layer][None, :, :] + back[:, None, :], axis=2)
        through[layer] = np.min(forward[layer] + back, axis=0)
    return through
