"""Placement over time: the ``static``, ``recompute`` and ``handover`` policies.

A sweep drives a policy step by step (streaming: the policy's state is its
serving placement and the migrations in flight, so memory does not grow
with the sweep's length). At each step the caller builds one
:class:`placement.Step` (the satellites' phases, that step's distance
oracle, the usable satellites, the model; decayed or failed satellites are
not usable) and hands it to every policy: ``policy.step(step)`` returns a
:class:`StepRecord`. The strategy's fresh placement and the shortest-path
rows are the step's, computed once whichever policy asks.

Time model. Step ``t`` stands for the interval ``[t, t + 1) · step_s``,
over which the graph is taken as constant; the record is a snapshot at its
start: the placement serving at time ``t · step_s`` and its exact expected
latency (:func:`placement.evaluate`) on step ``t``'s graph. Migrations are
counted (``migrations``, ``bytes_moved``, ``migration_time_s``) at the step
they start, and each one is listed in the record's ``moves`` (:class:`Move`:
what moved, from which satellite to which, its transfer time and what the
policy charged for it).

Policies
--------
``static``
    Places once with the strategy at the first step (the first feasible
    one) and keeps that placement; each step only evaluates it: one oracle
    call with the L gates. It never migrates voluntarily.
``recompute``
    Places afresh with the strategy at every step, as if moving weights
    were free and instantaneous, and serves the fresh placement ``R`` only
    if its expected latency at this step is lower than that of keeping the
    serving placement ``C`` (after forced moves; lower by more than a
    relative 1e-9: ties keep ``C``). An adoption records what moves
    (experts and gates whose satellite differs, their bytes and transfer
    times). Guarantee, at every step: never above keeping the previous
    placement, never above the strategy's fresh placement. The fresh
    placement alone gives neither: the strategies are optimal only within
    their own family (for ``space-xnet``: the ring partition of that
    step's phases, gates among its candidates, sorted experts), and a
    placement kept from an earlier step lies outside it once a satellite
    crosses an arc boundary (every arc shifts) or an arc's new order
    changes its gate candidates. Not guaranteed: an optimum over time
    (each step is a greedy choice between two placements), nor never
    above ``static``, which serves another placement (its first); that
    holds when the phases are fixed and only the links change (tested).
``handover``
    Keeps the current placement and migrates only when the expected gain
    over a horizon outweighs the price of moving the weights (the rule:
    :mod:`placement.handover`).

Forced moves (all policies). A gate or expert on a satellite that is not
usable (or outside the ``eligible`` mask) is moved at once, before any
other decision, by :func:`placement.migration.repair`: the gate to the free
member of its subnet that keeps the gate ring shortest, the experts, most
probable first, to the cheapest free slots of their subnet (when recompute
adopts a fresh placement at that step, they go straight to their places in
it instead). They count in ``forced_migrations``; a failed satellite cannot send, so their transfer
time is the bytes over the ISL rate (path term left out) and the outage
while the weights reload is *not* charged to the latency (the record shows
the repaired placement). Nothing is ever recorded on an unusable satellite;
what finds no room is left unplaced (−1) and the step is flagged
``infeasible``; the run continues and the next step tries again.


Oracle calls per step: static asks for its L gates' rows; recompute and
handover for the strategy's (≤ L·K for ``space-xnet``), ``C``'s and ``R``'s
gates, and handover for those at each lookahead step. The rows and the
fresh placement belong to the :class:`placement.Step`: a source is searched
once per step whichever policy asks (the sweep reports the count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .exceptions import PlacementError
from .migration import migration_time_s, repair
from .model import Placement

__all__ = [
    "POLICIES",
    "FLAG_PLACED",
    "FLAG_FORCED",
    "FLAG_INFEASIBLE",
    "FLAG_UNREACHABLE",
    "FLAG_MIGRATING",
    "FLAG_MEANINGS",
    "StepRecord",
    "Move",
    "Policy",
    "StaticPolicy",
    "RecomputePolicy",
    "make_policy",
]

POLICIES = ("static", "recompute", "handover")
"""Names accepted by :func:`make_policy`."""

FLAG_PLACED = 1
"""A placement by the strategy took effect this step (the first placement, a recompute or handover adoption)."""
FLAG_FORCED = 2
"""Gates or experts were moved off unusable satellites."""
FLAG_INFEASIBLE = 4
"""No valid placement: the strategy could not place, or a repair found no room (−1 entries)."""
FLAG_UNREACHABLE = 8
"""Placed, but a path is unreachable: the expected latency is infinite."""
FLAG_MIGRATING = 16
"""Migrations in flight at the end of the step (handover)."""
FLAG_MEANINGS = {
    FLAG_PLACED: "placed",
    FLAG_FORCED: "forced_migration",
    FLAG_INFEASIBLE: "infeasible",
    FLAG_UNREACHABLE: "unreachable",
    FLAG_MIGRATING: "migrating",
}
"""Bit → name, for CF ``flag_masks`` / ``flag_meanings``."""

# Relative gain below which a move is a tie (float noise), never taken.
REL_TOL = 1e-9


@dataclass(frozen=True)
class Move:
    """One gate or expert whose migration started at a step.

    Attributes
    ----------
    kind : str
        ``"expert"`` or ``"gate"``.
    layer : int
    expert : int
        The routed expert's index in its layer (−1 for a gate).
    from_sat, to_sat : int
        Satellite indices; ``from_sat`` is −1 for weights reloaded after
        being left unplaced at an earlier step.
    transfer_s : float
        Transfer time of the move (:func:`placement.migration.migration_time_s`).
    charged_ms : float
        What the policy's decision charged for the move: ``migration_price
        · transfer_s · 1000`` for a voluntary handover move, 0 where the
        policy charges nothing (recompute treats moves as free; forced moves
        are not a choice).
    forced : bool
        Moved off a satellite that may no longer host it, or reloaded.

    Examples
    --------
    >>> Move("gate", 3, -1, 10, 12, 0.5, 500.0, False).kind
    'gate'
    """

    kind: str
    layer: int
    expert: int
    from_sat: int
    to_sat: int
    transfer_s: float
    charged_ms: float
    forced: bool


def charged_ms(price: float, transfer_s: float) -> float:
    """What a decision charges for a move of ``transfer_s``: ``price`` decode seconds per second of transfer, ms.

    As the handover cost: a move of no transfer time costs nothing, whatever the price.

    >>> charged_ms(2.0, 0.5), charged_ms(2.0, 0.0), charged_ms(0.0, 0.5)
    (1000.0, 0.0, 0.0)
    """
    return price * transfer_s * 1000.0 if price and transfer_s > 0 else 0.0


def _moves(old_gate, old_expert, new_gate, new_expert, em, gm, times_s, forced, price=0.0) -> list:
    """The :class:`Move` list of the expert moves ``em`` (row-major) then the gate moves ``gm``.

    ``times_s`` and ``forced`` come in that order (as :meth:`Policy._moves_times` gives them);
    ``price``: decode seconds charged per second of transfer (0: not charged).
    """
    layers, experts = np.nonzero(em)
    gates = np.flatnonzero(gm)
    kinds = ["expert"] * layers.size + ["gate"] * gates.size
    layer = np.concatenate([layers, gates]).tolist()
    expert = np.concatenate([experts, np.full(gates.size, -1)]).tolist()
    src = np.concatenate([old_expert[em], old_gate[gm]]).tolist()
    dst = np.concatenate([new_expert[em], new_gate[gm]]).tolist()
    times = np.asarray(times_s, dtype=np.float64).tolist()
    forced = np.broadcast_to(np.asarray(forced, dtype=bool), (len(kinds),)).tolist()
    charged = [charged_ms(price, t) for t in times]
    return [Move(*row) for row in zip(kinds, layer, expert, src, dst, times, charged, forced)]


@dataclass(frozen=True)
class StepRecord:
    """What a policy did at one step and the latency it achieved.

    Attributes
    ----------
    t_index : int
        Step index (time ``t_index · step_s`` from the sweep's start).
    subnet : ndarray of int64, shape (n_sat,)
        Layer of each satellite's subnet (−1 outside; all −1 before any placement).
    gate_sat : ndarray of int64, shape (L,)
        Serving gate satellite of each layer, −1 if unplaced.
    expert_sat : ndarray of int64, shape (L, E)
        Serving satellite of each expert, −1 if unplaced.
    per_layer_ms : ndarray, shape (L,)
        Expected time of each layer (exact, independent activations);
        ``inf`` for a layer with an unplaced or unreachable part.
    total_ms : float
        Expected token latency, the sum of ``per_layer_ms``.
    migrations : int
        ``experts_moved + gates_moved``, forced ones included.
    experts_moved, gates_moved : int
        Experts and gates whose migration started this step.
    forced_migrations : int
        Of ``migrations``, those forced off unusable satellites (or reloads
        of weights left unplaced at an earlier step).
    bytes_moved : float
        ``experts_moved · expert_bytes + gates_moved · gate_bytes``.
    migration_time_s : float
        Sum of the migrations' transfer times (they run in parallel).
    flags : int
        Bits of :data:`FLAG_MEANINGS`.
    in_flight : int
        Migrations started but not landed at the end of the step.
    candidate_total_ms : float
        Expected token latency of the strategy's fresh placement at this
        step (recompute, handover); NaN when not computed (static) or
        when the strategy found no placement.
    moves : tuple of Move
        The ``migrations`` one by one, in the order they started.
    """

    t_index: int
    subnet: np.ndarray
    gate_sat: np.ndarray
    expert_sat: np.ndarray
    per_layer_ms: np.ndarray
    total_ms: float
    migrations: int
    experts_moved: int
    gates_moved: int
    forced_migrations: int
    bytes_moved: float
    migration_time_s: float
    flags: int
    in_flight: int
    candidate_total_ms: float
    moves: tuple = ()

    @property
    def feasible(self) -> bool:
        """Placed completely and every path reachable."""
        return not self.flags & (FLAG_INFEASIBLE | FLAG_UNREACHABLE)

    def flag_names(self) -> tuple:
        """Names of the flags set, in bit order."""
        return tuple(name for bit, name in FLAG_MEANINGS.items() if self.flags & bit)


class Tally:
    """Migrations started during one step."""

    def __init__(self):
        self.experts = self.gates = self.forced = 0
        self.time_s = 0.0
        self.moves = []

    def add(self, moves) -> None:
        """Count and list the :class:`Move` records ``moves``."""
        self.experts += sum(m.kind == "expert" for m in moves)
        self.gates += sum(m.kind == "gate" for m in moves)
        self.forced += sum(m.forced for m in moves)
        self.time_s += float(np.sum([m.transfer_s for m in moves]))
        self.moves.extend(moves)


class Policy:
    """Base class: a placement policy driven one :class:`placement.Step` at a time.

    Use :func:`make_policy`. Subclasses implement :meth:`_decide`. The
    state is the serving placement (and, for handover, the moves in
    flight): :meth:`state` and :meth:`restore` carry it as plain data.

    Parameters
    ----------
    expert_bytes, gate_bytes : float
        Bytes moved to migrate one routed expert (its weights) and one gate
        (attention weights, router and KV cache), ≥ 0.
    isl_rate_bps : float
        ISL data rate, bits per second, > 0 (``inf`` allowed).
    step_s : float
        Time between steps, seconds, > 0.
    horizon_s : float
        Handover horizon, seconds, ≥ 0 (at least one step is used).
    migration_price : float
        Decode seconds charged per second of ISL transfer, ≥ 0 (``inf``
        allowed: never migrate voluntarily).
    min_gain_ratio : float
        Hysteresis: least relative per-token gain of a voluntary move, ≥ 0.
    """

    name = "policy"

    def __init__(self, *, expert_bytes, gate_bytes=0.0, isl_rate_bps, step_s, horizon_s=600.0,
                 migration_price=1.0, min_gain_ratio=0.01):
        for name, value, rule in [("expert_bytes", expert_bytes, "≥ 0"), ("gate_bytes", gate_bytes, "≥ 0"),
                                  ("isl_rate_bps", isl_rate_bps, "> 0"), ("step_s", step_s, "> 0"),
                                  ("horizon_s", horizon_s, "≥ 0"), ("migration_price", migration_price, "≥ 0"),
                                  ("min_gain_ratio", min_gain_ratio, "≥ 0")]:
            v = float(value) if isinstance(value, (int, float, np.integer, np.floating)) else math.nan
            finite_needed = name in ("expert_bytes", "gate_bytes", "step_s", "horizon_s", "min_gain_ratio")
            bad = math.isnan(v) or (v <= 0 if rule == "> 0" else v < 0) or (finite_needed and math.isinf(v))
            if bad:
                raise PlacementError(
                    f"{name} must be a {'finite ' if finite_needed else ''}number {rule}, got {value!r}"
                )
        self.expert_bytes, self.gate_bytes = float(expert_bytes), float(gate_bytes)
        self.isl_rate_bps, self.step_s = float(isl_rate_bps), float(step_s)
        self.horizon_s, self.migration_price = float(horizon_s), float(migration_price)
        self.min_gain_ratio = float(min_gain_ratio)
        self.horizon_steps = max(1, math.ceil(self.horizon_s / self.step_s - REL_TOL))
        self._last_t = None
        self._shape = None
        self._made_by = None  # (strategy, seed) of the serving placement
        self._cur = None  # (subnet, gate_sat, expert_sat, confined) serving now

    @property
    def placement(self) -> Placement | None:
        """The serving placement after the last step (None before the first placement)."""
        if self._cur is None:
            return None
        subnet, gate, expert, confined = self._cur
        strategy, seed = self._made_by
        return Placement(subnet=subnet.copy(), gate_sat=gate.copy(), expert_sat=expert.copy(),
                         strategy=strategy, experts_confined=confined, seed=seed)

    def step(self, step) -> StepRecord:
        """Advance to ``step`` (a :class:`placement.Step`) and return what the policy did.

        Steps come with strictly increasing ``t_index`` (gaps allowed: time
        is ``t_index · step_s``), for one model on one constellation.
        """
        if self._shape is not None and step.shape != self._shape:
            raise PlacementError(
                f"step {step.t_index}: (layers, experts, satellites) = {step.shape} but earlier steps had "
                f"{self._shape}; a policy follows one model on one constellation — make a new policy for another"
            )
        if self._last_t is not None and step.t_index <= self._last_t:
            raise PlacementError(
                f"t_index {step.t_index} does not follow the previous step {self._last_t}; steps must be increasing"
            )
        record = self._decide(step)
        self._shape, self._last_t = step.shape, step.t_index
        return record

    # -- state as plain data ------------------------------------------------

    def state(self) -> dict:
        """The policy's state as plain data (lists, numbers, strings: JSON as it is)."""
        out = {"policy": self.name, "last_t": self._last_t,
               "shape": None if self._shape is None else list(self._shape), "serving": None}
        if self._cur is not None:
            subnet, gate, expert, confined = self._cur
            out["serving"] = {"subnet": subnet.tolist(), "gate_sat": gate.tolist(), "expert_sat": expert.tolist(),
                              "experts_confined": bool(confined), "strategy": self._made_by[0],
                              "seed": self._made_by[1]}
        return out

    def restore(self, state: dict) -> None:
        """Take the state :meth:`state` gave (of a policy of the same name)."""
        if state.get("policy") != self.name:
            raise PlacementError(f"a {state.get('policy')!r} policy's state cannot restore a {self.name!r} policy")
        self._last_t = state["last_t"]
        self._shape = None if state["shape"] is None else tuple(state["shape"])
        serving = state["serving"]
        if serving is None:
            self._cur = self._made_by = None
        else:
            self._cur = (np.array(serving["subnet"], dtype=np.int64), np.array(serving["gate_sat"], dtype=np.int64),
                         np.array(serving["expert_sat"], dtype=np.int64).reshape(self._shape[:2]),
                         bool(serving["experts_confined"]))
            self._made_by = (serving["strategy"], serving["seed"])

    # -- shared machinery -------------------------------------------------

    def _serve(self, placement) -> None:
        """Make ``placement`` (the step's candidate) the serving one."""
        self._cur = (placement.subnet.copy(), placement.gate_sat.copy(), placement.expert_sat.copy(),
                     placement.experts_confined)
        self._made_by = (placement.strategy, placement.seed)

    def _move_times(self, oracle, old, new, n_bytes, via, forced=None) -> np.ndarray:
        """Transfer time of each move ``old[i] → new[i]`` of ``n_bytes`` (scalar or per move).

        Paths are relayed through ``via``; forced moves leave the path out.
        """
        old = np.asarray(old, dtype=np.int64)
        new = np.asarray(new, dtype=np.int64)
        path = oracle.relay_ms(np.maximum(old, 0), new, via=via)
        if forced is not None:
            path = np.where(forced, np.nan, path)
        path = np.where(old < 0, np.nan, path)
        return migration_time_s(np.broadcast_to(n_bytes, old.shape), path, self.isl_rate_bps)

    @staticmethod
    def _moved(old_gate, old_expert, new_gate, new_expert):
        """Experts and gates placed in both placements, on different satellites: (expert mask, gate mask)."""
        em = (old_expert >= 0) & (new_expert >= 0) & (old_expert != new_expert)
        gm = (old_gate >= 0) & (new_gate >= 0) & (old_gate != new_gate)
        return em, gm

    def _moves_times(self, oracle, old_gate, old_expert, new_gate, new_expert, em, gm, allowed):
        """Transfer times of the moves ``em``, ``gm`` (experts row-major, then gates) and which are forced."""
        via = np.concatenate([old_gate, new_gate])
        via = via[via >= 0]
        # The experts' and the gates' moves in one relay: each move's time is its own.
        old = np.concatenate([old_expert[em], old_gate[gm]])
        forced = ~allowed[old]
        n_bytes = np.full(old.size, self.expert_bytes)
        n_bytes[old.size - np.count_nonzero(gm):] = self.gate_bytes
        times = self._move_times(oracle, old, np.concatenate([new_expert[em], new_gate[gm]]), n_bytes, via, forced)
        return times, forced

    def _repair(self, step, tally, reserved=None):
        """Forced moves on the current placement; returns whether it is complete, and the experts moved."""
        subnet, gate, expert, confined = self._cur
        g2, x2, gm, xm, complete = repair(subnet, gate, expert, step.allowed, step.capacity, step.probs,
                                          step.oracle, confined, reserved)
        if gm.any() or xm.any():
            # The old satellite failed: the weights come from a copy whose
            # place the policy does not know, so only the transfer counts.
            times = np.concatenate([
                migration_time_s(np.full(int(xm.sum()), self.expert_bytes), np.nan, self.isl_rate_bps),
                migration_time_s(np.full(int(gm.sum()), self.gate_bytes), np.nan, self.isl_rate_bps),
            ])
            tally.add(_moves(gate, expert, g2, x2, xm, gm, times, True))
        self._cur = (subnet, g2, x2, confined)
        return complete, xm

    def _initial(self, step):
        """First placement (the initial load, not a migration): its flag and the placement (None if infeasible)."""
        placement = step.candidate
        if placement is None:
            return FLAG_INFEASIBLE, None
        self._serve(placement)
        return FLAG_PLACED, placement

    def _record(self, step, tally, flags, in_flight=0, candidate_ms=math.nan) -> StepRecord:
        """The step's record of the serving placement; ``candidate_ms=None``: the serving placement's total."""
        n_layers, n_experts = step.probs.shape
        if self._cur is None:
            subnet = np.full(step.n_sat, -1, dtype=np.int64)
            gate = np.full(n_layers, -1, dtype=np.int64)
            expert = np.full((n_layers, n_experts), -1, dtype=np.int64)
            per_layer = np.full(n_layers, np.inf)
        else:
            subnet, gate, expert, _ = self._cur
            subnet, gate, expert = subnet.copy(), gate.copy(), expert.copy()
            per_layer = step.per_layer_ms(gate, expert)
        if (gate < 0).any() or (expert < 0).any():
            flags |= FLAG_INFEASIBLE
        elif not np.isfinite(per_layer).all():
            flags |= FLAG_UNREACHABLE
        if tally.forced:
            flags |= FLAG_FORCED
        if in_flight:
            flags |= FLAG_MIGRATING
        total_ms = float(per_layer.sum())
        if candidate_ms is None:
            candidate_ms = total_ms
        return StepRecord(
            t_index=step.t_index, subnet=subnet, gate_sat=gate, expert_sat=expert, per_layer_ms=per_layer,
            total_ms=total_ms, migrations=tally.experts + tally.gates,
            experts_moved=tally.experts, gates_moved=tally.gates, forced_migrations=tally.forced,
            bytes_moved=tally.experts * self.expert_bytes + tally.gates * self.gate_bytes,
            migration_time_s=tally.time_s, flags=int(flags), in_flight=int(in_flight),
            candidate_total_ms=float(candidate_ms), moves=tuple(tally.moves),
        )

    def _decide(self, step) -> StepRecord:  # pragma: no cover - abstract
        raise NotImplementedError


class StaticPolicy(Policy):
    """Place once (first feasible step), then only evaluate and make forced moves.

    Examples
    --------
    >>> import numpy as np
    >>> from placement import Step
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("static", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0)
    >>> recs = [pol.step(Step(t, pos * 45.0 + 5 * t, ring, [[0.9, 0.1], [0.5, 0.5]])) for t in range(3)]
    >>> [r.migrations for r in recs], recs[0].flag_names()
    ([0, 0, 0], ('placed',))
    """

    name = "static"

    def _decide(self, step):
        tally = Tally()
        if self._cur is None:
            flags, _ = self._initial(step)
            return self._record(step, tally, flags)
        self._repair(step, tally)
        return self._record(step, tally, 0)


class RecomputePolicy(Policy):
    """Place afresh at every step; adopt the fresh placement only if it is faster than keeping the current one.

    At each step, after the forced moves, the strategy's fresh placement
    ``R`` replaces the serving placement ``C`` if its expected token
    latency on this step's graph is lower by more than a relative 1e-9;
    otherwise (ties, float noise, or ``R`` infeasible) ``C`` stays. Moving
    weights counts as free and instantaneous; an adoption records the
    experts and gates that change satellite (from where they served
    before this step, forced if that satellite is down), their bytes and
    transfer times.

    Guarantee, at every step: the latency served is ``min(T(R), T(C))``,
    never above keeping ``C`` and never above the fresh placement ``R``.
    Not guaranteed: an optimum over time (each step is a greedy choice
    between two placements), nor never above ``static``, which serves
    another placement.

    Examples
    --------
    >>> import numpy as np
    >>> from placement import Step
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("recompute", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0)
    >>> r0 = pol.step(Step(0, pos * 45.0, ring, [[0.9, 0.1], [0.5, 0.5]]))
    >>> r1 = pol.step(Step(1, pos * 45.0 + 50.0, ring, [[0.9, 0.1], [0.5, 0.5]]))  # one satellite crosses 0°
    >>> r1.bytes_moved == r1.experts_moved * 1e9, r1.total_ms <= r1.candidate_total_ms
    (True, True)
    """

    name = "recompute"

    def _decide(self, step):
        tally = Tally()
        if self._cur is None:
            flags, pl = self._initial(step)
            return self._record(step, tally, flags, candidate_ms=None if pl is not None else math.nan)
        before = self._cur
        self._repair(step, tally)  # the forced moves: self._cur is now the placement kept
        fresh = step.candidate
        if fresh is None:
            return self._record(step, tally, 0)
        fresh_ms = float(step.per_layer_ms(fresh.gate_sat, fresh.expert_sat).sum())
        subnet, gate, expert, _ = self._cur
        kept_ms = float(step.per_layer_ms(gate, expert).sum())  # inf if unplaced or unreachable
        if not fresh_ms < kept_ms * (1.0 - REL_TOL):
            return self._record(step, tally, 0, candidate_ms=fresh_ms)
        # Adopted: each part moves once, from where it served before this step (forced where that
        # satellite is down), not to its repair slot and then on; the repair's tally is void.
        tally = Tally()
        _, gate0, expert0, _ = before
        em, gm = self._moved(gate0, expert0, fresh.gate_sat, fresh.expert_sat)
        times, forced = self._moves_times(step.oracle, gate0, expert0, fresh.gate_sat, fresh.expert_sat, em, gm,
                                          step.allowed)
        tally.add(_moves(gate0, expert0, fresh.gate_sat, fresh.expert_sat, em, gm, times, forced))
        # Parts unplaced before (no room at an earlier step) are reloaded: forced, transfer only.
        xr, gr = (expert0 < 0) & (fresh.expert_sat >= 0), (gate0 < 0) & (fresh.gate_sat >= 0)
        if xr.any() or gr.any():
            n_bytes = np.concatenate([np.full(int(xr.sum()), self.expert_bytes),
                                      np.full(int(gr.sum()), self.gate_bytes)])
            reload_s = migration_time_s(n_bytes, np.nan, self.isl_rate_bps)
            tally.add(_moves(gate0, expert0, fresh.gate_sat, fresh.expert_sat, xr, gr, reload_s, True))
        self._serve(fresh)
        return self._record(step, tally, FLAG_PLACED, candidate_ms=fresh_ms)


def make_policy(name, *, expert_bytes, gate_bytes=0.0, isl_rate_bps, step_s, horizon_s=600.0,
                migration_price=1.0, min_gain_ratio=0.01) -> Policy:
    """Create a placement policy to drive step by step.

    Parameters
    ----------
    name : str
        One of :data:`POLICIES`: ``"static"``, ``"recompute"``, ``"handover"``.
    expert_bytes, gate_bytes : float
        Bytes of one routed expert's weights and of one gate (attention,
        router, KV cache).
    isl_rate_bps : float
        ISL data rate, bit/s.
    step_s : float
        Time between steps, s.
    horizon_s : float
        Handover horizon, s.
    migration_price : float
        Handover: decode seconds charged per second of ISL transfer.
    min_gain_ratio : float
        Handover hysteresis: least relative per-token gain of a move.

    Returns
    -------
    Policy
        Call ``policy.step(step)`` with each step's :class:`placement.Step`
        (which names the strategy and its options).

    Examples
    --------
    >>> import numpy as np
    >>> from placement import Step
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("handover", expert_bytes=2e8, isl_rate_bps=1e11, step_s=10.0, horizon_s=300.0)
    >>> rec = pol.step(Step(0, pos * 45.0, ring, [[0.9, 0.1], [0.5, 0.5]]))
    >>> rec.gate_sat.shape, rec.expert_sat.shape, rec.feasible, rec.migrations
    ((2,), (2, 2), True, 0)
    """
    from .handover import HandoverPolicy  # here: handover.py builds on this module

    classes = {"static": StaticPolicy, "recompute": RecomputePolicy, "handover": HandoverPolicy}
    if name not in classes:
        raise PlacementError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return classes[name](expert_bytes=expert_bytes, gate_bytes=gate_bytes, isl_rate_bps=isl_rate_bps,
                         step_s=step_s, horizon_s=horizon_s, migration_price=migration_price,
                         min_gain_ratio=min_gain_ratio)
