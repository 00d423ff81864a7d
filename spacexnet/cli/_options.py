"""Options shared by several subcommands (rio-style option registry).

``constellation_options`` adds ``--preset/--walker/--altitude-km/--star/--epoch/--tle/--omm/--skip-invalid/
--no-checksum/--shell``; ``time_options`` adds ``--start/--duration-s/--step-s``; ``link_rule_options`` adds
``--margin-km/--max-range-km/--latitude-cutoff-deg``; ``output_options`` adds ``--out/--overwrite``;
``quiet_option`` adds ``-q/--quiet``, ``verbose_option`` ``-v/--verbose`` (:func:`loggers_from_kwargs` reads
both); ``strategy_option`` adds ``--strategy`` with the choices of :data:`placement.STRATEGIES`.

Every number option is a :class:`FiniteFloat` (click's own ``float`` lets ``nan`` and ``inf`` through, which
then fail deep inside a computation), and every command that writes files refuses an output it could not
write *before* any work, through :func:`checks_outputs`.
"""

from __future__ import annotations

import functools
import math

import click

import placement
from orbits.links import DEFAULT_MARGIN_KM, DEFAULT_MAX_RANGE_KM

from ..io import check_target
from ..scenario import build_constellation, select_shell
from ..shells import shell_summaries
from ._messages import option_flags

__all__ = [
    "FiniteFloat",
    "constellation_options",
    "time_options",
    "start_option",
    "user_option",
    "link_rule_options",
    "output_options",
    "model_options",
    "placement_options",
    "experts_per_sat_option",
    "quiet_option",
    "verbose_option",
    "loggers_from_kwargs",
    "step_option",
    "topology_option",
    "strategy_option",
    "PLACING_STRATEGIES",
    "checks_outputs",
    "constellation_from_kwargs",
    "times_from_kwargs",
]


class FiniteFloat(click.FloatRange):
    """A float option that refuses ``nan`` and ``inf``, with optional bounds.

    Parameters
    ----------
    min, max : float, optional
        Bounds, as in :class:`click.FloatRange`.
    min_open, max_open : bool
        Exclude the bound itself.
    inf_means : str, optional
        For options where ``inf`` has a meaning (a range without limit): the
        meaning, named in ``--help``; ``inf`` is then accepted, ``nan`` never.

    Examples
    --------
    >>> FiniteFloat(min=0).convert("2.5", None, None)
    2.5
    >>> FiniteFloat().convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: nan is not a finite number.
    """

    name = "float"

    def __init__(self, min=None, max=None, min_open=False, max_open=False, inf_means=None):
        super().__init__(min=min, max=max, min_open=min_open, max_open=max_open)
        self.inf_means = inf_means

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if math.isnan(number) or (math.isinf(number) and not (self.inf_means and number > 0)):
            hint = f" ('inf' means {self.inf_means})" if self.inf_means else ""
            self.fail(f"{value} is not a finite number{hint}.", param, ctx)
        return super().convert(number, param, ctx)

    def get_metavar(self, param, ctx=None):
        return "FLOAT"

    def _describe_range(self) -> str:
        # click's FloatRange would describe an unbounded range as "x<=None" in --help.
        return "" if self.min is None and self.max is None else super()._describe_range()


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
    click.option("--altitude-km", type=FiniteFloat(), default=None, help="Walker shell altitude, km."),
    click.option("--star", is_flag=True, default=False, help="Walker-star (RAAN over 180°) instead of delta."),
    click.option("--epoch", default=None, metavar="ISO",
                 help="Walker epoch, ISO 8601 with its zone, e.g. 2026-01-01T00:00:00Z (default: the preset's)."),
    click.option("--tle", type=click.Path(dir_okay=False), default=None,
                 help="Element sets from a 3LE/2LE text file."),
    click.option("--omm", type=click.Path(dir_okay=False), default=None,
                 help="Element sets from an OMM file (CSV, JSON or XML)."),
    click.option("--skip-invalid", is_flag=True, default=False,
                 help="Skip malformed records (reported on stderr) instead of failing."),
    click.option("--no-checksum", is_flag=True, default=False,
                 help="With --tle: accept lines whose column-69 checksum is wrong."),
    click.option("--shell", "shell", type=click.IntRange(min=0), default=None,
                 help="Use only this shell of the constellation (index as `spacexnet shells` lists them)."),
)

def start_option(what: str = "Start time"):
    """``--start``: an instant, ISO 8601 with its zone (a time without one is refused, see orbits.to_datetime64_utc)."""
    return click.option("--start", default=None, metavar="ISO",
                        help=f"{what}, ISO 8601 with its zone, e.g. 2026-01-01T00:00:00Z "
                             "(default: the constellation's newest epoch, to the minute).")


def _ground_user(ctx, param, value):
    if value is None:
        return None
    from ..compare import ground_user

    try:
        return ground_user(value, "--user")
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--user "), param_hint="--user") from None


#: ``--user LAT,LON``: a ground user; the delivery of each token to it is reported in its own column.
user_option = click.option("--user", callback=_ground_user, default=None, metavar="LAT,LON",
                           help="A user on the ground (degrees): also report the delivery of each token to it "
                                "(from the first gate, over the ISLs, down to the user), in its own column.")


step_option = click.option("--step-s", type=FiniteFloat(min=0, min_open=True), default=10.0, show_default=True,
                           help="Time step, s.")

time_options = _compose(
    start_option(),
    click.option("--duration-s", type=FiniteFloat(min=0), default=None,
                 help="Time span, s (default: one orbital period)."),
    step_option,
)

