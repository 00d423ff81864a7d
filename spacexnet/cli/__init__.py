"""The ``spacexnet`` command line: one module per subcommand.

User mistakes (bad files, bad options, impossible requests) are reported as
one line on stderr with exit code 1; click's usage errors exit with 2.
Data goes to stdout and files; logs and progress go to stderr.
"""

from __future__ import annotations

import sys

import click

from ..exceptions import user_errors
from ._messages import cli_wording, one_line_warnings

__all__ = ["main"]


class _Group(click.Group):
    """Click group that turns domain errors into one clear line instead of a traceback."""

    def invoke(self, ctx):
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="space-xnet", prog_name="spacexnet")
def main():
    """Space-XNet: a mixture-of-experts model on a moving satellite constellation."""


def _register() -> None:
    # One module per subcommand, each exposing ``command``.
    from . import check_step, compare, links, place, plot, presets, propagate, serve, shells, sweep

    for module in (sweep, check_step, compare, place, propagate, links, plot, shells, presets, serve):
        main.add_command(module.command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
