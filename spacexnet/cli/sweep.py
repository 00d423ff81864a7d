"""``spacexnet sweep``: the main job — placement policies over a time span, into one NetCDF dataset.

Example::

    spacexnet sweep --out sweep.nc                      # Starlink shell 1, one orbit, 10 s steps
    spacexnet sweep --policy static,handover --duration-s 3600 --step-s 1 --out hour.nc
    spacexnet sweep --tle starlink.txt --shell 3 --out real.nc
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
import numpy as np
import xarray as xr
from tqdm import tqdm

import latency
import placement
from placement.policies import FLAG_INFEASIBLE

from ..exceptions import SpaceXNetError
from ..scenario import model_setup
from ..sweep import POLICIES, SweepOptions, check_fits, sweep
from ._options import (
    FiniteFloat,
    checks_outputs,
    constellation_from_kwargs,
    constellation_options,
    link_rule_options,
    model_options,
    placement_options,
    quiet_option,
    time_options,
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
@click.option("--strategy", default="space-xnet", show_default=True,
              type=click.Choice(["space-xnet", "joint", "random", "ring-random", "random-optimized"]),
              help="Placement strategy the policies use.")
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
@click.option("--chunk-steps", type=click.IntRange(min=1), default=60, show_default=True,
              help="Steps per chunk task and per resumable part.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Chunk tasks computed at once: 1 runs everything in this process; 2 or more use "
                   "that many processes for geometry and placement.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) to run the chunk tasks on.")
@click.option("--fail-sats", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of satellite outages: norad_id,start,end.")
@click.option("--fail-links", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV of link outages: norad_id_a,norad_id_b,start,end.")
@click.option("--check-step", is_flag=True, default=False,
              help="Print the time-step error budget (this step against one 10x finer) and exit.")
@click.option("--max-tle-age-days", type=FiniteFloat(min=0), default=3.0, show_default=True,
              help="Warn when the sweep runs this far from its element-set epochs (SGP4 error grows with age).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Output NetCDF file (required).")
@click.option("--overwrite", is_flag=True, default=False, help="Replace the output file if it exists.")
@click.option("--resume", is_flag=True, default=False,
              help="Continue an interrupted sweep with the same options from its finished chunks.")
@quiet_option
@checks_outputs("out")
def command(**kw):
    """Place the model, follow the constellation over time, and write every step's token latency.

    Default: Starlink shell 1 (72×22, 550 km, 53°), llama-moe-3.5b, the three
    policies, one orbital period at 10 s steps.
    """
    quiet = kw.pop("quiet")
    if kw["out"] is None and not kw["check_step"]:
        raise click.UsageError("Missing option '--out' (the NetCDF file to write).")
    out = Path(kw["out"]) if kw["out"] else None
    given = dict(kw)
    constellation = constellation_from_kwargs(kw, quiet=quiet)
    log = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    setup = model_setup(kw["model"], kw["model_file"], kw["hardware"], kw["link_profile"], kw["activation"],
                        kw["seed"], kw["context_tokens"], kw["experts_per_sat"])
    link_rules = {name: kw[name] for name in ("margin_km", "max_range_km", "latitude_cutoff_deg")
                  if kw[name] is not None}
    try:
        _check_step_or_sweep(kw, out, constellation, setup, link_rules, quiet, log)
    except placement.InfeasiblePlacementError as exc:
        # Raised before any heavy work (the sweep checks first); say what would fit.
        whole = constellation_from_kwargs({**given, "shell": None}, quiet=True)
        raise SpaceXNetError(f"{exc}; {_what_fits(whole, given.get('shell'), setup, kw)}") from None


def _check_step_or_sweep(kw, out, constellation, setup, link_rules, quiet, log):
    if kw["check_step"]:
        from ..accuracy import step_error

        check_fits(constellation, setup, kw["start"], kw["belt_planes"])
        budget = step_error(constellation, setup, kw["step_s"], start=kw["start"], topology=kw["topology"],
                            link_rules=link_rules)
        click.echo(f"time-step error of {budget.step_s:g} s steps against {budget.fine_step_s:g} s steps over "
                   f"{budget.window_s:g} s, one placement fixed at the start:")
        click.echo(render(budget.rows(), "table"), nl=False)
        return
    faults = None
    if kw["fail_sats"] or kw["fail_links"]:
        from ..faults import load_faults

        faults = load_faults(kw["fail_sats"], kw["fail_links"], constellation=constellation)
    options = SweepOptions(policies=kw["policies"], strategy=kw["strategy"], step_s=kw["step_s"],
                           duration_s=kw["duration_s"], start=kw["start"], chunk_steps=kw["chunk_steps"],
                           n_samples=kw["n_samples"], horizon_s=kw["horizon_s"],
                           migration_price=kw["migration_price"], min_gain_ratio=kw["min_gain_ratio"],
                           belt_planes=kw["belt_planes"], topology=kw["topology"], link_rules=link_rules,
                           workers=kw["workers"])
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

    try:
        path = sweep(constellation, setup, options, out, overwrite=kw["overwrite"], resume=kw["resume"],
                     scheduler=kw["scheduler"], faults=faults, progress=progress, status=log)
    finally:
        if bar is not None:
            bar.close()
    with xr.open_dataset(path) as ds:
        text = render(summary_rows(ds), "table")
    click.echo(text, nl=False)
    log(f"wrote {path}")


def _what_fits(whole, shell_index, setup, kw) -> str:
    """What would fit instead: other shells, more experts per satellite, smaller model presets (one clause)."""

    def fits(constellation, candidate):
        try:
            check_fits(constellation, candidate, kw["start"], kw["belt_planes"])
        except placement.PlacementError:
            return False
        return True

    ideas = []
    if len(whole.shells) > 1:
        others = [i for i in range(len(whole.shells)) if i != shell_index
                  and fits(whole.subset(whole.shell == i), setup)]
        if others:
            ideas.append("--shell " + ", ".join(f"{i} ({int((whole.shell == i).sum()):,} satellites)" for i in others))
    constellation = whole if shell_index is None else whole.subset(whole.shell == shell_index)
    n_experts = setup.probs.shape[1]
    room = int(setup.hardware.memory_bytes // setup.model.expert_bytes)
    for per_sat in range(setup.experts_per_sat + 1, min(n_experts, room) + 1):
        if fits(constellation, dataclasses.replace(setup, experts_per_sat=per_sat)):
            ideas.append(f"--experts-per-sat {per_sat} (experts of {setup.model.expert_bytes / 1e6:,.0f} MB; the "
                         f"memory of {setup.hardware.name} holds {room:,})")
            break
    models = [name for name in latency.model_names() if name != setup.model.name
              and fits(constellation, model_setup(name, hardware=setup.hardware.name,
                                                  link_profile=setup.link_profile.name, activation="uniform",
                                                  experts_per_sat=setup.experts_per_sat))]
    if models:
        ideas.append(f"--model {' or '.join(models)}")
    if not ideas:
        return f"no shell, --experts-per-sat or model preset fits {len(constellation)} satellites"
    return "what fits: " + "; or ".join(ideas)


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
    """Per policy: mean and p99 token latency, migrations and bytes moved, steps without a latency and why."""
    rows = []
    for policy in ds["policy"].values:
        sel = ds.sel(policy=policy)
        expected = sel["token_latency_expected_ms"].values
        finite = np.isfinite(expected)
        # No placement (no room for the model) is another failure than a placement that cannot be reached.
        infeasible = (sel["policy_flags"].values & FLAG_INFEASIBLE) != 0
        rows.append({
            "policy": str(policy),
            "mean expected ms": float(expected[finite].mean()) if finite.any() else float("nan"),
            "mean p99 ms": float(np.nanmean(np.where(np.isfinite(sel["token_latency_p99_ms"].values),
                                                     sel["token_latency_p99_ms"].values, np.nan)))
            if np.isfinite(sel["token_latency_p99_ms"].values).any() else float("nan"),
            "worst expected ms": float(expected[finite].max()) if finite.any() else float("nan"),
            "migrations": int(sel["migrations"].sum()),
            "GB moved": float(sel["bytes_moved"].sum()) / 1e9,
            "infeasible steps": int(infeasible.sum()),
            "unreachable steps": int((~finite & ~infeasible).sum()),
        })
    return rows
