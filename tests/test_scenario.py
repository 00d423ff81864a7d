"""The model setup: the arguments it gives every placement strategy."""

from __future__ import annotations

import numpy as np

import latency
import placement
from spacexnet.compare import place
from spacexnet.scenario import LargestComponent, build_constellation, largest_component, model_setup, snapshot


def test_strategy_kwargs_carry_each_layers_compute_times_and_capacity():
    setup = model_setup("llama-moe-3.5b-2of8", experts_per_sat=2)
    plane = np.arange(6)
    kw = setup.strategy_kwargs(plane, belt_planes=3)
    times = setup.times.broadcast(setup.n_layers)
    assert kw["capacity"] == 2 and kw["plane"] is plane and kw["belt_planes"] == 3 and "eligible" not in kw
    np.testing.assert_array_equal(kw["gate_time_ms"], times.dispatch_ms)
    np.testing.assert_array_equal(kw["expert_time_ms"], np.ravel(times.expert_ms)[:setup.n_layers])
    eligible = np.ones(6, dtype=bool)
    assert setup.strategy_kwargs(plane, eligible=eligible)["eligible"] is eligible


def test_place_hands_the_strategy_what_the_setup_builds():
    setup = model_setup("llama-moe-3.5b-2of8")
    snap = snapshot(build_constellation(walker="53:360/18/1", altitude_km=550), "2026-01-01T00:00Z", setup)
    for name in ("space-xnet", "ring-random"):
        direct = placement.STRATEGIES[name](snap.arg_lat_deg, snap.path_ms, setup.probs, seed=1,
                                            **setup.strategy_kwargs(snap.plane, eligible=snap.eligible))
        got = place(snap, setup, name, seed=1)
        np.testing.assert_array_equal(got.gate_sat, direct.gate_sat)
        np.testing.assert_array_equal(got.expert_sat, direct.expert_sat)


def test_the_largest_component_along_steps_is_found_again_when_links_or_valid_satellites_change():
    # Six satellites; each step's graph and valid satellites, and the part expected.
    steps = [
        ([0, 1, 3], [1, 2, 4], [True] * 3, [True] * 6),  # 0-1-2 beats 3-4
        ([0, 1, 3], [1, 2, 4], [True] * 3, [True] * 6),  # the same: kept
        ([0, 1, 3], [1, 2, 4], [True, False, True], [True] * 6),  # 1-2 down: 0-1 ties 3-4, the first wins
        ([0, 1, 3, 4], [1, 2, 4, 5], [True, False, True, True], [True] * 6),  # 3-4-5 now
        ([0, 1, 3, 4], [1, 2, 4, 5], [True, False, True, True], [True, True, True, False, True, True]),
    ]
    parts = LargestComponent()
    for a, b, up, valid in steps:
        graph = latency.RoutingGraph.from_links(a, b, np.full(len(a), 1000.0), up, 6, None, 0)
        valid = np.array(valid)
        got = parts(graph, valid)
        np.testing.assert_array_equal(got, largest_component(graph, valid))
        got[:] = False  # the caller's copy: the next step's answer is not changed
