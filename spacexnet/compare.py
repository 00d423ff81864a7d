"""Space-XNet against the paper's baselines at one instant: the ``spacexnet compare`` table.

Every strategy of :data:`placement.STRATEGIES` places the model on the
snapshot's eligible satellites; every placement is then measured by the
latency layer: the exact expectation under exactly-k routing and the
paper's approximation with independent activations
(:func:`latency.token_latency`), and Monte Carlo tokens of the same
exactly-k law (:func:`latency.sample_token_latency`) for the median and the
tail. The ratios to Space-XNet are given under both expectations.
Randomized strategies run over several seeds and report mean and spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

import latency
import placement

from .scenario import ModelSetup, Snapshot

__all__ = ["StrategyRow", "place", "compare", "DEFAULT_STRATEGIES", "ground_user", "user_deliveries",
           "user_delivery_ms"]

#: Strategies of the table, in order: the paper's method, ours, the paper's ablations, the bound.
DEFAULT_STRATEGIES = ("space-xnet", "joint", "anneal", "random", "ring-random", "random-optimized", "lower-bound")


@dataclass
class StrategyRow:
    """One row of the comparison table (times in ms, averaged over seeds for random strategies).

    ``expected_ms`` is the exact expectation under exactly-k routing,
    ``expected_independent_ms`` the paper's approximation (independent
    activations); ``ratio_to_space_xnet`` and ``ratio_independent`` divide
    each by Space-XNet's. ``gap`` divides ``expected_ms`` by the lower
    bound's (1 for the bound's own row; > 1: that far from optimal at
    most); ``bound_method`` says how the bound was obtained (its row only).
    """

    strategy: str
    expected_ms: float
    expected_std_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    tokens_per_s: float
    ratio_to_space_xnet: float = float("nan")
    n_runs: int = 1
    expected_independent_ms: float = float("nan")
    ratio_independent: float = float("nan")
    gap: float = float("nan")
    bound_method: str = ""
    reachable: bool = True
    breakdown_ms: dict = field(default_factory=dict)
    placements: list = field(default_factory=list, repr=False)
    samples_ms: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """JSON-ready row (no arrays)."""
        out = {
            "strategy": self.strategy,
            "expected_ms": self.expected_ms,
            "expected_std_ms": self.expected_std_ms,
            "expected_independent_ms": self.expected_independent_ms,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "tokens_per_s": self.tokens_per_s,
            "ratio_to_space_xnet": self.ratio_to_space_xnet,
            "ratio_independent": self.ratio_independent,
            "n_runs": self.n_runs,
            "reachable": self.reachable,
        }
        # Only a table with a bound has a gap (NaN is not JSON).
        if np.isfinite(self.gap):
            out["gap"] = self.gap
        if self.bound_method:
            out["bound_method"] = self.bound_method
        out.update({f"{k}": v for k, v in self.breakdown_ms.items()})
        return out


def place(snap: Snapshot, setup: ModelSetup, strategy: str = "space-xnet", seed=None, belt_planes=None,
          time_budget_s=None):
    """One placement of ``setup``'s model on ``snap`` with ``strategy``.

    ``time_budget_s`` (nominal seconds of search) goes to the strategies
    that take one (``anneal``); None keeps their default.

    Returns
    -------
    placement.Placement

    Examples
    --------
    >>> from spacexnet.scenario import build_constellation, model_setup, snapshot
    >>> setup = model_setup()
    >>> snap = snapshot(build_constellation(walker="53:1584/72/1", altitude_km=550), "2026-01-01T00:00Z", setup)
    >>> p = place(snap, setup)
    >>> p.gate_sat.shape, p.expert_sat.shape
    ((32,), (32, 16))
    """
    if strategy not in placement.PLACING:
        raise placement.PlacementError(f"unknown placement strategy {strategy!r}; "
                                       f"choose from {', '.join(placement.PLACING)}")
    fn = placement.STRATEGIES[strategy]
    extra = {} if time_budget_s is None or strategy not in placement.BUDGETED else {"time_budget_s": time_budget_s}
    return fn(snap.arg_lat_deg, snap.path_ms, setup.probs, seed=seed,
              **setup.strategy_kwargs(snap.plane, belt_planes, snap.eligible),
              **extra)


def _measure(snap, setup, pl, n_samples, seed):
    exact = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
    mc = latency.sample_token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times,
                                      n_samples=n_samples, seed=seed, method="exactly-k")
    return exact, mc


def _nearest_ms(snap: Snapshot) -> np.ndarray:
    """Cheapest up link of every satellite, ms (inf for isolated ones): the lower bound's input."""
    g = snap.graph
    best = np.full(g.n_sat, np.inf)
    np.minimum.at(best, g.sat_a, g.edge_ms)
    np.minimum.at(best, g.sat_b, g.edge_ms)
    return best


