"""``spacexnet propagate``: SGP4 positions of a constellation over a UTC time grid, to NetCDF.

Positions and velocities in TEME, positions in ITRS, geodetic latitude,
longitude and altitude on WGS-84, argument of latitude and the SGP4 status
of every satellite at every step (see :func:`orbits.propagate`). A short
summary goes to stderr; ``--quiet`` silences it and the progress bar.

Example::

    spacexnet propagate --walker 53:1584/72/1 --altitude-km 550 --step-s 10 --out shell1.nc
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from orbits.propagate import PropagationWarning, propagate

from ..io import provenance_attrs, write_dataset
from ._options import (
    checks_outputs,
    constellation_from_kwargs,
    constellation_options,
    output_options,
    quiet_option,
    time_options,
    times_from_kwargs,
)
from ._scenario import scenario_option

__all__ = ["command"]


def _epoch_range(constellation) -> str:
    epochs = constellation.epochs
    first = np.datetime_as_string(epochs.min(), unit="s")
    last = np.datetime_as_string(epochs.max(), unit="s")
    return f"{first}Z" if first == last else f"{first}Z to {last}Z"


def _summary(ds, constellation, step_s) -> list[str]:
    times = ds.time.values
    status = ds.sgp4_status.values
    lines = [
        f"{len(constellation)} satellites ({constellation.source}), element-set epochs {_epoch_range(constellation)}",
        f"{times.size} steps of {step_s:g} s, {np.datetime_as_string(times[0], unit='s')}Z to "
        f"{np.datetime_as_string(times[-1], unit='s')}Z",
    ]
    failed = (status != 0).any(axis=0)
    if failed.any():
        ids = ", ".join(str(int(n)) for n in constellation.norad_id[failed][:10])
        more = f" and {int(failed.sum()) - 10} more" if failed.sum() > 10 else ""
        lines.append(f"SGP4 failures: {int(failed.sum())} satellite(s), {int((status != 0).sum())} "
                     f"satellite-steps flagged in sgp4_status (NaN): NORAD {ids}{more}")
    else:
        lines.append("SGP4 failures: none")
    altitude_km = ds.altitude_km.values
    if np.isfinite(altitude_km).any():
        lines.append(f"geodetic altitude {np.nanmin(altitude_km):.1f}–{np.nanmax(altitude_km):.1f} km")
    return lines


@click.command("propagate")
@scenario_option
@constellation_options
@time_options
@click.option("--no-polar-motion", is_flag=True, default=False,
              help="Leave out the IERS pole offsets (PEF instead of ITRS; ~10 m).")
@click.option("--chunk-steps", type=click.IntRange(min=1), default=None,
              help="Time steps propagated per chunk (default: about 250,000 satellite-steps).")
@output_options
@quiet_option
@checks_outputs("out")
def command(**kwargs):
    """SGP4 positions (TEME, ITRS, geodetic) of every satellite over time, written to NetCDF.

    Default start: the constellation's newest element-set epoch (to the
    minute); default duration: one orbital period.
    """
    quiet = kwargs.pop("quiet")
    out = Path(kwargs.pop("out"))
    overwrite = kwargs.pop("overwrite")
    constellation = constellation_from_kwargs(kwargs, quiet=quiet)
    step_s = kwargs["step_s"]
    times = times_from_kwargs(kwargs, constellation)
    polar_motion = not kwargs.pop("no_polar_motion")

    with warnings.catch_warnings():
        # Failures are summarized below (and flagged in the file), not printed as Python warnings.
        warnings.simplefilter("ignore", PropagationWarning)
        with tqdm(total=times.size, unit="step", desc="propagate", disable=quiet, leave=False,
                  file=click.get_text_stream("stderr")) as bar:
            ds = propagate(constellation, times, polar_motion=polar_motion,
                           chunk_steps=kwargs.pop("chunk_steps"), progress=bar.update)

    attrs = provenance_attrs(
        source=constellation.source,
        element_set_epochs=_epoch_range(constellation),
        time_step_s=float(step_s),
    )
    attrs["title"] = "Space-XNet SGP4 propagation"
    attrs.update(ds.attrs)
    ds.attrs = attrs
    path = write_dataset(ds, out, overwrite=overwrite)
    if not quiet:
        for line in _summary(ds, constellation, step_s):
            click.echo(line, err=True)
        click.echo(f"wrote {path}", err=True)
