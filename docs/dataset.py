"""The dataset reference: every dimension, variable and attribute of the file ``spacexnet sweep`` writes.

Prints the schema the writer builds its files from (:mod:`spacexnet.dataset`)
as markdown tables, after checking it against a file a short sweep has just
written (the Python example's Walker shell and model, three steps, all three
policies, a ground user so that its optional variable is written): a
difference stops the script. ``python docs/build.py`` pastes the output into
``docs/dataset.md``, so the reference lists what the writer writes, not what
someone remembered it writes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import xarray as xr

from spacexnet import dataset

SWEEP = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
         "--duration-s", "20", "--step-s", "10", "--policy", "static,recompute,handover", "--user", "48.85,2.35",
         "-q"]


def _cell(value) -> str:
    return "-" if value in (None, "") else str(value).replace("|", "\\|")


def schema_markdown(global_attrs, run_attrs=None) -> str:
    """The dimensions and variables of the schema, and the names in ``global_attrs``, as markdown.

    ``run_attrs``: attributes an optional variable carries in a file beyond the schema's, by name.
    """
    run_attrs = run_attrs or {}
    schema = {**dataset.COORDINATES, **dataset.VARIABLES, **dataset.OPTIONAL}
    dims = dict.fromkeys(d for var in {**dataset.VARIABLES, **dataset.COORDINATES}.values() for d in var.dims)
    out = ["**Dimensions:** " + ", ".join(f"`{name}`" for name in dims) + ".", "",
           "| variable | dimensions | type | units | long_name | other CF attributes |",
           "|---|---|---|---|---|---|"]
    for name, var in schema.items():
        units = dataset.TIME_UNITS if name == "time" else var.attrs.get("units")
        other = ", ".join(f"`{k}`" for k in {**var.attrs, **run_attrs.get(name, {})} if k not in ("units", "long_name"))
        optional = " (with `--user` only)" if name in dataset.OPTIONAL else ""
        out.append(f"| `{name}`{optional} | ({', '.join(var.dims)}) | {dataset.type_name(var.dtype)} | {_cell(units)} | "
                   f"{_cell(var.attrs.get('long_name'))} | {_cell(other)} |")
    out += ["", "**Global attributes:** " + ", ".join(f"`{k}`" for k in global_attrs) + "."]
    return "\n".join(out)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="spacexnet-dataset-") as scratch:
        out = Path(scratch) / "sweep.nc"
        subprocess.run([sys.executable, "-m", "spacexnet", *SWEEP, "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        with xr.open_dataset(out, decode_timedelta=False) as ds:
            differences = dataset.differences(ds)
            if differences:
                print(f"dataset.py: the sweep wrote a file other than spacexnet/dataset.py describes: "
                      f"{'; '.join(differences)}", file=sys.stderr)
                return 1
            print(f"`spacexnet {' '.join(SWEEP[:-1])}` writes:\n")
            print(schema_markdown(ds.attrs, {name: ds[name].attrs for name in dataset.OPTIONAL if name in ds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
