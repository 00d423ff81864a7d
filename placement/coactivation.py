"""Co-activation-aware expert placement from router traces (beyond the paper).

Independent activations are an approximation: top-k routing activates
exactly k experts, and some experts fire together. With a router trace —
the k expert ids each token chose in each layer — the objective becomes
the trace average (Monte Carlo with the empirical law)

    T_l = t_gate_l + mean over tokens of max over the token's experts e of c_l(s_e),

with ``c_l`` from :mod:`placement.model`. Two facts shape the search:

- Some optimal placement uses the E cheapest slots of a layer (moving an
  expert to a cheaper free slot can only lower a token's maximum), and the
  sorted rule and ``joint`` already use them; so only the *assignment* of
  experts to those slots is searched.
- On those slots, a pair of experts that often fire together can share
  the expensive slots: the token pays the dearer one once. The search is
  best-improvement 2-swap (2-opt) local search on the trace objective,
  each pass scoring every swap of a layer at once (Papadimitriou &
  Steiglitz, *Combinatorial Optimization*, ch. 19), until no swap helps.

Gates stay where the start placed them.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_layer_times, as_probs, oracle_rows
from .exceptions import PlacementError
from .model import Evaluation, Placement, layer_costs_ms
from .two_level import space_xnet
from .gates import DEFAULT_GATE_CANDIDATES

__all__ = ["coactivation", "trace_latency_ms"]

_REL_TOL = 1e-9
# Bound on the (swaps × tokens × k) scratch array, in elements.
_CHUNK_ELEMENTS = 4_000_000


def _as_traces(traces, n_layers, n_experts) -> np.ndarray:
    t = np.asarray(traces)
    if t.ndim != 3 or t.shape[1] != n_layers or t.shape[0] < 1 or t.shape[2] < 1 or t.dtype.kind not in "iu":
        raise PlacementError(
            f"traces must be an integer array of shape (tokens, {n_layers}, k) holding the expert ids "
            f"each token chose in each layer, got dtype {t.dtype} and shape {t.shape}"
        )
    if t.min() < 0 or t.max() >= n_experts:
        raise PlacementError(f"traces hold expert ids from {t.min()} to {t.max()}; valid ids are 0 … {n_experts - 1}")
    return t.astype(np.int64)


def _layer_trace_ms(cost_e, trace_l):
    """Trace mean of the max cost: ``cost_e`` (..., E), ``trace_l`` (T, k) → (...)."""
    return cost_e[..., trace_l].max(axis=-1).mean(axis=-1)


def trace_latency_ms(placement: Placement, path_ms, traces, gate_time_ms=0.0, expert_time_ms=0.0) -> Evaluation:
    """Token latency of a placement averaged over a router trace.

    Parameters
    ----------
    placement : Placement
    path_ms : callable
        Distance oracle; called once with the L gates.
    traces : array_like of int, shape (T, L, k)
        Expert ids chosen by each token in each layer.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)

    Returns
    -------
    Evaluation
        Per-layer and total trace-average latency in ms.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0)
    >>> line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    >>> pl = Placement(np.array([0, 0, 0, 0]), np.array([0]), np.array([[1, 3]]), "demo")
    >>> trace_latency_ms(pl, line, np.array([[[0]], [[1]]])).total_ms   # costs 2 and 6
    4.0
    """
    L, E = placement.expert_sat.shape
    tr = _as_traces(traces, L, E)
    rows = oracle_rows(path_ms, placement.gate_sat, placement.n_sat)
    t_gate = as_layer_times(gate_time_ms, L, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, L, "expert_time_ms")
    cost = np.take_along_axis(layer_costs_ms(rows, t_exp), placement.expert_sat, axis=1)  # (L, E)
    per_layer = t_gate + np.array([_layer_trace_ms(cost[l], tr[:, l, :]) for l in range(L)])
    return Evaluation(per_layer_ms=per_layer, total_ms=float(per_layer.sum()))


def coactivation(arg_lat_deg, path_ms, probs, traces, *, capacity=1, eligible=None, plane=None,
                 belt_planes=None, seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                 n_gate_candidates: int = DEFAULT_GATE_CANDIDATES, start: Placement | None = None, max_passes: int = 100) -> Placement:
    """Refine a placement's expert assignment on a router trace (2-opt).

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, plane, belt_planes, n_gate_candidates
        As :func:`placement.space_xnet`, used to build the default start.
    traces : array_like of int, shape (T, L, k)
        Expert ids chosen by each token in each layer.
    seed : ignored
        Deterministic (best improvement, lowest pair on ties).
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
    start : Placement, optional
        Placement to refine (default: ``space_xnet`` on the same inputs).
        Its gates and its set of expert satellites per layer are kept.
    max_passes : int
        Swaps applied per layer at most.

    Returns
    -------
    Placement
        ``strategy == "coactivation"``; the trace objective is never worse
        than the start's (``info`` holds both).

    Examples
    --------
    Experts 0 and 3 always fire together, so do 1 and 2: the pair that
    must pay the dear slot should be the one that already pays it.

    >>> import numpy as np
    >>> x = np.array([0.0, 0.5, 1.0, 1.5, 5.0])
    >>> line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    >>> start = Placement(np.zeros(5, int), np.array([0]), np.array([[1, 2, 3, 4]]), "space-xnet")
    >>> tr = np.array([[[0, 3]], [[1, 2]]])
    >>> pl = coactivation(x, line, [[0.5] * 4], tr, start=start)
    >>> pl.info["trace_ms"] < pl.info["start_trace_ms"]
    True
    """
    p = as_probs(probs)
    L, E = p.shape
    tr = _as_traces(traces, L, E)
    if start is None:
        start = space_xnet(arg_lat_deg, path_ms, p, capacity=capacity, eligible=eligible, plane=plane,
                           belt_planes=belt_planes, n_gate_candidates=n_gate_candidates)
    if start.expert_sat.shape != (L, E):
        raise PlacementError(f"start has {start.expert_sat.shape} (layers, experts) but probs has {(L, E)}")
    t_gate = as_layer_times(gate_time_ms, L, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, L, "expert_time_ms")
    rows = oracle_rows(path_ms, start.gate_sat, start.n_sat)
    sat_cost = layer_costs_ms(rows, t_exp)
    expert_sat = start.expert_sat.copy()
    before, after = np.empty(L), np.empty(L)
    iu, ju = np.triu_indices(E, k=1)
    for l in range(L):
        trace_l = tr[:, l, :]
        cost = sat_cost[l, expert_sat[l]]
        before[l] = after[l] = _layer_trace_ms(cost, trace_l)
        for _ in range(max_passes):
            scores = _swap_scores(cost, iu, ju, trace_l)
            best = int(np.argmin(scores))
            if not scores[best] < after[l] - _REL_TOL * max(1.0, abs(after[l])):
                break
            i, j = iu[best], ju[best]
            expert_sat[l, [i, j]] = expert_sat[l, [j, i]]
            cost[[i, j]] = cost[[j, i]]
            after[l] = _layer_trace_ms(cost, trace_l)
    info = {"start_strategy": start.strategy, "start_trace_ms": float((before + t_gate).sum()),
            "trace_ms": float((after + t_gate).sum())}
    return Placement(subnet=start.subnet, gate_sat=start.gate_sat, expert_sat=expert_sat,
                     strategy="coactivation", experts_confined=start.experts_confined, info=info)


def _swap_scores(cost, iu, ju, trace_l) -> np.ndarray:
    """Trace objective after each swap (i, j) of two experts' satellites."""
    n_pairs = iu.size
    out = np.empty(n_pairs)
    step = max(1, _CHUNK_ELEMENTS // max(1, trace_l.size))
    for lo in range(0, n_pairs, step):
        hi = min(n_pairs, lo + step)
        c = np.broadcast_to(cost, (hi - lo, cost.size)).copy()
        r = np.arange(hi - lo)
        c[r, iu[lo:hi]] = cost[ju[lo:hi]]
        c[r, ju[lo:hi]] = cost[iu[lo:hi]]
        out[lo:hi] = _layer_trace_ms(c, trace_l)
    return out
