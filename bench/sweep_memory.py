"""Peak memory of a sweep does not grow with its length: only the chunk in flight is held.

Runs the same sweep (Starlink shell 1, llama-moe-3.5b, 1 s steps, chunks of
60 steps) over longer and longer spans, each in a fresh process, and
prints each run's peak resident memory (``ru_maxrss``, of the sweep's
process and of its largest chunk-task process) and wall time. A
sweep that kept its time series in memory would grow linearly with the
span. The default spans are 10, 30 and 60 minutes of 1 s steps with the
static policy (the cheapest, so the bench ends in minutes); ``--policies``
and ``--minutes`` change that. A 24 h run at 1 s is 24× the 60 min one in
time; in memory it is the same, because the only state carried from chunk
to chunk is the policies' current placement, while the output goes chunk by
chunk to part files that are joined by streaming copies.

Usage::

    python bench/sweep_memory.py [--minutes 10,30,60] [--policies static] [--step-s 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(minutes: float, policies: str, step_s: float) -> None:
    from spacexnet.scenario import build_constellation, model_setup
    from spacexnet.sweep import SweepOptions, sweep

    constellation, setup = build_constellation(), model_setup()
    options = SweepOptions(policies=tuple(policies.split(",")), duration_s=minutes * 60, step_s=step_s,
                           chunk_steps=60, n_samples=500)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = sweep(constellation, setup, options, Path(tmp) / "s.nc")
        size = path.stat().st_size
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    # The largest chunk-task process (with recompute or handover and 2 workers, the tasks run in
    # processes; 0 when they ran on threads).
    task_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"minutes": minutes, "steps": int(minutes * 60 / step_s) + 1, "wall_s": wall,
                      "peak_rss_mib": peak_mib, "task_rss_mib": task_mib, "file_mib": size / 2**20}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="10,30,60")
    parser.add_argument("--policies", default="static")
    parser.add_argument("--step-s", type=float, default=1.0)
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.policies, args.step_s)
        return
    print(f"Starlink shell 1, llama-moe-3.5b, policies {args.policies}, {args.step_s:g} s steps, chunks of 60 steps")
    print(f"{'span':>8s} {'steps':>7s} {'wall s':>8s} {'peak RSS MiB':>13s} {'largest task MiB':>17s} "
          f"{'file MiB':>9s}")
    runs = []
    for minutes in (float(m) for m in args.minutes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(minutes), "--policies", args.policies,
                              "--step-s", str(args.step_s)], capture_output=True, text=True, check=True)
        run = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(f"{minutes:6g} min {run['steps']:7d} {run['wall_s']:8.1f} {run['peak_rss_mib']:13.0f} "
              f"{run['task_rss_mib']:17.0f} {run['file_mib']:9.1f}")
    span = runs[-1]["steps"] / runs[0]["steps"]
    for key, what in (("peak_rss_mib", "this process"), ("task_rss_mib", "largest task process")):
        if runs[0][key] > 0:
            growth = runs[-1][key] / runs[0][key]
            print(f"peak memory ratio longest/shortest, {what}: {growth:.2f} for {span:.1f}x the steps "
                  f"({'bounded' if growth < 1.2 else 'GROWS with the span'})")


if __name__ == "__main__":
    main()
