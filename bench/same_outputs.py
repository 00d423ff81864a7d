"""Do this tree's sweeps write the values an earlier commit's do, with 1, 2 and 3 workers?

A speed-up must not change a number. This script checks the earlier commit
out into a temporary git worktree and runs two ``spacexnet sweep`` commands
with each tree's code (``PYTHONPATH`` pointing at it, nothing installed):
the Quick start's default sweep (``spacexnet sweep``) and 600 steps at
1 s, all three policies. The earlier tree runs each once with its default
workers; this tree runs each with ``--workers`` 1, 2 and 3. Every file of
this tree is compared with the earlier one variable by variable (values;
``history`` and the provenance attributes differ by design), as
``bench/against_commit.py`` does.

Printed: one line per run (wall time, same values or not), and exit status
1 if any file differs.

Usage::

    python bench/same_outputs.py 871d547
    python bench/same_outputs.py main~5 --workers 1,2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from against_commit import HERE, _same_values, earlier_tree  # noqa: E402  (the same comparison)

#: The sweeps compared: name → extra ``spacexnet sweep`` options.
SWEEPS = {
    "default sweep": [],
    "600 steps at 1 s": ["--duration-s", "599", "--step-s", "1", "--policy", "static,recompute,handover"],
}


def run(tree: Path, out: Path, options: list[str], workers: int | None) -> float:
    """Seconds of ``spacexnet sweep OPTIONS`` with ``tree``'s code (its default workers when None)."""
    cmd = [sys.executable, "-m", "spacexnet", "sweep", *options, "-q", "--out", str(out), "--overwrite"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(tree)}, check=True, cwd=tree,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commit", help="the earlier commit (any git revision)")
    ap.add_argument("--workers", default="1,2,3", help="this tree's worker counts (default 1,2,3)")
    args = ap.parse_args(argv)
    try:
        counts = [int(w) for w in args.workers.split(",") if w]
    except ValueError:
        ap.error(f"--workers {args.workers!r}: a comma-separated list of whole numbers")
    if not counts or min(counts) < 1:
        ap.error("--workers needs at least one count, each at least 1")
    all_same = True
    with tempfile.TemporaryDirectory(prefix="spacexnet-same-") as scratch:
        scratch = Path(scratch)
        with earlier_tree(args.commit, scratch) as earlier:
            for k, (name, options) in enumerate(SWEEPS.items()):
                reference = scratch / f"earlier-{k}.nc"
                wall_s = run(earlier, reference, options, None)
                print(f"{name}: {args.commit} {wall_s:6.1f} s", flush=True)
                for workers in counts:
                    out = scratch / f"this-{k}-{workers}.nc"
                    wall_s = run(HERE, out, options, workers)
                    same = _same_values(reference, out)
                    all_same &= same
                    print(f"{name}: this tree, --workers {workers}: {wall_s:6.1f} s, "
                          f"same values: {'yes' if same else 'NO'}", flush=True)
    print(f"every file has the earlier commit's values: {'yes' if all_same else 'NO'}")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
