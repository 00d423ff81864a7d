"""``spacexnet shells``: the shells of a constellation and which models each can hold.

One row per shell: index (what ``--shell`` takes), inclination, altitude,
planes × satellites per plane, satellites, and per model preset whether the
shell holds it under the rule ``place``, ``compare`` and ``sweep`` apply
(see :mod:`spacexnet.shells`). The table goes to stdout; how many satellites
each model needs goes to stderr.

Example::

    spacexnet shells starlink.txt
    spacexnet shells --preset starlink-gen1 --experts-per-sat 2 --format csv
"""

from __future__ import annotations

from pathlib import Path

import click

import latency

from ..exceptions import SpaceXNetError
from ..shells import fit_rows, satellites_needed
from ._options import constellation_from_kwargs, constellation_options, experts_per_sat_option, quiet_option
from ._tables import FORMATS, render

__all__ = ["command"]

#: Suffixes read as OMM when FILE is given; anything else is read as TLE text.
OMM_SUFFIXES = (".csv", ".json", ".xml")

HEADERS = {"inclination_deg": "inclination °", "altitude_km": "altitude km", "satellites_per_plane": "per plane",
           "in_planes": "in planes"}


@click.command("shells")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@constellation_options
@experts_per_sat_option
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Model preset to check (repeatable; default: every preset).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@quiet_option
def command(file, models, fmt, experts_per_sat, quiet, **kw):
    """The shells of a constellation (FILE: TLE text, or OMM .csv/.json/.xml) and the models each holds.

    Without FILE, the constellation options choose the constellation as in
    the other commands. A model fits a shell when the shell's satellites in
    planes number at least layers × (1 gate + ⌈experts / --experts-per-sat⌉).
    """
    if file is not None:
        if kw["tle"] or kw["omm"] or kw["preset"] or kw["walker"]:
            raise SpaceXNetError("give the constellation either as FILE or with --tle/--omm/--preset/--walker")
        kw["omm" if Path(file).suffix.lower() in OMM_SUFFIXES else "tle"] = file
    # The shell list on stderr would repeat the table, which is this command's output.
    constellation = constellation_from_kwargs(kw, quiet=quiet, list_shells=False)
    names = list(models) or latency.model_names()
    specs = {name: latency.load_model(name) for name in names}
    needed = {name: satellites_needed(spec, experts_per_sat) for name, spec in specs.items()}
    rows = fit_rows(constellation, names, experts_per_sat)
    if rows:
        headers = {**HEADERS, **{f"fits {name}": f"{name} ({n})" for name, n in needed.items()}}
        if fmt == "table":
            # Shells of one constellation can differ by a tenth of a degree (53.05°, 53.16°, 53.22°).
            rows = [{**row, "inclination_deg": f"{row['inclination_deg']:.2f}"} for row in rows]
        click.echo(render(rows, fmt, headers=headers), nl=False)
    if quiet:
        return
    outside = int((constellation.shell < 0).sum())
    click.echo(f"{len(constellation)} satellites ({constellation.source}): {len(rows)} shell(s), "
               f"{outside} satellite(s) in no shell", err=True)
    if rows:
        click.echo(f"a model fits a shell when the shell's satellites in planes number at least "
                   f"layers × (1 gate + ⌈experts / experts per satellite⌉), here with --experts-per-sat "
                   f"{experts_per_sat}:", err=True)
        for name, spec in specs.items():
            click.echo(f"  {name}: {spec.n_layers} × (1 + ⌈{spec.n_routed_experts} / {experts_per_sat}⌉) "
                       f"= {needed[name]}", err=True)
