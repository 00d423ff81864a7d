"""The certified lower bound: its weights, its validity against every strategy, and its gain over the floor."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latency.expectation import critical_probabilities
from placement import STRATEGIES, certified_bound, evaluate, lower_bound
from placement.bound import gate_star_bound, rank_weights
from test_placement_graphs import TorusScenario, random_probs

T_GATE, T_EXP = 0.7, 1.3


@given(seed=st.integers(0, 10_000), n_experts=st.integers(1, 9))
@settings(max_examples=40, deadline=None)
def test_rank_weights_are_the_critical_probabilities_of_the_sorted_layer(seed, n_experts):
    p = random_probs(1, n_experts, min(2, n_experts), seed)[0]
    w = rank_weights(p[None, :])[0]
    # Slot k (ascending cost) holds the k-th most probable expert under the sorted rule.
    # The placement objective is the independent expectation.
    expected = critical_probabilities(np.arange(n_experts, dtype=float), -np.sort(-p), method="independent")
    np.testing.assert_allclose(w, expected, atol=1e-12)


@pytest.mark.parametrize("seed,cap,n_layers,n_experts", [(0, 1, 4, 6), (1, 2, 3, 8), (2, 1, 6, 3), (3, 3, 1, 5)])
def test_bound_holds_for_every_strategy_and_beats_the_floor(seed, cap, n_layers, n_experts):
    sc = TorusScenario(8, 10, seed=seed)
    probs = random_probs(n_layers, n_experts, 2, seed)
    kw = dict(capacity=cap, plane=sc.plane, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    bound = certified_bound(sc.arg_lat_deg, sc.path_ms, probs, **kw)
    floor = lower_bound(sc.arg_lat_deg, sc.path_ms, probs, **kw)
    assert bound.total_ms >= floor.total_ms and bound.method
    assert bound.total_ms == pytest.approx(bound.per_layer_ms.sum())
    for name, fn in STRATEGIES.items():
        if name == "lower-bound":
            continue
        pl = fn(sc.arg_lat_deg, sc.path_ms, probs, seed=0, **kw)
        assert bound.total_ms <= evaluate(pl, sc.path_ms, probs, T_GATE, T_EXP).total_ms * (1 + 1e-12), name


def test_gate_star_is_tighter_than_the_floor_when_capacity_binds():
    # One expert per satellite: two layers at each gate must reach 2E distinct satellites.
    sc = TorusScenario(8, 10, seed=4)
    zipf = 1.0 / np.arange(1, 9)
    probs = np.tile(2 * zipf / zipf.sum(), (4, 1))  # top-2 of 8, Zipf 1: weights grow with the rank
    star = gate_star_bound(sc.path_ms, probs, n_sat=sc.n_sat, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    floor = lower_bound(sc.arg_lat_deg, sc.path_ms, probs, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    assert star.total_ms > 1.5 * floor.total_ms


def test_registry_lower_bound_reports_its_method():
    sc = TorusScenario(6, 8, seed=1)
    probs = random_probs(3, 4, 2, 1)
    kw = dict(gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    registry = STRATEGIES["lower-bound"](sc.arg_lat_deg, sc.path_ms, probs, **kw)
    direct = certified_bound(sc.arg_lat_deg, sc.path_ms, probs, **kw)
    placed = evaluate(STRATEGIES["space-xnet"](sc.arg_lat_deg, sc.path_ms, probs, **kw), sc.path_ms, probs,
                      T_GATE, T_EXP)
    assert registry.method == direct.method and registry.total_ms == direct.total_ms <= placed.total_ms


def test_infeasible_capacity_is_one_clear_error():
    sc = TorusScenario(2, 3, seed=0)
    with pytest.raises(Exception, match="hold"):
        certified_bound(sc.arg_lat_deg, sc.path_ms, random_probs(2, 8, 2, 0))


def test_floor_accepts_an_oracle_with_read_only_rows():
    sc = TorusScenario(4, 5, seed=2)

    def frozen(sources):
        rows = sc.path_ms(sources)
        rows.setflags(write=False)
        return rows

    probs = random_probs(2, 3, 1, 2)
    assert lower_bound(sc.arg_lat_deg, frozen, probs).total_ms == lower_bound(sc.arg_lat_deg, sc.path_ms, probs).total_ms


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_layers=st.integers(2, 3), n_experts=st.integers(2, 4), cap=st.integers(1, 2),
       spare=st.integers(0, 3))
def test_the_capacity_relaxation_stays_below_the_optimum_when_the_model_fills_the_shell(seed, n_layers, n_experts,
                                                                                         cap, spare):
    from placement import exact_placement

    need = n_layers * (1 + -(-n_experts // cap))
    n_slots = max(3, -(-(need + spare) // 4))
    sc = TorusScenario(4, n_slots, seed=seed)
    probs = random_probs(n_layers, n_experts, min(2, n_experts), seed)
    kw = dict(capacity=cap, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    opt = exact_placement(sc.arg_lat_deg, sc.path_ms, probs, plane=sc.plane, **kw).info["objective_ms"]
    relaxed = gate_star_bound(sc.path_ms, probs, n_sat=sc.n_sat, **kw)
    star = gate_star_bound(sc.path_ms, probs, n_sat=sc.n_sat, iterations=0, **kw)
    assert star.total_ms <= relaxed.total_ms <= opt * (1 + 1e-12)


def test_the_capacity_relaxation_tightens_the_bound_when_the_model_fills_the_shell():
    """Every gate's star on the same patch is no placement when the model needs most satellites."""
    sc = TorusScenario(8, 10, seed=4)
    probs = np.full((8, 8), 0.5)  # 8 layers of 8 experts, top-4: 72 of 80 satellites
    kw = dict(gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    star = gate_star_bound(sc.path_ms, probs, n_sat=sc.n_sat, iterations=0, **kw)
    relaxed = certified_bound(sc.arg_lat_deg, sc.path_ms, probs, plane=sc.plane, **kw)
    assert relaxed.total_ms > 1.03 * star.total_ms and "capacity across gates" in relaxed.method
    for name in ("space-xnet", "joint", "anneal"):
        pl = STRATEGIES[name](sc.arg_lat_deg, sc.path_ms, probs, plane=sc.plane, seed=0, **kw)
        assert relaxed.total_ms <= evaluate(pl, sc.path_ms, probs, T_GATE, T_EXP).total_ms, name
