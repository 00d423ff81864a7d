"""``spacexnet plot``: the three figures of a sweep dataset, as PNG files.

Reads a NetCDF dataset written by ``spacexnet sweep`` and writes, next to it
(or into ``--out-dir``):

- ``PREFIX_latency.png`` — expected and p99 token latency over time per policy;
- ``PREFIX_layers.png`` — expected latency of each layer over time, per policy;
- ``PREFIX_migrations.png`` — migrations per step and cumulative bytes moved.

The paths written go to stdout, one per line (data), so a script can pick
them up; a summary goes to stderr unless ``--quiet``. Existing files are
never replaced without ``--overwrite``, and each image is written to a
temporary name and renamed into place.

Example::

    spacexnet plot sweep.nc --out-dir figures --prefix shell1
"""

from __future__ import annotations

from pathlib import Path

import click
import xarray as xr

from .. import plots
from ..exceptions import OutputError, SpaceXNetError
from ._options import quiet_option

__all__ = ["command"]

#: Figure name suffix → function drawing it from a sweep dataset.
FIGURES = {
    "latency": plots.plot_latency_over_time,
    "layers": plots.plot_layer_heatmap,
    "migrations": plots.plot_migrations,
}


def _open_sweep(path: Path) -> xr.Dataset:
    if not path.exists():
        raise SpaceXNetError(f"{path}: no such file")
    if not path.is_file():
        raise SpaceXNetError(f"{path}: not a file")
    try:
        with xr.open_dataset(path) as ds:
            return ds.load()
    except (OSError, ValueError, TypeError) as exc:
        message = str(exc).strip()
        if "did not find a match" in message:
            # xarray's own wording is several lines of advice about engines, beside the point here.
            reason = "no NetCDF or HDF5 signature"
        else:
            reason = (message.splitlines() or [type(exc).__name__])[0]
        raise SpaceXNetError(f"{path}: not a readable NetCDF file ({reason})") from exc


@click.command("plot")
@click.argument("file", metavar="FILE.nc", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the PNG files (default: the dataset's directory).")
@click.option("--prefix", default=None, metavar="NAME",
              help="File name prefix (default: the dataset's name without .nc).")
@click.option("--overwrite", is_flag=True, default=False, help="Replace PNG files that already exist.")
@quiet_option
def command(file: Path, out_dir: Path | None, prefix: str | None, overwrite: bool, quiet: bool):
    """Latency, layer and migration figures of a sweep dataset (FILE.nc), as PNG files.

    Writes PREFIX_latency.png, PREFIX_layers.png and PREFIX_migrations.png
    and prints their paths.
    """
    out_dir = out_dir if out_dir is not None else (file.parent if str(file.parent) else Path("."))
    prefix = prefix if prefix is not None else file.stem
    if not prefix or "/" in prefix or "\\" in prefix:
        raise click.BadParameter(f"{prefix!r} must be a non-empty file name prefix without a directory",
                                 param_hint="--prefix")
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: output directory does not exist")
    targets = {name: out_dir / f"{prefix}_{name}.png" for name in FIGURES}
    # Refuse before drawing anything, so a refused run leaves no partial set of figures.
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise OutputError(f"{', '.join(existing)}: file(s) exist; pass --overwrite to replace them")

    ds = _open_sweep(file)
    # Check the whole contract first: a file that is not a sweep fails before any PNG is written.
    try:
        plots.check_sweep_dataset(ds)
    except SpaceXNetError as exc:
        raise SpaceXNetError(f"{file}: {exc}") from None
    written = []
    for name, draw in FIGURES.items():
        figure = draw(ds)
        written.append(plots.save_figure(figure, targets[name], overwrite=overwrite))
        click.echo(str(targets[name]))
    if not quiet:
        click.echo(f"{len(written)} figure(s) of {ds.sizes['policy']} policies × {ds.sizes['time']} steps "
                   f"from {file}", err=True)
