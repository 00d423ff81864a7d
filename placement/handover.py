"""The ``handover`` policy: keep the serving placement, migrate only when the gain pays for the move.

The decision rule (its gain model) is stated here; what all policies share
(forced moves, the record, the time model) is in :mod:`placement.policies`.

Let ``C`` be the serving placement after forced moves, ``R`` the fresh
placement at this step (the step's :attr:`placement.Step.candidate`),
``H = ceil(horizon_s / step_s)`` steps (at least 1),
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
  from the oracles of the step's ``lookahead``; beyond them the
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
"""

from __future__ import annotations

import math

import numpy as np

from latency.expectation import expected_max

from .policies import FLAG_PLACED, REL_TOL, Move, Policy, Tally, _moves, charged_ms
from .step import next_gates

__all__ = ["HandoverPolicy"]


class HandoverPolicy(Policy):
    """Migrate only when the gain over the horizon outweighs the cost (see the module docstring).

    Examples
    --------
    With an infinite price it never moves voluntarily:

    >>> import numpy as np
    >>> from placement import Step, make_policy
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pol = make_policy("handover", expert_bytes=1e9, isl_rate_bps=1e11, step_s=10.0,
    ...                   horizon_s=600.0, migration_price=float("inf"))
    >>> recs = [pol.step(Step(t, pos * 45.0 + 20 * t, ring, [[0.9, 0.1], [0.5, 0.5]])) for t in range(4)]
    >>> sum(r.migrations for r in recs)
    0
    """

    name = "handover"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Moves in flight, in the order they started: kind "expert" (l, e, dst) or "adopt" (a placement's
        # subnet, gate_sat, expert_sat, experts_confined, strategy, seed); land: the step they serve from.
        self._pending = []

    def state(self) -> dict:
        """The serving placement and the moves in flight, as plain data."""
        out = super().state()
        out["pending"] = [{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in m.items()}
                          for m in self._pending]
        return out

    def restore(self, state: dict) -> None:
        super().restore(state)
        arrays = {"subnet": (-1,), "gate_sat": (-1,), "expert_sat": self._shape[:2] if self._shape else (-1,)}
        self._pending = [{k: np.array(v, dtype=np.int64).reshape(arrays[k]) if k in arrays else v
                          for k, v in m.items()} for m in state["pending"]]

    # -- gain model -------------------------------------------------------

    def _steps_to_land(self, tau_s):
        return np.ceil(np.asarray(tau_s, dtype=np.float64) / self.step_s - REL_TOL).clip(min=0).astype(np.int64)

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
        return bool((frac >= self.min_gain_ratio) & (frac > REL_TOL))

    def _net_gain_ms(self, t_old, t_new, k, tau_total_s):
        """Net gain G − K (ms) and whether the hysteresis admits it; t_old/t_new: (V, ...) totals."""
        frac = self._gain_fraction(t_old, t_new)
        counts = np.moveaxis(self._view_counts(frac.shape[0], k), -1, 0)  # (V, ...)
        gain = self.step_s * 1000.0 * np.where(counts > 0, counts * frac, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore"):
            cost = np.where(tau_total_s > 0, self.migration_price * tau_total_s * 1000.0, 0.0)
            net = gain - cost
        admit = (frac[0] >= self.min_gain_ratio) & (frac[0] > REL_TOL) & ~np.isnan(net)
        return np.where(admit, net, -np.inf)

    # -- the step ---------------------------------------------------------

    def _decide(self, step):
        tally = Tally()
        if self._cur is None:
            flags, pl = self._initial(step)
            cand = math.nan
            if pl is not None:
                cand = float(step.per_layer_ms(pl.gate_sat, pl.expert_sat).sum())
            return self._record(step, tally, flags, candidate_ms=cand)
        flags = self._land(step)
        # A destination that failed cannot receive: cancel the move.
        self._pending = [m for m in self._pending if m["kind"] == "adopt" or step.allowed[m["dst"]]]
        dst = [m["dst"] for m in self._pending if m["kind"] == "expert"]
        # No slot promised: repair counts the same load without adding zeros.
        reserved = np.bincount(dst, minlength=step.n_sat) if dst else None
        complete, forced_x = self._repair(step, tally, reserved)
        # An expert forced off its source has been re-placed; its old move is void.
        self._pending = [m for m in self._pending if m["kind"] == "adopt" or not forced_x[m["l"], m["e"]]]

        cand = step.candidate
        cand_ms = math.nan
        if cand is not None:
            cand_ms = float(step.per_layer_ms(cand.gate_sat, cand.expert_sat).sum())
        if complete:
            self._choose(step, cand, tally)
            if any(m["land"] <= step.t_index for m in self._pending):
                flags |= self._land(step)
        return self._record(step, tally, flags, in_flight=len(self._pending), candidate_ms=cand_ms)

    def _land(self, step) -> int:
        """Apply the migrations due by this step; returns FLAG_PLACED if an adoption landed."""
        if not self._pending:
            return 0
        flags = 0
        subnet, gate, expert, confined = self._cur
        gate, expert = gate.copy(), expert.copy()
        still = []
        for m in self._pending:
            if m["land"] > step.t_index:
                still.append(m)
            elif m["kind"] == "expert":
                expert[m["l"], m["e"]] = m["dst"]
            else:
                subnet, gate, expert = m["subnet"].copy(), m["gate_sat"].copy(), m["expert_sat"].copy()
                confined = m["experts_confined"]
                self._made_by = (m["strategy"], m["seed"])
                flags |= FLAG_PLACED
        self._pending = still
        self._cur = (subnet, gate, expert, confined)
        return flags

    def _views(self, step):
        """This step's oracle and the lookahead ones within the horizon."""
        return [step.oracle, *step.lookahead[:self.horizon_steps - 1]]

    @staticmethod
    def _layer_ms(step, views, gate, expert):
        """Per-layer expected ms of a complete placement at each view, shape (V, L)."""
        return np.stack([step.per_layer_ms(gate, expert, v) for v in views])

    def _choose(self, step, cand, tally):
        subnet, gate, expert, confined = self._cur
        views = self._views(step)
        layer_ms = self._layer_ms(step, views, gate, expert)
        keep_moves, keep_net = self._plan_keep(step, views, layer_ms, subnet, gate, expert, confined)

        adopt_net, adopt = -np.inf, None
        if cand is not None and not self._pending:
            em, gm = self._moved(gate, expert, cand.gate_sat, cand.expert_sat)
            if em.any() or gm.any():
                old_ms = layer_ms.sum(axis=1)
                cand_ms = self._layer_ms(step, views, cand.gate_sat, cand.expert_sat).sum(axis=1)
                # Without the hysteresis the net gain is −∞ whatever the moves cost: no need to price them
                # (their relays' rows, the gates of C and R, are already asked for).
                if self._hysteresis_admits(old_ms[0], cand_ms[0]):
                    times, forced = self._moves_times(step.oracle, gate, expert, cand.gate_sat, cand.expert_sat,
                                                      em, gm, step.allowed)
                    tau = float(times.max()) if times.size else 0.0
                    k = int(self._steps_to_land(tau))
                    adopt_net = float(self._net_gain_ms(old_ms, cand_ms, k, times.sum()))
                    adopt = (em, gm, times, forced, k)

        if adopt is not None and adopt_net > max(keep_net, 0.0):
            em, gm, times, forced, k = adopt
            tally.add(_moves(gate, expert, cand.gate_sat, cand.expert_sat, em, gm, times, forced,
                              self.migration_price))
            self._pending.append({"kind": "adopt", "subnet": cand.subnet, "gate_sat": cand.gate_sat,
                                  "expert_sat": cand.expert_sat, "experts_confined": cand.experts_confined,
                                  "strategy": cand.strategy, "seed": cand.seed, "land": step.t_index + k})
        elif keep_net > 0:
            for l, e, dst, tau, k in keep_moves:
                tally.add([Move("expert", l, e, int(expert[l, e]), dst, tau, charged_ms(self.migration_price, tau),
                                False)])
                self._pending.append({"kind": "expert", "l": l, "e": e, "dst": dst, "land": step.t_index + k})

    def _plan_keep(self, step, views, layer_ms, subnet, gate, expert, confined):
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
        free = np.where(step.allowed, step.capacity - load, 0)
        free[gate] = 0
        layers = self._layers_with_a_move(step, gate, subnet, expert, locked, free, confined)
        if not layers:
            return [], 0.0
        rows = np.stack([v(gate) for v in views])  # (V, L, n)
        expert = expert.copy()
        layer_ms = layer_ms.copy()
        nxt = np.roll(np.arange(n_layers), -1)
        moves, total_net = [], 0.0
        for l in layers:
            region = (subnet == l) if confined else (subnet >= 0)
            cost = rows[:, l] + rows[:, nxt[l]] + step.expert_time_ms[l]  # (V, n)
            p = step.probs[l]
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
                    new_l = step.gate_time_ms[l] + expected_max(trial, p, method="independent")  # (V, n_es)
                old_tot = layer_ms.sum(axis=1)[:, None]
                # Summing the other layers afresh keeps inf − inf out of the totals.
                new_tot = np.delete(layer_ms, l, axis=1).sum(axis=1)[:, None] + new_l
                tau = self._move_times(step.oracle, expert[l, es], np.full(es.size, s), self.expert_bytes, gate)
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

    def _layers_with_a_move(self, step, gate, subnet, expert, locked, free, confined):
        """Layers whose cheapest free slot now beats one of their unlocked experts (ascending).

        The other layers would stop at their first try in :meth:`_plan_keep`,
        and stay so: moves elsewhere only take free slots away. The costs
        ``c_l(s) = d(g_l, s) + d(g_{l+1}, s) + t_expert_l`` are those of
        ``_plan_keep``'s ``cost[0]``, taken only where they are compared: at
        the free slots of each layer's region and at its experts.
        """
        n_layers = gate.size
        oracle, nxt_gate = step.oracle, next_gates(gate)
        now = step.layer_costs(gate, expert)[0]
        idx = np.flatnonzero((free > 0) & (subnet >= 0))
        if confined:
            # Each free slot is a candidate of its own subnet's layer only.
            lay = subnet[idx]
            cost = oracle.pair_ms(gate[lay], idx) + oracle.pair_ms(nxt_gate[lay], idx) + step.expert_time_ms[lay]
            cheapest = np.full(n_layers, np.inf)
            np.minimum.at(cheapest, lay, cost)
        else:
            cost = (oracle.pair_ms(gate[:, None], idx) + oracle.pair_ms(nxt_gate[:, None], idx)
                    + step.expert_time_ms[:, None])
            cheapest = cost.min(axis=1, initial=np.inf)
        return np.flatnonzero((~locked & (cheapest[:, None] < now)).any(axis=1)).tolist()
