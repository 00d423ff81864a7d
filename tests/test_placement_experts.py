"""The paper's sorted rule against brute force of the exact expected maximum."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latency.expectation import expected_max
from placement import InfeasiblePlacementError, assign_experts
from placement.experts import cheapest_slot_costs, fill_sorted


def brute_force_ms(costs, probs, capacity):
    """Smallest E[max] over every assignment of experts to satellites within capacity."""
    n, e = costs.size, probs.size
    # All n**e assignments; a satellite is over capacity when it appears
    # capacity + 1 times, i.e. when sorted entries i and i + capacity agree.
    every = np.indices((n,) * e, dtype=np.int8).reshape(e, -1).T
    s = np.sort(every, axis=1)
    ok = (s[:, capacity:] != s[:, :-capacity]).all(axis=1) if capacity < e else np.ones(len(s), bool)
    return float(expected_max(costs[every[ok]], probs[None, :], method="independent").min())


def value_ms(costs, probs, assignment):
    return float(expected_max(costs[assignment], probs, method="independent"))


@st.composite
def instances(draw, max_experts=5, max_sats=8):
    cap = draw(st.sampled_from([1, 2]))
    n = draw(st.integers(1, max_sats))
    e = draw(st.integers(1, min(max_experts, n * cap)))
    # Integer-valued costs make ties common, the hard case for tie handling.
    costs = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=float)
    probs = np.array(draw(st.lists(st.floats(0, 1), min_size=e, max_size=e)))
    return costs, probs, cap


@settings(max_examples=120, deadline=None)
@given(instances())
def test_sorted_rule_equals_brute_force(case):
    costs, probs, cap = case
    got = assign_experts(costs, probs, capacity=cap)
    assert np.bincount(got, minlength=costs.size).max() <= cap
    assert value_ms(costs, probs, got) == pytest.approx(brute_force_ms(costs, probs, cap), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("n_sats, n_experts, cap", [(10, 6, 1), (5, 8, 2), (4, 8, 2)])
def test_sorted_rule_equals_brute_force_at_the_largest_sizes(n_sats, n_experts, cap):
    # Up to 8 experts, up to 10 satellites, capacity 1 and 2.
    rng = np.random.default_rng(n_sats * 100 + n_experts)
    for _ in range(2):
        costs = rng.uniform(1, 30, n_sats)
        probs = rng.dirichlet(np.ones(n_experts)) * min(2, n_experts)
        probs = np.clip(probs, 0, 1)
        got = assign_experts(costs, probs, capacity=cap)
        assert value_ms(costs, probs, got) == pytest.approx(brute_force_ms(costs, probs, cap), rel=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_sorted_rule_is_also_optimal_under_exactly_k_routing(seed):
    # Exchange argument: under the CB law, P(i in, j out, rest T) / P(j in, i out, T) = w_i / w_j for
    # every T, and a more frequent expert has a larger weight: it belongs on the cheaper satellite.
    from latency import cap_probabilities

    rng = np.random.default_rng(seed)
    n_sats, n_experts, cap = int(rng.integers(3, 7)), int(rng.integers(2, 6)), int(rng.integers(1, 3))
    n_experts = min(n_experts, n_sats * cap)
    costs = rng.integers(0, 12, n_sats).astype(float)  # ties
    probs = cap_probabilities(rng.uniform(0.05, 1, n_experts) ** 2, int(rng.integers(1, n_experts + 1)))
    got = assign_experts(costs, probs, capacity=cap)
    every = np.indices((n_sats,) * n_experts, dtype=np.int8).reshape(n_experts, -1).T
    s = np.sort(every, axis=1)
    ok = (s[:, cap:] != s[:, :-cap]).all(axis=1) if cap < n_experts else np.ones(len(s), bool)
    best = float(expected_max(costs[every[ok]], probs[None, :]).min())
    assert float(expected_max(costs[got], probs)) == pytest.approx(best, rel=1e-12, abs=1e-12)


def test_cap1_eight_experts_ten_satellites_against_all_injections():
    # 10!/2! = 1.8 M injective assignments: the largest case tested.
    rng = np.random.default_rng(7)
    costs = rng.uniform(1, 30, 10)
    probs = np.clip(rng.dirichlet(np.ones(8)) * 2, 0, 1)
    got = value_ms(costs, probs, assign_experts(costs, probs))
    best = np.inf
    perms = np.array(list(itertools.permutations(range(10), 8)), dtype=np.int8)
    for chunk in np.array_split(perms, 8):
        best = min(best, float(expected_max(costs[chunk], probs[None, :], method="independent").min()))
    assert got == pytest.approx(best, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(instances(max_experts=8, max_sats=10), st.integers(0, 2**32 - 1))
def test_sorted_rule_never_worse_than_a_random_feasible_assignment(case, seed):
    costs, probs, cap = case
    rng = np.random.default_rng(seed)
    slots = np.repeat(np.arange(costs.size), cap)
    other = slots[rng.permutation(slots.size)[: probs.size]]
    assert value_ms(costs, probs, assign_experts(costs, probs, cap)) <= value_ms(costs, probs, other) + 1e-12


def test_paper_rule_on_a_worked_example():
    # Experts by probability: 1 (0.9), 3 (0.6), 2 (0.4), 0 (0.1);
    # satellites by cost: 3 (1 ms), 1 (3 ms), 2 (5 ms), 0 (7 ms).
    got = assign_experts([7.0, 3.0, 5.0, 1.0], [0.1, 0.9, 0.4, 0.6])
    assert got.tolist() == [0, 3, 2, 1]


def test_per_satellite_capacity_and_unreachable_last():
    got = assign_experts([1.0, np.inf, 2.0], [0.5, 0.4, 0.3], capacity=np.array([1, 5, 1]))
    assert got.tolist() == [0, 2, 1]


def test_ties_are_deterministic():
    a = assign_experts(np.ones(5), np.full(3, 0.5))
    assert a.tolist() == [0, 1, 2]


def test_infeasible_names_the_numbers():
    with pytest.raises(InfeasiblePlacementError, match="3 candidate satellites hold 3 experts .* the layer has 4 experts"):
        assign_experts([1.0, 2.0, 3.0], [0.1] * 4)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.integers(60, 400), st.integers(0, 2**32 - 1))
def test_large_candidate_sets_match_a_plain_stable_sort(n_experts, n_sats, seed):
    # Large rows take the O(n) selection path; it must give the same slots,
    # tie order included, as filling slots along a stable sort of the costs.
    rng = np.random.default_rng(seed)
    costs = rng.integers(0, 6, n_sats).astype(float)
    costs[rng.random(n_sats) < 0.05] = np.inf
    free = rng.integers(0, 3, n_sats)
    free[0] = n_experts  # always feasible
    probs = rng.random(n_experts)
    order = np.argsort(costs, kind="stable")
    slots = np.repeat(order, free[order])[:n_experts]
    expect = np.empty(n_experts, dtype=np.int64)
    expect[np.argsort(-probs, kind="stable")] = slots
    np.testing.assert_array_equal(assign_experts(costs, probs, capacity=free), expect)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12), st.integers(1, 60), st.sampled_from([1, 2, 3]), st.integers(0, 2**32 - 1))
def test_cheapest_slot_costs_equal_the_sorted_rules_slots(n_experts, n_sats, max_cap, seed):
    # The gate DP only needs the slot costs; they must be the sorted rule's, bit for bit,
    # ties, inf costs and satellites without room included.
    rng = np.random.default_rng(seed)
    costs = rng.integers(0, 5, (7, n_sats)).astype(float) + rng.choice([0.0, 0.1], (7, n_sats))
    costs[rng.random(costs.shape) < 0.1] = np.inf
    free = rng.integers(0, max_cap + 1, (7, n_sats))
    slot_sat, feasible = fill_sorted(costs, free, n_experts)
    got, got_feasible = cheapest_slot_costs(costs, free, n_experts)
    np.testing.assert_array_equal(got_feasible, feasible)
    np.testing.assert_array_equal(got[feasible], np.take_along_axis(costs, slot_sat, axis=1)[feasible])
