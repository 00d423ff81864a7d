"""Open a sweep dataset with xarray and make a plot of one's own.

Runs a short sweep (or opens the file given), then uses plain xarray to find
the slowest layer of each policy and to plot its latency over time.

Usage::

    python examples/open_dataset.py [SWEEP.nc] [--png layer.png]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402

from spacexnet.scenario import build_constellation, model_setup  # noqa: E402
from spacexnet.sweep import SweepOptions, sweep  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--png", default="slowest_layer.png")
    args = parser.parse_args(argv)
    if args.dataset is not None and not Path(args.dataset).is_file():
        raise SystemExit(f"open_dataset.py: {args.dataset}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.dataset
        if path is None:
            path = sweep(build_constellation(walker="53:360/18/1", altitude_km=550), model_setup("llama-moe-3.5b-2of8"),
                         SweepOptions(duration_s=600, step_s=30, n_samples=200), Path(tmp) / "sweep.nc")
        with xr.open_dataset(path) as ds:
            print(ds["token_latency_expected_ms"].attrs["long_name"], f"[{ds['token_latency_expected_ms'].units}]")
            layer_mean = ds["layer_latency_expected_ms"].mean("time")
            slowest = layer_mean.argmax("layer")
            fig, ax = plt.subplots(figsize=(7, 3.5))
            for policy in ds["policy"].values:
                layer = int(slowest.sel(policy=policy))
                series = ds["layer_latency_expected_ms"].sel(policy=policy, layer=layer)
                minutes = (ds["time"] - ds["time"][0]) / xr.DataArray(60e9).astype("timedelta64[ns]")
                ax.plot(minutes, series, label=f"{policy}: layer {layer}")
                print(f"{policy}: slowest layer {layer}, mean {float(layer_mean.sel(policy=policy, layer=layer)):.1f} ms")
            ax.set_xlabel("time since start (min)")
            ax.set_ylabel("expected layer latency (ms)")
            ax.legend()
            fig.tight_layout()
            fig.savefig(args.png, dpi=120)
            print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
