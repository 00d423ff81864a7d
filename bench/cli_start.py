"""Start-up time of the command line: ``spacexnet --version`` and ``--help`` against ``python -c pass``.

Each command is run as a fresh process (``python -m spacexnet …``, which is
what the console script runs), several times, one after the other in this
run; printed: the best and median wall time of each and the difference to a
bare interpreter start, against the goal (≤ 0.3 s).

Usage::

    python bench/cli_start.py             # 15 runs each
    python bench/cli_start.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3


def wall_times_s(argv: list[str], runs: int) -> list[float]:
    """Wall time of ``runs`` fresh processes running ``argv``, s."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="processes per command")
    args = parser.parse_args(argv)

    print(f"cores seen: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}; {args.runs} runs each")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "spacexnet --version": [sys.executable, "-m", "spacexnet", "--version"],
        "spacexnet --help": [sys.executable, "-m", "spacexnet", "--help"],
    }
    wall_times_s(commands["spacexnet --help"], 2)  # warm the file cache and the byte-code
    results = {label: wall_times_s(argv, args.runs) for label, argv in commands.items()}
    bare_s = min(results["python -c pass"])
    print(f"{'':<22}{'best, s':>9}{'median, s':>11}{'over bare, s':>14}")
    for label, times in results.items():
        print(f"{label:<22}{min(times):9.3f}{statistics.median(times):11.3f}{min(times) - bare_s:14.3f}"
              + ("" if label.startswith("python") else
                 f"   (goal ≤ {GOAL_S} s: {'met' if statistics.median(times) <= GOAL_S else 'NOT met'})"))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
