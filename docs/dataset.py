"""The dataset reference: every dimension, variable and attribute of the file ``spacexnet sweep`` writes.

Runs a short sweep (the Python example's Walker shell and model, three steps,
all three policies, a ground user so that its variable is listed), opens the file it wrote and prints its schema as
markdown tables. ``python docs/build.py`` pastes the output into
``docs/dataset.md``, so the reference lists what the writer writes, not what
someone remembered it writes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import xarray as xr

SWEEP = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
         "--duration-s", "20", "--step-s", "10", "--policy", "static,recompute,handover", "--user", "48.85,2.35",
         "-q"]


def _cell(value) -> str:
    return "-" if value in (None, "") else str(value).replace("|", "\\|")


def schema_markdown(ds: xr.Dataset) -> str:
    """The dimensions, variables and global attribute names of ``ds`` as markdown."""
    out = ["**Dimensions:** " + ", ".join(f"`{name}`" for name in ds.sizes) + ".", "",
           "| variable | dimensions | type | units | long_name | other CF attributes |",
           "|---|---|---|---|---|---|"]
    for name, var in {**ds.coords, **ds.data_vars}.items():
        units = var.attrs.get("units", var.encoding.get("units"))
        other = ", ".join(f"`{k}`" for k in var.attrs if k not in ("units", "long_name"))
        dtype = "string" if var.dtype.kind == "U" else str(var.dtype)
        out.append(f"| `{name}` | ({', '.join(var.dims)}) | {dtype} | {_cell(units)} | "
                   f"{_cell(var.attrs.get('long_name'))} | {_cell(other)} |")
    out += ["", "**Global attributes:** " + ", ".join(f"`{k}`" for k in ds.attrs) + "."]
    return "\n".join(out)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="spacexnet-dataset-") as scratch:
        out = Path(scratch) / "sweep.nc"
        subprocess.run([sys.executable, "-m", "spacexnet", *SWEEP, "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        with xr.open_dataset(out, decode_timedelta=False) as ds:
            print(f"`spacexnet {' '.join(SWEEP[:-1])}` writes:\n")
            print(schema_markdown(ds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
