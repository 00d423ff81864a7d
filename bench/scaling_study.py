"""How a sweep's cost per step grows with the satellites and with the steps, and the cores a day-long sweep needs.

Writes the markdown block of ``docs/scaling.md``. Every number is measured
in this run on this machine, after a warm-up sweep (Numba kernels loaded,
worker processes forked with everything imported):

1. **against satellites**: the three policies, llama-moe-3.5b, ``STEPS``
   steps of 1 s in chunks of ``CHUNK_STEPS`` (so that two workers have
   chunks to share), with one worker and with two, for Starlink shell 1
   (``build_constellation()``), the real Starlink snapshot
   (``../shared/data/starlink_tle_snapshot.txt``; its row is left out when
   the file is absent) and the preset ``starlink-gen2`` (SpaceX's Gen2
   application, about 30,000 satellites; its source is in
   ``data/constellations.json``);
2. **against steps**: Starlink shell 1 with two workers at
   ``STEP_COUNTS`` steps of 1 s, and the seconds each run adds per added
   step over the previous one: flat when the sweep is linear in its
   length;
3. **the cores for a day**: from the Gen2 measurement, the cores that
   sweep 86,400 steps of 1 s in one hour.

The cost per step is the sweep's wall time less its own warm-up stage
(the first step's placement), divided by the steps (``timings`` of
:func:`spacexnet.sweep.sweep`). The sweep's own process time per step is
that wall time less the time it waited for chunk tasks: the part of a
step no number of workers shortens.

Usage::

    python bench/scaling_study.py            # the docs' run (several minutes)
    python bench/scaling_study.py --repeat 3 # the fastest of 3 runs of each
    python bench/scaling_study.py --quick    # a few steps of each, while developing
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spacexnet.scenario import build_constellation, model_setup  # noqa: E402
from spacexnet.sweep import SweepOptions, sweep  # noqa: E402

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"
STEP_S = 1.0
STEPS, CHUNK_STEPS, STEP_COUNTS = 240, 30, (60, 240, 960)
QUICK_STEPS, QUICK_CHUNK_STEPS, QUICK_STEP_COUNTS = 12, 4, (8, 16, 32, 64)
BIG_PRESET = "starlink-gen2"
#: The target: one day of 1 s steps swept in one hour.
DAY_STEPS, TARGET_WALL_S = 86_400, 3_600.0
#: Largest spread (largest ÷ smallest − 1) of the added cost per added step still called linear.
LINEAR_TOLERANCE = 0.15


def best_of(repeat: int, *args) -> dict:
    """:func:`per_step` ``repeat`` times; the fastest run (the one least slowed by other work on the machine)."""
    return min((per_step(*args) for _ in range(repeat)), key=lambda r: r["wall_s"])


def per_step(constellation, setup, n_steps: int, chunk_steps: int, workers: int, out: Path) -> dict:
    """One sweep of ``n_steps`` steps of 1 s: wall and sweep-process seconds per step, its warm-up aside."""
    options = SweepOptions(step_s=STEP_S, duration_s=(n_steps - 1) * STEP_S, chunk_steps=chunk_steps,
                           workers=workers)
    timings = {}
    sweep(constellation, setup, options, out, overwrite=True, timings=timings)
    work_s = timings["total"] - timings["warm_up"]
    return {"wall_s": work_s / n_steps, "own_s": (work_s - timings["geometry_wait"]) / n_steps,
            "steps": n_steps, "work_s": work_s}


def added_cost(steps, wall_s) -> list[float]:
    """Seconds each run adds per step over the previous (shorter) run: flat when the sweep is linear in its length.

    Examples
    --------
    >>> [round(x, 6) for x in added_cost([10, 20, 40], [1.5, 2.5, 4.5])]
    [0.1, 0.1]
    """
    return [(wall_s[i + 1] - wall_s[i]) / (steps[i + 1] - steps[i]) for i in range(len(steps) - 1)]


def cores_for_a_day(one_s: float, two_s: float, own_s: float) -> dict:
    """The cores to sweep :data:`DAY_STEPS` steps in :data:`TARGET_WALL_S`, from per-step costs on 1 and 2 workers.

    Model: chunks are independent tasks, so a sweep spreads over more
    cores as it does over two; a step costs ``2 · two_s`` core-seconds
    (two cores busy for ``two_s``), which assumes the measured two-core
    efficiency ``one_s / (2 · two_s)`` holds on more cores. The sweep's own
    process (policies, latency, writing) is serial: one sweep cannot go
    faster than ``own_s`` per step, so a day takes at least
    ``DAY_STEPS · own_s`` however many workers it has; beyond one hour the
    day must be split into consecutive spans swept side by side.

    Examples
    --------
    >>> r = cores_for_a_day(one_s=0.4, two_s=0.25, own_s=0.02)
    >>> r["cores"], r["sweeps"], round(r["efficiency"], 2)
    (12, 1, 0.8)
    """
    core_s_per_step = 2.0 * two_s
    return {"efficiency": one_s / (2.0 * two_s), "core_s_per_step": core_s_per_step,
            "cores": math.ceil(DAY_STEPS * core_s_per_step / TARGET_WALL_S),
            "sweeps": max(1, math.ceil(DAY_STEPS * own_s / TARGET_WALL_S)),
            "one_sweep_floor_s": DAY_STEPS * own_s}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps of each, while developing")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the fastest is kept")
    args = parser.parse_args(argv)
    steps, chunk_steps, step_counts = ((QUICK_STEPS, QUICK_CHUNK_STEPS, QUICK_STEP_COUNTS) if args.quick
                                       else (STEPS, CHUNK_STEPS, STEP_COUNTS))
    setup = model_setup()
    shell1 = build_constellation()
    cases = [("Starlink shell 1 (`build_constellation()`)", shell1)]
    if SNAPSHOT.is_file():
        cases.append(("real Starlink snapshot (`--tle`)", build_constellation(tle=str(SNAPSHOT))))
    else:
        _log(f"scaling_study: {SNAPSHOT} is absent; its row is left out")
    cases.append((f"`--preset {BIG_PRESET}`", build_constellation(preset=BIG_PRESET)))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scaling-") as tmp:
        out = Path(tmp) / "sweep.nc"
        _log("warm-up (kernels, worker processes)")
        for workers in (1, 2):
            per_step(shell1, setup, 2 * chunk_steps, chunk_steps, workers, out)

        by_sats = []
        for label, constellation in cases:
            row = {"label": label, "n_sat": len(constellation)}
            for workers in (1, 2):
                _log(f"{label}: {steps} steps, {workers} worker(s)")
                row[workers] = best_of(args.repeat, constellation, setup, steps, chunk_steps, workers, out)
            by_sats.append(row)

        by_steps = []
        for n in step_counts:
            _log(f"shell 1: {n} steps, 2 workers")
            by_steps.append(best_of(args.repeat, shell1, setup, n, chunk_steps, 2, out))
    elapsed_s = time.perf_counter() - started

    print(f"Measured by `python bench/scaling_study.py{' --quick' if args.quick else ''}` on "
          f"{os.cpu_count()} cores in {elapsed_s / 60:.0f} min: llama-moe-3.5b, the three policies, steps of "
          f"{STEP_S:g} s in chunks of {chunk_steps}; cost per step = the sweep's wall time less its warm-up "
          f"stage, ÷ steps, the fastest of {args.repeat} runs (1-minute load average, this run included: "
          f"{os.getloadavg()[0]:.1f} at the end).")
    print()
    print(f"**Against satellites** ({steps} steps each):")
    print()
    print("| constellation | satellites | 1 worker, ms/step | 2 workers, ms/step | 2-worker speed-up "
          "| sweep's own process, ms/step (2 workers) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in by_sats:
        one, two = row[1], row[2]
        print(f"| {row['label']} | {row['n_sat']:,} | {1e3 * one['wall_s']:.1f} | {1e3 * two['wall_s']:.1f} "
              f"| {one['wall_s'] / two['wall_s']:.2f}× | {1e3 * two['own_s']:.1f} |")
    first, last = by_sats[0], by_sats[-1]
    print()
    print(f"From {first['n_sat']:,} to {last['n_sat']:,} satellites ({last['n_sat'] / first['n_sat']:.1f}× as "
          f"many) the cost per step grows {last[2]['wall_s'] / first[2]['wall_s']:.1f}× with 2 workers and "
          f"{last[1]['wall_s'] / first[1]['wall_s']:.1f}× with 1.")
    print()
    print("**Against steps** (Starlink shell 1, 2 workers):")
    print()
    print("| steps | wall less warm-up, s | ms/step |")
    print("|---:|---:|---:|")
    for r in by_steps:
        print(f"| {r['steps']:,} | {r['work_s']:.2f} | {1e3 * r['wall_s']:.2f} |")
    added = added_cost([r["steps"] for r in by_steps], [r["work_s"] for r in by_steps])
    spread = max(added) / min(added) - 1
    print()
    print(f"Each longer run adds {', '.join(f'{1e3 * x:.1f}' for x in added)} ms per added step over the "
          f"previous one (spread {100 * spread:.0f}%): "
          + (f"linear in the number of steps (within {100 * LINEAR_TOLERANCE:.0f}%); the higher cost per step of "
             "the shortest runs is a fixed part, the pipeline of chunk tasks filling and draining."
             if spread <= LINEAR_TOLERANCE else
             f"not linear within {100 * LINEAR_TOLERANCE:.0f}% in this run."))
    print()
    need = cores_for_a_day(last[1]["wall_s"], last[2]["wall_s"], last[2]["own_s"])
    print(f"**Cores for a day of {last['label']} at {STEP_S:g} s in one hour** ({DAY_STEPS:,} steps in "
          f"{TARGET_WALL_S:,.0f} s, i.e. {1e3 * TARGET_WALL_S / DAY_STEPS:.1f} ms per step): a step costs "
          f"{need['core_s_per_step']:.2f} core-seconds (2 cores × {1e3 * last[2]['wall_s']:.0f} ms), so "
          f"**{need['cores']:,} cores**, assuming the chunks spread over more cores (Dask workers) at the "
          f"measured two-core efficiency ({100 * need['efficiency']:.0f}%: the 1-worker time ÷ twice the "
          "2-worker time).", end=" ")
    if need["sweeps"] > 1:
        print(f"One sweep cannot use them all: its own process spends {1e3 * last[2]['own_s']:.0f} ms per step "
              f"whatever the workers, {need['one_sweep_floor_s'] / 3600:.1f} h for the day, so the day is "
              f"split into at least {need['sweeps']} consecutive spans swept side by side (each span's "
              "policies start afresh at its first step).")
    else:
        print(f"One sweep can use them all: its own process spends {1e3 * last[2]['own_s']:.0f} ms per step, "
              f"{need['one_sweep_floor_s'] / 60:.0f} min for the day.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
