"""How far from optimal each placement is: four shells × six model presets, against the certified bound.

For every pair, at the shell's reference epoch: the expected token latency
(exactly-k routing, as ``spacexnet compare`` reports it) of space-xnet,
joint and anneal, each one's ratio to space-xnet, and its gap to the
certified lower bound (:func:`placement.certified_bound`; a gap of 1.15
means at most 15 % above the best placement there is). A pair whose model
does not fit on the shell (one expert per satellite, the paper's setting)
gets a row saying how many satellites it needs. Writes Markdown:

    python examples/placement_gap.py --out docs/placement_gap.md [--time-budget-s 10]
"""

from __future__ import annotations

import argparse
import sys

import placement
from placement.anneal import DEFAULT_TIME_BUDGET_S
from spacexnet.compare import compare
from spacexnet.io import atomic_write_text
from spacexnet.scenario import build_constellation, model_setup, snapshot

SHELLS = ("starlink-shell1", "kuiper-630", "oneweb", "iridium")
MODELS = ("llama-moe-3.5b", "llama-moe-3.5b-2of8", "mixtral-8x7b", "olmoe-1b-7b", "qwen3-30b-a3b", "deepseek-v3")
SHOWN = ("space-xnet", "joint", "anneal")


def rows_for(shell: str, model: str, time_budget_s, log) -> list[str]:
    setup = model_setup(model)
    constellation = build_constellation(preset=shell)
    need = placement.satellites_needed(setup.n_layers, setup.probs.shape[1], setup.experts_per_sat)
    if need > len(constellation):
        return [f"| {shell} | {model} | does not fit: needs {need:,} satellites, has {len(constellation):,} "
                "| | | | | | | | |"]
    log(f"{shell} · {model} ...")
    snap = snapshot(constellation, constellation.reference_epoch, setup)
    try:
        rows = compare(snap, setup, strategies=(*SHOWN, "lower-bound"), n_samples=100, time_budget_s=time_budget_s)
    except placement.InfeasiblePlacementError as err:
        return [f"| {shell} | {model} | does not fit: {str(err).split(';')[0]} | | | | | | | | |"]
    by = {r.strategy: r for r in rows}
    cells = [f"{by['lower-bound'].expected_ms:,.1f}"]
    for name in SHOWN:
        r = by[name]
        cells += [f"{r.expected_ms:,.1f}", f"{r.ratio_to_space_xnet:.3f}", f"{r.gap:.3f}"]
    return [f"| {shell} | {model} | " + " | ".join(cells) + " |"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="Markdown file to write (default: print).")
    parser.add_argument("--time-budget-s", type=float, default=None, help="anneal's nominal budget (default: its own).")
    parser.add_argument("--shells", default=",".join(SHELLS))
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    lines = [
        "# How far each placement is from optimal",
        "",
        "Written by `python examples/placement_gap.py --out docs/placement_gap.md`; do not edit by hand.",
        "Expected token latency under exactly-k routing (ms) at each shell's reference epoch, one expert per",
        "satellite; `÷ sx` is the ratio to space-xnet, `gap` the ratio to the certified lower bound (the best",
        "placement there is lies between the bound and the best row). "
        f"anneal's budget: {args.time_budget_s or DEFAULT_TIME_BUDGET_S:g} "
        "nominal seconds.",
        "",
        "| shell | model | bound ms | space-xnet ms | ÷ sx | gap | joint ms | ÷ sx | gap | anneal ms | ÷ sx | gap |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for shell in args.shells.split(","):
        for model in args.models.split(","):
            lines += rows_for(shell, model, args.time_budget_s, log)
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write_text(args.out, text, overwrite=True)
        log(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
