"""``anneal``: gates and experts searched together by simulated annealing (beyond the paper).

Objective: the placement layer's expected token latency
(:mod:`placement.model`, independent activations), evaluated exactly for
every move: a layer's value sorts its slots' costs and weighs them by the
rank weights of :func:`placement.bound.rank_weights`, which is the sorted
rule's value, so the experts of a layer always sit optimally on its slots.
The weights come from the objective itself, so the search optimises
whichever expectation :func:`placement.experts.sorted_expected_max` uses.

Method.

1. Start from :func:`placement.joint` (never worse than ``space-xnet``).
2. Shortest-path rows between every two pool satellites (one oracle call
   with every pool satellite as a source) and each satellite's K nearest.
3. Two annealing chains (:mod:`placement._anneal_kernels`), seeds ``seed``
   and ``seed + 1``, run side by side on two threads (the kernel releases
   the GIL); each does ``round(time_budget_s × MOVES_PER_SECOND)`` moves,
   at most ``MOVES_PER_SLOT × L × E``.
   The move count, not the clock, ends a chain: the same seed and budget
   give the same placement on any machine, and the budget is a nominal
   time (measured by ``bench/placement_gap.py``).
4. The best state of either chain, or the start if no chain beat it.

Warm start (``start=``, e.g. the previous step of a sweep): step 1 is
``joint`` warm-started from it (:func:`placement.joint`), and the chains
make :data:`WARM_SHARE` of the moves, from a cooler temperature
(:data:`WARM_T_START`) so that they refine the start instead of melting
it. Never worse than the repaired ``start``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._validate import as_capacity, as_eligible, as_layer_times, as_phase_deg, as_probs, oracle_rows
from .bound import rank_weights
from .exceptions import PlacementError
from .exact import layer_labels
from .experts import experts_to_slots
from .gates import DEFAULT_GATE_CANDIDATES
from .joint import joint
from .model import Placement, objective_from_rows
from .ring import belt_mask

__all__ = ["anneal", "DEFAULT_TIME_BUDGET_S", "MOVES_PER_SECOND", "WARM_SHARE", "WARM_T_START"]

#: Nominal seconds of annealing per chain at the default budget.
DEFAULT_TIME_BUDGET_S = 10.0
#: Moves one chain makes per nominal second (about what one core does on the default shell).
MOVES_PER_SECOND = 2_000_000
#: Most moves per expert slot (L × E) and chain: a small model settles long before the budget ends.
MOVES_PER_SLOT = 40_000
#: Nearest satellites a move may reach from its centre.
NEIGHBOURS = 48
# Temperatures relative to the mean layer value of the start.
_T_START, _T_END = 0.2, 1e-4
#: Share of the moves a chain makes from a warm start (the previous step's placement is nearly settled).
WARM_SHARE = 0.01
#: Starting temperature from a warm start, relative to the mean layer value.
WARM_T_START = 0.001


def anneal(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None, seed=None,
           gate_time_ms=0.0, expert_time_ms=0.0, n_gate_candidates: int = DEFAULT_GATE_CANDIDATES,
           time_budget_s: float = DEFAULT_TIME_BUDGET_S, n_chains: int = 2, start=None) -> Placement:
    """Gates and experts placed by simulated annealing from the ``joint`` placement.

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, plane, belt_planes, n_gate_candidates
        As :func:`placement.joint` (same pool of satellites).
    seed : int or None
        Seed of the chains (None: 0). Same seed, same budget: same placement.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
    time_budget_s : float
        Nominal seconds per chain (moves = budget × :data:`MOVES_PER_SECOND`,
        at most :data:`MOVES_PER_SLOT` × L × E).
    n_chains : int
        Independent chains, run on as many threads.
    start : Placement, optional
        A placement to improve (the previous step's, in a sweep): the
        chains start from ``joint(..., start=start)`` and make
        :data:`WARM_SHARE` of the moves.

    Returns
    -------
    Placement
        ``strategy == "anneal"``, experts not confined; ``info`` holds
        ``objective_ms``, ``joint_ms``, ``moves`` and each chain's best.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(12.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             12 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pl = anneal(pos * 30.0, ring, [[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]], time_budget_s=0.01)
    >>> pl.check(); pl.info["objective_ms"] <= pl.info["joint_ms"]
    True
    """
    if not (isinstance(time_budget_s, (int, float, np.integer, np.floating)) and np.isfinite(time_budget_s)
            and time_budget_s >= 0):
        raise PlacementError(f"time_budget_s must be a finite number of seconds ≥ 0, got {time_budget_s!r}")
    if isinstance(n_chains, bool) or not isinstance(n_chains, (int, np.integer)) or n_chains < 1:
        raise PlacementError(f"n_chains must be a positive integer, got {n_chains!r}")
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    phase = as_phase_deg(arg_lat_deg)
    n_sat = phase.size
    cap = as_capacity(capacity, n_sat)
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
    warm = start is not None
    start = joint(phase, path_ms, p, capacity=cap, eligible=eligible, plane=plane, belt_planes=belt_planes,
                  gate_time_ms=t_gate, expert_time_ms=t_exp, n_gate_candidates=n_gate_candidates, start=start)
    warm = warm and "warm_start_ms" in start.info  # a start that could not be repaired leaves joint cold
    start_ms = float(start.info["objective_ms"])
    pool = as_eligible(eligible, n_sat).copy()  # the pool of joint's ring partition
    if belt_planes is not None:
        pool &= belt_mask(plane, belt_planes, pool)
    idx = np.flatnonzero(pool)
    where = np.full(n_sat, -1, dtype=np.int64)
    where[idx] = np.arange(idx.size)
    dist = np.ascontiguousarray(oracle_rows(path_ms, idx, n_sat)[:, idx])
    k = min(NEIGHBOURS, idx.size - 1)
    info = {"joint_ms": start_ms, "objective_ms": start_ms, "moves": 0, "chains_ms": []}
    n_moves = int(min(round(time_budget_s * MOVES_PER_SECOND), MOVES_PER_SLOT * n_layers * n_experts))
    if warm:
        n_moves = int(round(n_moves * WARM_SHARE))
        info["warm_start_ms"] = start.info["warm_start_ms"]
    if k < 1 or n_moves == 0 or not np.isfinite(start_ms):
        return Placement(start.subnet, start.gate_sat, start.expert_sat, "anneal", experts_confined=False,
                         info=info)
    off = np.where(np.eye(idx.size, dtype=bool), np.inf, dist)
    nbr = nearest(off, k)
    weights = rank_weights(p)
    gate0 = where[start.gate_sat]
    slots0 = where[start.expert_sat]
    mean_layer = start_ms / n_layers
    from ._anneal_kernels import anneal_chain  # numba: loaded on use, as the gate kernels are

    root = 0 if seed is None else int(seed)
    args = (gate0, slots0, dist, cap[idx].astype(np.int64), nbr, t_gate, t_exp, weights, n_moves,
            (WARM_T_START if warm else _T_START) * mean_layer, _T_END * mean_layer)
    with ThreadPoolExecutor(max_workers=n_chains) as ex:
        runs = list(ex.map(lambda c: anneal_chain(*args, root + c), range(n_chains)))
    info["moves"] = n_moves * n_chains
    gate_sat, expert_sat, best_ms = start.gate_sat, start.expert_sat, start_ms
    for _, g, slots in runs:
        rows = _rows(dist, idx, g, n_sat)
        e_sat = _sorted_rule(rows, idx[slots], p)
        # Each chain's best is scored by the placement objective itself, not the kernel's running sum.
        v = float(objective_from_rows(rows, e_sat, p, t_gate, t_exp).sum())
        info["chains_ms"].append(v)
        if v < best_ms * (1 - 1e-12):
            gate_sat, expert_sat, best_ms = idx[g], e_sat, v
    info["objective_ms"] = best_ms
    subnet = layer_labels(n_sat, gate_sat, expert_sat)
    return Placement(subnet, gate_sat, expert_sat, "anneal", experts_confined=False,
                     seed=None if seed is None else int(seed), info=info)


def nearest(dist, k: int) -> np.ndarray:
    """Each row's ``k`` smallest entries' columns, smallest first, ties by column (int64, C order).

    ``np.argsort(dist, axis=1, kind="stable")[:, :k]`` without sorting
    whole rows: a partition finds each row's k-th value, and only the
    entries up to it (ties included) are sorted.

    Examples
    --------
    >>> nearest(np.array([[3.0, 1.0, 1.0, 0.0], [np.inf, 2.0, 5.0, 2.0]]), 2).tolist()
    [[3, 1], [1, 3]]
    """
    kth = np.partition(dist, k - 1, axis=1)[:, k - 1]
    out = np.empty((dist.shape[0], k), dtype=np.int64)
    for r in range(dist.shape[0]):
        near = np.flatnonzero(dist[r] <= kth[r])
        out[r] = near[np.argsort(dist[r, near], kind="stable")[:k]]
    return out


def _sorted_rule(rows, slot_sat, probs):
    """Experts on a layer's slots by the sorted rule: the most probable on the cheapest slot."""
    n_layers = slot_sat.shape[0]
    layer = np.arange(n_layers)[:, None]
    cost = rows[layer, slot_sat] + rows[(layer + 1) % n_layers, slot_sat]
    order = np.argsort(cost, axis=1, kind="stable")
    return experts_to_slots(np.take_along_axis(slot_sat, order, axis=1), probs)


def _rows(dist, idx, gate_pos, n_sat):
    """``d(g_l, ·)`` over all satellites (``inf`` outside the pool) from the pool's distance table."""
    rows = np.full((gate_pos.size, n_sat), np.inf)
    rows[:, idx] = dist[gate_pos]
    return rows
