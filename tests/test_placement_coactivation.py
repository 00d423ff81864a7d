"""Co-activation-aware refinement on router traces."""

import itertools

import numpy as np
import pytest

from placement import Placement, PlacementError, coactivation, lower_bound, evaluate, space_xnet, trace_latency_ms
from test_placement_graphs import TorusScenario, random_probs


def topk_traces(n_tokens, n_layers, n_experts, top_k, seed):
    """Router-like traces: k distinct experts per token by Gumbel top-k on a popularity law.

    Exactly k experts fire, so activations are negatively correlated: the
    independent model is only an approximation of these traces.
    """
    rng = np.random.default_rng(seed)
    log_pop = np.log(rng.dirichlet(np.ones(n_experts), size=n_layers))
    keys = log_pop[None, :, :] + rng.gumbel(size=(n_tokens, n_layers, n_experts))
    return np.argsort(-keys, axis=2)[:, :, :top_k]


def clique_traces(n_tokens, n_layers, n_experts, top_k, seed, share=0.6):
    """Top-k traces in which a share of tokens fire a fixed clique of k experts.

    Models experts that specialise together (a topic's experts fire as a
    group), on top of router-like noise: the co-activation the independent
    model cannot see.
    """
    rng = np.random.default_rng(seed)
    out = topk_traces(n_tokens, n_layers, n_experts, top_k, seed + 1000)
    for l in range(n_layers):
        groups = rng.permutation(n_experts)[: (n_experts // top_k) * top_k].reshape(-1, top_k)
        weights = rng.dirichlet(np.ones(len(groups)))
        use = rng.random(n_tokens) < share
        out[use, l] = groups[rng.choice(len(groups), size=int(use.sum()), p=weights)]
    return out


def empirical_probs(traces, n_experts):
    n_tokens, n_layers, _ = traces.shape
    return np.stack([np.bincount(traces[:, l].ravel(), minlength=n_experts) / n_tokens for l in range(n_layers)])


@pytest.mark.parametrize("seed", range(4))
def test_never_worse_than_its_start_and_two_opt_optimal(seed):
    sc = TorusScenario(6, 8, seed=seed)
    tr = clique_traces(300, 3, 6, 2, seed)
    probs = empirical_probs(tr, 6)
    start = space_xnet(sc.arg_lat_deg, sc.path_ms, probs, capacity=1 + seed % 2)
    pl = coactivation(sc.arg_lat_deg, sc.path_ms, probs, tr, capacity=1 + seed % 2)
    pl.check(capacity=1 + seed % 2)
    before = trace_latency_ms(start, sc.path_ms, tr).total_ms
    after = trace_latency_ms(pl, sc.path_ms, tr).total_ms
    assert pl.info["start_trace_ms"] == pytest.approx(before)
    assert pl.info["trace_ms"] == pytest.approx(after)
    assert after <= before + 1e-9
    np.testing.assert_array_equal(pl.gate_sat, start.gate_sat)
    # Same satellites per layer, only permuted among the experts.
    np.testing.assert_array_equal(np.sort(pl.expert_sat, axis=1), np.sort(start.expert_sat, axis=1))
    # 2-opt: no single swap of two experts of a layer lowers the trace objective.
    for l in range(3):
        for i, j in itertools.combinations(range(6), 2):
            swapped = pl.expert_sat.copy()
            swapped[l, [i, j]] = swapped[l, [j, i]]
            other = Placement(pl.subnet, pl.gate_sat, swapped, "x")
            assert trace_latency_ms(other, sc.path_ms, tr).total_ms >= after - 1e-9
    # Still a placement: the independent-activation lower bound holds.
    assert lower_bound(sc.arg_lat_deg, sc.path_ms, probs, capacity=1 + seed % 2).total_ms <= \
        evaluate(pl, sc.path_ms, probs).total_ms + 1e-9


def test_improves_on_the_independent_rule_when_experts_fire_in_cliques():
    gains = []
    for seed in range(4):
        sc = TorusScenario(6, 8, seed=seed)
        tr = clique_traces(300, 3, 6, 2, seed)
        pl = coactivation(sc.arg_lat_deg, sc.path_ms, empirical_probs(tr, 6), tr, capacity=1 + seed % 2)
        gains.append(pl.info["start_trace_ms"] - pl.info["trace_ms"])
    assert min(gains) >= 0 and sum(g > 1e-3 for g in gains) >= 3, gains


def test_cliques_share_the_dear_slot_and_reach_the_brute_force_optimum():
    # Slots cost 1, 2, 3, 10 ms (round trips from a gate at 0). Experts 0 & 3
    # always fire together, so do 1 & 2: marginals tie, the sorted rule is
    # blind; the optimum pairs the 10-ms slot with the 3-ms slot.
    x = np.array([0.0, 0.5, 1.0, 1.5, 5.0])
    line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    start = Placement(np.zeros(5, np.int64), np.array([0]), np.array([[1, 2, 3, 4]]), "space-xnet")
    tr = np.array([[[0, 3]], [[1, 2]]])
    pl = coactivation(x, line, [[0.5] * 4], tr, start=start)
    best = min(
        trace_latency_ms(Placement(start.subnet, start.gate_sat, np.array([perm]), "b"), line, tr).total_ms
        for perm in itertools.permutations([1, 2, 3, 4])
    )
    assert pl.info["start_trace_ms"] == pytest.approx(6.5)
    assert pl.info["trace_ms"] == pytest.approx(best) == pytest.approx(6.0)


def test_trace_errors_name_the_shape_and_ids():
    sc = TorusScenario(seed=0)
    with pytest.raises(PlacementError, match=r"shape \(tokens, 2, k\)"):
        coactivation(sc.arg_lat_deg, sc.path_ms, random_probs(2, 4, 1, 0), np.zeros((5, 3, 1), int))
    with pytest.raises(PlacementError, match=r"valid ids are 0 … 3"):
        coactivation(sc.arg_lat_deg, sc.path_ms, random_probs(2, 4, 1, 0), np.full((5, 2, 1), 4))
