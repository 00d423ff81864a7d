"""Exactly-k routing (conditional Bernoulli): calibration, exact expectation, sampler, the paper's approximation.

The expectation is checked against enumeration of every k-subset with its
CB probability (prod of weights, normalised), independently of the dynamic
program; the sampler against the exact mean within 3 standard errors.
"""

import itertools

import numpy as np
import pytest

import latency
from latency.exactly_k import FORCED_ABOVE, sample_exactly_k, sample_exactly_k_max


def _random_profile(rng, n):
    """A top-k row over n items with some items always in (p = 1) and some never (p = 0)."""
    while True:
        k = int(rng.integers(1, n + 1))
        weights = rng.uniform(0.05, 1.0, n) ** 3
        weights[rng.random(n) < 0.2] = 0.0
        if (weights > 0).sum() < k:
            continue
        p = latency.cap_probabilities(weights, k)
        p[p >= FORCED_ABOVE] = 1.0
        return p


def _enumerate(costs, probs):
    """E[max], P(critical) and P(S) by brute force over all k-subsets under the CB law of ``probs``."""
    w, k = latency.exactly_k_weights(probs)
    n = len(probs)
    forced = np.flatnonzero(np.isinf(w))
    sets, mass = [], []
    for subset in itertools.combinations(range(n), int(k)):
        if all(w[i] > 0 for i in subset) and set(forced) <= set(subset):
            sets.append(subset)
            mass.append(np.prod([1.0 if np.isinf(w[i]) else w[i] for i in subset]))
    prob = np.array(mass) / np.sum(mass)
    order = np.argsort(-np.asarray(costs), kind="stable")  # ties: the first in the given order is critical
    rank = np.empty(n, int)
    rank[order] = np.arange(n)
    expected, critical = 0.0, np.zeros(n)
    for subset, q in zip(sets, prob):
        first = min(subset, key=lambda i: rank[i])
        critical[first] += q
        expected += q * costs[first]
    return expected, critical, dict(zip(sets, prob))


@pytest.mark.parametrize("seed", range(60))
def test_expectation_equals_enumeration_of_k_subsets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    probs = _random_profile(rng, n)
    costs = rng.uniform(0, 10, n)
    if seed % 3 == 0:
        costs = costs.round()  # ties
    if seed % 4 == 0:
        costs[rng.random(n) < 0.3] = np.inf  # unreachable satellites
    expected, critical, _ = _enumerate(costs, probs)
    with np.errstate(invalid="ignore"):
        got = float(latency.expected_max(costs, probs))
    crit = latency.critical_probabilities(costs, probs)
    np.testing.assert_allclose(crit, critical, rtol=0, atol=1e-12)
    if np.isinf(expected):
        assert got == np.inf
    else:
        assert got == pytest.approx(expected, rel=0, abs=1e-12 * max(1.0, expected))
    # The calibrated weights give the profile back.
    w, k = latency.exactly_k_weights(probs)
    np.testing.assert_allclose(latency.exactly_k_inclusion(w, k), probs, rtol=0, atol=1e-12)


def test_several_rows_and_an_axis_match_row_by_row():
    rng = np.random.default_rng(5)
    probs = np.array([_random_profile(rng, 6) for _ in range(7)])
    costs = rng.uniform(0, 5, (3, 7, 6)).round(1)
    whole = latency.expected_max(np.moveaxis(costs, 2, 0), probs.T[:, None, :], axis=0)
    for i, j in itertools.product(range(3), range(7)):
        assert whole[i, j] == pytest.approx(_enumerate(costs[i, j], probs[j])[0], abs=1e-12)


@pytest.mark.parametrize("model, spec", [("llama-moe-3.5b", "zipf:1.0"), ("mixtral-8x7b", "dirichlet:0.1"),
                                         ("olmoe-1b-7b", "zipf:2.0"), ("deepseek-v3", "dirichlet:0.1")])
