"""A lower bound on the expected token latency of every placement.

Every strategy places an expert on an eligible satellite ``s`` that is
neither its layer's gate nor the next gate (gates host no expert), so both
legs of its detour leave or reach ``s`` from another satellite:

    d(g_l, s) + d(s, g_{l+1}) ≥ 2 r(s),   r(s) = min_{u ≠ s, u eligible} d(u, s),

``r(s)`` being the latency to ``s``'s nearest eligible satellite. Replacing
each expert's cost by this floor can only lower a layer's expected maximum
(it is non-decreasing in every cost), and the sorted rule minimises the
floored layer over *all* eligible satellites at once — ignoring the
partition, the gates' positions and the other layers' use of memory, but
keeping the layer's own per-satellite capacity, which every strategy
respects. Hence, per layer,

    T_l ≥ t_gate_l + min over placements of E[max_e (2 r(s_e) + t_expert_l)],

and the sum is a valid lower bound on the token latency of any strategy
(tested against all of them on random graphs).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity, as_eligible, as_layer_times, as_probs, oracle_rows
from .exceptions import InfeasiblePlacementError, PlacementError
from .experts import sorted_expected_max
from .model import Evaluation
from .gates import DEFAULT_GATE_CANDIDATES

__all__ = ["lower_bound", "nearest_neighbour_ms"]


def nearest_neighbour_ms(path_ms, eligible) -> np.ndarray:
    """``r(s)``: latency from each satellite to its nearest other eligible one.

    Costs one oracle call with every eligible satellite as a source (n
    Dijkstras); pass ``nearest_ms`` to :func:`lower_bound` instead when the
    graph is at hand (the cheapest up link of each satellite).

    Parameters
    ----------
    path_ms : callable
    eligible : ndarray of bool, shape (n_sat,)

    Returns
    -------
    ndarray, shape (n_sat,)
        ``inf`` where no other eligible satellite is reachable.
    """
    sources = np.flatnonzero(eligible)
    # A copy: an oracle may hand out read-only rows (the routing graph's cache does).
    rows = oracle_rows(path_ms, sources, eligible.size).copy()
    rows[np.arange(sources.size), sources] = np.inf
    return rows.min(axis=0) if sources.size else np.full(eligible.size, np.inf)


def lower_bound(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None,
                seed=None, gate_time_ms=0.0, expert_time_ms=0.0, n_gate_candidates: int = DEFAULT_GATE_CANDIDATES,
                nearest_ms=None) -> Evaluation:
    """Lower bound on the expected token latency of any placement.

    Parameters
    ----------
    arg_lat_deg, plane, belt_planes, seed, n_gate_candidates
        Accepted for the common strategy signature; not used (the bound
        holds for every partition, so also for belts).
    path_ms : callable
        Distance oracle; called once with every eligible source unless
        ``nearest_ms`` is given.
    probs : array_like, shape (L, E)
    capacity : int or array_like of int, shape (n_sat,)
    eligible : array_like of bool, shape (n_sat,), optional
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
    nearest_ms : array_like, shape (n_sat,), optional
        ``r(s)``, latency from each satellite to its nearest eligible
        neighbour (e.g. its cheapest up link); any smaller value keeps the
        bound valid.

    Returns
    -------
    Evaluation
        Per-layer and total lower bounds in ms.

    Examples
    --------
    Three satellites on a line 1 ms apart, one expert always active: its
    detour is at least 2 ms, plus 3 ms of compute and 1 ms at the gate.

    >>> import numpy as np
    >>> x = np.arange(3.0)
    >>> line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    >>> lower_bound(x, line, [[1.0]], gate_time_ms=1.0, expert_time_ms=3.0).total_ms
    6.0
    """
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    if nearest_ms is None:
        n_sat = np.asarray(arg_lat_deg).shape[0]
        use = as_eligible(eligible, n_sat)
        r = nearest_neighbour_ms(path_ms, use)
    else:
        r = np.asarray(nearest_ms, dtype=np.float64)
        n_sat = r.size
        use = as_eligible(eligible, n_sat)
        if r.ndim != 1 or np.isnan(r).any() or (r < 0).any():
            raise PlacementError("nearest_ms must be a 1-D array of latencies ≥ 0 ms (inf if isolated)")
    cap = np.where(use, as_capacity(capacity, n_sat), 0)
    if cap.sum() < n_experts:
        raise InfeasiblePlacementError(
            f"{int(use.sum())} eligible satellites hold {int(cap.sum())} experts but a layer has {n_experts}; "
            "raise the memory per satellite or the eligible set"
        )
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
    floor = 2.0 * r[None, :] + t_exp[:, None]
    value, _ = sorted_expected_max(floor, cap, p)
    per_layer = t_gate + value
    return Evaluation(per_layer_ms=per_layer, total_ms=float(per_layer.sum()))
