"""Exact optimum of the placement objective on small instances.

The problem (:mod:`placement.model`): choose L distinct gate satellites
``a_0 … a_{L−1}`` (a ring) and, for every layer, E expert slots, at most
``capacity`` experts per satellite over all layers and none on a gate, to
minimise the expected token latency. Experts may sit anywhere in the pool
(as ``joint`` allows), so this optimum is below every strategy.

Method: branch and bound over gate rings, a MILP for the experts of a ring.

1. *Ring bound.* ``f_l(a, b)`` is layer ``l``'s cost with gates ``a, b``
   and its experts on the best slots of every satellite but ``a`` and
   ``b`` (the sorted rule, other layers ignored). ``R(ring) = Σ_l f_l(a_l,
   a_{l+1})`` is a lower bound of every placement with that ring. All
   ``n^L`` rings are scored at once by broadcasting (hence "small").
2. Rings are visited by increasing ``R`` until ``R`` reaches the best
   placement found; the rest cannot win.
3. *A ring.* The sorted rule per layer over every non-gate satellite gives
   a second, larger bound; if those layers together respect capacity it is
   the ring's optimum. Otherwise the ring's experts are a MILP
   (:func:`ring_milp`) solved by HiGHS (``scipy.optimize.milp``).

The MILP. With the ring fixed, an expert slot of layer ``l`` on satellite
``s`` costs ``c_l(s) = d(a_l, s) + t_expert_l + d(s, a_{l+1})``, and a
layer whose slots cost ``y_(1) ≤ … ≤ y_(E)`` costs ``Σ_k W_{l,k} y_(k)``
(:func:`placement.bound.rank_weights`). Binary ``x[l, k, s]`` puts the
k-th cheapest slot of layer ``l`` on ``s``:

    min  Σ_{l,k,s} W_{l,k} c_l(s) x[l,k,s]
    s.t. Σ_s x[l,k,s] = 1                                   (each rank one slot)
         Σ_{l,k} x[l,k,s] ≤ q_s,  q = 0 on gates            (capacity)
         Σ_s c_l(s) x[l,k,s] ≤ Σ_s c_l(s) x[l,k+1,s]         (ranks in cost order)

The order constraints make the linear objective equal to the layer's
sorted value for every feasible ``x``; without them HiGHS could give a
large weight to a cheap slot out of order, which no placement achieves.
Every multiset of slots has such an ordering, and the sorted rule is
optimal for its multiset, so the MILP's optimum is the ring's optimum.
The reported value is recomputed from the chosen slots by the objective.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_matrix

from ._validate import as_capacity, as_eligible, as_layer_times, as_probs, oracle_rows
from .bound import rank_weights, star_weights
from .exceptions import InfeasiblePlacementError, PlacementError
from .experts import experts_to_slots, sorted_expected_max
from .gates import DEFAULT_GATE_CANDIDATES
from .model import Placement
from .ring import belt_mask

__all__ = ["exact_placement", "ring_milp", "layer_labels", "MAX_RINGS"]

#: Largest number of gate tuples (n^L) scored at once: 8 M float64 is 64 MB.
MAX_RINGS = 8_000_000

# Subgradient steps of a ring's Lagrangian bound.
_DUAL_STEPS = 40

# Relative slack when comparing a ring's bound with the best value (float noise of the sums).
_REL_TOL = 1e-12


def ring_milp(costs_ms, free, weights):
    """Experts of every layer for a fixed gate ring, exactly (module docstring).

    Parameters
    ----------
    costs_ms : ndarray, shape (L, n)
        ``c_l(s)``, ``inf`` where unreachable.
    free : ndarray of int, shape (n,)
        Expert slots of each satellite (0 on the gates).
    weights : ndarray, shape (L, E)
        Rank weights (:func:`placement.bound.rank_weights`).

    Returns
    -------
    slot_sat : ndarray of int64, shape (L, E) or None
        Satellite of the k-th cheapest slot of each layer; None if no
        assignment with finite cost exists.

    Examples
    --------
    Two layers of one expert, one slot each on satellites 0 and 1; layer 1
    gains more from satellite 0 than layer 0 does:

    >>> import numpy as np
    >>> ring_milp(np.array([[1.0, 2.0], [1.0, 5.0]]), np.array([1, 1]), np.ones((2, 1))).tolist()
    [[1], [0]]
    """
    n_layers, n = costs_ms.shape
    n_experts = weights.shape[1]
    cols = [np.flatnonzero((free > 0) & np.isfinite(costs_ms[l])) for l in range(n_layers)]
    if any(c.size == 0 for c in cols):
        return None
    # Variable blocks: layer l, rank k, candidate j (satellite cols[l][j]).
    var_l, var_k, var_s = [], [], []
    for l in range(n_layers):
        m = cols[l].size
        var_l.append(np.full(n_experts * m, l))
        var_k.append(np.repeat(np.arange(n_experts), m))
        var_s.append(np.tile(cols[l], n_experts))
    var_l, var_k, var_s = (np.concatenate(v) for v in (var_l, var_k, var_s))
    n_var = var_l.size
    c = costs_ms[var_l, var_s]
    objective = weights[var_l, var_k] * c
    var = np.arange(n_var)
    rows, data, cons_col = [], [], []
    lo, hi = [], []
    # Each rank takes one slot.
    rank_row = var_l * n_experts + var_k
    rows.append(rank_row), cons_col.append(var), data.append(np.ones(n_var))
    n_rows = n_layers * n_experts
    lo += [1.0] * n_rows
    hi += [1.0] * n_rows
    # Capacity of each satellite.
    rows.append(n_rows + var_s), cons_col.append(var), data.append(np.ones(n_var))
    lo += [0.0] * n
    hi += free.astype(np.float64).tolist()
    n_rows += n
    # Rank k no dearer than rank k+1 (same layer).
    if n_experts > 1:
        head = var_k < n_experts - 1
        tail = var_k > 0
        order_row = n_rows + var_l * (n_experts - 1)
        rows += [order_row[head] + var_k[head], order_row[tail] + var_k[tail] - 1]
        cons_col += [var[head], var[tail]]
        data += [c[head], -c[tail]]
        n_order = n_layers * (n_experts - 1)
        lo += [-np.inf] * n_order
        hi += [0.0] * n_order
        n_rows += n_order
    a = coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cons_col))),
                   shape=(n_rows, n_var)).tocsr()
    res = milp(objective, integrality=np.ones(n_var), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a, lo, hi), options={"mip_rel_gap": 0.0})
    if res.x is None:
        return None
    chosen = res.x > 0.5
    slot_sat = np.empty((n_layers, n_experts), dtype=np.int64)
    slot_sat[var_l[chosen], var_k[chosen]] = var_s[chosen]
    return slot_sat


def exact_placement(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None,
                    seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                    n_gate_candidates: int = DEFAULT_GATE_CANDIDATES, max_rings: int = MAX_RINGS) -> Placement:
    """The placement of least expected token latency (small instances only).

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, plane, belt_planes, gate_time_ms, expert_time_ms
        As :func:`placement.joint`: the pool is the eligible satellites (and
        the belt if given); gates and experts may use any of them.
    seed, n_gate_candidates
        Accepted for the common signature; not used.
    max_rings : int
        Refuse instances with more than this many gate tuples (``n^L``).

    Returns
    -------
    Placement
        ``strategy == "exact"``, experts not confined; ``subnet`` labels
        each gate and expert satellite with its layer (the lowest, if
        shared). ``info`` holds ``objective_ms`` (the optimum),
        ``rings_scored``, ``rings_visited`` and ``milps``.

    Raises
    ------
    PlacementError
        If ``n^L`` exceeds ``max_rings``.
    InfeasiblePlacementError
        If no placement fits.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pl = exact_placement(pos * 45, ring, [[0.9, 0.1], [0.5, 0.5]])
    >>> pl.check(); round(pl.info["objective_ms"], 2)
    5.22
    """
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    phase = np.asarray(arg_lat_deg, dtype=np.float64)
    n_sat = phase.shape[0]
    pool = as_eligible(eligible, n_sat).copy()
    if belt_planes is not None:
        pool &= belt_mask(plane, belt_planes, pool)
    idx = np.flatnonzero(pool)
    m = idx.size
    if m < n_layers:
        raise InfeasiblePlacementError(f"{m} usable satellites for {n_layers} distinct gates")
    if float(m) ** n_layers > max_rings:
        raise PlacementError(
            f"exact_placement scores every gate ring: {m} satellites and {n_layers} layers make {m}^{n_layers} "
            f"> max_rings = {max_rings}; use a smaller instance or an approximate strategy (joint, anneal)")
    cap = as_capacity(capacity, n_sat)[idx]
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
    dist = oracle_rows(path_ms, idx, n_sat)[:, idx]  # (m, m)
    weights = rank_weights(p)
    _, omega = star_weights(weights)
    # Imported on use, as the gate kernels are: ``import placement`` loads no numba.
    from ._exact_kernels import ring_dual_bound

    pair = _pair_costs(dist, cap, p, t_gate, t_exp)  # (L, m, m)
    score = _ring_scores(pair)  # shape (m,) * L
    order = np.argsort(score, axis=None, kind="stable")
    flat = score.ravel()

    best, best_slots, best_ring = np.inf, None, None
    visited = milps = 0
    for pos in order:
        bound = flat[pos]
        if not np.isfinite(bound) or bound >= best * (1 - _REL_TOL):
            break
        ring = np.array(np.unravel_index(pos, score.shape), dtype=np.int64).reshape(n_layers)
        if np.unique(ring).size != n_layers:
            continue
        visited += 1
        costs = dist[ring] + dist[np.roll(ring, -1)] + t_exp[:, None]  # (L, m)
        free = cap.copy()
        free[ring] = 0
        value, slots = sorted_expected_max(costs, free, p)
        total = float((t_gate + value).sum())
        if not total < best * (1 - _REL_TOL):
            continue
        load = np.bincount(slots.ravel(), minlength=m)
        if (load > free).any():
            # A second bound with capacity: the layers' linear minorants as one assignment
            # problem; its assignment is also a placement, which may improve the best.
            low, lsa_slots = _linear_bound(costs, free, p, t_gate, omega)
            if lsa_slots is not None:
                lsa_total = float((t_gate + _layer_values(costs, lsa_slots, p)).sum())
                if lsa_total < best * (1 - _REL_TOL):
                    best, best_slots, best_ring = lsa_total, lsa_slots, ring
            if not low < best * (1 - _REL_TOL):
                continue
            if np.isfinite(best):
                # The Lagrangian bound with the sorted rule inside each layer: much closer than the
                # linear one. A ring it lifts to the best value needs no MILP, nor one whose priced
                # choices respect capacity and meet the bound (they are then its optimum).
                dual, primal, primal_slots = ring_dual_bound(costs, free, weights, best - t_gate.sum(),
                                                             _DUAL_STEPS)
                if np.isfinite(primal):
                    value = _layer_values(costs, primal_slots, p)
                    total = float((t_gate + value).sum())
                    if total < best * (1 - _REL_TOL):
                        best, best_slots, best_ring = total, primal_slots, ring
                if not t_gate.sum() + dual < best * (1 - _REL_TOL):
                    continue
                if np.isfinite(primal) and primal - dual <= _REL_TOL * abs(primal):
                    continue
            milps += 1
            slots = ring_milp(costs, free, weights)
            if slots is None:
                continue
            value = _layer_values(costs, slots, p)
            total = float((t_gate + value).sum())
        if total < best * (1 - _REL_TOL):
            best, best_slots, best_ring = total, slots, ring
    if best_ring is None:
        raise InfeasiblePlacementError(
            f"no placement of {n_layers} layers × {n_experts} experts fits on {m} satellites "
            "with finite latency and the given capacity")
    gate_sat = idx[best_ring]
    expert_sat = idx[experts_to_slots(best_slots, p)]
    subnet = layer_labels(n_sat, gate_sat, expert_sat)
    info = {"objective_ms": best, "rings_scored": int(score.size), "rings_visited": visited, "milps": milps}
    return Placement(subnet=subnet, gate_sat=gate_sat, expert_sat=expert_sat, strategy="exact",
                     experts_confined=False, info=info)


def layer_labels(n_sat, gate_sat, expert_sat) -> np.ndarray:
    """Layer of each satellite's gate or experts (the lowest layer where shared), −1 if unused.

    The ``subnet`` of a placement whose experts are not confined to subnets.

    Examples
    --------
    >>> layer_labels(5, np.array([0, 3]), np.array([[1], [1]])).tolist()
    [0, 0, -1, 1, -1]
    """
    subnet = np.full(n_sat, -1, dtype=np.int64)
    for l in range(gate_sat.size - 1, -1, -1):
        subnet[expert_sat[l]] = l
        subnet[gate_sat[l]] = l
    return subnet


def _layer_values(costs, slot_sat, probs):
    """Sorted value of each layer on the given slots (experts re-sorted onto them)."""
    slot_cost = np.take_along_axis(costs, slot_sat, axis=1)
    one = np.ones(slot_cost.shape[1], dtype=np.int64)
    return np.array([sorted_expected_max(slot_cost[l][None, :], one, probs[l])[0][0]
                     for l in range(costs.shape[0])])


def _linear_bound(costs, free, probs, t_gate, omega):
    """Bound of a ring with capacity: ``Σ_l t_gate_l + ω_l Σ_e c_l(s_e)`` minimised as one assignment.

    Each layer costs at least ``t_gate_l + ω_l Σ_e c_l(s_e)``
    (:mod:`placement.bound`); with every layer's E experts as rows and
    every free slot as a column this is a rectangular assignment problem
    (``scipy.optimize.linear_sum_assignment``), capacity included. Returns
    the bound and the slots of its assignment (each layer ascending), or
    ``(inf, None)`` when no finite assignment exists.
    """
    n_layers, m = costs.shape
    n_experts = probs.shape[1]
    slot_owner = np.repeat(np.arange(m), free)
    if slot_owner.size < n_layers * n_experts:
        return np.inf, None
    # c_l holds the expert time; Σ_k W_k y_(k) ≥ ω Σ_k y_k holds for any costs y ≥ 0.
    table = np.repeat(omega[:, None] * costs, n_experts, axis=0)[:, slot_owner]
    finite = np.isfinite(table)
    big = 1e6 * (1.0 + np.abs(table[finite]).max(initial=0.0))
    row, col = linear_sum_assignment(np.where(finite, table, big))
    if not finite[row, col].all():
        return np.inf, None
    slots = np.sort(slot_owner[col].reshape(n_layers, n_experts), axis=1)
    chosen = np.take_along_axis(costs, slots, axis=1)
    slots = np.take_along_axis(slots, np.argsort(chosen, axis=1, kind="stable"), axis=1)
    return float(t_gate.sum() + table[row, col].sum()), slots


def _pair_costs(dist, cap, probs, t_gate, t_exp):
    """``f[l, a, b]``: layer ``l`` with gates ``a, b`` on every other satellite's best slots."""
    m = dist.shape[0]
    n_layers = probs.shape[0]
    a, b = np.divmod(np.arange(m * m), m)
    costs = dist[a] + dist[b]  # (m², m)
    free = np.broadcast_to(cap, costs.shape).copy()
    free[np.arange(m * m), a] = 0
    free[np.arange(m * m), b] = 0
    out = np.empty((n_layers, m, m))
    for l in range(n_layers):
        value, _ = sorted_expected_max(costs + t_exp[l], free, probs[l])
        out[l] = (t_gate[l] + value).reshape(m, m)
    if n_layers > 1:
        out[:, np.arange(m), np.arange(m)] = np.inf  # distinct gates
    return out


def _ring_scores(pair):
    """``R[a_0, …, a_{L−1}] = Σ_l f_l(a_l, a_{l+1})`` for every tuple, shape (m,) * L."""
    n_layers, m, _ = pair.shape
    if n_layers == 1:
        return np.diagonal(pair[0]).copy()
    score = np.zeros((m,) * n_layers)
    for l in range(n_layers):
        shape = [1] * n_layers
        shape[l] = m
        nxt = (l + 1) % n_layers
        shape[nxt] = m
        f = pair[l] if l < nxt else pair[l].T  # axes in increasing order
        score = score + f.reshape(shape)
    return score
