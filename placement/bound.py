"""A lower bound on the expected token latency that knows about gates, the gate ring and capacity.

The objective is the placement layer's (:mod:`placement.model`): the
expectation under *independent* activations that
:func:`placement.experts.sorted_expected_max` computes. Everything below uses
only two properties of it, both of which also hold under exactly-k routing
(a conditional-Bernoulli law):

1. with the sorted rule (optimal, :mod:`placement.experts`), a layer whose E
   slots cost ``y_(1) ≤ … ≤ y_(E)`` costs ``Σ_k W_k y_(k)``, with *rank
   weights* ``W_k ≥ 0`` (the probability that the k-th cheapest slot holds
   the costliest active expert) fixed by the probabilities alone;
2. no other assignment of the experts to those slots is cheaper.

:func:`rank_weights` reads the weights off the objective itself (costs that
step from 0 to 1), so the bound stays valid for whichever expectation
:func:`sorted_expected_max` implements.

The gate-star bound. Write ``F_k = Σ_{j ≥ k} W_j`` (``F_1`` is the
probability that some expert is active) and ``ω = min_k F_k / (E − k + 1)``.
Summation by parts gives, for any ascending ``y ≥ 0``,

    Σ_k W_k y_(k) = Σ_k F_k (y_(k) − y_(k−1)) ≥ ω Σ_k (E − k + 1)(y_(k) − y_(k−1)) = ω Σ_k y_k,

so a layer with gates ``a_l``, ``a_{l+1}`` and slots ``s_1 … s_E`` costs at
least ``t_gate_l + F_1 t_expert_l + ω_l Σ_e [d(a_l, s_e) + d(s_e, a_{l+1})]``
(``ω = F_1 / E`` when the weights grow with the rank, as for every profile
whose probabilities make the costliest slot the most likely maximum).
Summing over the ring and regrouping the distances by gate, gate ``a_l``
collects ``ω_l d(a_l, s)`` from the E experts of layer ``l`` and
``ω_{l−1} d(s, a_l)`` from the E experts of layer ``l − 1``: 2E experts on
2E distinct slots (capacity), none on the gate itself. Their cheapest
arrangement puts the 2E slots nearest the gate under the larger weights
first (rearrangement inequality), so

    T ≥ Σ_l [t_gate_l + F_{l,1} t_expert_l + min_g S_l(g)],
    S_l(g) = Σ_{i=1}^{2E} ω_(i) d_(i)(g),

``d_(i)(g)`` the i-th cheapest free slot around ``g`` and ``ω_(i)`` the 2E
weights (E of ``ω_l``, E of ``ω_{l−1}``) in decreasing order. The gates'
positions enter through ``d(g, ·)``, the ring through the pairing of layer
``l − 1`` with layer ``l`` at each gate, and capacity through the 2E
*distinct* slots each gate must reach: two layers cannot both put their
experts on a gate's nearest satellites. A ring of one layer counts its E
experts twice at the one gate (``S = 2 ω Σ_{i ≤ E} d_(i)``).

It costs one oracle call with every eligible satellite as a source (n
shortest-path searches), read in chunks so memory stays O(chunk · n).

Capacity across gates (Lagrangian relaxation). The stars above may all
sit on the same patch and share its satellites, which no placement can do
when the model needs most of the shell (OneWeb: 544 of 588 satellites).
Write gate ``l``'s weights as ``μ_l = min(ω_l, ω_{l−1})`` on all 2E slots
plus ``δ_l = |ω_l − ω_{l−1}|`` on the E of the heavier layer. An expert on
``s`` appears in exactly two stars (its layer's gate and the next), so
over all stars satellite ``s`` is used at most ``2 q_s`` times (``q_s``
its capacity). For any multipliers ``λ_s ≥ 0`` on these constraints

    T ≥ Σ_l [t_gate_l + F_{l,1} t_expert_l + min_g (A_l(g; λ) + δ_l Σ_{i ≤ E} d_(i)(g))] − 2 Σ_s q_s λ_s,
    A_l(g; λ) = the 2E cheapest slots of μ_l d(g, s) + λ_s,

since a placement's star costs at least ``A_l + δ_l Σ d`` plus the λ it
uses, and uses at most ``2 Σ q_s λ_s`` in all. ``λ = 0`` is the star bound;
:data:`LAGRANGIAN_ITERATIONS` projected subgradient steps (each star's
uses minus ``2 q``; the step halves whenever the value stops rising)
raise ``λ`` where the stars crowd, and the best value seen is the bound. Only each gate's
``M`` nearest satellites are kept from the rows: a slot beyond costs at
least ``μ_l`` times the ``(M+1)``-th distance (``λ ≥ 0``), which is what
the relaxation charges for it, so the truncation keeps the bound valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_capacity, as_eligible, as_layer_times, as_probs, oracle_rows
from .bounds import lower_bound
from .exceptions import InfeasiblePlacementError
from .experts import cheapest_slot_costs, fill_sorted, sorted_expected_max
from .gates import DEFAULT_GATE_CANDIDATES
from .model import Evaluation

__all__ = ["Bound", "rank_weights", "star_weights", "certified_bound", "gate_star_bound", "LAGRANGIAN_ITERATIONS"]

# Sources per oracle call of the gate-star bound: 256 rows of a 4,408-satellite shell are 9 MB.
_CHUNK = 256
#: Most subgradient steps of the capacity relaxation (each: one partition of every gate's kept slots).
LAGRANGIAN_ITERATIONS = 600
# Nearest satellites kept per gate for the relaxation, in multiples of a star's 2E slots.
_KEEP_STARS = 4
# First step of the multipliers, as a share of one slot's typical weighted distance; halved after
# _PATIENCE steps without a better value (Held and Karp's rule), and the search ends below _STEP_END.
_STEP_SHARE, _STEP_END, _PATIENCE = 1.0, 1e-3, 20


@dataclass(frozen=True)
class Bound(Evaluation):
    """A lower bound on the expected token latency, and how it was obtained.

    Attributes
    ----------
    per_layer_ms : ndarray, shape (L,)
        A split of ``total_ms`` over the layers (layer ``l`` carries the
        star of its own gate); only the total is a bound, not each part.
    total_ms : float
    method : str
        One line naming the relaxation that gave the total.
    """

    method: str = ""


def rank_weights(probs) -> np.ndarray:
    """Weight of each rank of slot in a layer's sorted expected maximum.

    With the sorted rule, a layer whose E slots cost ``y_(1) ≤ … ≤ y_(E)``
    costs ``Σ_k W_k y_(k)``. The weights are read off the placement
    objective (:func:`placement.experts.sorted_expected_max`): slots costing
    ``[k ≥ m]`` give ``F_m = Σ_{k ≥ m} W_k``.

    Parameters
    ----------
    probs : array_like, shape (L, E)

    Returns
    -------
    ndarray, shape (L, E)
        ``W[l, k]`` for the k-th cheapest slot of layer ``l`` (k from 0).

    Examples
    --------
    Two experts, 0.5 each, independent: the dearer slot sets the maximum
    with probability 0.5, the cheaper one with 0.25.

    >>> rank_weights([[0.5, 0.5]]).tolist()
    [[0.25, 0.5]]
    """
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    step = (np.arange(n_experts)[None, :] >= np.arange(n_experts + 1)[:, None]).astype(np.float64)  # (E+1, E)
    ones = np.ones(n_experts, dtype=np.int64)
    tail = np.empty((n_layers, n_experts + 1))
    for l in range(n_layers):
        tail[l], _ = sorted_expected_max(step, ones, p[l])
    # tail[:, m] = F_{m} (F_E = 0); differences give the weights, clipped at float noise.
    return np.maximum(tail[:, :-1] - tail[:, 1:], 0.0)


def star_weights(weights: np.ndarray):
    """``F_1`` and ``ω = min_k F_k / (E − k + 1)`` of each layer."""
    tail = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1]  # F_k, k = 1..E
    n_experts = weights.shape[1]
    count = n_experts - np.arange(n_experts)  # E − k + 1
    return tail[:, 0], (tail / count).min(axis=1)


def gate_star_bound(path_ms, probs, *, n_sat: int, capacity=1, eligible=None, gate_time_ms=0.0,
                    expert_time_ms=0.0, iterations: int = LAGRANGIAN_ITERATIONS) -> Bound:
    """The gate-star lower bound (module docstring) on any placement's expected token latency.

    Parameters
    ----------
    path_ms : callable
        ``path_ms(sources) -> (len(sources), n_sat)`` in ms; called with
        every eligible satellite as a source, in chunks.
    probs : array_like, shape (L, E)
    n_sat : int
    capacity : int or array_like of int, shape (n_sat,)
    eligible : array_like of bool, shape (n_sat,), optional
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
    iterations : int
        Subgradient steps of the capacity relaxation (0: the star bound alone).

    Returns
    -------
    Bound

    Examples
    --------
    Six satellites on a ring 1 ms apart, two layers of one expert always
    active: each gate reaches its two experts (one per layer) 1 ms away at
    best, so each layer's detour is at least 2 ms.

    >>> import numpy as np
    >>> pos = np.arange(6.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             6 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> gate_star_bound(ring, [[1.0], [1.0]], n_sat=6).total_ms
    4.0
    """
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    use = as_eligible(eligible, n_sat)
    cap = np.where(use, as_capacity(capacity, n_sat), 0)
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
    f1, omega = star_weights(rank_weights(p))
    if n_layers == 1:
        per_gate = [(2.0 * np.full(n_experts, omega[0]), n_experts)]
    else:
        # Gate l collects layer l's experts (ω_l) and layer l−1's (ω_{l−1}), larger weights nearest.
        per_gate = [(np.sort(np.repeat([omega[l], omega[l - 1]], n_experts))[::-1], 2 * n_experts)
                    for l in range(n_layers)]
    n_slots = max(k for _, k in per_gate)
    sources = np.flatnonzero(use)
    best = np.full(n_layers, np.inf)
    n_keep = min(_KEEP_STARS * n_slots, max(sources.size - 1, 0))
    kept = np.empty((sources.size, n_keep), dtype=np.int64)  # each gate's nearest free satellites
    kept_ms = np.empty((sources.size, n_keep))
    beyond_ms = np.full(sources.size, np.inf)  # the distance of the next one: no slot left out is nearer
    for start in range(0, sources.size, _CHUNK):
        src = sources[start:start + _CHUNK]
        rows = oracle_rows(path_ms, src, n_sat)
        free = np.broadcast_to(cap, rows.shape).copy()
        free[np.arange(src.size), src] = 0  # the gate hosts no expert
        near, feasible = cheapest_slot_costs(rows, free, n_slots)  # (chunk, n_slots) ascending
        near = np.where(feasible[:, None], near, np.inf)
        for l, (w, k) in enumerate(per_gate):
            with np.errstate(invalid="ignore"):  # 0 · inf: a weight-0 slot never counts
                star = np.where(w[None, :] > 0, w[None, :] * near[:, :k], 0.0).sum(axis=1)
            best[l] = min(best[l], float(star.min(initial=np.inf)))
        if n_keep:
            masked = np.where(free > 0, rows, np.inf)
            order = np.argsort(masked, axis=1, kind="stable")
            kept[start:start + src.size] = order[:, :n_keep]
            kept_ms[start:start + src.size] = np.take_along_axis(masked, order[:, :n_keep], axis=1)
            if n_keep < n_sat:
                beyond_ms[start:start + src.size] = np.take_along_axis(masked, order[:, n_keep:n_keep + 1], axis=1)[:, 0]
    if not np.isfinite(best).all() and cap.sum() < n_slots:
        raise InfeasiblePlacementError(
            f"{int(use.sum())} eligible satellites hold {int(cap.sum())} experts but a gate's two layers "
            f"need {n_slots}; raise the memory per satellite or the eligible set")
    per_layer = t_gate + f1 * t_exp + best
    method = (f"gate-star relaxation: each gate's {n_slots} nearest free slots carry its two layers' "
              f"experts (weights ω = min F_k/(E−k+1)); {sources.size} shortest-path rows")
    if n_layers > 1 and iterations > 0 and n_keep >= n_slots and np.isfinite(best).all():
        lagrangian = _capacity_relaxation(omega, n_experts, cap, kept, kept_ms, beyond_ms, int(iterations))
        if lagrangian is not None and lagrangian.sum() > best.sum():
            per_layer = t_gate + f1 * t_exp + lagrangian
            method = (f"gate-star relaxation with capacity across gates (Lagrangian multipliers by subgradient "
                      f"steps): each gate's {n_slots} cheapest free slots carry its two layers' "
                      f"experts, a satellite at most twice its capacity over all gates; "
                      f"{sources.size} shortest-path rows")
    return Bound(per_layer_ms=per_layer, total_ms=float(per_layer.sum()), method=method)


def _weighted(w, d):
    """``w · d`` with ``0 · inf = 0`` (a slot of weight 0 never counts)."""
    with np.errstate(invalid="ignore"):
        return np.where(w > 0, w * d, 0.0)


def _capacity_relaxation(omega, n_experts, cap, kept, kept_ms, beyond_ms, iterations):
    """Best Lagrangian value over the subgradient steps (module docstring), per layer; None if none finite.

    ``kept`` (m, M): each gate's M nearest free satellites, ``kept_ms``
    their distances ascending, ``beyond_ms`` (m,) the next distance.
    """
    n_layers = omega.size
    mu = np.minimum(omega, np.roll(omega, 1))
    delta = np.abs(omega - np.roll(omega, 1))
    n_slots = 2 * n_experts
    # The E nearest free slots of each gate, for the δ part (λ does not enter it).
    heavy, ok = cheapest_slot_costs(kept_ms, cap[kept], n_experts)
    heavy_ms = np.where(ok, heavy.sum(axis=1), np.inf)
    classes = {}
    for l in range(n_layers):
        classes.setdefault((float(mu[l]), float(delta[l])), []).append(l)
    lam = np.zeros(cap.size)
    free = np.concatenate([cap[kept], np.full((kept.shape[0], 1), n_slots)], axis=1)
    scale = float(mu.mean()) * float(np.median(kept_ms[:, n_slots - 1]))
    if not (np.isfinite(scale) and scale > 0):
        return None
    best_total, best, best_it = -np.inf, None, 0
    share = _STEP_SHARE
    for it in range(iterations):
        per_layer = np.empty(n_layers)
        uses = np.zeros(cap.size)
        for (m, d), layers in classes.items():
            # A slot beyond the kept ones costs at least μ · (next distance): unlimited such slots.
            cost = np.concatenate([_weighted(m, kept_ms) + lam[kept], _weighted(m, beyond_ms)[:, None]], axis=1)
            slots, feasible = cheapest_slot_costs(cost, free, n_slots)
            star = np.where(feasible, slots.sum(axis=1), np.inf) + _weighted(d, heavy_ms)
            g = int(np.argmin(star))
            per_layer[layers] = star[g]
            chosen, _ = fill_sorted(cost[g:g + 1], free[g], n_slots)
            real = chosen[0][chosen[0] < kept.shape[1]]
            np.add.at(uses, kept[g, real], len(layers))
        # Spread the multipliers' term over the layers: only the total is a bound.
        per_layer -= 2.0 * float((cap * lam).sum()) / n_layers
        total = float(per_layer.sum())
        if not np.isfinite(total):
            return None
        if total > best_total:
            best_total, best, best_it = total, per_layer, it
        elif it - best_it >= _PATIENCE:
            share, best_it = share / 2.0, it
            if share < _STEP_END:
                break
        h = uses - 2.0 * cap
        norm = float(np.sqrt((h * h).sum()))
        if norm == 0:
            break
        lam = np.maximum(0.0, lam + share * scale * h / norm)
    return best


def certified_bound(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None,
                    seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                    n_gate_candidates: int = DEFAULT_GATE_CANDIDATES, nearest_ms=None) -> Bound:
    """The best of the gate-star bound and the nearest-neighbour floor (:func:`placement.lower_bound`).

    Both are valid for every placement on the eligible satellites (every
    partition, belt and gate ring, experts anywhere within capacity), so
    the larger is; ``method`` names the one that won.

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, gate_time_ms, expert_time_ms, nearest_ms
        As :func:`placement.lower_bound`.
    plane, belt_planes, seed, n_gate_candidates
        Accepted for the common strategy signature; not used.

    Returns
    -------
    Bound

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(12.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             12 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> b = certified_bound(pos * 30, ring, [[1.0, 0.5, 0.5]] * 3)
    >>> b.method.split(":")[0], round(b.total_ms, 3)
    ('gate-star relaxation', 12.0)
    """
    n_sat = np.asarray(arg_lat_deg).shape[0]
    floor = lower_bound(arg_lat_deg, path_ms, probs, capacity=capacity, eligible=eligible,
                        gate_time_ms=gate_time_ms, expert_time_ms=expert_time_ms, nearest_ms=nearest_ms)
    star = gate_star_bound(path_ms, probs, n_sat=n_sat, capacity=capacity, eligible=eligible,
                           gate_time_ms=gate_time_ms, expert_time_ms=expert_time_ms)
    if star.total_ms >= floor.total_ms:
        return star
    return Bound(per_layer_ms=floor.per_layer_ms, total_ms=floor.total_ms,
                 method="nearest-neighbour floor: every expert's detour ≥ twice its nearest link, layers apart")
