"""Token latency: hand-worked layers, exact expectation against Monte Carlo, top-k law, breakdown."""

import itertools

import numpy as np
import pytest

import latency
from latency import ComputeTimes, GroundUser, LinkProfile, RoutingGraph
from latency.activation import plackett_luce_inclusion, topk_logits

C_KM_S = 299_792.458
IDEAL = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
ONE_MS_KM = C_KM_S / 1e3  # a link of this length takes exactly 1 ms


def chain(n, link=IDEAL, payload=0):
    return RoutingGraph.from_links(np.arange(n - 1), np.arange(1, n), np.full(n - 1, ONE_MS_KM),
                                   np.ones(n - 1, bool), n, link, payload)


def test_two_expert_layer_by_hand():
    # Chain 0-1-2, 1 ms per link; one layer whose gate (sat 0) is also the next gate.
    # Expert A on sat 2: 2 + 1 + 2 = 5 ms; expert B on sat 1: 1 + 1 + 1 = 3 ms; each active w.p. 1/2.
    # Top-1 routing: exactly one is active, E[max] = 5 * 1/2 + 3 * 1/2 = 4 ms; plus 0.5 ms dispatch.
    g = chain(3)
    times = ComputeTimes(dispatch_ms=0.5, local_ms=0.0, expert_ms=1.0)
    r = latency.token_latency(g, [0], [[2, 1]], [[0.5, 0.5]], times)
    assert r.expected_ms == pytest.approx(4.5)
    assert r.layer_ms.tolist() == pytest.approx([4.5])
    assert r.reachable and r.unreachable_layers == ()
    # Critical-path split: propagation 4 * 1/2 + 2 * 1/2 = 3; compute 0.5 + 1 = 1.5.
    assert r.breakdown.propagation_ms == pytest.approx(3.0)
    assert r.breakdown.compute_ms == pytest.approx(1.5)
    assert r.breakdown.total_ms == pytest.approx(r.expected_ms)
    # The paper's approximation, independent activations:
    # E[max] = 5 * 1/2 + 3 * (1/2 * 1/2) + 0 * 1/4 = 3.25 ms; plus 0.5 ms dispatch = 3.75 ms.
    assert r.expected_independent_ms == pytest.approx(3.75)
    s = latency.sample_token_latency(g, [0], [[2, 1]], [[0.5, 0.5]], times, n_samples=40_000, seed=3)
    assert set(np.unique(s.samples_ms)) == {3.5, 5.5} and s.method == "exactly-k"
    assert s.mean_ms == pytest.approx(4.5, abs=3 * s.sem_ms)


def test_three_satellite_chain_ring():
    # Two layers: gate 0 at sat 0, gate 1 at sat 2; every expert on sat 1; default laser profile.
    link = latency.load_link_profile()
    g = chain(3, link, payload=8192)
    hop = 1.0 + 8192 * 8 / 100e9 * 1e3 + 0.1
    times = ComputeTimes(dispatch_ms=[0.3, 0.4], local_ms=0.0, expert_ms=0.2, head_ms=1.0)
    r = latency.token_latency(g, [0, 2], [[1, 1], [1, 1]], [[1.0, 1.0], [1.0, 1.0]], times)
    assert r.layer_ms.tolist() == pytest.approx([0.3 + 2 * hop + 0.2, 0.4 + 2 * hop + 0.2])
    assert r.expected_ms == pytest.approx(r.layer_ms.sum() + 1.0)
    assert r.breakdown.forwarding_ms == pytest.approx(4 * 0.1)
    assert r.breakdown.propagation_ms == pytest.approx(4.0)
    assert r.breakdown.total_ms == pytest.approx(r.expected_ms)


def test_expert_on_its_gate_costs_compute_only():
    g = chain(4)
    times = ComputeTimes(dispatch_ms=0.0, expert_ms=2.0)
    r = latency.token_latency(g, [3], [[3]], [[1.0]], times)
    assert r.expected_ms == 2.0
    assert latency.layer_costs_ms(g, 3, 3, 2.0)[3] == 2.0


def test_dense_layer_and_shared_expert_run_on_the_gate():
    # Layer 0 dense (no routed expert): dispatch + local + path(g0 -> g1) = 0.1 + 3 + 2 ms.
    g = chain(3)
    times = ComputeTimes(dispatch_ms=0.1, local_ms=[3.0, 0.5], expert_ms=[0.0, 1.0])
    r = latency.token_latency(g, [0, 2], [[0], [1]], [[0.0], [1.0]], times)
    assert r.layer_ms[0] == pytest.approx(5.1)
    # Layer 1: expert path 2->1->0 = 1 + 1 + 1 = 3 ms beats shared 0.5 + direct 2 = 2.5 ms.
    assert r.layer_ms[1] == pytest.approx(0.1 + 3.0)


