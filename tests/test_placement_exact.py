"""The exact solver against brute force, and exact ≥ bound, ≤ every strategy, on random small instances."""

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import STRATEGIES, Placement, evaluate
from placement.bound import certified_bound
from placement.exact import exact_placement, ring_milp
from placement.experts import sorted_expected_max
from test_placement_graphs import TorusScenario, random_probs

T_GATE, T_EXP = 0.7, 1.3


def brute_force_ms(dist, probs, cap, t_gate, t_exp):
    """Least expected token latency over every gate ring and every expert assignment (tiny cases)."""
    n = dist.shape[0]
    n_layers, n_experts = probs.shape
    best = np.inf
    for ring in itertools.permutations(range(n), n_layers):
        ring = np.array(ring)
        costs = dist[ring] + dist[np.roll(ring, -1)] + t_exp
        hosts = [s for s in range(n) if s not in ring]
        for flat in itertools.product(hosts, repeat=n_layers * n_experts):
            load = np.bincount(flat, minlength=n)
            if (load > cap).any():
                continue
            sat = np.array(flat).reshape(n_layers, n_experts)
            pl = Placement(np.full(n, -1), ring, sat, "brute", experts_confined=False)
            total = evaluate(pl, lambda s: dist[np.asarray(s)], probs, t_gate, t_exp).total_ms
            best = min(best, total)
    return best


