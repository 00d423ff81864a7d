"""Joint placement of gates and experts (beyond the paper).

The paper fixes the layer partition first and places experts inside it.
``joint`` optimises the same objective — the exact expected token latency
of :mod:`placement.model` — over gates and experts together:

- experts of layer ``l`` may sit on any free eligible satellite, inside
  subnet ``l`` or not (near ``g_{l+1}``, on the way), within memory;
- the gate ring may be compact instead of circling the Earth.

Method: greedy construction plus local search by exact block moves
(block coordinate descent; local search as in Papadimitriou & Steiglitz,
*Combinatorial Optimization*, ch. 19):

1. Starts: (a) the ``space-xnet`` placement; (b) a *compact* start, the
   same two-level method run on the region of the ~1.25 × L (1 + ⌈E/q⌉)
   satellites nearest the first gate, so the whole ring fits in a patch.
2. Local search on each start, alternating two exact block moves:
   *experts* — re-solve one layer's experts by the sorted rule over every
   free slot of the pool (optimal for that layer given the others, so never
   worse); *gates* — move one gate to a free satellite among a few
   candidates (those between its neighbours' gates and those near it) and
   re-solve the two layers it touches, taking the move only if it lowers
   their summed expected time. One oracle call per round (≤ 2·n_moves·L
   sources).
3. Return the better of the two. Moves are taken only when they lower the
   objective by more than a relative 1e-9, so the result is never worse
   than ``space-xnet`` on the same inputs, by construction.

Warm start (``start=``, e.g. the previous step of a sweep): the given
placement, repaired for these inputs (:func:`placement.warm.repaired_start`),
replaces both starts and is searched for :data:`WARM_ROUNDS` round(s)
only. Never worse than the repaired start (the search only takes
improving moves). The ``space-xnet`` start is not made: its gate search
costs as much as the warm search itself, so a warm result is not
compared with it (in a sweep, the cold first step of each chunk is). A
start that cannot be repaired (no room) is ignored: the cold method runs.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity, as_layer_times, as_phase_deg, as_probs, oracle_rows
from .exceptions import InfeasiblePlacementError
from .experts import experts_to_slots, sorted_expected_max
from .model import Placement, objective_from_rows
from .ring import ring_partition
from .two_level import two_level_on_subnets
from .gates import DEFAULT_GATE_CANDIDATES
from .warm import repaired_start, step_oracle

__all__ = ["joint", "WARM_ROUNDS"]

# Relative improvement below which a move is refused: keeps the search
# from cycling on floating-point ties and makes "never worse" exact.
_REL_TOL = 1e-9
# Slack of the compact start's region over the bare minimum of satellites.
_COMPACT_SLACK = 1.25
#: Local-search rounds from a warm start: it is already a local optimum of a nearby step.
WARM_ROUNDS = 1


def joint(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None,
          seed=None, gate_time_ms=0.0, expert_time_ms=0.0, n_gate_candidates: int = DEFAULT_GATE_CANDIDATES,
          max_rounds: int = 4, n_moves: int = 4, start=None) -> Placement:
    """Gates and experts placed together (greedy starts + local search).

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, plane, belt_planes, n_gate_candidates
        As :func:`placement.space_xnet`. The pool of satellites (eligible,
        belt if given) is the same.
    seed : ignored
        Deterministic.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
        Used in the objective (they do not move the optimum but make the
        reported ``info["objective_ms"]`` the real expected latency).
    max_rounds : int
        Local-search rounds per start (each: one expert pass, one gate pass,
        one oracle call).
    n_moves : int
        Candidate gate moves of each kind per layer and round.
    start : Placement, optional
        A placement to improve (the previous step's, in a sweep), repaired
        first, and searched alone for :data:`WARM_ROUNDS` round(s).

    Returns
    -------
    Placement
        ``strategy == "joint"``, ``experts_confined`` False; ``subnet`` is
        the partition of the start that won (the ring partition when warm);
        ``info`` holds ``objective_ms`` and the objective of each start
        before and after the search (warm: ``warm_start_ms``, the repaired
        ``start``, and ``objective_ms`` only).

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(12.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             12 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pl = joint(pos * 30.0, ring, [[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]])
    >>> pl.check(); pl.strategy, pl.info["objective_ms"] <= pl.info["space_xnet_ms"]
    ('joint', True)
    """
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    phase = as_phase_deg(arg_lat_deg)
    n_sat = phase.size
    cap = as_capacity(capacity, n_sat)
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")

    subnet = ring_partition(phase, n_layers, eligible=eligible, plane=plane, belt_planes=belt_planes)
    pool = subnet >= 0
    pool_cap = np.where(pool, cap, 0)
    if start is not None:
        path_ms = step_oracle(path_ms, n_sat)  # the repair and the search share the rows they search
        warm = repaired_start(start, pool, pool_cap, p, path_ms)
        if warm is not None:
            return _warm_search(_Search(path_ms, p, pool, pool_cap, t_gate, t_exp, n_moves), subnet, warm)
    ring, rows = two_level_on_subnets(subnet, path_ms, p, phase, plane, cap, n_gate_candidates)
    search = _Search(path_ms, p, pool, pool_cap, t_gate, t_exp, n_moves)
    ring_state = search.run(ring.gate_sat, rows, ring.expert_sat, max_rounds)
    info = {"space_xnet_ms": ring_state.start_ms, "ring_start_searched_ms": ring_state.total_ms}
    best, best_subnet = ring_state, subnet

    compact = _compact_region(rows[0], pool, pool_cap, n_layers, n_experts)
    if compact is not None:
        sub_c = ring_partition(phase, n_layers, eligible=compact, plane=plane)
        try:
            start_c, rows_c = two_level_on_subnets(sub_c, path_ms, p, phase, plane, cap, n_gate_candidates)
        except InfeasiblePlacementError:
            # Uneven capacities can leave one arc of the small region short;
            # the compact start is optional, the ring start always exists.
            start_c = None
        if start_c is not None:
            compact_state = search.run(start_c.gate_sat, rows_c, start_c.expert_sat, max_rounds)
            info.update(compact_start_ms=compact_state.start_ms, compact_start_searched_ms=compact_state.total_ms)
            if compact_state.total_ms < best.total_ms * (1 - _REL_TOL):
                best, best_subnet = compact_state, sub_c
    info["objective_ms"] = best.total_ms
    return Placement(subnet=best_subnet, gate_sat=best.gate, expert_sat=best.expert_sat, strategy="joint",
                     experts_confined=False, info=info)


def _warm_search(search, subnet, warm) -> Placement:
    """The repaired warm start, searched for :data:`WARM_ROUNDS` rounds."""
    gate, expert = warm
    state = search.run(gate, oracle_rows(search.path_ms, gate, search.n_sat), expert, WARM_ROUNDS)
    info = {"warm_start_ms": state.start_ms, "objective_ms": state.total_ms}
    return Placement(subnet=subnet, gate_sat=state.gate, expert_sat=state.expert_sat, strategy="joint",
                     experts_confined=False, info=info)


def _compact_region(centre_row_ms, pool, pool_cap, n_layers, n_experts):
    """The pool satellites nearest one centre, enough for a whole ring."""
    q = int(np.median(pool_cap[pool])) if pool.any() else 0
    if q < 1:
        return None
    need = int(np.ceil(_COMPACT_SLACK * n_layers * (1 + -(-n_experts // q))))
    if need >= pool.sum():
        return None
    dist = np.where(pool, centre_row_ms, np.inf)
    if not np.isfinite(np.sort(dist)[need - 1]):
        return None
    region = np.zeros(pool.size, dtype=bool)
    region[np.argsort(dist, kind="stable")[:need]] = True
    return region


class _State:
    def __init__(self, gate, rows, expert_sat, start_ms, total_ms):
        self.gate, self.rows, self.expert_sat = gate, rows, expert_sat
        self.start_ms, self.total_ms = start_ms, total_ms


class _Search:
    """Local search on gates and experts for fixed problem data."""

    def __init__(self, path_ms, probs, pool, pool_cap, t_gate, t_exp, n_moves):
        self.path_ms, self.p, self.pool, self.cap = path_ms, probs, pool, pool_cap
        self.t_gate, self.t_exp, self.n_moves = t_gate, t_exp, int(n_moves)
        self.n_layers, self.n_experts = probs.shape
        self.n_sat = pool.size

    def run(self, gate, rows, expert_sat, max_rounds) -> _State:
        gate, rows, expert_sat = gate.copy(), rows.copy(), expert_sat.copy()
        value = objective_from_rows(rows, expert_sat, self.p, self.t_gate, self.t_exp)
        start_ms = float(value.sum())
        for _ in range(max_rounds):
            changed = self._expert_pass(gate, rows, expert_sat, value)
            changed |= self._gate_pass(gate, rows, expert_sat, value)
            if not changed:
                break
        return _State(gate, rows, expert_sat, start_ms, float(value.sum()))

    def _better(self, new, old) -> bool:
        return bool(new < old - _REL_TOL * max(1.0, abs(old))) if np.isfinite(old) else bool(np.isfinite(new))

    def _load_without(self, expert_sat, layers):
        keep = np.ones(self.n_layers, dtype=bool)
        keep[list(layers)] = False
        return np.bincount(expert_sat[keep].ravel(), minlength=self.n_sat)

    def _expert_pass(self, gate, rows, expert_sat, value) -> bool:
        changed = False
        nxt = np.roll(np.arange(self.n_layers), -1)
        for l in range(self.n_layers):
            free = self.cap - self._load_without(expert_sat, [l])
            free[gate] = 0
            cost = rows[l] + rows[nxt[l]] + self.t_exp[l]
            new, slot_sat = sorted_expected_max(cost[None, :], free, self.p[l][None, :])
            if self._better(self.t_gate[l] + new[0], value[l]):
                expert_sat[l] = experts_to_slots(slot_sat[0], self.p[l])
                value[l] = objective_from_rows(rows[[l, nxt[l]]], expert_sat[[l]], self.p[[l]],
                                               self.t_gate[[l]], self.t_exp[[l]])[0]
                changed = True
        return changed

    def _candidates(self, gate, rows, expert_sat):
        """A few free satellites per layer: between the neighbour gates, and near the gate."""
        L = self.n_layers
        load = np.bincount(expert_sat.ravel(), minlength=self.n_sat)
        usable = self.pool & (load == 0)
        usable[gate] = False
        out = []
        for l in range(L):
            between = rows[(l - 1) % L] + rows[(l + 1) % L]
            picks = []
            for score in (between, rows[l]):
                s = np.where(usable, score, np.inf)
                k = min(self.n_moves, int(np.isfinite(s).sum()))
                if k:
                    picks.append(np.argpartition(s, k - 1)[:k] if k < s.size else np.arange(s.size))
            out.append(np.unique(np.concatenate(picks)) if picks else np.empty(0, dtype=np.int64))
        return out

    def _gate_pass(self, gate, rows, expert_sat, value) -> bool:
        L, E = self.n_layers, self.n_experts
        cands = self._candidates(gate, rows, expert_sat)
        sources = np.unique(np.concatenate(cands)) if any(c.size for c in cands) else np.empty(0, np.int64)
        if sources.size == 0:
            return False
        cand_rows = oracle_rows(self.path_ms, sources, self.n_sat)
        changed = False
        for l in range(L):
            prev, nxt = (l - 1) % L, (l + 1) % L
            touched = [l] if L == 1 else [prev, l]
            load = self._load_without(expert_sat, touched)
            c = cands[l]
            ok = (load[c] == 0) & ~np.isin(c, gate)
            c = c[ok]
            if c.size == 0:
                continue
            a_rows = cand_rows[np.searchsorted(sources, c)]  # (C, n)
            free = self.cap - load
            others = np.delete(gate, l)
            free[others] = 0
            free = np.broadcast_to(free, a_rows.shape).copy()
            free[np.arange(c.size), c] = 0
            if L == 1:
                v, slots = sorted_expected_max(2 * a_rows + self.t_exp[0], free, self.p[0])
                new_total = v + self.t_gate[0]
                old_total = value[0]
            else:
                cost_prev = rows[prev][None, :] + a_rows + self.t_exp[prev]
                v_prev, slots_prev = sorted_expected_max(cost_prev, free, self.p[prev])
                used = np.zeros_like(free)
                np.add.at(used, (np.arange(c.size)[:, None], slots_prev), 1)
                cost_l = a_rows + rows[nxt][None, :] + self.t_exp[l]
                v_l, slots_l = sorted_expected_max(cost_l, free - used, self.p[l])
                new_total = v_prev + v_l + self.t_gate[prev] + self.t_gate[l]
                old_total = value[prev] + value[l]
            best = int(np.argmin(new_total))
            if not self._better(new_total[best], old_total):
                continue
            gate[l] = c[best]
            rows[l] = a_rows[best]
            if L == 1:
                expert_sat[0] = experts_to_slots(slots[best], self.p[0])
            else:
                expert_sat[prev] = experts_to_slots(slots_prev[best], self.p[prev])
                expert_sat[l] = experts_to_slots(slots_l[best], self.p[l])
            value[:] = objective_from_rows(rows, expert_sat, self.p, self.t_gate, self.t_exp)
            changed = True
        return changed
