"""Options shared by several subcommands (rio-style option registry).

``constellation_options`` adds ``--preset/--walker/--altitude-km/--star/--tle/--omm/--skip-invalid``;
``time_options`` adds ``--start/--duration-s/--step-s``; ``output_options`` adds
``--out/--overwrite``; ``quiet_option`` adds ``-q/--quiet``.
"""

from __future__ import annotations

import click

from ..scenario import build_constellation

__all__ = [
    "constellation_options",
    "time_options",
    "output_options",
    "model_options",
    "placement_options",
    "quiet_option",
    "constellation_from_kwargs",
    "times_from_kwargs",
]


def _compose(*decorators):
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


constellation_options = _compose(
    click.option("--preset", default=None, metavar="NAME",
                 help="Constellation preset (default: starlink-shell1). See `spacexnet presets`."),
    click.option("--walker", default=None, metavar="I:T/P/F",
                 help="Walker shell inclination_deg:total/planes/phasing, e.g. 53:1584/72/1."),
    click.option("--altitude-km", type=float, default=None, help="Walker shell altitude, km."),
    click.option("--star", is_flag=True, default=False, help="Walker-star (RAAN over 180°) instead of delta."),
    click.option("--epoch", default=None, metavar="ISO",
                 help="Walker epoch, UTC ISO 8601 (default: the preset's epoch)."),
    click.option("--tle", type=click.Path(dir_okay=False), default=None,
                 help="Element sets from a 3LE/2LE text file."),
    click.option("--omm", type=click.Path(dir_okay=False), default=None,
                 help="Element sets from an OMM file (CSV, JSON or XML)."),
    click.option("--skip-invalid", is_flag=True, default=False,
                 help="Skip malformed records (reported on stderr) instead of failing."),
)

time_options = _compose(
    click.option("--start", default=None, metavar="ISO",
                 help="Start time, UTC ISO 8601 (default: the constellation's newest epoch)."),
    click.option("--duration-s", type=float, default=None,
                 help="Time span, s (default: one orbital period)."),
    click.option("--step-s", type=float, default=10.0, show_default=True, help="Time step, s."),
)

output_options = _compose(
    click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output NetCDF file."),
    click.option("--overwrite", is_flag=True, default=False, help="Replace the output file if it exists."),
)

model_options = _compose(
    click.option("--model", default=None, metavar="NAME",
                 help="MoE model preset (default: llama-moe-3.5b, the 4-of-16 variant)."),
    click.option("--model-file", type=click.Path(dir_okay=False), default=None,
                 help="A JSON model spec of your own instead of --model."),
    click.option("--hardware", default=None, metavar="NAME",
                 help="Satellite hardware profile (default: jetson-agx-orin-64gb)."),
    click.option("--link-profile", default=None, metavar="NAME",
                 help="ISL profile: rate and per-hop forwarding (default: laser-100g)."),
    click.option("--activation", default="zipf:1.0", show_default=True,
                 metavar="zipf:S|dirichlet:A|uniform|file:PATH",
                 help="Expert activation profile per MoE layer."),
    click.option("--seed", type=int, default=0, show_default=True,
                 help="Seed of generated activation profiles and random baselines."),
    click.option("--context-tokens", type=click.IntRange(min=0), default=None,
                 help="Tokens in the KV cache read by attention (default: the latency layer's)."),
)

placement_options = _compose(
    click.option("--experts-per-sat", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Experts one satellite may host (1 is the paper's setting)."),
    click.option("--belt-planes", type=click.IntRange(min=1), default=None,
                 help="Use only this many adjacent planes (beyond the paper)."),
    click.option("--topology", type=click.Choice(["plus-grid", "nearest"]), default="plus-grid", show_default=True,
                 help="ISL topology: +Grid from planes and slots, or each satellite's nearest visible."),
)

quiet_option = click.option("-q", "--quiet", is_flag=True, default=False,
                            help="No progress bars or summaries on stderr.")

_CONSTELLATION_KEYS = ("preset", "walker", "altitude_km", "star", "epoch", "tle", "omm", "skip_invalid")


def times_from_kwargs(kwargs: dict, constellation):
    """Pop ``--start/--duration-s/--step-s`` and build the UTC grid.

    Defaults: the constellation's newest element-set epoch (to the minute) and one orbital period.
    """
    import orbits

    start = kwargs.pop("start") or constellation.reference_epoch
    duration_s = kwargs.pop("duration_s")
    if duration_s is None:
        duration_s = orbits.orbital_period_s(constellation)
    return orbits.time_grid(start, duration_s, kwargs.pop("step_s"))


def constellation_from_kwargs(kwargs: dict, quiet: bool = False):
    """Pop the constellation options from ``kwargs`` and build the constellation."""
    options = {key: kwargs.pop(key) for key in _CONSTELLATION_KEYS if key in kwargs}
    constellation = build_constellation(**options)
    if constellation.skipped and not quiet:
        click.echo(f"skipped {len(constellation.skipped)} invalid record(s):", err=True)
        for message in constellation.skipped[:20]:
            click.echo(f"  {message}", err=True)
        if len(constellation.skipped) > 20:
            click.echo(f"  ... and {len(constellation.skipped) - 20} more", err=True)
    return constellation

