"""Benchmark: the gate choice's Numba kernels against their NumPy twins, on a real step, in one run.

The gate choice scores every pair of candidate gates
(:func:`placement.gates._layer_costs`, kernel ``gate_pair_costs``) and the
gate bound asks, at every step of a sweep, for the cheapest cycle through
each candidate (:func:`placement.gate_bound.cheapest_cycle_through`, kernel
``cycle_through``). Their NumPy twins (``_layer_costs_numpy`` in the
package, ``cheapest_cycle_through_numpy`` in ``tests/test_gate_bound.py``)
are what the tests (``tests/test_gate_kernel.py``,
``tests/test_gate_bound.py``) check the kernels against; this script checks that too, on the inputs of one
real placement (Starlink shell 1 at its reference epoch, llama-moe-3.5b),
and prints each kernel's time per call and the twin's, best of several
repeats, and the ratio.

Run: ``python bench/gate_kernels.py [--repeat 200]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import placement  # noqa: E402
from placement import gate_bound, gates  # noqa: E402
from spacexnet.scenario import build_constellation, model_setup, snapshot  # noqa: E402


def _cycle_twin():
    """The cheapest-cycle-through twin, from the test that keeps it."""
    spec = importlib.util.spec_from_file_location("_gate_bound_twins", ROOT / "tests" / "test_gate_bound.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cheapest_cycle_through_numpy


def _captured_pair_inputs(constellation, setup):
    """The arguments of the gate pair scoring in one space-xnet placement of the shell's first instant."""
    snap = snapshot(constellation, constellation.reference_epoch, setup)
    captured = []
    scoring = gates._layer_costs

    def spy(*args):
        captured.append(args)
        return scoring(*args)

    gates._layer_costs = spy
    try:
        placement.space_xnet(snap.arg_lat_deg, snap.path_ms, setup.probs,
                             **setup.strategy_kwargs(snap.plane, eligible=snap.eligible))
    finally:
        gates._layer_costs = scoring
    return captured[-1]


def _best_s(fn, repeat):
    fn()  # the first call compiles a kernel
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls of each; the best is printed")
    args = parser.parse_args(argv)
    c, setup = build_constellation(), model_setup()
    rows, src, members, cand, cap, p_desc = _captured_pair_inputs(c, setup)
    n_layers, k = cand.shape
    print(f"Starlink shell 1, {len(c)} satellites; {setup.model.name}: {n_layers} layers, {k} candidate gates each, "
          f"{p_desc.shape[1]} experts; best of {args.repeat} calls")

    kernel_f = gates._layer_costs(rows, src, members, cand, cap, p_desc)
    twin_f = gates._layer_costs_numpy(rows, src, members, cand, cap, p_desc)
    assert np.array_equal(kernel_f, twin_f), "gate pair costs: the kernel and its twin differ"
    cycle_twin = _cycle_twin()
    kernel_through = gate_bound.cheapest_cycle_through(kernel_f)
    assert np.array_equal(kernel_through, cycle_twin(kernel_f)), \
        "cheapest cycle through each candidate: the kernel and its twin differ"

    cases = [
        (f"gate pair costs ({n_layers}·{k}·{k} pairs)",
         lambda: gates._layer_costs(rows, src, members, cand, cap, p_desc),
         lambda: gates._layer_costs_numpy(rows, src, members, cand, cap, p_desc)),
        ("cheapest cycle through each candidate",
         lambda: gate_bound.cheapest_cycle_through(kernel_f),
         lambda: cycle_twin(kernel_f)),
    ]
    print(f"{'':<42}{'kernel':>12}{'NumPy twin':>14}{'twin ÷ kernel':>16}")
    for label, kernel, twin in cases:
        t_kernel, t_twin = _best_s(kernel, args.repeat), _best_s(twin, args.repeat)
        print(f"{label:<42}{1e6 * t_kernel:9.1f} µs{1e6 * t_twin:11.1f} µs{t_twin / t_kernel:15.1f}×")
    print("same numbers from kernel and twin: yes")


if __name__ == "__main__":
    main()