def compare(snap: Snapshot, setup: ModelSetup, strategies=DEFAULT_STRATEGIES, n_seeds: int = 5,
            n_samples: int = 20_000, belt_planes=None, progress=None, time_budget_s=None) -> list[StrategyRow]:
    """Measure every strategy on one snapshot.

    Parameters
    ----------
    snap : Snapshot
    setup : ModelSetup
    strategies : sequence of str
        Names from :data:`placement.STRATEGIES`; ``space-xnet`` is always
        measured (it is every ratio's denominator).
    n_seeds : int
        Runs of each randomized strategy (seeds ``setup.seed + i``).
    n_samples : int
        Monte Carlo tokens per placement for p50/p95/p99.
    belt_planes : int, optional
        Use only this many adjacent planes (beyond the paper).
    progress : callable, optional
        Called with each strategy name as it starts.
    time_budget_s : float, optional
        Nominal seconds of search for ``anneal`` (default: its own).

    Returns
    -------
    list of StrategyRow
        In the order of ``strategies``; ``ratio_to_space_xnet`` = expected
        latency of the row ÷ that of ``space-xnet`` (> 1: slower), under
        exactly-k routing; ``ratio_independent`` the same under independent
        activations. The ``lower-bound`` row's bound is taken under
        independent activations, which also bounds the exactly-k expectation
        (see :mod:`latency.expectation`); it is
        :func:`placement.certified_bound`, and ``gap`` divides every row by it.
    """
    names = list(dict.fromkeys(["space-xnet", *strategies]))
    kwargs = setup.strategy_kwargs(snap.plane, belt_planes, snap.eligible)
    rows: dict[str, StrategyRow] = {}
    for name in names:
        if progress is not None:
            progress(name)
        if name == "lower-bound":
            ev = placement.certified_bound(snap.arg_lat_deg, snap.path_ms, setup.probs,
                                           nearest_ms=_nearest_ms(snap), **kwargs)
            # The bound's model has no LM head; add it, since every strategy pays it.
            total = float(ev.total_ms + setup.times.head_ms)
            rows[name] = StrategyRow(name, total, 0.0, float("nan"), float("nan"), float("nan"), 1e3 / total,
                                     expected_independent_ms=total, bound_method=ev.method)
            continue
        seeds = [setup.seed + i for i in range(n_seeds)] if name in placement.RANDOMIZED else [None]
        exact_ms, independent_ms, mc_runs, pls, breakdowns, reachable = [], [], [], [], [], True
        for i, seed in enumerate(seeds):
            pl = place(snap, setup, name, seed=seed, belt_planes=belt_planes, time_budget_s=time_budget_s)
            exact, mc = _measure(snap, setup, pl, n_samples, setup.seed + 1000 + i)
            exact_ms.append(exact.expected_ms)
            independent_ms.append(exact.expected_independent_ms)
            mc_runs.append(mc.samples_ms)
            pls.append(pl)
            breakdowns.append(exact.breakdown.as_dict())
            reachable &= bool(exact.reachable)
        samples = np.concatenate(mc_runs)
        mean = float(np.mean(exact_ms))
        p50, p95, p99 = (float(v) for v in np.percentile(samples, [50, 95, 99]))
        breakdown = {k: float(np.mean([b[k] for b in breakdowns])) for k in breakdowns[0]}
        rows[name] = StrategyRow(
            strategy=name, expected_ms=mean,
            expected_std_ms=float(np.std(exact_ms, ddof=1)) if len(exact_ms) > 1 else 0.0,
            p50_ms=p50, p95_ms=p95, p99_ms=p99, tokens_per_s=1e3 / mean if mean > 0 else float("inf"),
            n_runs=len(seeds), reachable=reachable, breakdown_ms=breakdown, placements=pls, samples_ms=samples,
            expected_independent_ms=float(np.mean(independent_ms)))
    base, base_independent = rows["space-xnet"].expected_ms, rows["space-xnet"].expected_independent_ms
    for row in rows.values():
        row.ratio_to_space_xnet = row.expected_ms / base
        row.ratio_independent = row.expected_independent_ms / base_independent
    if "lower-bound" in rows:
        floor = rows["lower-bound"].expected_ms
        for row in rows.values():
            row.gap = row.expected_ms / floor
    return [rows[n] for n in names if n in strategies or n == "space-xnet"]


def ground_user(text: str, what: str = "user") -> latency.GroundUser:
    """A ground user from ``LAT,LON`` in degrees (``ValueError`` naming ``what`` when it is not one).

    Examples
    --------
    >>> ground_user("48.85,2.35")
    GroundUser(lat_deg=48.85, lon_deg=2.35, alt_km=0.0, serving='fastest')
    """
    parts = text.split(",")
    try:
        lat_deg, lon_deg = (float(p) for p in parts)
    except ValueError:
        lat_deg = lon_deg = float("nan")
    if len(parts) != 2 or not (math.isfinite(lat_deg) and math.isfinite(lon_deg)) \
            or not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 360.0):
        raise ValueError(f"{what} {text!r} is not LAT,LON in degrees (latitude in [-90, 90], longitude in "
                         f"[-180, 360]), e.g. {what}=48.85,2.35")
    return latency.GroundUser(lat_deg, lon_deg)


def user_deliveries(snap: Snapshot, placements, user: latency.GroundUser) -> list:
    """Delivery of a token to ``user`` from each placement (:class:`latency.GroundLatency` each).

    The token leaves from the first layer's gate, where the LM head runs,
    follows the ISLs to the best visible satellite and goes down to the user
    (:func:`latency.ground_latency_ms`).
    """
    return [latency.ground_latency_ms(snap.graph, int(p.gate_sat[0]), user) for p in placements]


def user_delivery_ms(snap: Snapshot, placements, user: latency.GroundUser) -> float:
    """Mean delivery to ``user`` over ``placements`` (a row's runs), ms; NaN without a placement.

    Examples
    --------
    >>> from spacexnet.scenario import build_constellation, model_setup, snapshot
    >>> setup = model_setup()
    >>> snap = snapshot(build_constellation(walker="53:1584/72/1", altitude_km=550), "2026-01-01T00:00Z", setup)
    >>> 0 < user_delivery_ms(snap, [place(snap, setup)], ground_user("48.85,2.35")) < 200
    True
    """
    if not placements:
        return float("nan")
    return float(np.mean([g.latency_ms for g in user_deliveries(snap, placements, user)]))