link_rule_options = _compose(
    click.option("--margin-km", type=FiniteFloat(), default=None,
                 help=f"Atmosphere margin a line of sight must clear above the Earth, km "
                      f"(default {DEFAULT_MARGIN_KM:g})."),
    click.option("--max-range-km", type=FiniteFloat(min=0, inf_means="no range limit"),
                 default=None, help=f"Laser terminal range, km; 'inf' for none (default {DEFAULT_MAX_RANGE_KM:,g})."),
    click.option("--latitude-cutoff-deg", type=FiniteFloat(min=0, max=90), default=None,
                 help="Inter-plane links are down while either end is above this |latitude|, degrees "
                      "(default: off)."),
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

experts_per_sat_option = click.option(
    "--experts-per-sat", type=click.IntRange(min=1), default=1, show_default=True,
    help="Experts one satellite may host (1 is the paper's setting).")

topology_option = click.option(
    "--topology", type=click.Choice(["plus-grid", "nearest"]), default="plus-grid", show_default=True,
    help="ISL topology: +Grid from planes and slots, or each satellite's nearest visible.")

placement_options = _compose(
    experts_per_sat_option,
    click.option("--belt-planes", type=click.IntRange(min=1), default=None,
                 help="Use only this many adjacent planes (beyond the paper)."),
    topology_option,
)

#: Strategies of the registry that return a placement (``lower-bound`` returns the bound's evaluation).
PLACING_STRATEGIES = placement.PLACING


def strategy_option(help: str = "Placement strategy."):
    """``--strategy``: one of :data:`PLACING_STRATEGIES`, ``space-xnet`` by default."""
    return click.option("--strategy", type=click.Choice(PLACING_STRATEGIES), default="space-xnet",
                        show_default=True, help=help)


quiet_option = click.option("-q", "--quiet", is_flag=True, default=False,
                            help="No progress bars or summaries on stderr.")

verbose_option = click.option("-v", "--verbose", is_flag=True, default=False,
                              help="Also how long each stage took, on stderr.")


def loggers_from_kwargs(kwargs: dict):
    """Pop ``-q/--quiet`` and ``-v/--verbose``: ``(quiet, log, detail)``.

    ``log`` writes a line to stderr unless ``--quiet``; ``detail`` only with
    ``--verbose``. Both flags at once are refused (one says less, the other more).

    Examples
    --------
    >>> quiet, log, detail = loggers_from_kwargs({"quiet": True, "verbose": False})
    >>> quiet, log("not shown"), detail("not shown")
    (True, None, None)
    >>> loggers_from_kwargs({"quiet": True, "verbose": True})
    Traceback (most recent call last):
    ...
    click.exceptions.UsageError: -q/--quiet and -v/--verbose exclude each other; give one.
    """
    quiet, verbose = kwargs.pop("quiet"), kwargs.pop("verbose", False)
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose exclude each other; give one.")

    def say(message):
        click.echo(message, err=True)

    def silent(message):
        return None

    return quiet, (silent if quiet else say), (say if verbose else silent)

_CONSTELLATION_KEYS = ("preset", "walker", "altitude_km", "star", "epoch", "tle", "omm", "skip_invalid",
                       "no_checksum", "shell")


def _flag(name: str) -> str:
    """The command-line spelling of parameter ``name`` of the running command (``map_png`` → ``--map``)."""
    ctx = click.get_current_context(silent=True)
    return option_flags(ctx.command if ctx is not None else None).get(name, "--" + name.replace("_", "-"))


def checks_outputs(*names: str):
    """Decorator: refuse the command's output options ``names`` before the command runs.

    Each given path must not exist (unless ``--overwrite``), and its folder
    must exist: a run that could not write its result is refused in
    milliseconds, not after the work.

    Examples
    --------
    >>> @click.command()
    ... @click.option("--out")
    ... @click.option("--overwrite", is_flag=True)
    ... @checks_outputs("out")
    ... def cmd(out, overwrite):
    ...     click.echo("working")
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(cmd, ["--out", "/no/such/folder/x.nc"]).exception
    OutputError('/no/such/folder/x.nc (--out): directory /no/such/folder does not exist')
    """

    def decorate(func):
        @functools.wraps(func)
        def checked(*args, **kwargs):
            for name in names:
                if kwargs.get(name) is not None:
                    check_target(kwargs[name], overwrite=bool(kwargs.get("overwrite")), flag=_flag(name))
            return func(*args, **kwargs)

        return checked

    return decorate


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


def constellation_from_kwargs(kwargs: dict, quiet: bool = False, list_shells: bool = True):
    """Pop the constellation options from ``kwargs`` and build the constellation (one shell with ``--shell``).

    Unless ``quiet``, skipped records and (with ``list_shells``), for a
    constellation of several shells or with ``--shell``, the shells found are
    listed on stderr.
    """
    options = {key: kwargs.pop(key) for key in _CONSTELLATION_KEYS if key in kwargs}
    options["check_checksum"] = not options.pop("no_checksum", False)
    shell = options.pop("shell", None)
    constellation = build_constellation(**options)
    if not quiet:
        if constellation.skipped:
            click.echo(f"skipped {len(constellation.skipped)} record(s):", err=True)
            for message in constellation.skipped[:20]:
                click.echo(f"  {message}", err=True)
            if len(constellation.skipped) > 20:
                click.echo(f"  ... and {len(constellation.skipped) - 20} more", err=True)
        if list_shells and (len(constellation.shells) > 1 or shell is not None):
            # The whole list even with --shell: an index means something only next to the others.
            click.echo(f"shells of {constellation.source} (`spacexnet shells` tells which models each holds):",
                       err=True)
            for summary in shell_summaries(constellation):
                chosen = f"  <- --shell {shell}" if summary.index == shell else ""
                click.echo(f"  {summary.label()}{chosen}", err=True)
    return select_shell(constellation, shell)
