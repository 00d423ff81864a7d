"""Placement over time: ``static``, ``recompute`` and ``handover`` policies (issue #6).

A sweep drives a policy step by step (streaming: the policy keeps only its
current placement and the migrations in flight, so memory does not grow
with the sweep's length). At each step the caller gives the satellites'
phases, that step's distance oracle ``path_ms``, a ``usable`` mask
(decayed or failed satellites are ``False``) and the activation
probabilities; the policy returns a :class:`StepRecord`.

Time model. Step ``t`` stands for the interval ``[t, t + 1) · step_s``,
over which the graph is taken as constant; the record is a snapshot at its
start: the placement serving at time ``t · step_s`` and its exact expected
latency (:func:`placement.evaluate`) on step ``t``'s graph. Migrations are
counted (``migrations``, ``bytes_moved``, ``migration_time_s``) at the step
they start.

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
    over a horizon outweighs the price of moving the weights (rule below).

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

Handover rule
-------------
Let ``C`` be the serving placement after forced moves, ``R`` the fresh
placement at this step (the strategy's, rows shared through a per-step
memo of the oracle), ``H = ceil(horizon_s / step_s)`` steps (at least 1),
``T_X(h)`` the expected token latency of placement ``X`` at step ``t + h``
(ms), and for a move of ``b`` bytes from ``a`` to ``s``:

- migration time ``τ = 8 b / isl_rate_bps + d(a, s) / 1000`` s (0 when
  ``b = 0``), ``d`` relayed through the gates of the placements involved
  (``C``'s, and ``R``'s for an adoption: an upper bound, exact when ``a``
  or ``s`` is one of them, and the same whoever searched what else this
  step); moves of one unit run in parallel, so a unit lands
  after ``τ_u = max τ``;
- landing: the new placement serves from step ``t + k``,
  ``k = ceil(τ_u / step_s)`` (the first snapshot after completion;
  ``k = 0`` only when ``τ_u = 0``); until then the old placement serves;
- gain ``G = Σ_{h=k}^{H−1} step_s · 1000 · (T_old(h) − T_new(h)) / T_old(h)``
  ms: the decode time saved for the tokens of the steps the new
  placement serves within the horizon (tokens per step ≈ ``step_s /
  T_old``, each faster by ``T_old − T_new``). ``T(h)`` for ``h ≥ 1`` comes
  from the oracles the caller passes as ``lookahead``; beyond them the
  last known values persist (with no lookahead: the current gain);
- cost ``K = migration_price · Σ τ · 1000`` ms (0 when ``Σ τ = 0``);
  ``migration_price`` is decode seconds charged per second of ISL
  transfer (1: a move pays off once it saves as much decode time as it
  occupies links; ``inf``: never move voluntarily);
- hysteresis: a unit qualifies only if its immediate relative gain
  ``(T_old(0) − T_new(0)) / T_old(0) ≥ min_gain_ratio`` (and > 1e-9), so
  near-ties do not make weights flap between two satellites.

Two plans are scored from ``C`` and the better net gain ``G − K`` wins
(neither when both ≤ 0):

1. *keep*: single expert moves inside ``C``'s structure (same gates and
   subnets; in-flight experts locked). For each layer, repeatedly: the
   cheapest free usable slot of the subnet at this step, ``c(s) = d(g_l,
   s) + t_expert + d(s, g_{l+1})``; among the layer's experts that it
   would make cheaper, the one with the largest ``G − K`` (its own ``τ``,
   ``k``) moves if that is > 0; the next move of the layer is scored as if
   the previous ones had landed. Each expert lands on its own.
2. *adopt*: all of ``R`` at once (re-partition, gates, experts); its moves
   are the experts and gates whose satellite differs between ``C`` and
   ``R``. Only considered while nothing is in flight.

A unit in flight whose destination becomes unusable is cancelled. With
``migration_price = 0``, ``min_gain_ratio = 0`` and zero-byte weights
(``τ = 0``), handover takes at every step the better of ``R`` and ``C``
improved by single moves, so its latency is at most ``R``'s (tested);
recompute weighs ``R`` against its own ``C``, so neither bounds the other.
With ``migration_price = inf`` it makes forced moves only, like static.

Oracle calls per step: static L sources (the gates); recompute and
handover the strategy's (≤ L·K for ``space-xnet``, none when the placement
comes from a memo entry, see :meth:`Policy.candidate`) plus ``C``'s and
``R``'s gates, plus, for handover, those at each lookahead step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from latency.expectation import expected_max

from ._validate import as_capacity, as_eligible, as_layer_times, as_probs
from .exceptions import InfeasiblePlacementError, PlacementError
from .migration import StepOracle, _same_callable, migration_time_s, repair
from .model import Placement, _expected_max_rows, objective_from_rows
from .registry import STRATEGIES

__all__ = [
    "POLICIES",
    "FLAG_PLACED",
    "FLAG_FORCED",
    "FLAG_INFEASIBLE",
    "FLAG_UNREACHABLE",
    "FLAG_MIGRATING",
    "FLAG_MEANINGS",
    "StepRecord",
    "Policy",
    "StaticPolicy",
    "RecomputePolicy",
    "HandoverPolicy",
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
_REL_TOL = 1e-9
# Arguments every strategy of the registry accepts and the policy fills in itself.
_OWN_KW = ("eligible", "capacity", "gate_time_ms", "expert_time_ms", "seed")


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
    oracle_sources : int
        Dijkstras this step asked of ``path_ms`` (lookahead oracles excluded).
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
    oracle_sources: int

    @property
    def feasible(self) -> bool:
        """Placed completely and every path reachable."""
        return not self.flags & (FLAG_INFEASIBLE | FLAG_UNREACHABLE)

    def flag_names(self) -> tuple:
        """Names of the flags set, in bit order."""
        return tuple(name for bit, name in FLAG_MEANINGS.items() if self.flags & bit)


class _Tally:
    """Migrations started during one step."""

    def __init__(self):
        self.experts = self.gates = self.forced = 0
        self.time_s = 0.0

    def add(self, n_experts, n_gates, times_s, n_forced=0):
        self.experts += int(n_experts)
        self.gates += int(n_gates)
        self.forced += int(n_forced)
        self.time_s += float(np.sum(times_s))


class _Ctx:
    """Inputs of one step, validated."""

    def __init__(self, t_index, arg_lat_deg, oracle, allowed, probs, capacity, t_gate, t_exp, memo, share):
        self.t_index, self.arg_lat_deg, self.oracle = t_index, arg_lat_deg, oracle
        self.allowed, self.probs, self.capacity = allowed, probs, capacity
        self.t_gate, self.t_exp = t_gate, t_exp
        self.memo, self.share = memo, share
        self._model_key = None

    @property
    def model_key(self):
        """What a layer's expected time depends on besides the placement and the graph."""
        if self._model_key is None:
            self._model_key = (self.probs.shape, self.probs.tobytes(), self.t_gate.tobytes(), self.t_exp.tobytes())
        return self._model_key


