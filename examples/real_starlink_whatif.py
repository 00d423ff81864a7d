"""What-if on real Starlink element sets: the Space-XNet ring over one real 53° shell.

Reads a CelesTrak-style 3LE snapshot, finds its shells and planes, keeps the
53.2° / ~540 km shell (72 planes), and sweeps the static and handover
policies over it. Real shells are irregular (planes with gaps, satellites
drifting between slots), so the partition has to follow the motion: the
script prints how many satellites the recompute policy moves to another
subnet over the sweep.

Usage::

    python examples/real_starlink_whatif.py [TLE_FILE] [--minutes M] [--step-s S]

TLE_FILE defaults to ../shared/data/starlink_tle_snapshot.txt beside this repository.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from spacexnet.scenario import build_constellation, model_setup
from spacexnet.sweep import SweepOptions, sweep

DEFAULT_TLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"


def pick_shell(constellation, inclination_deg=53.2, altitude_km=540.0):
    """Index of the shell closest to the given inclination and altitude."""
    scores = [abs(s.inclination_deg - inclination_deg) * 10 + abs(s.altitude_km - altitude_km)
              for s in constellation.shells]
    return int(np.argmin(scores))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", default=str(DEFAULT_TLE))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--step-s", type=float, default=60.0)
    args = parser.parse_args(argv)

    constellation = build_constellation(tle=args.tle)
    index = pick_shell(constellation)
    shell = constellation.shells[index]
    subset = constellation.subset(constellation.shell == index)
    print(f"{len(constellation)} satellites in {args.tle}; using shell {index}: {shell.label()}, "
          f"{len(subset)} satellites, {int((subset.plane >= 0).sum())} in planes")
    setup = model_setup("llama-moe-3.5b")
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
    main()
