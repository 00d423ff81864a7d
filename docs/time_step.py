"""The time-step table of docs/accuracy.md: ``spacexnet check-step`` at 1, 10 and 60 s, with and without a cut-off.

Runs :func:`spacexnet.accuracy.step_error` (what ``spacexnet check-step`` prints)
on the default scenario, with the default link rules and with inter-plane
links cut above a latitude, and prints the table and the sentences
that read it. ``python docs/build.py`` pastes the output into docs/accuracy.md.

Usage::

    python docs/time_step.py [--steps 1,10,60] [--cutoff-deg 50]
"""

from __future__ import annotations

import argparse
import inspect

from spacexnet.accuracy import step_error
from spacexnet.scenario import build_constellation, model_setup


def measure(steps_s, cutoff_deg):
    """{step: (default rules, with cut-off)} budgets on the default preset and model."""
    constellation, setup = build_constellation(), model_setup()
    return {step: (step_error(constellation, setup, step),
                   step_error(constellation, setup, step, link_rules={"latitude_cutoff_deg": cutoff_deg}))
            for step in steps_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="1,10,60", help="steps to check, s")
    ap.add_argument("--cutoff-deg", type=float, default=50.0, help="latitude above which inter-plane links are cut")
    args = ap.parse_args(argv)
    steps = [float(s) for s in args.steps.split(",")]
    cut = f"{args.cutoff_deg:g}°"
    budgets = measure(steps, args.cutoff_deg)
    defaults = inspect.signature(step_error).parameters
    window, refine = defaults["window_steps"].default, defaults["refine"].default
    print(f"The error budget of a step comes from `spacexnet check-step --step-s S`. It fixes one "
          f"Space-XNet placement at the start of a window of {window} steps and follows it on the chosen step "
          f"and on one {refine}× finer. Measured on the default scenario (Starlink shell 1 with llama-moe-3.5b), "
          f"on the default rules (no latitude cut-off) and with inter-plane links cut above {cut} "
          f"(`--latitude-cutoff-deg {args.cutoff_deg:g}`, where links switch):\n")
    print("| step | latency change per step (ms) | latency interpolation error (ms) | ISL length change per step "
          f"(km) | ISL interpolation error (km) | with {cut} cut-off: change per step (ms) | with cut-off: "
          "interpolation error (ms) | with cut-off: switches missed |")
    print("|---|---|---|---|---|---|---|---|")
    for step, (plain, cutoff) in budgets.items():
        print(f"| {step:g} s | {plain.latency_change_per_step_ms:.3f} | {plain.latency_interp_error_ms:.3f} | "
              f"{plain.link_change_per_step_km:.3f} | {plain.link_interp_error_km:.3f} | "
              f"{cutoff.latency_change_per_step_ms:.3f} | {cutoff.latency_interp_error_ms:.3f} | "
              f"{cutoff.link_switches_missed} of {cutoff.link_switches_fine} |")
    default_step = 10.0 if 10.0 in budgets else steps[0]
    plain, cutoff = budgets[default_step]
    missed = sum(c.link_switches_missed for _, c in budgets.values())
    print(f"\nWith the default rules the geometry is smooth: at {default_step:g} s steps, token latency is within "
          f"{1e3 * plain.latency_interp_error_ms:.0f} µs of a {plain.fine_step_s:g} s grid. With a latitude "
          f"cut-off, links switch and latency jumps at a switch (up to {cutoff.latency_change_per_step_ms:.1f} ms "
          f"between {default_step:g} s steps here). A step then places each switch to within its own length, and "
          "short outages can be missed; this is what `switches missed` counts "
          + ("(none here)." if missed == 0 else f"({missed} in all here)."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
