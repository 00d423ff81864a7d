"""The README's worked example: run the default sweep as a user does and say what its table shows.

Runs ``spacexnet sweep --out sweep.nc`` (in a scratch folder, with this
interpreter), prints the summary table it printed, then reads ``sweep.nc``
and prints the numbers the README's reading of the table rests on: the
latency split, the tail, what re-placing gains and what it moves. Every
number of the section comes from this one run; ``python docs/build.py``
pastes the output into README.md.

Usage::

    python docs/worked_example.py [SWEEP ARGS...]   # extra arguments go to spacexnet sweep
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

COMMAND = ["sweep", "--out", "sweep.nc"]


def run_sweep(folder: Path, extra: list[str]) -> str:
    """The summary table ``spacexnet sweep`` prints on stdout; the dataset is left in ``folder``."""
    done = subprocess.run([sys.executable, "-m", "spacexnet", *COMMAND, *extra], cwd=folder, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worked_example.py: spacexnet sweep failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def reading(ds: xr.Dataset) -> list[str]:
    """The bullets that read the table, each number taken from the dataset ``ds``."""
    static, recompute = ds.sel(policy="static"), ds.sel(policy="recompute")
    token_ms = float(static["token_latency_expected_ms"].mean())
    part = {name: float(static[f"{name}_ms"].mean()) for name in ("propagation", "transmission", "forwarding",
                                                                   "compute")}
    tail = float(static["token_latency_p99_ms"].mean()) / token_ms - 1
    excess = static["token_latency_expected_ms"] / recompute["token_latency_expected_ms"] - 1
    gain_ms = float((static["token_latency_expected_ms"] - recompute["token_latency_expected_ms"]).mean())
    moves = recompute["migrations"].values[1:]  # the first step places; it moves nothing
    tb = float(recompute["bytes_moved"].sum()) / 1e12
    hours = (ds["time"].values[-1] - ds["time"].values[0]) / np.timedelta64(1, "h")
    lines = [
        f"- **Network-bound.** One token takes {token_ms:,.1f} ms ({1e3 / token_ms:.2f} tokens/s) with the "
        f"static placement. Of that, {part['propagation']:,.1f} ms is light time along the ISLs, "
        f"{part['forwarding']:.1f} ms per-hop forwarding and {part['transmission']:.1f} ms transmission. "
        f"The {ds.sizes['layer']} layers each make a round trip from their gate out to the experts and on to "
        f"the next gate. Compute on the critical path is {part['compute']:.1f} ms "
        "(see [docs/model.md](docs/model.md#latency-model)).",
        f"- **Tail.** The p99 (top-k routing, Monte Carlo) is {100 * tail:.0f}% above the expectation. It comes "
        "from tokens that pick an expert far from its gate.",
        f"- **Static.** Placing once and keeping the placement costs {100 * float(excess.mean()):.2f}% on "
        f"average and at most {100 * float(excess.max()):.2f}% at a step over `recompute`. The ring "
        "partition runs in a frame that turns with the shell, so a subnet keeps its satellites; latency varies "
        "because inter-plane links shorten and lengthen with latitude.",
        f"- **Recompute.** Placing afresh at every step, and switching only when the fresh placement is faster "
        f"than the serving one, gains {gain_ms:.1f} ms a token on average and moves "
        f"{moves.mean():.0f} experts and gates a step: {tb:.2f} TB over the {hours:.2f} h sweep.",
    ]
    handover = ds.sel(policy="handover")
    price, hysteresis = float(ds.attrs["migration_price"]), float(ds.attrs["min_gain_ratio"])
    moved = int(handover["migrations"].sum())
    verdict = ("no move pays off, so handover keeps the static placement" if moved == 0 else
               f"handover moves {moved:,} experts and gates ({float(handover['bytes_moved'].sum()) / 1e9:,.1f} GB)"
               f" for a mean of {float(handover['token_latency_expected_ms'].mean()):,.1f} ms a token")
    lines.append(f"- **Handover.** With the default price ({price:g} decode-second per ISL-second) and the "
                 f"{100 * hysteresis:g}% hysteresis, {verdict}. `--migration-price` and `--min-gain` change that "
                 "trade-off.")
    return lines


def main(argv=None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="worked-example-") as tmp:
        table = run_sweep(Path(tmp), extra)
        with xr.open_dataset(Path(tmp) / "sweep.nc") as ds:
            steps, step_s = ds.sizes["time"], float(ds.attrs["step_s"])
            bullets = reading(ds)
    command = " ".join(["spacexnet", *COMMAND, *extra])
    print(f"The main job, as measured (`{command}`, {steps} steps of {step_s:g} s):\n")
    print("```text\n" + table.rstrip("\n") + "\n```\n")
    print("What the table says:\n")
    print("\n".join(bullets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