class _StepShare:
    """What the policies handed one step's memo compute alike: rows of ``path_ms``, layers' times.

    Kept in the memo under :data:`_SHARE_KEY`. Each policy still asks its own
    oracle for the rows it uses (its ``oracle_sources``), so a record is the
    same whether its numbers were computed or found here.
    """

    def __init__(self, oracle):
        self.oracle = oracle  # the first policy's; the others' share its rows
        self.layer_ms = {}  # (gate, experts, model) -> (expert costs, per-layer ms) of a complete placement


# Memo key of the step's _StepShare (not a placement entry).
_SHARE_KEY = "_shared"


class Policy:
    """Base class: a placement policy driven one step at a time.

    Use :func:`make_policy`. Subclasses implement :meth:`_decide`.

    Parameters
    ----------
    strategy : str
        Placement strategy in :data:`placement.STRATEGIES` (not ``lower-bound``).
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
    seed : int, optional
        Passed to the strategy at every step (randomized strategies).
    **strategy_kwargs
        ``capacity``, ``eligible`` (a fixed mask, combined with each step's
        ``usable``), ``plane``, ``belt_planes``, ``gate_time_ms``,
        ``expert_time_ms``, ``n_gate_candidates`` and any option of the
        strategy itself.
    """

    name = "policy"

    def __init__(self, strategy="space-xnet", *, expert_bytes, gate_bytes=0.0, isl_rate_bps, step_s,
                 horizon_s=600.0, migration_price=1.0, min_gain_ratio=0.01, seed=None, **strategy_kwargs):
        if strategy not in STRATEGIES or strategy == "lower-bound":
            choices = ", ".join(n for n in STRATEGIES if n != "lower-bound")
            raise PlacementError(
                f"strategy {strategy!r} cannot drive a policy: it must return a placement; choose from {choices}"
            )
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
        unknown = set(strategy_kwargs) & {"seed"}
        if unknown:
            raise PlacementError("pass seed= to make_policy, not inside the strategy options")
        self.strategy = strategy
        self.expert_bytes, self.gate_bytes = float(expert_bytes), float(gate_bytes)
        self.isl_rate_bps, self.step_s = float(isl_rate_bps), float(step_s)
        self.horizon_s, self.migration_price = float(horizon_s), float(migration_price)
        self.min_gain_ratio = float(min_gain_ratio)
        self.horizon_steps = max(1, math.ceil(self.horizon_s / self.step_s - _REL_TOL))
        self.seed = seed
        self._kw = dict(strategy_kwargs)
        self._last_t = None
        self._shape = None
        self._cur = None  # (subnet, gate_sat, expert_sat, confined) serving now

    @property
    def placement(self) -> Placement | None:
        """The serving placement after the last step (None before the first placement)."""
        if self._cur is None:
            return None
        subnet, gate, expert, confined = self._cur
        return Placement(subnet=subnet.copy(), gate_sat=gate.copy(), expert_sat=expert.copy(),
                         strategy=self.strategy, experts_confined=confined, seed=self.seed)

    def step(self, t_index, arg_lat_deg, path_ms, usable=None, probs=None, *, lookahead=(), memo=None) -> StepRecord:
        """Advance to step ``t_index`` and return what the policy did.

        Parameters
        ----------
        t_index : int
            Step index, strictly increasing between calls (gaps allowed:
            time is ``t_index · step_s``).
        arg_lat_deg : array_like, shape (n_sat,)
            Argument of latitude of each satellite at this step, degrees.
        path_ms : callable
            This step's oracle ``path_ms(sources) -> (len(sources), n_sat)``
            in ms, ``inf`` if unreachable.
        usable : array_like of bool, shape (n_sat,), optional
            Satellites that may host a gate or an expert now (default all).
        probs : array_like, shape (L, E)
            Activation probabilities (same shape at every step).
        lookahead : sequence of callables, optional
            Oracles of the following steps ``t+1, t+2, …`` (handover only;
            at most ``H − 1`` are used).
        memo : dict, optional
            One fresh dict per step, handed to every policy of that step
            (same ``path_ms``): a strategy placement made by one policy is
            reused by the next with the same strategy, options and inputs
            (recompute and handover both place afresh at every step). Its
            entries may also come from :meth:`candidate`. A policy records
            the same whether it placed itself or found the entry. The
            policies also keep there what they compute alike: the rows
            searched and the layers' times of the placements evaluated.

        Returns
        -------
        StepRecord
        """
        if probs is None:
            raise PlacementError("probs is required: pass the (L, E) activation probabilities of this step")
        p = self._checked(as_probs, probs)
        n_sat = np.asarray(arg_lat_deg).shape[0] if np.ndim(arg_lat_deg) == 1 else -1
        if n_sat < 1:
            raise PlacementError(f"arg_lat_deg must be a 1-D array, one phase per satellite, got shape {np.shape(arg_lat_deg)}")
        shape = (p.shape[0], p.shape[1], n_sat)
        if self._shape is not None and shape != self._shape:
            raise PlacementError(
                f"step {t_index}: (layers, experts, satellites) = {shape} but earlier steps had {self._shape}; "
                "a policy follows one model on one constellation — make a new policy for another"
            )
        if isinstance(t_index, bool) or not isinstance(t_index, (int, np.integer)):
            raise PlacementError(f"t_index must be an integer step index, got {t_index!r}")
        if self._last_t is not None and t_index <= self._last_t:
            raise PlacementError(
                f"t_index {t_index} does not follow the previous step {self._last_t}; steps must be increasing"
            )
        ctx = self._context(int(t_index), arg_lat_deg, path_ms, usable, p, memo)
        record = self._decide(ctx, tuple(lookahead))
        self._shape, self._last_t = shape, int(t_index)
        return record

    def candidate(self, arg_lat_deg, path_ms, usable, probs) -> dict:
        """The strategy's placement for one step's inputs, as a memo entry for :meth:`step`.

        The fresh placement recompute and handover weigh at a step with these
        inputs; it does not depend on the policy's past, so it can be made
        ahead, elsewhere (a sweep makes it in its chunk tasks) and handed
        to ``step`` in ``memo["placements"]``. ``step`` uses an entry only
        if its inputs equal the step's, arrays compared by value.

        Parameters
        ----------
        arg_lat_deg, path_ms, usable, probs
            As for :meth:`step`.

        Returns
        -------
        dict
            ``inputs``, ``placement`` (None if infeasible) and ``error``
            (the :class:`InfeasiblePlacementError`, or None).

        Examples
        --------
        >>> import numpy as np
        >>> pos = np.arange(8.0)
        >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
        ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
        >>> probs = [[0.9, 0.1], [0.5, 0.5]]
        >>> entry = make_policy("recompute", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0).candidate(
        ...     pos * 45.0, ring, np.ones(8, bool), probs)
        >>> pol = make_policy("handover", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0)
        >>> rec = pol.step(0, pos * 45.0, ring, np.ones(8, bool), probs, memo={"placements": [entry]})
        >>> rec.gate_sat.tolist() == entry["placement"].gate_sat.tolist(), rec.oracle_sources
        (True, 2)
        """
        p = self._checked(as_probs, probs)
        ctx = self._context(None, arg_lat_deg, path_ms, usable, p, {})
        try:
            self._place(ctx)
        except InfeasiblePlacementError:
            pass
        return ctx.memo["placements"][0]

    # -- shared machinery -------------------------------------------------

    def _context(self, t_index, arg_lat_deg, path_ms, usable, probs, memo) -> _Ctx:
        """A step's inputs, checked."""
        n_sat = np.asarray(arg_lat_deg).shape[0]
        if usable is None:
            usable = np.ones(n_sat, dtype=bool)
        usable = np.asarray(usable)
        if usable.shape != (n_sat,) or usable.dtype.kind != "b":
            raise PlacementError(
                f"usable must be a boolean array of shape ({n_sat},) (False: decayed or failed), "
                f"got dtype {usable.dtype} and shape {usable.shape}"
            )
        eligible = self._kw.get("eligible")
        # A fresh mask either way (usable is boolean): the memo's inputs keep it.
        allowed = usable.copy() if eligible is None else usable & self._checked(as_eligible, eligible, n_sat)
        share = None if memo is None else memo.get(_SHARE_KEY)
        if share is not None and share.oracle.n_sat == n_sat and _same_callable(share.oracle.path_ms, path_ms):
            oracle = StepOracle(path_ms, n_sat, share=share.oracle)
        else:
            oracle = StepOracle(path_ms, n_sat)
            share = _StepShare(oracle)
            if memo is not None and _SHARE_KEY not in memo:
                memo[_SHARE_KEY] = share
        return _Ctx(t_index, arg_lat_deg, oracle, allowed, probs,
                    self._checked(as_capacity, self._kw.get("capacity", 1), n_sat),
                    self._checked(as_layer_times, self._kw.get("gate_time_ms", 0.0), probs.shape[0], "gate_time_ms"),
                    self._checked(as_layer_times, self._kw.get("expert_time_ms", 0.0), probs.shape[0],
                                  "expert_time_ms"),
                    memo, share)

    def _checked(self, check, value, *args):
        """``check(value, *args)``, reused while ``value`` has the dtype, shape and bytes of the last call.

        A sweep passes the same probabilities and options at every step:
        checked once, as long as they do not change. The result is never
        the caller's own array (a copy where ``check`` returned its input).
        """
        try:
            a = value if isinstance(value, np.ndarray) else np.asarray(value)
        except Exception:  # let the check say what is wrong
            return check(value, *args)
        if a.dtype.kind not in "biuf":
            return check(value, *args)
        key = (a.dtype.str, a.shape, a.tobytes())
        # Created here, not in __init__: policies pickled before it existed load without it.
        checks = self.__dict__.setdefault("_checks", {})
        last = checks.get((check, args))
        if last is not None and last[0] == key:
            return last[1]
        out = check(value, *args)
        if isinstance(out, np.ndarray) and np.may_share_memory(out, a):
            out = out.copy()
        checks[(check, args)] = (key, out)
        return out

    def _place(self, ctx) -> Placement:
        """The strategy's placement at this step (raises InfeasiblePlacementError)."""
        extra = {k: v for k, v in self._kw.items() if k not in _OWN_KW}
        inputs = (self.strategy, self.seed, ctx.arg_lat_deg, ctx.allowed, ctx.probs, ctx.capacity, ctx.t_gate,
                  ctx.t_exp, extra)
        memo = ctx.memo
        if memo is not None:
            for entry in memo.get("placements", ()):
                if _same_inputs(entry["inputs"], inputs):
                    if entry["error"] is not None:
                        raise entry["error"]
                    return entry["placement"]
        placement, error = None, None
        try:
            # Unreachable candidates make harmless 0 · inf products inside the strategies.
            with np.errstate(invalid="ignore"):
                placement = STRATEGIES[self.strategy](ctx.arg_lat_deg, ctx.oracle, ctx.probs, capacity=ctx.capacity,
                                                      eligible=ctx.allowed, seed=self.seed, gate_time_ms=ctx.t_gate,
                                                      expert_time_ms=ctx.t_exp, **extra)
        except InfeasiblePlacementError as exc:
            error = exc
        if memo is not None:
            memo.setdefault("placements", []).append(
                {"inputs": inputs, "placement": placement, "error": error})
        if error is not None:
            raise error
        return placement

    def _per_layer_ms(self, ctx, subnet, gate, expert) -> np.ndarray:
        """Expected time of each layer on this step's graph; ``inf`` where a part is unplaced."""
        if (gate >= 0).all() and (expert >= 0).all():
            return self._complete_layer_ms(ctx, gate, expert)
        # Unreachable experts that are never active make 0 · inf terms; they count 0.
        with np.errstate(invalid="ignore"):
            n_layers = gate.size
            rows = np.full((n_layers, subnet.size), np.inf)
            ok = gate >= 0
            if ok.any():
                rows[ok] = ctx.oracle(gate[ok])
            out = objective_from_rows(rows, np.maximum(expert, 0), ctx.probs, ctx.t_gate, ctx.t_exp)
        whole = ok & np.roll(ok, -1) & (expert >= 0).all(axis=1)
        return np.where(whole, out, np.inf)

    def _complete_layer_ms(self, ctx, gate, expert) -> np.ndarray:
        """Expected time of each layer of a complete placement on this step's graph (a fresh array)."""
        return self._complete_costs(ctx, gate, expert)[1].copy()

    def _complete_costs(self, ctx, gate, expert):
        """A complete placement's expert costs ``c_l(x_{l,e})`` (L, E) and layer times (L,) on this step's graph.

        evaluate() on inputs the step has already checked, from the
        experts' entries of the gates' rows (objective_from_rows's numbers);
        computed once per step for all the policies of a memo. Read only.
        """
        ctx.oracle.load(gate)  # this policy asks for the gates' rows, whoever computed the times
        key = (gate.dtype.str, gate.tobytes(), expert.dtype.str, expert.shape, expert.tobytes(), ctx.model_key)
        found = ctx.share.layer_ms.get(key)
        if found is None:
            cost = (ctx.oracle.pair_ms(gate[:, None], expert) + ctx.oracle.pair_ms(_next_gates(gate)[:, None], expert)
                    + ctx.t_exp[:, None])
            # Unreachable experts that are never active make 0 · inf terms; they count 0.
            with np.errstate(invalid="ignore"):
                per_layer = ctx.t_gate + _expected_max_rows(cost, ctx.probs)
            cost.setflags(write=False)
            per_layer.setflags(write=False)
            found = ctx.share.layer_ms[key] = (cost, per_layer)
        return found

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

    def _diff(self, oracle, old_gate, old_expert, new_gate, new_expert, allowed):
        """Moves turning one placement into another: (expert mask, gate mask, times, n_forced).

        ``times``: the experts' moves (row-major), then the gates'.
        """
        em, gm = self._moved(old_gate, old_expert, new_gate, new_expert)
        times, n_forced = self._moves_times(oracle, old_gate, old_expert, new_gate, new_expert, em, gm, allowed)
        return em, gm, times, n_forced

    def _moves_times(self, oracle, old_gate, old_expert, new_gate, new_expert, em, gm, allowed):
        """Transfer times of the moves ``em``, ``gm`` (experts row-major, then gates) and how many are forced."""
        via = np.concatenate([old_gate, new_gate])
        via = via[via >= 0]
        # The experts' and the gates' moves in one relay: each move's time is its own.
        old = np.concatenate([old_expert[em], old_gate[gm]])
        forced = ~allowed[old]
        n_bytes = np.full(old.size, self.expert_bytes)
        n_bytes[old.size - np.count_nonzero(gm):] = self.gate_bytes
        times = self._move_times(oracle, old, np.concatenate([new_expert[em], new_gate[gm]]), n_bytes, via, forced)
        return times, int(np.count_nonzero(forced))

    def _repair(self, ctx, tally, reserved=None):
        """Forced moves on the current placement; returns whether it is complete."""
        subnet, gate, expert, confined = self._cur
        g2, x2, gm, xm, complete = repair(subnet, gate, expert, ctx.allowed, ctx.capacity, ctx.probs,
                                          ctx.oracle, confined, reserved)
        if gm.any() or xm.any():
            # The old satellite failed: the weights come from a copy whose
            # place the policy does not know, so only the transfer counts.
            times = np.concatenate([
                migration_time_s(np.full(int(xm.sum()), self.expert_bytes), np.nan, self.isl_rate_bps),
                migration_time_s(np.full(int(gm.sum()), self.gate_bytes), np.nan, self.isl_rate_bps),
            ])
            tally.add(xm.sum(), gm.sum(), times, xm.sum() + gm.sum())
        self._cur = (subnet, g2, x2, confined)
        return complete, xm

    def _initial(self, ctx, tally):
        """First placement (the initial load, not a migration); flags if infeasible."""
        try:
            pl = self._place(ctx)
        except InfeasiblePlacementError:
            return FLAG_INFEASIBLE, None
        self._cur = (pl.subnet.copy(), pl.gate_sat.copy(), pl.expert_sat.copy(), pl.experts_confined)
        return FLAG_PLACED, pl

    def _record(self, ctx, tally, flags, in_flight=0, candidate_ms=math.nan) -> StepRecord:
        """The step's record of the serving placement; ``candidate_ms=None``: the serving placement's total."""
        n_layers, n_experts = ctx.probs.shape
        n_sat = ctx.allowed.size
        if self._cur is None:
            subnet = np.full(n_sat, -1, dtype=np.int64)
            gate = np.full(n_layers, -1, dtype=np.int64)
            expert = np.full((n_layers, n_experts), -1, dtype=np.int64)
            per_layer = np.full(n_layers, np.inf)
        else:
            subnet, gate, expert, _ = self._cur
            subnet, gate, expert = subnet.copy(), gate.copy(), expert.copy()
            per_layer = self._per_layer_ms(ctx, subnet, gate, expert)
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
            t_index=ctx.t_index, subnet=subnet, gate_sat=gate, expert_sat=expert, per_layer_ms=per_layer,
            total_ms=total_ms, migrations=tally.experts + tally.gates,
            experts_moved=tally.experts, gates_moved=tally.gates, forced_migrations=tally.forced,
            bytes_moved=tally.experts * self.expert_bytes + tally.gates * self.gate_bytes,
            migration_time_s=tally.time_s, flags=int(flags), in_flight=int(in_flight),
            candidate_total_ms=float(candidate_ms), oracle_sources=ctx.oracle.sources,
        )

    def _decide(self, ctx, lookahead) -> StepRecord:  # pragma: no cover - abstract
        raise NotImplementedError