def test_calibration_reproduces_shipped_profiles(model, spec):
    probs = latency.activation_profile(model, spec, seed=0)
    w, k = latency.exactly_k_weights(probs)
    assert (k == latency.load_model(model).top_k).all()
    np.testing.assert_allclose(latency.exactly_k_inclusion(w, k), probs, rtol=0, atol=1e-12)
    assert np.isinf(w[probs >= FORCED_ABOVE]).all() and (w[probs == 0] == 0).all()


def test_sampler_draws_every_set_with_its_cb_probability():
    probs = np.array([0.9, 0.7, 0.5, 0.5, 0.4, 0.0, 1.0])  # k = 4, one item always in, one never
    _, _, law = _enumerate(np.zeros(7), probs)
    w, k = latency.exactly_k_weights(probs)
    n = 200_000
    masks = sample_exactly_k(w[None], k[None], n, np.random.default_rng(1))[:, 0]
    assert (masks.sum(axis=1) == 4).all() and masks[:, 6].all() and not masks[:, 5].any()
    keys, counts = np.unique(masks, axis=0, return_counts=True)
    seen = {tuple(np.flatnonzero(key)): c / n for key, c in zip(keys, counts)}
    assert set(seen) <= set(law)
    for subset, q in law.items():
        se = np.sqrt(q * (1 - q) / n)
        assert abs(seen.get(subset, 0.0) - q) <= 4 * se + 1e-12, subset


def test_monte_carlo_mean_within_three_standard_errors_of_the_exact_expectation():
    rng = np.random.default_rng(11)
    probs = np.array([_random_profile(rng, 8) for _ in range(5)])
    costs = rng.uniform(0, 100, (5, 8))
    exact = latency.expected_max(costs, probs).sum()
    masks = latency.sample_active(probs, 100_000, rng=3)  # the default law is exactly-k
    per_token = np.where(masks, costs, 0.0).max(axis=2).sum(axis=1)
    sem = per_token.std(ddof=1) / np.sqrt(len(per_token))
    assert abs(per_token.mean() - exact) <= 3 * sem


@pytest.mark.parametrize("seed", range(20))
def test_independent_approximation_never_exceeds_exactly_k(seed):
    # CB is negatively associated: P(no costly item active) is at most the independent product.
    rng = np.random.default_rng(100 + seed)
    probs = np.array([_random_profile(rng, int(rng.integers(2, 10)))])
    costs = rng.uniform(0, 10, probs.shape)
    assert latency.expected_max(costs, probs, method="independent") <= latency.expected_max(costs, probs) + 1e-12


def test_bad_rows_are_refused_in_one_line():
    with pytest.raises(latency.ActivationError, match="whole number"):
        latency.expected_max([1.0, 2.0], [0.5, 0.7])
    with pytest.raises(latency.ActivationError, match="method"):
        latency.expected_max([1.0, 2.0], [0.5, 0.5], method="gumbel")
    with pytest.raises(latency.ActivationError, match="cannot make exactly k"):
        latency.exactly_k_weights([0.9999999, 0.0])  # sums to 1 within 1e-6, but one item below 1 cannot be k = 1


def test_mixtral_on_kuiper_compute_on_the_critical_path_is_at_least_every_tokens_floor():
    """Top-2 of 8 at zipf:1.0: every token pays dispatch + one expert per layer + head on its critical path.

    Under independent activations a layer has no active expert 6.25 % of the
    time, and the expected compute came out below that floor.
    """
    from spacexnet.compare import place
    from spacexnet.scenario import build_constellation, model_setup, snapshot

    setup = model_setup("mixtral-8x7b", activation="zipf:1.0")
    constellation = build_constellation(preset="kuiper-630")
    snap = snapshot(constellation, constellation.reference_epoch, setup)
    pl = place(snap, setup, "space-xnet")
    result = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
    t = setup.times.broadcast(setup.n_layers, setup.probs.shape[1])
    expert_ms = np.broadcast_to(t.expert_ms.reshape(setup.n_layers, -1), setup.probs.shape)
    # The cheapest compute any top-2 token can have on a layer's critical path: one of its experts.
    floor_ms = float(t.dispatch_ms.sum() + expert_ms.min(axis=1).sum() + t.head_ms)
    assert result.breakdown.compute_ms >= floor_ms - 1e-9
    # The paper's approximation is below the exact expectation.
    assert result.expected_independent_ms < result.expected_ms