def test_unreachable_expert_gives_inf_and_flag():
    g = RoutingGraph.from_links([0], [1], [ONE_MS_KM], [True], 3, IDEAL, 0)  # sat 2 isolated
    times = ComputeTimes(dispatch_ms=0.0, expert_ms=1.0)
    r = latency.token_latency(g, [0, 1], [[2, 1], [0, 0]], [[0.3, 0.7], [0.5, 0.5]], times)
    assert np.isinf(r.expected_ms) and not r.reachable and r.unreachable_layers == (0,)
    assert np.isinf(r.breakdown.propagation_ms)
    ok = latency.token_latency(g, [0, 1], [[2, 1], [0, 0]], [[0.0, 1.0], [0.5, 0.5]], times)
    assert ok.reachable and np.isfinite(ok.expected_ms)


def test_all_layer_costs_match_single_layer_costs():
    g = chain(6)
    gates = np.array([0, 3, 5])
    t = np.array([0.1, 0.2, 0.3])
    every = latency.all_layer_costs_ms(g, gates, t)
    for l in range(3):
        np.testing.assert_allclose(every[l], latency.layer_costs_ms(g, gates[l], gates[(l + 1) % 3], t[l]))


def _random_instance(rng):
    n_sat = int(rng.integers(6, 25))
    # A random tree plus extra edges keeps the graph connected with varied path lengths.
    a = [int(rng.integers(0, i)) for i in range(1, n_sat)]
    b = list(range(1, n_sat))
    for _ in range(n_sat):
        i, j = rng.choice(n_sat, 2, replace=False)
        a.append(int(i)), b.append(int(j))
    g = RoutingGraph.from_links(a, b, rng.uniform(300, 3000, len(a)), np.ones(len(a), bool), n_sat,
                                latency.load_link_profile(), 8192)
    n_layers, n_experts = int(rng.integers(2, 6)), int(rng.integers(2, 9))
    gates = rng.integers(0, n_sat, n_layers)
    experts = rng.integers(0, n_sat, (n_layers, n_experts))
    # A top-k profile per layer, k from 1 to E - 1; skewed weights cap some experts at 1.
    probs = np.array([latency.cap_probabilities(rng.uniform(0.05, 1, n_experts) ** 3, int(rng.integers(1, n_experts)))
                      for _ in range(n_layers)])
    times = ComputeTimes(dispatch_ms=rng.uniform(0, 1, n_layers), local_ms=rng.uniform(0, 2, n_layers),
                         expert_ms=rng.uniform(0, 3, (n_layers, n_experts)), head_ms=0.7)
    return g, gates, experts, probs, times


def test_exact_expectation_agrees_with_monte_carlo_on_20_random_instances():
    rng = np.random.default_rng(20240604)
    for instance in range(20):
        g, gates, experts, probs, times = _random_instance(rng)
        exact = latency.token_latency(g, gates, experts, probs, times)
        for method, expected in (("exactly-k", exact.expected_ms), ("independent", exact.expected_independent_ms)):
            mc = latency.sample_token_latency(g, gates, experts, probs, times, n_samples=50_000,
                                              seed=instance, method=method)
            assert abs(mc.mean_ms - expected) <= 3 * mc.sem_ms, (instance, method, mc.mean_ms, expected)
            assert mc.p50_ms <= mc.p95_ms <= mc.p99_ms
        np.testing.assert_allclose(exact.breakdown.total_ms, exact.expected_ms, rtol=1e-12)
        assert exact.expected_independent_ms <= exact.expected_ms


def _topk_expectation_by_enumeration(cost, floor, weights, k):
    """E[max(floor, max over the drawn set)] when k items are drawn without replacement ∝ weights."""
    total = 0.0
    for order in itertools.permutations(range(len(weights)), k):
        prob, rest = 1.0, weights.sum()
        for j in order:
            prob *= weights[j] / rest
            rest -= weights[j]
        total += prob * max(floor, max(cost[list(order)]))
    return total


def test_gumbel_topk_sampler_matches_the_exact_topk_law():
    g = chain(5)
    probs = np.array([[0.9, 0.6, 0.3, 0.2]])  # k = 2
    experts = np.array([[4, 1, 3, 2]])
    times = ComputeTimes(dispatch_ms=0.0, expert_ms=0.5)
    logits = topk_logits(probs)[0]
    cost = np.array([4 + 4, 1 + 1, 3 + 3, 2 + 2]) + 0.5
    exact = _topk_expectation_by_enumeration(cost, 0.0, np.exp(logits), 2)
    np.testing.assert_allclose(plackett_luce_inclusion(np.exp(logits), 2), probs[0], atol=1e-6)
    mc = latency.sample_token_latency(g, [0], experts, probs, times, n_samples=100_000, seed=5,
                                      method="gumbel-topk")
    assert abs(mc.mean_ms - exact) <= 3 * mc.sem_ms
    independent = latency.token_latency(g, [0], experts, probs, times).expected_independent_ms
    assert independent != pytest.approx(exact, abs=0.01)  # the two laws differ


