"""``spacexnet sweep``: the main job — placement policies over a time span, into one NetCDF dataset.

Example::

    spacexnet sweep --out sweep.nc                      # Starlink shell 1, one orbit, 10 s steps
    spacexnet sweep --policy static,handover --duration-s 3600 --step-s 1 --out hour.nc
    spacexnet sweep --tle starlink.txt --shell 3 --out real.nc
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np
import xarray as xr
from tqdm import tqdm

from placement.policies import FLAG_INFEASIBLE

from ..dataset import units
from ..scenario import model_setup
from ..sweep import POLICIES, SweepOptions, sweep
from . import check_step
from ._fits import says_what_fits
from ._options import (
    FiniteFloat,
    checks_outputs,
    constellation_from_kwargs,
    constellation_options,
    link_rule_options,
    loggers_from_kwargs,
    model_options,
    placement_options,
    quiet_option,
    strategy_option,
    time_options,
    user_option,
    verbose_option,
)
from ._scenario import scenario_option
from ._tables import render

__all__ = ["command"]


def _policies(ctx, param, value):
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if name not in POLICIES:
            raise click.BadParameter(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    if not names:
        raise click.BadParameter("give at least one policy")
    return names


@click.command("sweep")
@scenario_option
@constellation_options
@time_options
@model_options
@click.option("--policy", "policies", default=",".join(POLICIES), show_default=True, callback=_policies,
              help="Comma-separated policies: static, recompute, handover.")
@strategy_option("Placement strategy the policies use.")
@placement_options
@link_rule_options
@click.option("--horizon-s", type=FiniteFloat(min=0), default=600.0, show_default=True,
              help="Handover: horizon over which a migration must pay off, s.")
@click.option("--migration-price", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="Handover: decode seconds charged per second of ISL transfer.")
@click.option("--min-gain", "min_gain_ratio", type=FiniteFloat(min=0), default=0.01, show_default=True,
              help="Handover: least relative gain of a voluntary move (hysteresis).")
@click.option("--samples", "n_samples", type=click.IntRange(min=2), default=2000, show_default=True,
              help="Monte Carlo tokens per step and policy (p50/p99).")
@click.option("--time-budget-s", type=FiniteFloat(min=0), default=None,
              help="Nominal seconds of search for anneal at the first step of each chunk (the later steps "
                   "improve the previous one with a share of it; default: anneal's own, 10).")
@click.option("--chunk-steps", type=click.IntRange(min=1), default=60, show_default=True,
              help="Steps per chunk task and per resumable part (joint and anneal start cold at the first "
                   "step of each chunk, then improve the previous step's placement).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Chunk tasks computed at once: 1 runs everything in this process; 2 or more use "
                   "that many processes for geometry and placement.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) to run the chunk tasks on.")
@click.option("--fail-sats", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of satellite outages: norad_id,start,end.")
@click.option("--fail-links", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of link outages: norad_id_a,norad_id_b,start,end.")
@click.option("--check-step", is_flag=True, default=False, hidden=True,
              help="Deprecated: `spacexnet check-step` (same options).")
@click.option("--max-tle-age-days", type=FiniteFloat(min=0), default=3.0, show_default=True,
              help="Warn when the sweep runs this far from its element-set epochs (SGP4 error grows with age).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Output NetCDF file (required).")
@click.option("--overwrite", is_flag=True, default=False, help="Replace the output file if it exists.")
@click.option("--resume", is_flag=True, default=False,
              help="Continue an interrupted sweep with the same options from its finished chunks.")
@user_option
@quiet_option
@verbose_option
@checks_outputs("out")
def command(**kw):
    """Place the model, follow the constellation over time, and write every step's token latency.

    Default: Starlink shell 1 (72×22, 550 km, 53°), llama-moe-3.5b, the three
    policies, one orbital period at 10 s steps.
    """
    if kw.pop("check_step"):
        click.echo("spacexnet: warning: `sweep --check-step` is deprecated; use `spacexnet check-step` "
                   "(same options)", err=True)
        wanted = {param.name for param in check_step.command.params}
        return click.get_current_context().invoke(check_step.command,
                                                  **{name: kw[name] for name in wanted if name in kw})
    if kw["out"] is None:
        raise click.UsageError("Missing option '--out' (the NetCDF file to write).")
    given = dict(kw)
    quiet, log, detail = loggers_from_kwargs(kw)
    constellation = constellation_from_kwargs(kw, quiet=quiet)
    setup = model_setup(kw["model"], kw["model_file"], kw["hardware"], kw["link_profile"], kw["activation"],
                        kw["seed"], kw["context_tokens"], kw["experts_per_sat"])
    with says_what_fits(given, setup):
        _sweep(kw, Path(kw["out"]), constellation, setup, quiet, log, detail)


def _sweep(kw, out, constellation, setup, quiet, log, detail):
    link_rules = {name: kw[name] for name in ("margin_km", "max_range_km", "latitude_cutoff_deg")
                  if kw[name] is not None}
    faults = None
    if kw["fail_sats"] or kw["fail_links"]:
        from ..faults import load_faults

        faults = load_faults(kw["fail_sats"], kw["fail_links"], constellation=constellation)
    options = SweepOptions(policies=kw["policies"], strategy=kw["strategy"], step_s=kw["step_s"],
                           duration_s=kw["duration_s"], start=kw["start"], chunk_steps=kw["chunk_steps"],
                           n_samples=kw["n_samples"], horizon_s=kw["horizon_s"],
                           migration_price=kw["migration_price"], min_gain_ratio=kw["min_gain_ratio"],
                           belt_planes=kw["belt_planes"], topology=kw["topology"], link_rules=link_rules,
                           workers=kw["workers"], time_budget_s=kw["time_budget_s"], user=kw["user"])
    log(f"{len(constellation)} satellites ({constellation.source}); {setup.model.name} on {setup.hardware.name}; "
        f"policies {','.join(options.policies)}")
    _warn_tle_age(constellation, options, kw["max_tle_age_days"])
    bar = None

    def progress(done, total):
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=total, initial=done, unit="step", desc="sweep", file=sys.stderr, dynamic_ncols=True)
        else:
            bar.update(done - bar.n)

    timings = {}
    try:
        path = sweep(constellation, setup, options, out, overwrite=kw["overwrite"], resume=kw["resume"],
                     scheduler=kw["scheduler"], faults=faults, progress=progress, status=log, timings=timings)
    finally:
        if bar is not None:
            bar.close()
    with xr.open_dataset(path) as ds:
        text = render(summary_rows(ds), "table")
    click.echo(text, nl=False)
    log(f"wrote {path}")
    detail(stage_times(timings))


def stage_times(timings: dict) -> str:
    """``--verbose``: one line of the wall time of each stage of a sweep (see :func:`spacexnet.sweep.sweep`).

    Examples
    --------
    >>> stage_times({"warm_up": 1.0, "graph": 0.25, "latency": 0.0, "total": 1.5, "dijkstra_sources": 12})
    'stage times: warm_up 1.00 s, graph 0.25 s, total 1.50 s; 12 shortest-path searches'
    """
    stages = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items()
                       if stage != "dijkstra_sources" and (seconds > 0 or stage == "total"))
    return f"stage times: {stages}; {timings.get('dijkstra_sources', 0):,} shortest-path searches"


def _warn_tle_age(constellation, options, max_age_days):
    import orbits

    from ..accuracy import element_set_age_days

    start = options.start if options.start is not None else constellation.reference_epoch
    duration = options.duration_s if options.duration_s is not None else orbits.orbital_period_s(constellation)
    # First and last instant, checked as the sweep's grid is (a span past what datetime64[ns] holds is refused).
    ends = orbits.time_grid(start, duration, duration if duration > 0 else 1.0)
    age = element_set_age_days(constellation, ends)
    if age > max_age_days:
        click.echo(f"spacexnet: warning: the sweep runs up to {age:.1f} days from its element-set epochs "
                   f"(--max-tle-age-days {max_age_days:g}); SGP4 position errors grow with age, about a "
                   "kilometre a day in LEO and more for manoeuvring satellites", err=True)


def summary_rows(ds) -> list[dict]:
    """Per policy: mean and p99 token latency, migrations and bytes moved, steps without a latency and why.

    The latency columns are named with the units of the schema (:mod:`spacexnet.dataset`).
    """
    ms = units("token_latency_expected_ms")
    rows = []
    for policy in ds["policy"].values:
        sel = ds.sel(policy=policy)
        expected = sel["token_latency_expected_ms"].values
        p99 = sel["token_latency_p99_ms"].values
        finite = np.isfinite(expected)
        # No placement (no room for the model) is another failure than a placement that cannot be reached.
        infeasible = (sel["policy_flags"].values & FLAG_INFEASIBLE) != 0
        rows.append({
            "policy": str(policy),
            f"mean expected {ms}": float(expected[finite].mean()) if finite.any() else float("nan"),
            f"mean p99 {units('token_latency_p99_ms')}": (float(p99[np.isfinite(p99)].mean())
                                                          if np.isfinite(p99).any() else float("nan")),
            f"worst expected {ms}": float(expected[finite].max()) if finite.any() else float("nan"),
            "migrations": int(sel["migrations"].sum()),
            # bytes_moved is in bytes (the schema's units).
            "GB moved": float(sel["bytes_moved"].sum()) / 1e9,
            "infeasible steps": int(infeasible.sum()),
            "unreachable steps": int((~finite & ~infeasible).sum()),
        })
        if "user_delivery_ms" in sel:  # sweep --user: its own column, beside the in-orbit latency
            user = sel["user_delivery_ms"].values
            rows[-1]["mean to user ms"] = float(user[np.isfinite(user)].mean()) if np.isfinite(user).any() \
                else float("nan")
    return rows