def _numpy_draws(weights, k, n_samples, rng):
    # The whole-array NumPy form of the sequential CB draw (the sampler before its kernel): the reference.
    from latency.exactly_k import _suffix_table

    w = np.asarray(weights, dtype=np.float64)
    n_rows, n = w.shape
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), (n_rows,))
    forced = np.isinf(w)
    finite = np.where(forced, 0.0, w)
    free_k = k - forced.sum(axis=1)
    s = _suffix_table(finite, int(max(free_k.max(initial=0), 0)))
    u = rng.random((n_samples, n_rows, n))
    mask = np.empty((n_samples, n_rows, n), dtype=bool)
    left = np.broadcast_to(np.maximum(free_k, 0), (n_samples, n_rows)).copy()
    rows = np.arange(n_rows)[None, :]
    for j in range(n):
        need = left > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            take = finite[None, :, j] * s[rows, j + 1, np.maximum(left - 1, 0)] / s[rows, j, left]
        chosen = need & (u[:, :, j] < take)
        mask[:, :, j] = chosen | forced[None, :, j]
        left -= chosen
    return mask


@pytest.mark.parametrize("seed", range(4))
def test_sampler_kernel_draws_the_numpy_forms_masks_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n_rows, n = 7, 16
    weights = rng.gamma(0.5, size=(n_rows, n)) * rng.choice([1e-300, 1e-3, 1.0, 1e3], size=(n_rows, 1))
    weights[1, 3] = weights[4, [0, 9]] = np.inf  # always in
    weights[2, :12] = 0.0  # fewer positive weights than k
    k = rng.integers(1, 5, size=n_rows)
    got = sample_exactly_k(weights, k, 3000, np.random.default_rng(100 + seed))
    want = _numpy_draws(weights, k, 3000, np.random.default_rng(100 + seed))
    np.testing.assert_array_equal(got, want)
    # The largest value of each draw's items, from the same draws without their masks.
    values = rng.normal(size=(n_rows, n)) * 100
    values[0, 2], values[5, 7] = np.inf, np.nan
    largest = sample_exactly_k_max(weights, k, 3000, np.random.default_rng(100 + seed), values)
    np.testing.assert_array_equal(largest, np.where(want, values[None], -np.inf).max(axis=2, initial=-np.inf))


def test_sampler_draws_in_blocks_what_one_array_of_uniforms_gives():
    # The sampler draws its uniforms a block of samples at a time: the draws and the generator's state
    # after them are those of one rng.random((n_samples, rows, items)) array, whatever the block size,
    # and a sample count that is not a multiple of the block nor of four.
    from latency.exactly_k import _BLOCK_SAMPLES

    rng = np.random.default_rng(7)
    weights = rng.gamma(0.5, size=(5, 12))
    k = np.array([1, 2, 3, 4, 2])
    n_samples = 2 * _BLOCK_SAMPLES + 37
    drawn, reference = np.random.default_rng(3), np.random.default_rng(3)
    got = sample_exactly_k(weights, k, n_samples, drawn)
    want = _numpy_draws(weights, k, n_samples, reference)
    np.testing.assert_array_equal(got, want)
    assert drawn.random() == reference.random()
    # The largest values, four samples at a time and the rest one by one (37 = 9 × 4 + 1).
    values = rng.normal(size=(5, 12)) * 100
    values[1, 4], values[3, 0] = np.inf, np.nan
    largest = sample_exactly_k_max(weights, k, n_samples, np.random.default_rng(3), values)
    np.testing.assert_array_equal(largest, np.where(want, values[None], -np.inf).max(axis=2, initial=-np.inf))