class StaticPolicy(Policy):
    """Place once (first feasible step), then only evaluate and make forced moves.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("static", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0)
    >>> recs = [pol.step(t, pos * 45.0 + 5 * t, ring, probs=[[0.9, 0.1], [0.5, 0.5]]) for t in range(3)]
    >>> [r.migrations for r in recs], recs[0].flag_names(), recs[0].oracle_sources >= recs[1].oracle_sources == 2
    ([0, 0, 0], ('placed',), True)
    """

    name = "static"

    def _decide(self, ctx, lookahead):
        tally = _Tally()
        if self._cur is None:
            flags, _ = self._initial(ctx, tally)
            return self._record(ctx, tally, flags)
        self._repair(ctx, tally)
        return self._record(ctx, tally, 0)


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
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("recompute", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0)
    >>> r0 = pol.step(0, pos * 45.0, ring, probs=[[0.9, 0.1], [0.5, 0.5]])
    >>> r1 = pol.step(1, pos * 45.0 + 50.0, ring, probs=[[0.9, 0.1], [0.5, 0.5]])  # one satellite crosses 0°
    >>> r1.bytes_moved == r1.experts_moved * 1e9, r1.total_ms <= r1.candidate_total_ms
    (True, True)
    """

    name = "recompute"

    def _decide(self, ctx, lookahead):
        tally = _Tally()
        if self._cur is None:
            flags, pl = self._initial(ctx, tally)
            return self._record(ctx, tally, flags, candidate_ms=None if pl is not None else math.nan)
        before = self._cur
        self._repair(ctx, tally)  # the forced moves: self._cur is now the placement kept
        try:
            fresh = self._place(ctx)
        except InfeasiblePlacementError:
            return self._record(ctx, tally, 0)
        fresh_ms = float(self._per_layer_ms(ctx, fresh.subnet, fresh.gate_sat, fresh.expert_sat).sum())
        subnet, gate, expert, _ = self._cur
        kept_ms = float(self._per_layer_ms(ctx, subnet, gate, expert).sum())  # inf if unplaced or unreachable
        if not fresh_ms < kept_ms * (1.0 - _REL_TOL):
            return self._record(ctx, tally, 0, candidate_ms=fresh_ms)
        # Adopted: each part moves once, from where it served before this step (forced where that
        # satellite is down), not to its repair slot and then on; the repair's tally is void.
        tally = _Tally()
        _, gate0, expert0, _ = before
        em, gm, times, n_forced = self._diff(ctx.oracle, gate0, expert0, fresh.gate_sat, fresh.expert_sat,
                                             ctx.allowed)
        tally.add(em.sum(), gm.sum(), times, n_forced)
        # Parts unplaced before (no room at an earlier step) are reloaded: forced, transfer only.
        xr, gr = (expert0 < 0) & (fresh.expert_sat >= 0), (gate0 < 0) & (fresh.gate_sat >= 0)
        if xr.any() or gr.any():
            n_bytes = np.concatenate([np.full(int(xr.sum()), self.expert_bytes),
                                      np.full(int(gr.sum()), self.gate_bytes)])
            tally.add(xr.sum(), gr.sum(), migration_time_s(n_bytes, np.nan, self.isl_rate_bps), xr.sum() + gr.sum())
        self._cur = (fresh.subnet.copy(), fresh.gate_sat.copy(), fresh.expert_sat.copy(), fresh.experts_confined)
        return self._record(ctx, tally, FLAG_PLACED, candidate_ms=fresh_ms)


class HandoverPolicy(Policy):
    """Migrate only when the gain over the horizon outweighs the cost (see the module docstring).

    Examples
    --------
    With an infinite price it never moves voluntarily:

    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("handover", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0,
    ...                   horizon_s=600.0, migration_price=float("inf"))
    >>> recs = [pol.step(t, pos * 45.0 + 20 * t, ring, probs=[[0.9, 0.1], [0.5, 0.5]]) for t in range(4)]
    >>> sum(r.migrations for r in recs)
    0
    """

    name = "handover"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending = []  # dicts: kind "expert" (l, e, dst) or "adopt" (placement); land: step index

    # -- gain model -------------------------------------------------------

    def _steps_to_land(self, tau_s):
        return np.ceil(np.asarray(tau_s, dtype=np.float64) / self.step_s - _REL_TOL).clip(min=0).astype(np.int64)

    def _view_counts(self, n_views, k):
        """Horizon steps (h ≥ k) each view stands for; view v covers h = v, the last one h ≥ v."""
        start = np.arange(n_views)
        end = np.append(start[1:], self.horizon_steps)
        k = np.asarray(k)[..., None]
        return np.clip(end - np.maximum(start, k), 0, None)

    @staticmethod
    def _gain_fraction(t_old, t_new):
        """Relative gain per token ``(T_old − T_new) / T_old``; from ``T_old = ∞``: ∞ to a finite ``T_new``, else 0."""
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (t_old - t_new) / t_old
        return np.where(np.isinf(t_old), np.where(np.isfinite(t_new), np.inf, 0.0), frac)

    def _hysteresis_admits(self, t_old_now, t_new_now) -> bool:
        """Whether the immediate relative gain passes the hysteresis (necessary for a net gain > −∞)."""
        frac = self._gain_fraction(t_old_now, t_new_now)
        return bool((frac >= self.min_gain_ratio) & (frac > _REL_TOL))

    def _net_gain_ms(self, t_old, t_new, k, tau_total_s):
        """Net gain G − K (ms) and whether the hysteresis admits it; t_old/t_new: (V, ...) totals."""
        frac = self._gain_fraction(t_old, t_new)
        counts = np.moveaxis(self._view_counts(frac.shape[0], k), -1, 0)  # (V, ...)
        gain = self.step_s * 1000.0 * np.where(counts > 0, counts * frac, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore"):
            cost = np.where(tau_total_s > 0, self.migration_price * tau_total_s * 1000.0, 0.0)
            net = gain - cost
        admit = (frac[0] >= self.min_gain_ratio) & (frac[0] > _REL_TOL) & ~np.isnan(net)
        return np.where(admit, net, -np.inf)

    # -- the step ---------------------------------------------------------

    def _decide(self, ctx, lookahead):
        tally = _Tally()
        if self._cur is None:
            flags, pl = self._initial(ctx, tally)
            cand = math.nan
            if pl is not None:
                cand = float(self._per_layer_ms(ctx, pl.subnet, pl.gate_sat, pl.expert_sat).sum())
            return self._record(ctx, tally, flags, candidate_ms=cand)
        flags = self._land(ctx)
        # A destination that failed cannot receive: cancel the move.
        self._pending = [m for m in self._pending if m["kind"] == "adopt" or ctx.allowed[m["dst"]]]
        dst = [m["dst"] for m in self._pending if m["kind"] == "expert"]
        # No slot promised: repair counts the same load without adding zeros.
        reserved = np.bincount(dst, minlength=ctx.allowed.size) if dst else None
        complete, forced_x = self._repair(ctx, tally, reserved)
        # An expert forced off its source has been re-placed; its old move is void.
        self._pending = [m for m in self._pending if m["kind"] == "adopt" or not forced_x[m["l"], m["e"]]]

        try:
            cand = self._place(ctx)
        except InfeasiblePlacementError:
            cand = None
        cand_ms = math.nan
        if cand is not None:
            cand_ms = float(self._per_layer_ms(ctx, cand.subnet, cand.gate_sat, cand.expert_sat).sum())
        if complete:
            self._choose(ctx, lookahead, cand, tally)
            if any(m["land"] <= ctx.t_index for m in self._pending):
                flags |= self._land(ctx)
        return self._record(ctx, tally, flags, in_flight=len(self._pending), candidate_ms=cand_ms)

    def _land(self, ctx) -> int:
        """Apply the migrations due by this step; returns FLAG_PLACED if an adoption landed."""
        if not self._pending:
            return 0
        flags = 0
        subnet, gate, expert, confined = self._cur
        gate, expert = gate.copy(), expert.copy()
        still = []
        for m in self._pending:
            if m["land"] > ctx.t_index:
                still.append(m)
            elif m["kind"] == "expert":
                expert[m["l"], m["e"]] = m["dst"]
            else:
                pl = m["placement"]
                subnet, gate, expert = pl.subnet.copy(), pl.gate_sat.copy(), pl.expert_sat.copy()
                confined = pl.experts_confined
                flags |= FLAG_PLACED
        self._pending = still
        self._cur = (subnet, gate, expert, confined)
        return flags

    def _views(self, ctx, lookahead):
        n_extra = min(len(lookahead), self.horizon_steps - 1)
        return [ctx.oracle] + [StepOracle(o, ctx.allowed.size) for o in lookahead[:n_extra]]

    def _layer_ms(self, ctx, views, gate, expert):
        """Per-layer expected ms of a placement at each view, shape (V, L)."""
        out = []
        for v in views:
            if v is ctx.oracle and (gate >= 0).all() and (expert >= 0).all():
                out.append(self._complete_layer_ms(ctx, gate, expert))
            else:
                with np.errstate(invalid="ignore"):
                    out.append(objective_from_rows(v(gate), expert, ctx.probs, ctx.t_gate, ctx.t_exp))
        return np.stack(out)

    def _choose(self, ctx, lookahead, cand, tally):
        subnet, gate, expert, confined = self._cur
        views = self._views(ctx, lookahead)
        layer_ms = self._layer_ms(ctx, views, gate, expert)
        keep_moves, keep_net = self._plan_keep(ctx, views, layer_ms, subnet, gate, expert, confined)

        adopt_net, adopt = -np.inf, None
        if cand is not None and not self._pending:
            em, gm = self._moved(gate, expert, cand.gate_sat, cand.expert_sat)
            if em.any() or gm.any():
                old_ms = layer_ms.sum(axis=1)
                cand_ms = self._layer_ms(ctx, views, cand.gate_sat, cand.expert_sat).sum(axis=1)
                # Without the hysteresis the net gain is −∞ whatever the moves cost: no need to price them
                # (their relays' rows, the gates of C and R, are already asked for).
                if self._hysteresis_admits(old_ms[0], cand_ms[0]):
                    times, n_forced = self._moves_times(ctx.oracle, gate, expert, cand.gate_sat, cand.expert_sat,
                                                        em, gm, ctx.allowed)
                    tau = float(times.max()) if times.size else 0.0
                    k = int(self._steps_to_land(tau))
                    adopt_net = float(self._net_gain_ms(old_ms, cand_ms, k, times.sum()))
                    adopt = (em, gm, times, n_forced, k)

        if adopt is not None and adopt_net > max(keep_net, 0.0):
            em, gm, times, n_forced, k = adopt
            tally.add(em.sum(), gm.sum(), times, n_forced)
            self._pending.append({"kind": "adopt", "placement": cand, "land": ctx.t_index + k})
        elif keep_net > 0:
            for l, e, dst, tau, k in keep_moves:
                tally.add(1, 0, [tau])
                self._pending.append({"kind": "expert", "l": l, "e": e, "dst": dst, "land": ctx.t_index + k})

    def _plan_keep(self, ctx, views, layer_ms, subnet, gate, expert, confined):
        """Greedy single expert moves inside the current structure: (moves, summed net gain ms)."""
        n_layers, n_sat = gate.size, subnet.size
        locked = np.zeros(expert.shape, dtype=bool)
        dst = []
        for m in self._pending:
            if m["kind"] == "expert":
                locked[m["l"], m["e"]] = True
                dst.append(m["dst"])
        load = np.bincount(expert.ravel(), minlength=n_sat)
        if dst:
            load += np.bincount(dst, minlength=n_sat)
        free = np.where(ctx.allowed, ctx.capacity - load, 0)
        free[gate] = 0
        layers = self._layers_with_a_move(ctx, gate, subnet, expert, locked, free, confined)
        if not layers:
            return [], 0.0
        rows = np.stack([v(gate) for v in views])  # (V, L, n)
        expert = expert.copy()
        layer_ms = layer_ms.copy()
        nxt = np.roll(np.arange(n_layers), -1)
        moves, total_net = [], 0.0
        for l in layers:
            region = (subnet == l) if confined else (subnet >= 0)
            cost = rows[:, l] + rows[:, nxt[l]] + ctx.t_exp[l]  # (V, n)
            p = ctx.probs[l]
            while True:
                idx = np.flatnonzero(region & (free > 0))
                if idx.size == 0:
                    break
                s = int(idx[np.argmin(cost[0, idx])])
                now = cost[:, expert[l]]  # (V, E)
                es = np.flatnonzero(~locked[l] & (cost[0, s] < now[0]))
                if es.size == 0:
                    break
                trial = np.repeat(now[:, None, :], es.size, axis=1)  # (V, n_es, E)
                trial[:, np.arange(es.size), es] = cost[:, s][:, None]
                with np.errstate(invalid="ignore"):
                    new_l = ctx.t_gate[l] + expected_max(trial, p, method="independent")  # (V, n_es)
                old_tot = layer_ms.sum(axis=1)[:, None]
                # Summing the other layers afresh keeps inf − inf out of the totals.
                new_tot = np.delete(layer_ms, l, axis=1).sum(axis=1)[:, None] + new_l
                tau = self._move_times(ctx.oracle, expert[l, es], np.full(es.size, s), self.expert_bytes, gate)
                net = self._net_gain_ms(old_tot, new_tot, self._steps_to_land(tau), tau)
                b = int(np.argmax(net))
                if not net[b] > 0:
                    break
                e = int(es[b])
                moves.append((l, e, s, float(tau[b]), int(self._steps_to_land(tau[b]))))
                total_net += float(net[b])
                expert[l, e] = s
                free[s] -= 1
                locked[l, e] = True
                layer_ms[:, l] = new_l[:, b]
        return moves, total_net

    def _layers_with_a_move(self, ctx, gate, subnet, expert, locked, free, confined):
        """Layers whose cheapest free slot now beats one of their unlocked experts (ascending).

        The other layers would stop at their first try in :meth:`_plan_keep`,
        and stay so: moves elsewhere only take free slots away. The costs
        ``c_l(s) = d(g_l, s) + d(g_{l+1}, s) + t_expert_l`` are those of
        ``_plan_keep``'s ``cost[0]``, taken only where they are compared: at
        the free slots of each layer's region and at its experts.
        """
        n_layers = gate.size
        oracle, nxt_gate = ctx.oracle, _next_gates(gate)
        now = self._complete_costs(ctx, gate, expert)[0]
        idx = np.flatnonzero((free > 0) & (subnet >= 0))
        if confined:
            # Each free slot is a candidate of its own subnet's layer only.
            lay = subnet[idx]
            cost = oracle.pair_ms(gate[lay], idx) + oracle.pair_ms(nxt_gate[lay], idx) + ctx.t_exp[lay]
            cheapest = np.full(n_layers, np.inf)
            np.minimum.at(cheapest, lay, cost)
        else:
            cost = (oracle.pair_ms(gate[:, None], idx) + oracle.pair_ms(nxt_gate[:, None], idx)
                    + ctx.t_exp[:, None])
            cheapest = cost.min(axis=1, initial=np.inf)
        return np.flatnonzero((~locked & (cheapest[:, None] < now)).any(axis=1)).tolist()


def _next_gates(gate):
    """``np.roll(gate, -1)`` (the gate each layer hands on to) for a 1-D array, without its generality."""
    return np.concatenate((gate[1:], gate[:1]))


def _same_inputs(a, b) -> bool:
    """Whether two strategy calls get equal inputs (arrays compared by value)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        # np.array_equal's test, without its wrapping.
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_inputs(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_inputs(x, y) for x, y in zip(a, b))
    return a == b


