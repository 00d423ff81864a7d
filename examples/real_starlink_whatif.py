"""What-if on real Starlink element sets: the Space-XNet ring over one real 53° shell.

Reads a CelesTrak-style 3LE snapshot, finds its shells and planes, keeps the
53.2° / ~540 km shell (72 planes in a full snapshot, 4 in the excerpt shipped
in tests/data/), and sweeps the static and handover
policies over it. Real shells are irregular (planes with gaps, satellites
drifting between slots), so the partition has to follow the motion: the
script prints how many satellites the recompute policy moves to another
subnet over the sweep.

Usage::

    python examples/real_starlink_whatif.py [TLE_FILE] [--minutes M] [--step-s S] [--experts-per-sat N]

TLE_FILE defaults to the 97-satellite excerpt in tests/data/ (see
``real_data.py``: where fresh element sets come from). A shell too small for
one expert per satellite gets the fewest experts per satellite that fit.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import xarray as xr

import latency
from real_data import EXCERPT, fitting_experts_per_sat, pick_shell, read_constellation, run
from spacexnet.scenario import model_setup
from spacexnet.sweep import SweepOptions, sweep

MODEL = "llama-moe-3.5b"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", default=str(EXCERPT), help="3LE/2LE file (default: the excerpt)")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--step-s", type=float, default=60.0)
    parser.add_argument("--experts-per-sat", type=int, default=None,
                        help="experts one satellite hosts (default: the fewest that fit the shell)")
    args = parser.parse_args(argv)

    constellation = read_constellation(args.tle)
    index = pick_shell(constellation)
    shell = constellation.shells[index]
    subset = constellation.subset(constellation.shell == index)
    print(f"{len(constellation)} satellites in {Path(args.tle).name}; using shell {index}: {shell.label()}, "
          f"{len(subset)} satellites, {int((subset.plane >= 0).sum())} in planes")
    spec = latency.load_model(MODEL)
    per_sat = args.experts_per_sat or fitting_experts_per_sat(len(subset), spec.n_layers, spec.n_routed_experts)
    print(f"{MODEL}, {per_sat} expert(s) per satellite")
    setup = model_setup(MODEL, experts_per_sat=per_sat)
    options = SweepOptions(policies=("static", "recompute", "handover"), duration_s=args.minutes * 60,
                           step_s=args.step_s, n_samples=500)
    with tempfile.TemporaryDirectory() as tmp:
        path = sweep(subset, setup, options, Path(tmp) / "real.nc")
        with xr.open_dataset(path) as ds:
            for policy in ds["policy"].values:
                sel = ds.sel(policy=policy)
                print(f"{policy:10s} mean {float(sel['token_latency_expected_ms'].mean()):8.1f} ms   "
                      f"p99 {float(sel['token_latency_p99_ms'].mean()):8.1f} ms   "
                      f"migrations {int(sel['migrations'].sum()):6d}   "
                      f"reachable {int(sel['reachable'].sum())}/{ds.sizes['time']} steps")
            subnet = ds["subnet"].sel(policy="recompute").values
            changed = int((subnet[-1] != subnet[0]).sum())
            print(f"recompute: {changed} of {subnet.shape[1]} satellites changed subnet between the first "
                  f"and the last step; usable satellites {int(ds['satellites_usable'].min())}–"
                  f"{int(ds['satellites_usable'].max())}")


if __name__ == "__main__":
    run(main)
