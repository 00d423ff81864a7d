"""``spacexnet compare``: Space-XNet against the paper's baselines at one instant.

Prints a table of expected and tail token latency, tokens/s and the ratio of
each strategy to Space-XNet, under exactly-k routing and under the paper's
independent activations. ``--out`` also writes it (format from ``--format``
or the file suffix); the table and the verdict still go to the terminal.
``--map`` and ``--cdf`` draw the figures. Every output is checked (exists,
missing folder) before any work.

Example::

    spacexnet compare --model llama-moe-3.5b --format json --out compare.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

import placement

from ..compare import DEFAULT_STRATEGIES, compare, user_delivery_ms
from ..io import atomic_write_text
from ..scenario import model_setup, snapshot
from ._options import (
    checks_outputs,
    constellation_from_kwargs,
    FiniteFloat,
    constellation_options,
    loggers_from_kwargs,
    model_options,
    placement_options,
    quiet_option,
    start_option,
    user_option,
    verbose_option,
)
from ._scenario import scenario_option
from ._tables import FORMATS, render

__all__ = ["command"]

COLUMNS = ("strategy", "expected_ms", "expected_independent_ms", "p50_ms", "p99_ms", "tokens_per_s",
           "ratio_to_space_xnet", "ratio_independent", "gap", "n_runs")
HEADERS = {"expected_ms": "expected ms", "expected_independent_ms": "indep. ms", "p50_ms": "p50 ms",
           "p99_ms": "p99 ms", "tokens_per_s": "tokens/s", "ratio_to_space_xnet": "÷ space-xnet",
           "ratio_independent": "÷ (indep.)", "gap": "÷ bound", "n_runs": "runs",
           "user_delivery_ms": "to user ms"}
MAP_STRATEGIES = ("space-xnet", "joint", "anneal")
"""Strategies ``--map`` draws, when compared: the paper's and the two optimizers (random ones are noise)."""


def _strategies(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = list(placement.STRATEGIES)
    for name in names:
        if name not in known:
            raise click.BadParameter(f"unknown strategy {name!r}; choose from {', '.join(known)}",
                                     param_hint="--strategies")
    return names


@click.command("compare")
@scenario_option
@constellation_options
@start_option("Instant of the comparison")
@model_options
@click.option("--strategies", default=",".join(DEFAULT_STRATEGIES), show_default=True,
              help="Comma-separated strategies.")
@click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Runs of each randomized strategy.")
@click.option("--time-budget-s", type=FiniteFloat(min=0), default=None,
              help="Nominal seconds of search for anneal (moves = seconds x a fixed rate, so a seed gives "
                   "the same placement on any machine; default: anneal's own, 10).")
@click.option("--samples", "n_samples", type=click.IntRange(min=100), default=20_000, show_default=True,
              help="Monte Carlo tokens per placement (top-k routing) for p50/p95/p99.")
@placement_options
@user_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Format of --out (default: from its suffix, .json/.csv, else a table); without "
                   "--out, of stdout (default: table).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the table (.csv/.json/.txt).")
@click.option("--map", "map_png", type=click.Path(dir_okay=False), default=None,
              help="PNG map of the subnets, gates and experts: one panel per compared strategy among "
                   f"{', '.join(MAP_STRATEGIES)}.")
@click.option("--cdf", "cdf_png", type=click.Path(dir_okay=False), default=None,
              help="PNG of the token-latency CDF of each strategy.")
