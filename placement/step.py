"""One timestep of a sweep: its inputs, checked once, and what every policy of that step computes alike.

The caller builds one :class:`Step` per timestep from the satellites'
phases, that step's distance oracle, the usable satellites, the
activation probabilities, the compute times and the capacity, and hands
the same object to every policy (``policy.step(step)``). The step owns:

- the shortest-path rows searched at this step (a :class:`StepOracle`:
  each source's Dijkstra runs once, whichever policy asks first);
- the layer times of every complete placement evaluated at this step
  (static and handover often serve the same placement);
- the strategy's fresh placement (:attr:`Step.candidate`), made once on
  first use, or handed in by whoever made it elsewhere
  (:meth:`Step.use_candidate`, after checking it saw the same usable
  satellites and started from the same warm start). A strategy of
  :data:`placement.WARM_STARTED` improves ``warm_start`` (the previous
  step's candidate, in a sweep) instead of starting cold.

None of this changes a number: a policy decides the same whether it is
alone at a step or the third to look at it.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity, as_eligible, as_layer_times, as_probs
from .exceptions import InfeasiblePlacementError, PlacementError
from .migration import StepOracle
from .model import Placement, _expected_max_rows, objective_from_rows
from .registry import PLACING, STRATEGIES, WARM_STARTED

__all__ = ["Step"]

_NOT_MADE = object()  # the candidate before anyone asked for it


class Step:
    """The inputs of one timestep, checked, and the work its policies share.

    Parameters
    ----------
    t_index : int
        Step index (time ``t_index · step_s`` from the start).
    arg_lat_deg : array_like, shape (n_sat,)
        Phase (argument of latitude) of each satellite, degrees.
    path_ms : callable
        This step's oracle ``path_ms(sources) -> (len(sources), n_sat)`` in
        ms, ``inf`` if unreachable.
    probs : array_like, shape (L, E)
        Activation probabilities.
    usable : array_like of bool, shape (n_sat,), optional
        Satellites that may host a gate or an expert now (default all).
    strategy : str
        Placement strategy of :data:`placement.STRATEGIES` that makes the
        fresh placement (not ``lower-bound``).
    seed : int, optional
        Seed of a randomized strategy.
    capacity : int or array_like
        Experts one satellite may host.
    eligible : array_like of bool, optional
        A fixed mask combined with ``usable``.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
        Compute time of each layer's gate and of one expert, ms.
    lookahead : sequence of callables, optional
        Oracles of the following steps ``t+1, t+2, …`` (handover weighs a
        move over them).
    warm_start : Placement, optional
        A placement the strategy improves instead of starting cold (the
        previous step's candidate), when it is one of
        :data:`placement.WARM_STARTED`; ignored by the others.
    **strategy_options
        Any other option of the strategy (``plane``, ``belt_planes``,
        ``n_gate_candidates``, …).

    Attributes
    ----------
    oracle : StepOracle
        This step's rows; ``oracle.sources`` is the Dijkstras run.
    allowed : ndarray of bool
        ``usable`` and ``eligible``: where gates and experts may sit.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> step = Step(0, pos * 45.0, ring, [[0.9, 0.1], [0.5, 0.5]])
    >>> step.candidate.gate_sat.shape, step.candidate is step.candidate
    ((2,), True)
    """

    def __init__(self, t_index, arg_lat_deg, path_ms, probs, *, usable=None, strategy="space-xnet", seed=None,
                 capacity=1, eligible=None, gate_time_ms=0.0, expert_time_ms=0.0, lookahead=(),
                 warm_start=None, **strategy_options):
        if strategy not in PLACING:
            choices = ", ".join(PLACING)
            raise PlacementError(
                f"strategy {strategy!r} cannot drive a policy: it must return a placement; choose from {choices}"
            )
        if isinstance(t_index, bool) or not isinstance(t_index, (int, np.integer)):
            raise PlacementError(f"t_index must be an integer step index, got {t_index!r}")
        if probs is None:
            raise PlacementError("probs is required: pass the (L, E) activation probabilities of this step")
        self.probs = as_probs(probs)
        if np.ndim(arg_lat_deg) != 1 or np.shape(arg_lat_deg)[0] < 1:
            raise PlacementError(
                f"arg_lat_deg must be a 1-D array, one phase per satellite, got shape {np.shape(arg_lat_deg)}")
        n_sat = np.shape(arg_lat_deg)[0]
        if usable is None:
            usable = np.ones(n_sat, dtype=bool)
        usable = np.asarray(usable)
        if usable.shape != (n_sat,) or usable.dtype.kind != "b":
            raise PlacementError(
                f"usable must be a boolean array of shape ({n_sat},) (False: decayed or failed), "
                f"got dtype {usable.dtype} and shape {usable.shape}"
            )
        n_layers = self.probs.shape[0]
        self.t_index = int(t_index)
        self.arg_lat_deg = arg_lat_deg
        self.n_sat = n_sat
        self.usable = usable.copy()
        self.allowed = self.usable if eligible is None else self.usable & as_eligible(eligible, n_sat)
        self.capacity = as_capacity(capacity, n_sat)
        self.gate_time_ms = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
        self.expert_time_ms = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
        self.strategy, self.seed = strategy, seed
        self.strategy_options = dict(strategy_options)
        self.warm_start = warm_start if strategy in WARM_STARTED else None
        if self.warm_start is not None:
            self.strategy_options["start"] = self.warm_start
        self.oracle = StepOracle(path_ms, n_sat)
        self.lookahead = tuple(StepOracle(o, n_sat) for o in lookahead)
        self._candidate = _NOT_MADE
        self._layer_ms = {}  # (gate bytes, expert bytes) -> (expert costs, per-layer ms) of a complete placement

    @property
    def shape(self) -> tuple:
        """``(layers, experts, satellites)``."""
        return (*self.probs.shape, self.n_sat)

    @property
    def candidate(self) -> Placement | None:
        """The strategy's fresh placement at this step, None if it found none (made once)."""
        if self._candidate is _NOT_MADE:
            try:
                # Unreachable candidates make harmless 0 · inf products inside the strategies.
                with np.errstate(invalid="ignore"):
                    self._candidate = STRATEGIES[self.strategy](
                        self.arg_lat_deg, self.oracle, self.probs, capacity=self.capacity, eligible=self.allowed,
                        seed=self.seed, gate_time_ms=self.gate_time_ms, expert_time_ms=self.expert_time_ms,
                        **self.strategy_options)
            except InfeasiblePlacementError:
                self._candidate = None
        return self._candidate

    @property
    def made_candidate(self) -> Placement | None:
        """The fresh placement if it was made or handed in already, else None (never makes it)."""
        return None if self._candidate is _NOT_MADE else self._candidate

    def use_candidate(self, placement: Placement | None, usable, warm_start: Placement | None = None) -> bool:
        """Take a fresh placement made elsewhere for these inputs; False (and none taken) if they differ.

        ``placement`` was made by the same strategy on the same phases,
        graph and model, with ``usable`` the satellites its maker thought
        usable (a chunk task cannot know of a failure at an earlier chunk)
        and ``warm_start`` the placement it started from: taken only if
        that is this step's mask and (for a warm-started strategy) this
        step's warm start, else the step makes its own.
        """
        usable = np.asarray(usable)
        if usable.shape != self.usable.shape or not np.array_equal(usable, self.usable):
            return False
        if self.strategy in WARM_STARTED and not _same_placement(warm_start, self.warm_start):
            return False
        self._candidate = placement
        return True

    def layer_costs(self, gate, expert):
        """A complete placement's expert costs ``c_l(x_{l,e})`` (L, E) and layer times (L,); read only.

        :func:`placement.evaluate` on inputs already checked, from the
        experts' entries of the gates' rows; computed once per placement
        and step, whichever policy asks.
        """
        key = (gate.tobytes(), expert.tobytes())
        found = self._layer_ms.get(key)
        if found is None:
            cost = (self.oracle.pair_ms(gate[:, None], expert)
                    + self.oracle.pair_ms(next_gates(gate)[:, None], expert) + self.expert_time_ms[:, None])
            # Unreachable experts that are never active make 0 · inf terms; they count 0.
            with np.errstate(invalid="ignore"):
                per_layer = self.gate_time_ms + _expected_max_rows(cost, self.probs)
            cost.setflags(write=False)
            per_layer.setflags(write=False)
            found = self._layer_ms[key] = (cost, per_layer)
        return found

    def per_layer_ms(self, gate, expert, oracle=None) -> np.ndarray:
        """Expected time of each layer (a fresh array); ``inf`` where a part is unplaced.

        On this step's graph, or on ``oracle`` (one of :attr:`lookahead`).
        """
        complete = (gate >= 0).all() and (expert >= 0).all()
        if complete and (oracle is None or oracle is self.oracle):
            return self.layer_costs(gate, expert)[1].copy()
        oracle = self.oracle if oracle is None else oracle
        # Unreachable experts that are never active make 0 · inf terms; they count 0.
        with np.errstate(invalid="ignore"):
            if complete:
                return objective_from_rows(oracle(gate), expert, self.probs, self.gate_time_ms,
                                           self.expert_time_ms)
            rows = np.full((gate.size, self.n_sat), np.inf)
            ok = gate >= 0
            if ok.any():
                rows[ok] = oracle(gate[ok])
            out = objective_from_rows(rows, np.maximum(expert, 0), self.probs, self.gate_time_ms,
                                      self.expert_time_ms)
        whole = ok & np.roll(ok, -1) & (expert >= 0).all(axis=1)
        return np.where(whole, out, np.inf)


def _same_placement(a, b) -> bool:
    """Whether two placements (or None) put every gate and expert on the same satellites."""
    if a is None or b is None:
        return a is b
    return np.array_equal(a.gate_sat, b.gate_sat) and np.array_equal(a.expert_sat, b.expert_sat)


def next_gates(gate):
    """``np.roll(gate, -1)`` (the gate each layer hands on to) for a 1-D array, without its generality."""
    return np.concatenate((gate[1:], gate[:1]))
