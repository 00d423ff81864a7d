"""The full real Starlink snapshot through ``spacexnet sweep``: wall time, per-stage split, peak memory per process.

Runs the command exactly as a user would (all 9,489 satellites of
``../shared/data/starlink_tle_snapshot.txt``, its 11 shells found by the
shell finder, +Grid links inside each shell, the three policies,
llama-moe-3.5b, one orbit at 1 s by default) in a child process with
``--verbose``, and prints its wall time, the per-stage split the sweep
reports (the stages of ``bench/sweep.py``, seconds summed over processes),
the peak resident memory of every process of the sweep (its own and each
worker's, read from ``/proc/<pid>/status`` ``VmHWM`` while they run,
against the goal of 2 GiB each) and the summary table the sweep printed.
The sweep places the model on the largest connected part of the ISL graph;
+Grid does not link different shells, so that is one shell. Exits with a
message when the snapshot is absent.

Usage::

    python bench/scale_real_sweep.py                         # one orbit at 1 s (long)
    python bench/scale_real_sweep.py --duration-s 600        # 601 steps
    python bench/scale_real_sweep.py --step-s 60 --policy static,recompute,handover
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import SWEEP_STAGES, stage_split  # noqa: E402  (bench/sweep.py: the same stages)

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"
GOAL_S = 90.0
GOAL_PEAK_MIB = 2048.0
POLL_S = 0.2


def _children(pid: int) -> list[int]:
    try:
        found = []
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        return found
    except OSError:
        return []


def _peak_mib(pid: int) -> float | None:
    """``VmHWM`` (peak resident set) of a running process, MiB; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


class PeakWatch:
    """Polls the peak memory of a process and of all its descendants until stopped (pid → MiB, last seen)."""

    def __init__(self, pid: int):
        self.root = pid
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            todo = [self.root]
            while todo:
                pid = todo.pop()
                peak = _peak_mib(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))
                todo += _children(pid)
            self._stop.wait(POLL_S)

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def parse_stage_times(stderr: str) -> dict:
    """The ``stage times: name 1.23 s, ...`` line of ``spacexnet sweep --verbose`` as a dict, s."""
    line = next((ln for ln in stderr.splitlines() if "stage times:" in ln), None)
    if line is None:
        raise SystemExit("the sweep printed no stage times (is --verbose supported?)")
    times = {name: float(value) for name, value in re.findall(r"(\w+) ([\d.]+) s", line.split("stage times:")[1])}
    # The line leaves out the stages that took no time.
    needed = {key for plus, minus in SWEEP_STAGES.values() for key in plus + minus} | {"warm_up"}
    return {key: 0.0 for key in needed} | times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tle", type=Path, default=SNAPSHOT)
    parser.add_argument("--step-s", type=float, default=1.0)
    parser.add_argument("--duration-s", type=float, default=None, help="span, s (default: one orbital period)")
    parser.add_argument("--policy", default="static,recompute,handover")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.tle.is_file():
        print(f"skipped: {args.tle} is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "real.nc"
        cmd = [sys.executable, "-m", "spacexnet", "sweep", "--tle", str(args.tle), "--step-s", str(args.step_s),
               "--policy", args.policy, "--workers", str(args.workers), "--out", str(out), "-v"]
        if args.duration_s is not None:
            cmd += ["--duration-s", str(args.duration_s)]
        print(f"cores seen: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch = PeakWatch(child.pid)
        stdout, stderr = child.communicate()
        wall = time.perf_counter() - start
        peaks = watch.stop()
        if child.returncode != 0:
            print(stderr)
            return child.returncode
        size_mib = out.stat().st_size / 2**20
    span = "one orbit" if args.duration_s is None else f"{args.duration_s:g} s"
    print(f"spacexnet sweep --tle {args.tle.name} --step-s {args.step_s:g} --policy {args.policy} "
          f"--workers {args.workers} ({span})")
    print(stdout, end="")
    timings = parse_stage_times(stderr)
    split = stage_split(timings)
    print(f"wall time {wall:.1f} s" + (f" (goal ≤ {GOAL_S:g} s for one orbit at 1 s: "
                                       f"{'met' if wall <= GOAL_S else 'NOT met'})"
                                       if args.duration_s is None and args.step_s == 1 else "")
          + f", dataset {size_mib:.1f} MiB")
    print("per-stage split, s summed over processes: "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in split.items())
          + f", warm-up {timings.get('warm_up', 0.0):.2f}")
    worst = max(peaks.values(), default=0.0)
    print("peak resident memory per process, MiB: "
          + ", ".join(f"{'sweep' if pid == child.pid else f'worker {pid}'} {mib:.0f}"
                      for pid, mib in sorted(peaks.items(), key=lambda kv: kv[0] != child.pid))
          + f" (goal ≤ {GOAL_PEAK_MIB:.0f} each: {'met' if worst <= GOAL_PEAK_MIB else 'NOT met'})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
