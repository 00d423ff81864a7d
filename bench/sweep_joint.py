"""Wall time of a sweep with ``--strategy joint`` (and ``anneal``) against the default ``space-xnet`` sweep.

Scenario (the defaults): Starlink shell 1 (``build_constellation()``, 1,584
satellites, +Grid ISLs), llama-moe-3.5b (``model_setup()``), the policies
static, recompute and handover, one orbital period at 10 s steps (the
default ``spacexnet sweep``), 2 workers, chunks of 60 steps.

The sweeps run one after the other in this process over the same instants,
after a throw-away two-step sweep of each strategy (so that no run pays for
Numba's compilation). ``joint`` and ``anneal`` are warm-started: each step
improves the previous step's placement of the same chunk, and only the
first step of each chunk places cold (docs/model.md, "Sweeps"). With
``--cold`` the script also runs each of them with chunks of one step, so
that every step places cold (the sweep as it was before warm starts; the
chunking changes nothing else).

Printed: each sweep's wall time and its ratio to the ``space-xnet`` sweep
(the goal: joint ≤ 3×), the time inside the chunk tasks that made the
placements, and what the time buys: the mean over the steps of the
expected token latency of each policy (``token_latency_expected_ms``, the
latency layer's) and of the placement objective
(``token_latency_expected_independent_ms``, what the strategies minimise).

On a machine shared with other work the times are noisy: ``--repeat`` and
report the range.

Usage::

    python bench/sweep_joint.py                              # one orbit at 10 s: space-xnet and joint
    python bench/sweep_joint.py --strategies joint,anneal --cold
    python bench/sweep_joint.py --strategies anneal --time-budget-s 1
    python bench/sweep_joint.py --duration-s 1200 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orbits  # noqa: E402
from spacexnet.scenario import build_constellation, model_setup  # noqa: E402
from spacexnet.sweep import SweepOptions, sweep  # noqa: E402

BASE = "space-xnet"
COLUMNS = ("token_latency_expected_ms", "token_latency_expected_independent_ms")


def run(constellation, setup, options, out) -> dict:
    """One sweep: wall time, stage times and the mean of each latency column per policy."""
    timings = {}
    t0 = time.perf_counter()
    sweep(constellation, setup, options, out, overwrite=True, timings=timings)
    wall_s = time.perf_counter() - t0
    with xr.open_dataset(out) as ds:
        means = {col: {str(p): float(ds[col].sel(policy=p).mean()) for p in ds["policy"].values} for col in COLUMNS}
    return {"wall_s": wall_s, "candidates_s": timings["candidates_compute"], "means": means}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=float, default=None, help="span, s (default: one orbital period)")
    parser.add_argument("--step-s", type=float, default=10.0, help="time step, s")
    parser.add_argument("--strategies", default="joint", help="comma-separated strategies timed against space-xnet")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-steps", type=int, default=60)
    parser.add_argument("--cold", action="store_true", help="also run each strategy cold (chunks of one step)")
    parser.add_argument("--time-budget-s", type=float, default=None,
                        help="anneal's nominal budget at each chunk's first step (default: its own)")
    parser.add_argument("--repeat", type=int, default=1, help="run every sweep this many times")
    args = parser.parse_args(argv)
    strategies = [s for s in args.strategies.split(",") if s]

    constellation = build_constellation()
    setup = model_setup()
    period_s = orbits.orbital_period_s(constellation)
    duration_s = period_s if args.duration_s is None else args.duration_s
    n_steps = orbits.time_grid(constellation.reference_epoch, duration_s, args.step_s).size
    print(f"Starlink shell 1: {len(constellation)} satellites; {setup.model.name}; policies static,recompute,"
          f"handover; {n_steps} steps of {args.step_s:g} s ({duration_s:.0f} s); {args.workers} workers, "
          f"chunks of {args.chunk_steps} steps")
    print(f"cores seen: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}", flush=True)

    runs = [(BASE, BASE, args.chunk_steps)] + [(s, s, args.chunk_steps) for s in strategies]
    if args.cold:
        runs += [(f"{s} cold", s, 1) for s in strategies]
    results = {label: [] for label, _, _ in runs}
    with tempfile.TemporaryDirectory(prefix="sweep-joint-") as tmp:
        for _, strategy, _ in runs[:1 + len(strategies)]:
            # Compile or load every kernel this strategy runs before anything is timed.
            sweep(constellation, setup, SweepOptions(strategy=strategy, step_s=args.step_s,
                                                     duration_s=args.step_s, workers=1, time_budget_s=0.01),
                  Path(tmp) / "warm-up.nc", overwrite=True)
        for rep in range(args.repeat):
            for label, strategy, chunk_steps in runs:
                options = SweepOptions(strategy=strategy, step_s=args.step_s, duration_s=duration_s,
                                       chunk_steps=chunk_steps, workers=args.workers,
                                       time_budget_s=args.time_budget_s)
                results[label].append(run(constellation, setup, options, Path(tmp) / "sweep.nc"))
                print(f"run {rep + 1}/{args.repeat}: {label} {results[label][-1]['wall_s']:.1f} s", flush=True)

    def span(values, fmt="{:.1f}"):
        lo, hi = min(values), max(values)
        return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"

    base = [r["wall_s"] for r in results[BASE]]
    print()
    print(f"{'strategy':<16} {'wall s':>12} {'× space-xnet':>13} {'placing s':>12}   "
          "mean expected token latency, ms: static / recompute / handover (placement objective)")
    for label, _, _ in runs:
        rs = results[label]
        walls = [r["wall_s"] for r in rs]
        ratio = span([w / b for w, b in zip(walls, base)], "{:.2f}")
        means = rs[-1]["means"]
        latency = " / ".join(f"{means[COLUMNS[0]][p]:.1f}" for p in ("static", "recompute", "handover"))
        objective = " / ".join(f"{means[COLUMNS[1]][p]:.1f}" for p in ("static", "recompute", "handover"))
        print(f"{label:<16} {span(walls):>12} {ratio:>13} {span([r['candidates_s'] for r in rs]):>12}   "
              f"{latency} ({objective})")
    print()
    print("goal: joint ≤ 3× the space-xnet sweep; 'placing s' is the time inside the chunk tasks making each "
          "step's placement, summed over workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
