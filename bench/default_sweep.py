"""Wall time of the Quick start's sweep (``spacexnet sweep --out sweep.nc``), first run and later runs.

The first run on a machine compiles the Numba kernels and caches them; later
runs load the cache. This script runs the command as a user does, in a child
process, first with an empty kernel cache (``NUMBA_CACHE_DIR`` pointed at a
new folder, so the compile is timed whatever is cached elsewhere) and then
``--repeat`` times with that cache filled, and prints one sentence for
docs/performance.md (``python docs/build.py`` pastes it; timings vary from run to run, so
the test suite does not compare them).

Usage::

    python bench/default_sweep.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = ["sweep", "--out", "sweep.nc"]


def timed_sweep(folder: Path, cache: Path) -> float:
    """Seconds one ``spacexnet sweep --out sweep.nc`` takes in ``folder`` with the kernel cache ``cache``."""
    (folder / "sweep.nc").unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "spacexnet", *COMMAND], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"default_sweep.py: the sweep failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs with the cache filled")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="default-sweep-") as tmp:
        folder, cache = Path(tmp), Path(tmp) / "numba-cache"
        cold = timed_sweep(folder, cache)
        warm = [timed_sweep(folder, cache) for _ in range(args.repeat)]
    later = f"{min(warm):.0f}" if round(min(warm)) == round(max(warm)) else f"{min(warm):.0f}–{max(warm):.0f}"
    print(f"The Quick start's sweep (`spacexnet {' '.join(COMMAND)}`) took {cold:.0f} s on its first run, which "
          f"compiles the Numba kernels, and {later} s on {len(warm)} later run{'s' * (len(warm) > 1)} "
          f"(`python bench/default_sweep.py`, {os.cpu_count()} cores).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
