"""How results change when a real snapshot is propagated 0, 1, 3 and 7 days past its epochs.

SGP4 errors grow with the time from an element set's epoch, and real
satellites manoeuvre, decay or drift between slots. This script takes one
real Starlink shell (53.2° / ~540 km, 72 planes), keeps the shell structure
found at the snapshot's epoch, and runs the Space-XNet placement and the
latency model at the newest epoch plus 0, 1, 3 and 7 days. For each age it
prints:

- usable satellites (valid SGP4 state, in the largest connected part);
- ISLs up;
- expected and p99 token latency;
- the expected latency of the day-0 placement kept as it is (the static
  policy): how much the shell's own drift degrades it.

Usage::

    python examples/tle_age.py [TLE_FILE] [--days 0,1,3,7]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

import latency
from spacexnet.compare import compare
from spacexnet.scenario import build_constellation, model_setup, snapshot

DEFAULT_TLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", default=str(DEFAULT_TLE))
    parser.add_argument("--days", default="0,1,3,7")
    args = parser.parse_args(argv)
    constellation = build_constellation(tle=args.tle)
    scores = [abs(s.inclination_deg - 53.2) * 10 + abs(s.altitude_km - 540) for s in constellation.shells]
    index = int(np.argmin(scores))
    shell = constellation.subset(constellation.shell == index)
    setup = model_setup("llama-moe-3.5b")
    epoch = shell.reference_epoch
    print(f"{len(shell)} satellites of shell {constellation.shells[index].label()}, newest epoch {epoch}")
    print(f"{'days':>5s} {'usable':>7s} {'ISLs up':>8s} {'expected ms':>12s} {'p99 ms':>8s} {'day-0 placement ms':>19s}")
    first = None
    for days in (float(d) for d in args.days.split(",")):
        t = epoch + np.timedelta64(int(days * 86400), "s")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SGP4 failures show as fewer usable satellites
            snap = snapshot(shell, t, setup)
            row = compare(snap, setup, strategies=("space-xnet",), n_samples=2000)[0]
        if first is None:
            first = row.placements[0]
        hosts = np.concatenate([first.gate_sat, first.expert_sat.ravel()])
        kept = float("inf")
        if snap.eligible[hosts].all():
            kept = latency.token_latency(snap.graph, first.gate_sat, first.expert_sat, setup.probs,
                                         setup.times).expected_ms
        print(f"{days:5g} {int(snap.eligible.sum()):7d} {int(snap.links['up'].values.sum()):8d} "
              f"{row.expected_ms:12.1f} {row.p99_ms:8.1f} {kept:19.1f}")


if __name__ == "__main__":
    main()
