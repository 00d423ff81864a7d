"""Is this tree's sweep slower than an earlier commit's? Both timed in one run, alternately.

A refactor promises "same outputs, no slower"; this script checks the second
half the way a reviewer would: it checks the earlier commit out into a
temporary git worktree, runs the same ``spacexnet sweep`` command with each
tree's code (``PYTHONPATH`` pointing at it, so nothing is installed), and
times them in turns — earlier, this, earlier, this, … — so that a change in
the machine's load between them falls on both. A short warm-up run of each
fills its Numba cache first, so compile time is not counted. The files of
the last pair are compared variable by variable (values only; ``history``
and the provenance attributes differ by design; a variable only one tree
writes is named).

Printed: every run's wall time, the median of each tree, their ratio
(this ÷ earlier; goal ≤ 1.05), whether the files have the same values, and
the load average before and after.

Usage::

    python bench/against_commit.py 4de0524                       # one orbit at 1 s, three policies, 1 worker
    python bench/against_commit.py 4de0524 --duration-s 900 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

HERE = Path(__file__).resolve().parents[1]
#: One orbital period of Starlink shell 1 (550 km), rounded up to whole seconds.
ORBIT_S = 5740


def _sweep(tree: Path, out: Path, args) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "spacexnet", "sweep", "--duration-s", str(args.duration_s), "--step-s",
           str(args.step_s), "--policy", "static,recompute,handover", "--workers", str(args.workers), "-q",
           "--out", str(out), "--overwrite"]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, cwd=tree, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


@contextlib.contextmanager
def earlier_tree(commit: str, scratch: Path):
    """``commit`` checked out in a temporary git worktree under ``scratch`` (removed on leaving)."""
    earlier = scratch / "earlier"
    subprocess.run(["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(earlier), commit], check=True)
    try:
        yield earlier
    finally:
        subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(earlier)], check=False)


def _same_values(a: Path, b: Path) -> bool:
    """True if every variable both files hold has the same values (variables only one holds are printed)."""
    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        for name in sorted(set(x.variables) ^ set(y.variables)):
            print(f"only in the {'earlier' if name in x.variables else 'this'} tree's file: {name}")
        return all(x[n].equals(y[n]) for n in sorted(set(x.variables) & set(y.variables)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commit", help="the earlier commit (any git revision)")
    ap.add_argument("--duration-s", type=float, default=ORBIT_S)
    ap.add_argument("--step-s", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each tree (default 2)")
    args = ap.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="spacexnet-against-") as scratch:
        scratch = Path(scratch)
        with earlier_tree(args.commit, scratch) as earlier:
            trees = {"earlier": earlier, "this": HERE}
            warm = argparse.Namespace(**{**vars(args), "duration_s": 20})
            for name, tree in trees.items():
                _sweep(tree, scratch / f"warm-{name}.nc", warm)
            times = {name: [] for name in trees}
            for i in range(args.repeat):
                for name, tree in trees.items():
                    wall_s = _sweep(tree, scratch / f"{name}.nc", args)
                    times[name].append(wall_s)
                    print(f"run {i + 1}: {name:8s} {wall_s:7.1f} s", flush=True)
            same = _same_values(scratch / "earlier.nc", scratch / "this.nc")
    med = {name: statistics.median(v) for name, v in times.items()}
    ratio = med["this"] / med["earlier"]
    print(f"median: earlier ({args.commit}) {med['earlier']:.1f} s, this tree {med['this']:.1f} s")
    print(f"this ÷ earlier: {ratio:.3f} (goal ≤ 1.05: {'met' if ratio <= 1.05 else 'not met'})")
    print(f"same values in both files: {'yes' if same else 'NO'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
