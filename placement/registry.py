"""Strategy registry and the comparison the CLI's ``spacexnet compare`` prints.

Every entry of :data:`STRATEGIES` takes the same arguments,
``(arg_lat_deg, path_ms, probs, *, capacity, eligible, plane, belt_planes,
seed, gate_time_ms, expert_time_ms, n_gate_candidates)``, and returns a
:class:`Placement` — except ``lower-bound``, which returns the
:class:`Evaluation` of the bound directly. ``coactivation`` needs router
traces and is therefore not in the registry; call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_probs
from .baselines import random_layers_optimized_experts, random_layers_random_experts, ring_layers_random_experts
from .bound import certified_bound
from .exceptions import PlacementError
from .anneal import anneal
from .joint import joint
from .model import Evaluation, evaluate
from .two_level import space_xnet
from .gates import DEFAULT_GATE_CANDIDATES

__all__ = ["STRATEGIES", "PLACING", "RANDOMIZED", "BUDGETED", "WARM_STARTED", "StrategyResult",
           "compare_strategies"]

STRATEGIES = {
    "space-xnet": space_xnet,
    "joint": joint,
    "anneal": anneal,
    "random": random_layers_random_experts,
    "ring-random": ring_layers_random_experts,
    "random-optimized": random_layers_optimized_experts,
    "lower-bound": certified_bound,
}
"""Strategy name → function (see the module docstring for the signature)."""

PLACING = tuple(name for name in STRATEGIES if name != "lower-bound")
"""Strategies that return a :class:`Placement` (all but ``lower-bound``), in registry order."""

RANDOMIZED = frozenset({"random", "ring-random", "random-optimized"})
"""Strategies whose result depends on the seed; compared over several seeds."""

BUDGETED = frozenset({"anneal"})
"""Strategies that take a ``time_budget_s`` (nominal seconds of search, deterministic for a seed)."""

WARM_STARTED = frozenset({"joint", "anneal"})
"""Strategies that take a ``start`` placement to improve (a sweep hands them the previous step's)."""


@dataclass(frozen=True)
class StrategyResult:
    """Expected token latency of one strategy, over seeds when randomized.

    Attributes
    ----------
    name : str
    total_ms : ndarray, shape (n_runs,)
        Expected token latency of each run (one per seed; one run when
        deterministic).
    per_layer_ms : ndarray, shape (n_runs, L)
    seeds : tuple of int
        Seeds of the runs (empty when deterministic).
    """

    name: str
    total_ms: np.ndarray
    per_layer_ms: np.ndarray
    seeds: tuple

    @property
    def mean_ms(self) -> float:
        return float(self.total_ms.mean())

    @property
    def std_ms(self) -> float:
        """Sample standard deviation over seeds (0 for one run)."""
        return float(self.total_ms.std(ddof=1)) if self.total_ms.size > 1 else 0.0

    @property
    def min_ms(self) -> float:
        return float(self.total_ms.min())

    @property
    def max_ms(self) -> float:
        return float(self.total_ms.max())


def compare_strategies(arg_lat_deg, path_ms, probs, *, strategies=None, n_seeds: int = 5, seed: int = 0,
                       capacity=1, eligible=None, plane=None, belt_planes=None, gate_time_ms=0.0,
                       expert_time_ms=0.0, n_gate_candidates: int = DEFAULT_GATE_CANDIDATES, nearest_ms=None) -> dict:
    """Run and evaluate several strategies on one scenario.

    Parameters
    ----------
    arg_lat_deg, path_ms, probs, capacity, eligible, plane, belt_planes, gate_time_ms, expert_time_ms, n_gate_candidates
        As :func:`placement.space_xnet`.
    strategies : iterable of str, optional
        Names in :data:`STRATEGIES` (default: all).
    n_seeds : int
        Runs of each randomized strategy.
    seed : int
        Root seed; run ``i`` uses ``seed + i``, so results are reproducible
        and a run can be replayed alone.
    nearest_ms : array_like, shape (n_sat,), optional
        Passed to :func:`placement.certified_bound` (its nearest-neighbour floor).

    Returns
    -------
    dict of str → StrategyResult

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(12.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             12 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> res = compare_strategies(pos * 30, ring, [[0.8, 0.2], [0.6, 0.4]], n_seeds=3)
    >>> res["lower-bound"].mean_ms <= res["space-xnet"].mean_ms <= res["random"].max_ms
    True
    >>> res["random"].total_ms.shape
    (3,)
    """
    p = as_probs(probs)
    names = list(STRATEGIES) if strategies is None else list(strategies)
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise PlacementError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise PlacementError(f"n_seeds must be a positive integer, got {n_seeds!r}")
    common = dict(capacity=capacity, eligible=eligible, plane=plane, belt_planes=belt_planes,
                  gate_time_ms=gate_time_ms, expert_time_ms=expert_time_ms, n_gate_candidates=n_gate_candidates)
    out = {}
    for name in names:
        fn = STRATEGIES[name]
        seeds = tuple(seed + i for i in range(n_seeds)) if name in RANDOMIZED else ()
        evals: list[Evaluation] = []
        for s in seeds or (None,):
            if name == "lower-bound":
                evals.append(fn(arg_lat_deg, path_ms, p, seed=s, nearest_ms=nearest_ms, **common))
            else:
                placement = fn(arg_lat_deg, path_ms, p, seed=s, **common)
                evals.append(evaluate(placement, path_ms, p, gate_time_ms, expert_time_ms))
        out[name] = StrategyResult(
            name=name,
            total_ms=np.array([e.total_ms for e in evals]),
            per_layer_ms=np.stack([e.per_layer_ms for e in evals]),
            seeds=seeds,
        )
    return out
