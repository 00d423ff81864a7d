"""Gate candidates a timestep need not search: those the previous steps prove worse than a known gate ring.

The gate choice (:mod:`placement.gates`) searches from every candidate gate
of every subnet (L·K searches) to score the candidate pairs ``f[l, a, b]``,
then takes the cheapest cycle. At small time steps most candidates lose by
a margin that the links' motion cannot close within a step; their searches
are wasted. A :class:`GateBound` carries a lower bound on every pair's cost
from step to step and tells each step which candidates can still be on an
optimal cycle.

The bound. Between two steps with the same links up, each link's latency
changes from ``w`` to ``w + δ``. Pick a ratio ``r`` and call the links
with ``|δ| > r w`` odd, ``Δ`` the sum of their ``|δ|``. A shortest path
is simple (every latency is positive), so its latency changes by at most
``r`` times itself plus ``Δ``, and a shortest-path latency ``d(a, s)``
(the minimum over paths) stays within ``(1 ± r) d ± Δ``. A layer's cost
``f[l, a, b]`` is ``Σ_j c_j w_j``: the E cheapest sums ``c = d(a, s) +
d(s, b)`` in ascending order, each weighed by the chance ``w_j ≥ 0`` that
it is the dearest active slot, with ``Σ_j w_j ≤ 1``. Each order statistic
``c_j`` stays within ``(1 ± r) c_j ± 2Δ``, so ``f`` stays within
``(1 ± r) f ± 2Δ``. So a lower bound ``f⁻ ≤ f`` of one step gives the next
step's, ``max((1 − r) f⁻ − 2Δ, 0)``, and where a step searched both
candidates of a pair, its exact cost is the bound from then on.

A step first costs the gate ring the previous step chose, exactly (its
own L candidates' searches, which it would do anyway): ``U``, the cost of a
real cycle, is at least the cheapest. The cheapest cycle through candidate
``a`` of layer ``l`` under the lower bounds, ``T⁻[l, a]``, is at most any
cycle's cost through it; if ``T⁻[l, a] > U`` no optimal cycle goes through
``a``. Its search is skipped, its costs count as ``inf``, and the cheapest
cycle is the one every candidate gives: the dynamic programming's choices
on an optimal cycle never compare against a skipped candidate with an
equal partial cost (that candidate would then be on an optimal cycle).
The pairs a step searched are exact the next step, and lose only one
step's ``r`` and ``Δ``; on Starlink shell 1 at 1 s the many gate rings
within a few 1e-5 of the best stay searched, the rest stay skipped. The
step takes the ``r`` that needs the smallest margin over a cycle, ``r U +
2LΔ`` (a few short links whose lengths change fast, between satellites
close to each other, would make a pure ratio loose). A relative slack of
:data:`SLACK` on ``r`` and on ``U`` covers the rounding of the sums, far
below it.

The bound needs the same candidates, subnets and links as the previous
step; otherwise, or when it would skip too few (more than
:data:`REFRESH_SHARE` of the candidates still needed), the step searches
every candidate, which makes every pair exact again.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GateBound", "cheapest_cycle_through"]

#: Relative slack on the ratio and on the known ring's cost, for rounding in the latency sums and cycle costs.
SLACK = 1e-9

#: A step searches every candidate when the bound would still need more than this share of them:
#: the few left to skip would not pay for the bound's own work.
REFRESH_SHARE = 2.0 / 3.0


class GateBound:
    """Lower bounds on the gate pairs' costs along a time series, to skip the candidates they prove worse.

    Use one per sequence of steps on the same satellites, in time order:
    before each step, :meth:`observe` that step's links (the graph whose
    oracle the step uses), then hand it to the ``space-xnet`` strategy
    (``gate_bound=``), which asks :meth:`needed` and hands its costs and
    choice to :meth:`remember`. The gates chosen are the ones
    a search of every candidate gives; only the number of searches changes.
    A step whose links were not observed searches every candidate.

    Examples
    --------
    A step that searched every candidate and chose the first of each layer,
    then the same links 0.1 % longer: the candidates far behind that ring
    need no search.

    >>> import numpy as np
    >>> bound = GateBound()
    >>> cand, members = np.array([[0, 1], [2, 3]]), np.array([[0, 1], [2, 3]])
    >>> f = np.array([[[1.0, 5.0], [5.0, 9.0]], [[1.0, 5.0], [5.0, 9.0]]])
    >>> bound.observe([0, 1], [1, 2], [1.0, 2.0])
    >>> bound.needed(cand, members, None) is None  # nothing known yet: search them all
    True
    >>> bound.remember(cand, members, f, choice=np.array([0, 0]))
    >>> bound.observe([0, 1], [1, 2], [1.001, 2.002])
    >>> bound.needed(cand, members, lambda ring: 1.001 * f[[0, 1], ring, ring[::-1]]).tolist()
    [[True, False], [True, False]]
    """

    def __init__(self):
        self._links = None  # (sat_a, sat_b, link latency ms) of the step observed, until a step uses them
        self._now = None  # the links of the step being chosen
        self._last = None  # the previous step: candidates, subnets, links, lower bounds, chosen ring
        self._lower = None  # this step's lower bounds, once :meth:`needed` gave candidates to search

    def observe(self, sat_a, sat_b, link_ms) -> None:
        """The links up at the next step: end points and latency (ms, > 0) of each, in a fixed order."""
        self._links = (np.asarray(sat_a, dtype=np.int64), np.asarray(sat_b, dtype=np.int64),
                       np.asarray(link_ms, dtype=np.float64))

    def needed(self, cand, members, ring_costs, *more):
        """Which candidates ``(L, K)`` this step must search, or None: every one.

        ``ring_costs(ring)``: this step's exact cost of each layer ``l`` of
        the gate ring ``cand[l, ring[l]]`` (shape (L,)), called once with
        the previous step's ring. ``more``: any other arrays the layer
        costs depend on (capacities, activation probabilities), which must
        equal the previous step's too. Uses up the links observed: a later
        step must observe its own. Follow with :meth:`remember`.
        """
        self._now, self._links, self._lower = self._links, None, None
        last = self._last
        if last is None or self._now is None:
            return None
        sat_a, sat_b, link_ms = self._now
        same = [(cand, last["cand"]), (members, last["members"]), (sat_a, last["sat_a"]), (sat_b, last["sat_b"])]
        if len(more) != len(last["more"]) or not all(
                np.array_equal(a, b) for a, b in same + list(zip(more, last["more"]))):
            return None
        n_layers = cand.shape[0]
        r, spread = _change_bound(last["link_ms"], link_ms, last["ring_ms"], n_layers)
        if not r < 1.0:
            return None
        lower = np.maximum((1.0 - r) * last["lower"] - spread / n_layers, 0.0)
        ring = last["ring"]
        layers = np.arange(n_layers)
        ring_ms = np.asarray(ring_costs(ring), dtype=np.float64)
        lower[layers, ring, np.roll(ring, -1)] = ring_ms
        keep = cheapest_cycle_through(lower) <= float(ring_ms.sum()) * (1.0 + SLACK)
        keep[layers, ring] = True
        if keep.sum() > REFRESH_SHARE * keep.size:
            return None
        self._lower = lower
        return keep

    def remember(self, cand, members, layer_cost, *more, choice, searched=None) -> None:
        """This step's costs ``f`` (L, K, K), exact where it searched both candidates, and its ``choice`` (L,).

        ``searched``: the candidates :meth:`needed` gave (None: every one).
        ``more`` as in :meth:`needed`.
        """
        layer_cost = np.asarray(layer_cost, dtype=np.float64)
        if searched is None:
            lower = layer_cost.copy()
        elif self._lower is None:
            raise ValueError("remember(searched=...) without a needed() that gave those candidates")
        else:
            both = searched[:, :, None] & np.roll(searched, -1, axis=0)[:, None, :]
            lower = np.where(both, layer_cost, self._lower)
        choice = np.asarray(choice, dtype=np.int64)
        n_layers = layer_cost.shape[0]
        ring_ms = float(layer_cost[np.arange(n_layers), choice, np.roll(choice, -1)].sum())
        self._lower = None
        if self._now is None or not np.isfinite(ring_ms) or not ring_ms > 0:
            self._last = None
            return
        sat_a, sat_b, link_ms = self._now
        self._last = {"cand": np.array(cand), "members": np.array(members), "sat_a": sat_a, "sat_b": sat_b,
                      "link_ms": link_ms, "lower": lower, "ring": choice.copy(), "ring_ms": ring_ms,
                      "more": tuple(np.array(m) for m in more)}


def _change_bound(before_ms, now_ms, best, n_layers):
    """``(r, 2LΔ)`` of the module's bound, ``r`` chosen for the smallest margin over a cycle, ``r T + 2LΔ``."""
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
    # Imported on first use, as the gate kernels are: ``import placement`` loads no numba.
    from ._kernels import cycle_through

    f = np.ascontiguousarray(f, dtype=np.float64)
    through = np.empty(f.shape[:2])
    cycle_through(f, through)
    return through