def test_trace_replay_by_hand():
    g = chain(3)
    times = ComputeTimes(dispatch_ms=0.0, expert_ms=0.0)
    experts = [[1, 2]]
    trace = np.array([[[0]], [[1]], [[1]], [[-1]]])  # expert 0 (sat 1), expert 1 (sat 2) twice, none
    s = latency.sample_token_latency(g, [0], experts, [[0.5, 0.5]], times, method=trace)
    assert s.samples_ms.tolist() == [2.0, 4.0, 4.0, 0.0] and s.method == "trace"
    # A trace of MoE layers only is spread over the rows with non-zero probabilities.
    s2 = latency.sample_token_latency(g, [0, 0], [[0, 0], [1, 2]], [[0, 0], [0.5, 0.5]], times, method=trace)
    assert s2.samples_ms.tolist() == [2.0, 4.0, 4.0, 0.0]


def test_llama_preset_end_to_end_is_consistent():
    m = latency.load_model("llama-moe-3.5b")
    rng = np.random.default_rng(0)
    g, *_ = _random_instance(rng)
    gates = rng.integers(0, g.n_sat, m.n_layers)
    experts = rng.integers(0, g.n_sat, (m.n_layers, m.n_routed_experts))
    probs = latency.activation_profile(m, "zipf:1.0", seed=1)
    times = latency.compute_times(m, "jetson-agx-orin-64gb")
    r = latency.token_latency(g, gates, experts, probs, times)
    s = latency.sample_token_latency(g, gates, experts, probs, times, n_samples=5000, seed=0)
    assert r.reachable and s.reachable
    assert r.breakdown.compute_ms > times.dispatch_ms.sum() + times.head_ms
    # The Monte Carlo draws the law of the exact expectation.
    assert abs(s.mean_ms - r.expected_ms) <= 3 * s.sem_ms
    # Exactly 4 of 16 active makes the max larger than the independent model's (fewer empty layers).
    assert r.expected_independent_ms < r.expected_ms


def test_ground_user_served_by_visible_satellite():
    r_earth = 6378.137
    positions = np.array([[r_earth + 550.0, 0.0, 0.0],         # above (0°N, 0°E)
                          [-(r_earth + 550.0), 0.0, 0.0]])     # other side of the Earth
    link = latency.load_link_profile()
    g = RoutingGraph.from_links([0], [1], [2 * (r_earth + 550.0)], [True], 2, link, 8192, r_itrs_km=positions)
    times = ComputeTimes(dispatch_ms=0.0, expert_ms=0.0)
    r = latency.token_latency(g, [1], [[1]], [[1.0]], times, user=GroundUser(0.0, 0.0))
    gl = r.ground
    assert gl.serving_sat == 0 and gl.elevation_deg == pytest.approx(90.0)
    isl = 2 * (r_earth + 550.0) / C_KM_S * 1e3 + 4 * 8 / 100e9 * 1e3 + 0.1
    assert gl.latency_ms == pytest.approx(isl + 550.0 / C_KM_S * 1e3 + 0.1)
    assert gl.breakdown.total_ms == pytest.approx(gl.latency_ms)
    far = latency.ground_latency_ms(g, 1, GroundUser(0.0, 90.0))  # 90° away: nobody above 25°
    assert np.isinf(far.latency_ms) and far.serving_sat == -1 and not far.reachable


def test_ground_to_ground_goes_up_across_and_down_by_hand():
    # Three satellites on the equator over 0°E, 90°E, 180°E; links 0–1 and 1–2. From (0°N, 0°E) to
    # (0°N, 180°E): up to 0 (550 km, straight up), two hops, down from 2 (550 km).
    r_earth, h = 6378.137, 550.0
    r = r_earth + h
    positions = np.array([[r, 0.0, 0.0], [0.0, r, 0.0], [-r, 0.0, 0.0]])
    link = latency.load_link_profile()
    hop_km = r * np.sqrt(2.0)
    g = RoutingGraph.from_links([0, 1], [1, 2], [hop_km, hop_km], [True, True], 3, link, 8192, r_itrs_km=positions)
    relay = latency.ground_relay_latency_ms(g, GroundUser(0.0, 0.0), GroundUser(0.0, 180.0))
    assert (relay.up_sat, relay.down_sat) == (0, 2) and relay.reachable
    assert relay.up_elevation_deg == pytest.approx(90.0) and relay.down_slant_km == pytest.approx(h)
    tx_ms = link.transmission_ms(latency.token.TOKEN_BYTES)
    expected = (2 * h + 2 * hop_km) / C_KM_S * 1e3 + 2 * tx_ms + 4 * link.forwarding_delay_ms
    assert relay.latency_ms == pytest.approx(expected)
    assert relay.breakdown.total_ms == pytest.approx(relay.latency_ms)
    # The same as up to satellite 0, then the token's delivery from it (ground_latency_ms).
    down = latency.ground_latency_ms(g, 0, GroundUser(0.0, 180.0))
    assert relay.latency_ms == pytest.approx(h / C_KM_S * 1e3 + link.forwarding_delay_ms + down.latency_ms)
    # Cut the links: nobody in view of one end reaches one in view of the other.
    cut = RoutingGraph.from_links([0], [1], [hop_km], [False], 3, link, 8192, r_itrs_km=positions)
    lost = latency.ground_relay_latency_ms(cut, GroundUser(0.0, 0.0), GroundUser(0.0, 180.0))
    assert not lost.reachable and (lost.up_sat, lost.down_sat) == (-1, -1)