@click.option("--overwrite", is_flag=True, default=False, help="Replace output files that exist.")
@quiet_option
@verbose_option
@checks_outputs("out", "map_png", "cdf_png")
def command(**kw):
    """Space-XNet against random and ablation placements: token latency table."""
    quiet, log, detail = loggers_from_kwargs(kw)
    strategies = _strategies(kw["strategies"])
    mapped = [name for name in strategies if name in MAP_STRATEGIES]
    if kw["map_png"] and not mapped:  # before any work, as the outputs are
        raise click.BadParameter(f"--map draws {', '.join(MAP_STRATEGIES)}; compare at least one of them",
                                 param_hint="--strategies")
    constellation = constellation_from_kwargs(kw, quiet=quiet)
    fmt = kw["fmt"]
    if fmt is None and kw["out"]:
        suffix = Path(kw["out"]).suffix.lower().lstrip(".")
        fmt = suffix if suffix in ("json", "csv") else "table"
    fmt = fmt or "table"
    # With --out the file takes the format; the terminal keeps the table and the verdict.
    shown = "table" if kw["out"] else fmt
    setup = model_setup(kw["model"], kw["model_file"], kw["hardware"], kw["link_profile"], kw["activation"],
                        kw["seed"], kw["context_tokens"], kw["experts_per_sat"])
    start = kw["start"] or constellation.reference_epoch
    snap = snapshot(constellation, start, setup, topology=kw["topology"])
    log(f"{len(constellation)} satellites ({constellation.source}); {int(snap.eligible.sum())} eligible at "
        f"{str(snap.time)[:19]}Z")
    log(f"{setup.model.name} on {setup.hardware.name}, {setup.link_profile.name}; activation {setup.activation}, "
        f"seed {setup.seed}; {setup.n_layers} subnets")
    clock = _StrategyClock(log)
    rows = compare(snap, setup, strategies=strategies, n_seeds=kw["n_seeds"],
                   n_samples=kw["n_samples"], belt_planes=kw["belt_planes"], progress=clock.start,
                   time_budget_s=kw["time_budget_s"])
    detail(clock.summary())
    dicts = [r.as_dict() for r in rows]
    columns = COLUMNS
    if kw["user"] is not None:  # its own column: the rows' numbers stay the compare table's
        for row, d in zip(rows, dicts):
            d["user_delivery_ms"] = user_delivery_ms(snap, row.placements, kw["user"])
        columns = (*COLUMNS, "user_delivery_ms")
    if kw["out"]:
        atomic_write_text(kw["out"], render(dicts, fmt, columns=columns if fmt == "table" else None,
                                            headers=HEADERS), overwrite=kw["overwrite"])
    click.echo(render(dicts, shown, columns=columns if shown == "table" else None, headers=HEADERS), nl=False)
    if kw["out"]:
        log(f"wrote {kw['out']}")
    if shown == "table" and not quiet:
        _verdict(rows, log)
        for r in rows:
            if r.bound_method:
                log(f"lower bound: {r.bound_method}; ÷ bound = expected ms ÷ {r.expected_ms:,.1f} ms "
                    "(at most that far from the best placement)")
    if kw["map_png"]:
        from ..plots import plot_placements_map

        # Panels in the order compared; the title carries each one's expected latency to read them against.
        chosen = {f"{r.strategy}: {r.expected_ms:,.0f} ms": r.placements[0]
                  for r in rows if r.strategy in mapped and r.placements}
        lat = snap.state["latitude_deg"].values[0]
        lon = snap.state["longitude_deg"].values[0]
        plot_placements_map(chosen, lat, lon, path=kw["map_png"], expert_probs=setup.probs,
                            title=f"{setup.model.name} on {constellation.source} at {str(snap.time)[:19]}Z")
        log(f"wrote {kw['map_png']}")
    if kw["cdf_png"]:
        from ..plots import plot_latency_cdf

        plot_latency_cdf({r.strategy: r.samples_ms for r in rows if r.samples_ms is not None},
                         path=kw["cdf_png"], title=f"Token latency, {setup.model.name} (top-k Monte Carlo)")
        log(f"wrote {kw['cdf_png']}")


class _StrategyClock:
    """Says each strategy as it starts, and times it: from its start to the next one's (or the end)."""

    def __init__(self, log):
        self.log, self.seconds, self._current, self._since = log, {}, None, None

    def start(self, name):
        self._stop()
        self.log(f"  placing and measuring {name} ...")
        self._current, self._since = name, time.perf_counter()

    def _stop(self):
        if self._current is not None:
            self.seconds[self._current] = time.perf_counter() - self._since
            self._current = None

    def summary(self) -> str:
        """One line, for ``--verbose``: the seconds each strategy took, placing and measuring its runs."""
        self._stop()
        return "time per strategy (placing and measuring every run): " + ", ".join(
            f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())


def _verdict(rows, log):
    """One line: does the paper's claim hold, under exactly-k routing (and under independence)?"""
    baselines = [r for r in rows if r.strategy in ("random", "ring-random", "random-optimized")]
    if not baselines:
        return
    worst = min(baselines, key=lambda r: r.ratio_to_space_xnet)
    worst_ind = min(baselines, key=lambda r: r.ratio_independent)
    holds = worst.ratio_to_space_xnet >= 3.0
    holds_ind = worst_ind.ratio_independent >= 3.0
    log(f"paper's claim (space-xnet >= 3x faster than random and ablations): "
        f"{'holds' if holds else 'does not hold'} here; smallest gain {worst.ratio_to_space_xnet:.2f}x over "
        f"{worst.strategy} (independent activations: {'holds' if holds_ind else 'does not hold'}, "
        f"{worst_ind.ratio_independent:.2f}x over {worst_ind.strategy})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(command())