@pytest.mark.parametrize("seed,n_planes,n_slots,n_layers,n_experts,cap", [
    (0, 2, 3, 2, 2, 1), (1, 2, 3, 2, 2, 2), (2, 3, 2, 3, 1, 1), (3, 2, 3, 1, 3, 1), (4, 2, 3, 2, 2, 1),
])
def test_exact_equals_brute_force(seed, n_planes, n_slots, n_layers, n_experts, cap):
    sc = TorusScenario(n_planes, n_slots, seed=seed)
    probs = random_probs(n_layers, n_experts, 1, seed)
    pl = exact_placement(sc.arg_lat_deg, sc.path_ms, probs, capacity=cap, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    pl.check(capacity=cap)
    value = evaluate(pl, sc.path_ms, probs, T_GATE, T_EXP).total_ms
    assert value == pytest.approx(pl.info["objective_ms"], rel=1e-12)
    assert value == pytest.approx(brute_force_ms(sc.all_pairs_ms(), probs, cap, T_GATE, T_EXP), rel=1e-12)


def test_ring_milp_needs_the_order_constraints():
    # Weights that grow with the rank: without ordering, the MILP would give rank 2 (weight 0.5) the
    # cheap slot and report 0.25·3 + 0.5·1 = 1.25, below the true sorted value 0.25·1 + 0.5·3 = 1.75.
    slots = ring_milp(np.array([[1.0, 3.0]]), np.array([1, 1]), np.array([[0.25, 0.5]]))
    assert slots.tolist() == [[0, 1]]


def test_ring_milp_shares_capacity_as_well_as_brute_force():
    rng = np.random.default_rng(5)
    probs = random_probs(3, 2, 1, 5)
    for _ in range(20):
        costs = rng.uniform(1, 9, size=(3, 5))
        free = rng.integers(0, 3, size=5)
        free[0] = 2
        slots = ring_milp(costs, free, np.ones((3, 2)))
        one = np.ones(2, dtype=np.int64)

        def value(sats):
            return sum(sorted_expected_max(costs[l][list(sats[l])][None, :], one, probs[l])[0][0] for l in range(3))

        best = np.inf
        for flat in itertools.product(range(5), repeat=6):
            if (np.bincount(flat, minlength=5) <= free).all():
                best = min(best, value(np.array(flat).reshape(3, 2)))
        if not np.isfinite(best):
            assert slots is None
            continue
        from placement.bound import rank_weights
        slots = ring_milp(costs, free, rank_weights(probs))
        assert (np.bincount(slots.ravel(), minlength=5) <= free).all()
        assert value(slots) == pytest.approx(best, rel=1e-12)


def test_too_large_instances_are_refused():
    sc = TorusScenario(6, 8, seed=0)
    with pytest.raises(Exception, match="max_rings"):
        exact_placement(sc.arg_lat_deg, sc.path_ms, random_probs(5, 2, 1, 0))


PLACERS = [n for n in STRATEGIES if n != "lower-bound"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_planes=st.integers(3, 4), n_slots=st.integers(3, 5),
       n_layers=st.integers(2, 3), n_experts=st.integers(2, 4), cap=st.integers(1, 2), top_k=st.integers(1, 2))
def test_bound_below_exact_below_every_strategy(seed, n_planes, n_slots, n_layers, n_experts, cap, top_k):
    sc = TorusScenario(n_planes, n_slots, seed=seed)
    if n_layers * (1 + -(-n_experts // cap)) > sc.n_sat:
        return
    probs = random_probs(n_layers, n_experts, min(top_k, n_experts), seed)
    kw = dict(capacity=cap, gate_time_ms=T_GATE, expert_time_ms=T_EXP, plane=sc.plane)
    best = exact_placement(sc.arg_lat_deg, sc.path_ms, probs, **kw)
    best.check(capacity=cap)
    opt = evaluate(best, sc.path_ms, probs, T_GATE, T_EXP).total_ms
    bound = certified_bound(sc.arg_lat_deg, sc.path_ms, probs, **kw).total_ms
    assert bound <= opt * (1 + 1e-12)
    for name in PLACERS:
        try:
            pl = STRATEGIES[name](sc.arg_lat_deg, sc.path_ms, probs, seed=0, **kw)
        except Exception as err:  # the ring partition may not fit a tight instance; the optimum still exists
            assert "InfeasiblePlacementError" in type(err).__name__
            continue
        assert opt <= evaluate(pl, sc.path_ms, probs, T_GATE, T_EXP).total_ms * (1 + 1e-12), name


def small_instances(n):
    rng = np.random.default_rng(2026)
    for i in range(n):
        n_planes, n_slots = int(rng.integers(3, 5)), int(rng.integers(3, 5))
        n_layers, n_experts, cap = int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(1, 3))
        sc = TorusScenario(n_planes, n_slots, seed=i)
        if n_layers * (1 + -(-n_experts // cap)) > sc.n_sat:
            continue
        yield sc, random_probs(n_layers, n_experts, min(2, n_experts), i), cap


def test_anneal_finds_the_optimum_on_most_small_instances():
    from placement import anneal

    found = total = 0
    for sc, probs, cap in small_instances(30):
        kw = dict(capacity=cap, gate_time_ms=T_GATE, expert_time_ms=T_EXP, plane=sc.plane)
        opt = exact_placement(sc.arg_lat_deg, sc.path_ms, probs, **kw).info["objective_ms"]
        pl = anneal(sc.arg_lat_deg, sc.path_ms, probs, seed=0, time_budget_s=0.05, **kw)
        pl.check(capacity=cap)
        value = evaluate(pl, sc.path_ms, probs, T_GATE, T_EXP).total_ms
        assert value == pytest.approx(pl.info["objective_ms"], rel=1e-12)
        assert opt <= value * (1 + 1e-12) and value <= pl.info["joint_ms"] * (1 + 1e-12)
        total += 1
        found += value <= opt * (1 + 1e-9)
    print(f"anneal found the exact optimum on {found} of {total} instances")
    assert total >= 20 and found >= 0.8 * total


def test_anneal_is_deterministic_for_a_seed():
    from placement import anneal

    sc = TorusScenario(6, 8, seed=3)
    probs = random_probs(4, 5, 2, 3)
    runs = [anneal(sc.arg_lat_deg, sc.path_ms, probs, seed=7, time_budget_s=0.02, capacity=2) for _ in range(2)]
    assert np.array_equal(runs[0].gate_sat, runs[1].gate_sat)
    assert np.array_equal(runs[0].expert_sat, runs[1].expert_sat)
    assert runs[0].info == runs[1].info


@pytest.mark.parametrize("budget", [-1.0, float("nan"), "5"])
def test_anneal_refuses_a_bad_budget(budget):
    from placement import PlacementError, anneal

    sc = TorusScenario(3, 4, seed=0)
    with pytest.raises(PlacementError, match="time_budget_s"):
        anneal(sc.arg_lat_deg, sc.path_ms, random_probs(2, 2, 1, 0), time_budget_s=budget)
