"""Cost model, Placement constraints, evaluate, capacity checks."""

import itertools

import numpy as np
import pytest

from placement import (
    InfeasiblePlacementError,
    Placement,
    PlacementError,
    check_capacity,
    evaluate,
    experts_per_satellite,
    space_xnet,
)
from test_placement_graphs import TorusScenario, random_probs


def test_evaluate_equals_enumeration_over_activation_sets():
    # Independent activations: enumerate all 2**E activation sets of each layer.
    sc = TorusScenario(seed=11)
    probs = random_probs(3, 4, 2, seed=2)
    pl = space_xnet(sc.arg_lat_deg, sc.path_ms, probs, plane=sc.plane)
    d = sc.all_pairs_ms()
    t_gate, t_exp = np.array([0.3, 0.4, 0.5]), 2.0
    ev = evaluate(pl, sc.path_ms, probs, gate_time_ms=t_gate, expert_time_ms=t_exp)
    for l in range(3):
        g, g_next = pl.gate_sat[l], pl.gate_sat[(l + 1) % 3]
        cost = d[g, pl.expert_sat[l]] + t_exp + d[pl.expert_sat[l], g_next]
        expect = 0.0
        for active in itertools.product([0, 1], repeat=4):
            a = np.array(active, bool)
            weight = np.prod(np.where(a, probs[l], 1 - probs[l]))
            expect += weight * (cost[a].max() if a.any() else 0.0)
        assert ev.per_layer_ms[l] == pytest.approx(t_gate[l] + expect, rel=1e-12)
    assert ev.total_ms == pytest.approx(ev.per_layer_ms.sum())


def test_evaluate_calls_the_oracle_once_with_the_gates():
    sc = TorusScenario(seed=1)
    probs = random_probs(4, 3, 1, seed=0)
    pl = space_xnet(sc.arg_lat_deg, sc.path_ms, probs)
    sc.calls = sc.sources = 0
    evaluate(pl, sc.path_ms, probs)
    assert (sc.calls, sc.sources) == (1, 4)


def test_check_catches_each_violation():
    sub = np.array([0, 0, 0, 1, 1, 1])
    good = Placement(sub, np.array([0, 3]), np.array([[1, 2], [4, 5]]), "t")
    good.check()
    with pytest.raises(PlacementError, match="gate satellite 0 of layer 0 also hosts experts"):
        Placement(sub, np.array([0, 3]), np.array([[0, 2], [4, 5]]), "t").check()
    with pytest.raises(PlacementError, match="satellite 2 hosts 2 experts, capacity 1"):
        Placement(sub, np.array([0, 3]), np.array([[2, 2], [4, 5]]), "t").check()
    Placement(sub, np.array([0, 3]), np.array([[2, 2], [4, 5]]), "t").check(capacity=2)
    with pytest.raises(PlacementError, match="outside subnet 0"):
        Placement(sub, np.array([0, 3]), np.array([[1, 4], [2, 5]]), "t").check()
    with pytest.raises(PlacementError, match="share a gate"):
        Placement(sub, np.array([0, 0]), np.array([[1, 2], [4, 5]]), "t").check()
    with pytest.raises(PlacementError, match="ineligible"):
        good.check(eligible=np.array([1, 0, 1, 1, 1, 1], bool))


def test_experts_per_satellite_floors_and_refuses_zero():
    assert experts_per_satellite(80e9, 8e9, 1.5e9) == 48
    with pytest.raises(InfeasiblePlacementError, match=r"memory 1e\+09 B − reserved 9e\+08 B = 1e\+08 B < one expert of 2e\+08 B"):
        experts_per_satellite(1e9, 9e8, 2e8)


def test_check_capacity_reports_subnet_size_experts_and_capacity():
    sub = np.repeat(np.arange(4), [5, 5, 3, 5])
    check_capacity(sub, n_experts=8, capacity=4)  # subnet 2: 2 × 4 = 8 slots, just enough
    with pytest.raises(InfeasiblePlacementError) as err:
        check_capacity(sub, n_experts=8, capacity=3)  # subnet 2: 2 × 3 = 6 < 8
    msg = str(err.value)
    for piece in ("subnet 2 has 3 satellites", "capacity 3", "= 6 expert slots", "layer 2 has 8 experts",
                  "at least 4 satellites", "1 of 4 subnets"):
        assert piece in msg, (piece, msg)


def test_space_xnet_fails_before_any_shortest_path():
    sc = TorusScenario(seed=0)  # 48 satellites
    probs = random_probs(8, 6, 2, seed=0)  # 6 satellites per subnet: 1 gate + 5 < 6 experts
    with pytest.raises(InfeasiblePlacementError, match="subnet 0 has 6 satellites .* 6 experts"):
        space_xnet(sc.arg_lat_deg, sc.path_ms, probs)
    assert sc.calls == 0
    space_xnet(sc.arg_lat_deg, sc.path_ms, probs, capacity=2).check(capacity=2)


def test_bad_inputs_name_value_and_fix():
    sc = TorusScenario(seed=0)
    with pytest.raises(PlacementError, match=r"probs\[0, 1\] = 1.5 is not a probability"):
        space_xnet(sc.arg_lat_deg, sc.path_ms, [[0.5, 1.5]])
    with pytest.raises(PlacementError, match="whole number of experts"):
        space_xnet(sc.arg_lat_deg, sc.path_ms, [[0.5, 0.5]], capacity=1.5)
    with pytest.raises(PlacementError, match=r"must return shape"):
        space_xnet(sc.arg_lat_deg, lambda s: np.zeros((1, 3)), [[0.5, 0.5]])
    with pytest.raises(PlacementError, match="never NaN"):
        space_xnet(sc.arg_lat_deg, lambda s: np.full((len(s), sc.n_sat), np.nan), [[0.5, 0.5]])


def test_placement_never_imports_orbits_sgp4_or_numba():
    import subprocess
    import sys

    code = ("import sys, placement; "
            "print([m for m in sys.modules if m.split('.')[0] in ('orbits', 'sgp4', 'numba')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
