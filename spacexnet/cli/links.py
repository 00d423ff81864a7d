"""``spacexnet links``: inter-satellite and ground-station links over a time grid, to NetCDF.

Propagates the constellation chunk by chunk (only one chunk of positions in
memory), computes the candidate ISLs with their length and up flag at every
step, and the visible ground-station links as sparse rows, and writes both
to one NetCDF file whose attributes name the rules used. A summary goes to
stderr.

Example::

    spacexnet links --walker 53:1584/72/1 --altitude-km 550 --step-s 10 --out links.nc
"""

from __future__ import annotations

import click
import numpy as np
import xarray as xr

from orbits.links import DEFAULT_MIN_ELEVATION_DEG, links_from_chunks
from orbits.propagate import iter_propagate
from orbits.topology import TOPOLOGIES

from ..io import provenance_attrs, write_dataset
from ._options import (
    FiniteFloat,
    checks_outputs,
    constellation_from_kwargs,
    constellation_options,
    link_rule_options,
    output_options,
    quiet_option,
    time_options,
    times_from_kwargs,
)
from ._scenario import scenario_option
from ._tables import utc_text

__all__ = ["command"]


def _header(constellation, times, step_s) -> str:
    return (f"{len(constellation)} satellites ({constellation.source}), {len(times)} steps of {step_s:g} s "
            f"from {utc_text(times[0])} to {utc_text(times[-1])}")


def _summary(isl: xr.Dataset, gsl: xr.Dataset | None) -> list[str]:
    lines = []
    n_time = isl.sizes["time"]
    kind = isl["kind"].values
    up = isl["up"].values
    distance_km = isl["distance_km"].values
    lines.append(f"ISL ({isl.attrs['isl_topology']}): {isl.sizes['link']} candidate links "
                 f"({int((kind == 'intra').sum())} intra-plane, {int((kind == 'inter').sum())} inter-plane) "
                 f"over {n_time} steps; {int(up[0].sum())} up at the first step")
    for label in ("intra", "inter"):
        sel = kind == label
        if not sel.any():
            continue
        d = distance_km[:, sel]
        finite = d[np.isfinite(d)]
        span = (f"length {finite.min():.1f}–{finite.max():.1f} km, mean {finite.mean():.1f} km"
                if finite.size else "no valid lengths")
        lines.append(f"  {label}-plane: up {100.0 * up[:, sel].mean():.2f}% of link-steps, {span}")
    if gsl is not None:
        count = gsl["visible_count"].values
        never = int((count.max(axis=0) == 0).sum()) if count.size else 0
        gaps = int((count == 0).any(axis=0).sum()) if count.size else 0
        lines.append(f"GSL (elevation ≥ {gsl.attrs['gsl_min_elevation_deg']:g}°): {gsl.sizes['pair']} visible "
                     f"station-satellite-steps, {count.mean() if count.size else 0:.1f} satellites per station "
                     f"and step on average; {gaps} of {gsl.sizes['station']} stations lose coverage at some step, "
                     f"{never} never see a satellite")
    notes = isl.attrs.get("isl_notes")
    if notes:
        lines.append(f"notes: {notes}")
    return lines


@click.command("links")
@scenario_option
@constellation_options
@time_options
@click.option("--topology", type=click.Choice(TOPOLOGIES), default="plus-grid", show_default=True,
              help="Candidate ISLs: +Grid from planes and slots, or each satellite's k nearest visible.")
@click.option("--k", "k", type=click.IntRange(min=1), default=4, show_default=True,
              help="Links proposed per satellite with --topology nearest.")
@link_rule_options
@click.option("--stations", type=click.Path(dir_okay=False), default=None,
              help="Ground stations CSV (name,latitude_deg,longitude_deg[,altitude_m]); default: shipped set.")
@click.option("--min-elevation-deg", type=FiniteFloat(min=-90, max=90), default=DEFAULT_MIN_ELEVATION_DEG,
              show_default=True, help="Minimum elevation of a ground-station link, degrees.")
@click.option("--no-ground", is_flag=True, default=False, help="Skip ground-station links.")
@click.option("--chunk-steps", type=click.IntRange(min=1), default=None,
              help="Time steps propagated per chunk (default: about 250,000 satellite-steps).")
@output_options
@quiet_option
@checks_outputs("out")
def command(**kwargs):
    """Inter-satellite and ground-station links over time, written to NetCDF.

    ISLs: distance and up flag per candidate link and step (up = both
    satellites valid, line of sight clears Earth + margin, length within the
    terminal range, latitude cut-off for inter-plane links). GSLs: one row
    per visible station-satellite pair and step, with elevation, azimuth and
    slant range.
    """
    quiet = kwargs.pop("quiet")
    constellation = constellation_from_kwargs(kwargs, quiet=quiet)
    step_s = kwargs["step_s"]
    times = times_from_kwargs(kwargs, constellation)
    if not quiet:
        click.echo(_header(constellation, times, step_s), err=True)

    chunks = iter_propagate(constellation, times, kwargs.pop("chunk_steps"))
    rules = dict(topology=kwargs.pop("topology"), k=kwargs.pop("k"),
                 latitude_cutoff_deg=kwargs.pop("latitude_cutoff_deg"), stations=kwargs.pop("stations"),
                 min_elevation_deg=kwargs.pop("min_elevation_deg"), ground=not kwargs.pop("no_ground"))
    # Unset link rules keep the library's defaults (named in --help).
    rules.update({name: kwargs.pop(name) for name in ("margin_km", "max_range_km") if kwargs[name] is not None})
    with click.progressbar(length=len(times), label="links", file=click.get_text_stream("stderr"),
                           hidden=quiet) as bar:
        isl, gsl = links_from_chunks(constellation, chunks, on_chunk=bar.update, **rules)

    # "override" keeps each variable's own attributes (units); global attributes are set below.
    ds = isl if gsl is None else xr.merge([isl, gsl], combine_attrs="override")
    attrs = provenance_attrs(source=constellation.source)
    attrs["title"] = "Space-XNet link geometry"
    attrs.update(isl.attrs)
    if gsl is not None:
        attrs.update(gsl.attrs)
    attrs["time_step_s"] = float(step_s)
    ds.attrs = attrs
    path = write_dataset(ds, kwargs.pop("out"), overwrite=kwargs.pop("overwrite"))
    if not quiet:
        for line in _summary(isl, gsl):
            click.echo(line, err=True)
        click.echo(f"wrote {path}", err=True)

