"""The full real Starlink snapshot through ``spacexnet sweep``: one orbit at 60 s, wall time and peak memory.

Runs the command exactly as a user would (all 9,489 satellites of
``../shared/data/starlink_tle_snapshot.txt``, its 11 shells found by the
shell finder, +Grid links inside each shell, the three policies, llama-moe-3.5b)
in a child process, and prints its wall time, the child's peak resident
memory (``ru_maxrss``) and the summary table the sweep printed. The sweep
places the model on the largest connected part of the ISL graph; +Grid does
not link different shells, so that is one shell. Exits with a message when
the snapshot is absent.

Usage::

    python bench/scale_real_sweep.py [--step-s 60] [--policy static,recompute,handover]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tle", type=Path, default=SNAPSHOT)
    parser.add_argument("--step-s", type=float, default=60.0)
    parser.add_argument("--policy", default="static,recompute,handover")
    args = parser.parse_args(argv)
    if not args.tle.is_file():
        print(f"skipped: {args.tle} is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "real.nc"
        cmd = [sys.executable, "-m", "spacexnet", "sweep", "--tle", str(args.tle), "--step-s", str(args.step_s),
               "--policy", args.policy, "--out", str(out), "-q"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr)
            return done.returncode
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mib = out.stat().st_size / 2**20
    print(f"spacexnet sweep --tle {args.tle.name} --step-s {args.step_s:g} --policy {args.policy} (one orbit)")
    print(done.stdout, end="")
    print(f"wall time {wall:.1f} s, peak resident memory {peak_mib:.0f} MiB, dataset {size_mib:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
