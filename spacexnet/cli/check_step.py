"""``spacexnet check-step``: is a time step fine enough? Its error budget against one ten times finer.

One Space-XNet placement is made at the start of a window of steps and
followed on the chosen step and on the finer one; the table says how much
token latency and ISL lengths change per step and how far a step is from
the finer grid (:func:`spacexnet.accuracy.step_error`).

Example::

    spacexnet check-step --step-s 30
    spacexnet check-step --step-s 10 --latitude-cutoff-deg 50
"""

from __future__ import annotations

import sys

import click

from ..scenario import model_setup
from ..sweep import check_fits
from ._fits import says_what_fits
from ._options import (
    constellation_from_kwargs,
    constellation_options,
    experts_per_sat_option,
    link_rule_options,
    loggers_from_kwargs,
    model_options,
    quiet_option,
    start_option,
    step_option,
    topology_option,
)
from ._scenario import scenario_option
from ._tables import render

__all__ = ["command"]


@click.command("check-step")
@scenario_option
@constellation_options
@start_option("Start of the window")
@step_option
@model_options
@experts_per_sat_option
@topology_option
@link_rule_options
@quiet_option
def command(**kw):
    """Time-step error budget: this --step-s against steps ten times finer, one placement fixed at the start."""
    from ..accuracy import step_error

    given = dict(kw)
    quiet, _, _ = loggers_from_kwargs(kw)
    constellation = constellation_from_kwargs(kw, quiet=quiet)
    setup = model_setup(kw["model"], kw["model_file"], kw["hardware"], kw["link_profile"], kw["activation"],
                        kw["seed"], kw["context_tokens"], kw["experts_per_sat"])
    link_rules = {name: kw[name] for name in ("margin_km", "max_range_km", "latitude_cutoff_deg")
                  if kw[name] is not None}
    with says_what_fits(given, setup):
        check_fits(constellation, setup, kw["start"], None)
        budget = step_error(constellation, setup, kw["step_s"], start=kw["start"], topology=kw["topology"],
                            link_rules=link_rules)
    click.echo(f"time-step error of {budget.step_s:g} s steps against {budget.fine_step_s:g} s steps over "
               f"{budget.window_s:g} s, one placement fixed at the start:")
    click.echo(render(budget.rows(), "table"), nl=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command())
