"""How results change when a real snapshot is propagated 0, 1, 3 and 7 days past its epochs.

SGP4 errors grow with the time from an element set's epoch, and real
satellites manoeuvre, decay or drift between slots. This script takes one
real Starlink shell (53.2° / ~540 km: 72 planes in a full snapshot, 4 in the
excerpt shipped in tests/data/), keeps the shell structure found at the
snapshot's epoch, and runs the Space-XNet placement and the latency model at
the newest epoch plus 0, 1, 3 and 7 days. For each age it prints:

- usable satellites (valid SGP4 state, in the largest connected part);
- ISLs up;
- expected and p99 token latency;
- the expected latency of the day-0 placement kept as it is (the static
  policy): how much the shell's own drift degrades it.

Usage::

    python examples/tle_age.py [TLE_FILE] [--days 0,1,3,7] [--experts-per-sat N]

TLE_FILE defaults to the 97-satellite excerpt in tests/data/ (see
``real_data.py``: where fresh element sets come from). A shell too small for
one expert per satellite gets the fewest experts per satellite that fit, and
the first line says how many.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import latency
from real_data import EXCERPT, fitting_experts_per_sat, pick_shell, read_constellation, run
from spacexnet.compare import compare
from spacexnet.scenario import model_setup, snapshot

MODEL = "llama-moe-3.5b"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", default=str(EXCERPT), help="3LE/2LE file (default: the excerpt)")
    parser.add_argument("--days", default="0,1,3,7")
    parser.add_argument("--experts-per-sat", type=int, default=None,
                        help="experts one satellite hosts (default: the fewest that fit the shell)")
    args = parser.parse_args(argv)
    constellation = read_constellation(args.tle)
    index = pick_shell(constellation)
    shell = constellation.subset(constellation.shell == index)
    spec = latency.load_model(MODEL)
    per_sat = args.experts_per_sat or fitting_experts_per_sat(len(shell), spec.n_layers, spec.n_routed_experts)
    setup = model_setup(MODEL, experts_per_sat=per_sat)
    epoch = shell.reference_epoch
    print(f"{len(shell)} satellites of shell {constellation.shells[index].label()}, newest epoch {epoch}; "
          f"{MODEL}, {per_sat} expert(s) per satellite")
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
    run(main)