_CLASSES = {"static": StaticPolicy, "recompute": RecomputePolicy, "handover": HandoverPolicy}


def make_policy(name, strategy="space-xnet", *, expert_bytes, gate_bytes=0.0, isl_rate_bps, step_s,
                horizon_s=600.0, migration_price=1.0, min_gain_ratio=0.01, seed=None, **strategy_kwargs) -> Policy:
    """Create a placement policy to drive step by step.

    Parameters
    ----------
    name : str
        One of :data:`POLICIES`: ``"static"``, ``"recompute"``, ``"handover"``.
    strategy : str
        Placement strategy of :data:`placement.STRATEGIES` used to place
        (static) or propose afresh at every step (recompute, handover).
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
    seed : int, optional
        Seed of a randomized strategy (the same at every step).
    **strategy_kwargs
        Options of the strategy: ``capacity``, ``eligible``, ``plane``,
        ``belt_planes``, ``gate_time_ms``, ``expert_time_ms``,
        ``n_gate_candidates``, …

    Returns
    -------
    Policy
        Call ``policy.step(t_index, arg_lat_deg, path_ms, usable, probs)``
        at each step.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("handover", expert_bytes=2e8, isl_rate_bps=1e11, step_s=10.0, horizon_s=300.0)
    >>> rec = pol.step(0, pos * 45.0, ring, np.ones(8, bool), [[0.9, 0.1], [0.5, 0.5]])
    >>> rec.gate_sat.shape, rec.expert_sat.shape, rec.feasible, rec.migrations
    ((2,), (2, 2), True, 0)
    """
    if name not in _CLASSES:
        raise PlacementError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return _CLASSES[name](strategy, expert_bytes=expert_bytes, gate_bytes=gate_bytes, isl_rate_bps=isl_rate_bps,
                          step_s=step_s, horizon_s=horizon_s, migration_price=migration_price,
                          min_gain_ratio=min_gain_ratio, seed=seed, **strategy_kwargs)
