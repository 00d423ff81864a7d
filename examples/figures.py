"""Figures of docs/paper_claim.md, "Does the paper's threefold claim hold?".

Writes PNGs into ``examples/figures/``:

* ``map_starlink.png`` — the subnets, gates and experts of space-xnet beside
  joint and anneal at one instant on Starlink shell 1 (``spacexnet compare --map``);
* ``cdf_starlink.png`` — the token-latency CDF of every strategy there
  (``spacexnet compare --cdf``);
* ``map_kuiper.png``, ``cdf_kuiper.png`` — the same on Kuiper 630 km;
* ``ratio_vs_skew.png`` — each baseline's ratio to space-xnet against the
  activation skew on both constellations, with the paper's 3× line (the
  numbers of ``examples/paper_claim.py`` with one activation seed).

The maps and CDFs come from the ``spacexnet compare`` command itself, run
in-process with the default scenario (llama-moe-3.5b, zipf:1.0, jetson,
laser-100g, 5 seeds), so they are exactly what a user gets from::

    spacexnet compare --map map.png --cdf cdf.png
    spacexnet compare --preset kuiper-630 --map map.png --cdf cdf.png

Run::

    python examples/figures.py            # about a minute
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import paper_claim  # noqa: E402  (the grid lives there)

OUT = HERE / "figures"
SKEW_AXIS = ("uniform", "zipf:0.5", "zipf:1.0", "zipf:1.5", "zipf:2.0", "dirichlet:1.0", "dirichlet:0.1")


def compare_figures(preset: str, stem: str) -> None:
    """``spacexnet compare --preset PRESET --map … --cdf …`` in-process."""
    from spacexnet.cli.compare import command

    args = ["--preset", preset, "--map", str(OUT / f"map_{stem}.png"), "--cdf", str(OUT / f"cdf_{stem}.png"),
            "--overwrite", "--quiet"]
    print("spacexnet compare " + " ".join(args), file=sys.stderr)
    command.main(args, standalone_mode=False)


def ratio_figure(path: Path) -> None:
    """Baseline ÷ space-xnet against activation skew, Starlink and Kuiper (one activation seed)."""
    from matplotlib.figure import Figure

    runner = paper_claim.Runner([0], n_seeds=5, n_samples=500, log=lambda msg: print(msg, file=sys.stderr))
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    # Colours as in the CDF figures of `spacexnet compare --cdf` (strategies in DEFAULT_STRATEGIES order).
    styles = {"joint": ("C1", "D"), "random": ("C2", "o"), "ring-random": ("C3", "s"),
              "random-optimized": ("C4", "^")}
    for ax, preset in zip(axes, ("starlink-shell1", "kuiper-630")):
        rows = [runner.run(paper_claim.Case(preset=preset, activation=a)) for a in SKEW_AXIS]
        rows.sort(key=lambda r: r.topk_share)
        x = [r.topk_share for r in rows]
        for name, (color, marker) in styles.items():
            ax.plot(x, [r.ratios[name] for r in rows], color=color, marker=marker, lw=1.3, label=name)
        ax.axhline(1.0, color="C0", lw=1.2, label="space-xnet (= 1)")
        ax.axhline(paper_claim.CLAIM, color="0.3", lw=1.0, ls="--", label="paper's claim (3×)")
        for r in rows:  # skew labels along the top edge, above every curve (see the y limit below)
            ax.annotate(r.case.activation, (r.topk_share, 0.98), xycoords=("data", "axes fraction"), rotation=90,
                        fontsize=7, color="0.35", ha="center", va="top")
        ax.set_title(f"{preset}, llama-moe-3.5b (4 of 16), jetson")
        ax.set_xlabel("skew: share of picks that go to the top 4 experts (0.25 = uniform)", fontsize=9)
        ax.grid(True, color="0.9", lw=0.6)
    axes[0].set_ylabel("expected latency ÷ space-xnet")
    top = max(max(line.get_ydata()) for ax in axes for line in ax.get_lines())
    axes[0].set_ylim(0, 1.3 * top)  # headroom for the skew labels
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle("Strategy ÷ space-xnet (expected token latency, exactly-k routing; > 1 slower, < 1 faster)")
    fig.savefig(path, dpi=110)


def shrink_png(path: Path, limit_bytes: int = 300_000) -> None:
    """Re-encode a PNG as 256-colour palette (no dithering) when it exceeds ``limit_bytes``.

    The maps hold thousands of small markers in a few dozen colours, so the
    palette image looks the same at a fraction of the size.
    """
    if path.stat().st_size <= limit_bytes:
        return
    from PIL import Image

    with Image.open(path) as im:
        pal = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.save(path, optimize=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only-ratio", action="store_true", help="redraw ratio_vs_skew.png only")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if not args.only_ratio:
        compare_figures("starlink-shell1", "starlink")
        compare_figures("kuiper-630", "kuiper")
    ratio_figure(OUT / "ratio_vs_skew.png")
    mine = [OUT / f"{kind}_{stem}.png" for kind in ("map", "cdf") for stem in ("starlink", "kuiper")]
    for png in [*mine, OUT / "ratio_vs_skew.png"]:
        shrink_png(png)
        print(f"{png.relative_to(HERE.parent)}  {png.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
