"""The ``spacexnet`` command line: one module per subcommand.

User mistakes (bad files, bad options, impossible requests) are reported as
one line on stderr with exit code 1; click's usage errors exit with 2.
Data goes to stdout and files; logs and progress go to stderr.

A subcommand's module (and with it NumPy, Numba, xarray, SciPy, the
service) is imported only when that subcommand runs or shows its own help,
so ``spacexnet --help`` and ``spacexnet --version`` answer at once: the
group lists the commands from :data:`COMMANDS`, which holds each one's
module and its one-line summary.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping

import click
from click.utils import make_default_short_help

from ._messages import cli_wording, one_line_warnings

__all__ = ["COMMANDS", "main"]

#: Subcommand name → (module that defines it as ``command``, the first sentence of its help).
#: The summary is what ``spacexnet --help`` lists; tests/test_cli_start.py checks it against the command.
COMMANDS = {
    "check-step": ("spacexnet.cli.check_step", "Time-step error budget: this --step-s against steps ten times "
                   "finer, one placement fixed at the start."),
    "compare": ("spacexnet.cli.compare", "Space-XNet against random and ablation placements: token latency table."),
    "links": ("spacexnet.cli.links", "Inter-satellite and ground-station links over time, written to NetCDF."),
    "place": ("spacexnet.cli.place", "One placement of the model at one instant: gates and experts per layer."),
    "plot": ("spacexnet.cli.plot", "Latency, layer and migration figures of a sweep dataset (FILE.nc), as PNG files."),
    "presets": ("spacexnet.cli.presets", "Named constellations, models, hardware, link profiles, strategies and "
                "policies."),
    "propagate": ("spacexnet.cli.propagate", "SGP4 positions (TEME, ITRS, geodetic) of every satellite over time, "
                  "written to NetCDF."),
    "serve": ("spacexnet.cli.serve", "Serve scenarios over HTTP: positions, links, routes, placements, token "
              "latency."),
    "shells": ("spacexnet.cli.shells", "The shells of a constellation (FILE: TLE text, or OMM .csv/.json/.xml) and "
               "the models each holds."),
    "sweep": ("spacexnet.cli.sweep", "Place the model, follow the constellation over time, and write every step's "
              "token latency."),
}


class _Commands(Mapping):
    """The subcommands by name, each module imported the first time its command is looked up."""

    def __init__(self, table: dict[str, tuple[str, str]]):
        self._table = table
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _ = self._table[name]
            self._loaded[name] = importlib.import_module(module).command
        return self._loaded[name]

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


class _Group(click.Group):
    """Click group that turns domain errors into one clear line instead of a traceback."""

    def invoke(self, ctx):
        # Here, not at the top: the layers' exceptions import the layers.
        from ..exceptions import user_errors

        try:
            with one_line_warnings():
                return super().invoke(ctx)
        except user_errors() as exc:
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            click.echo(f"spacexnet: error: {cli_wording(exc, command)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as exc:
            # A command may say what was kept and how to continue (a sweep's finished chunks).
            click.echo(f"spacexnet: interrupted{f'; {exc}' if str(exc) else ''}", err=True)
            ctx.exit(130)

    def format_commands(self, ctx, formatter):
        # click's own listing would import every subcommand to read its help; the table has the summaries.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(summary, limit)) for name, (_, summary) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="space-xnet", prog_name="spacexnet")
def main():
    """Space-XNet: a mixture-of-experts model on a moving satellite constellation."""


main.commands = _Commands(COMMANDS)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
