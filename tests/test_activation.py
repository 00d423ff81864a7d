"""Activation profiles: generators, water-filling, counts and traces, calibrated Gumbel top-k."""

import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import latency
from latency import ActivationError
from latency.activation import (cap_probabilities, plackett_luce_inclusion, sample_active, sample_gumbel_topk,
                                topk_logits)


@pytest.mark.parametrize("spec", ["uniform", "zipf:0.0", "zipf:1.0", "zipf:2.5", "dirichlet:0.05", "dirichlet:1"])
@pytest.mark.parametrize("model", ["llama-moe-3.5b", "olmoe-1b-7b", "deepseek-v3"])
def test_generators_give_valid_profiles(spec, model):
    m = latency.load_model(model)
    p = latency.activation_profile(m, spec, seed=3)
    assert p.shape == (m.n_moe_layers, m.n_routed_experts)
    np.testing.assert_allclose(p.sum(axis=1), m.top_k, atol=1e-9)
    assert p.min() >= 0 and p.max() <= 1


def test_seed_reproducible_and_layers_differ():
    a = latency.activation_profile("llama-moe-3.5b", "zipf:1.0", seed=7)
    b = latency.activation_profile("llama-moe-3.5b", "zipf:1.0", seed=7)
    c = latency.activation_profile("llama-moe-3.5b", "zipf:1.0", seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(np.argsort(a[0]), np.argsort(a[1]))  # hot experts differ per layer


def test_zipf_head_is_capped_by_water_filling():
    # Zipf(1) over 16 experts, k = 4: plain scaling gives the head 4 / H_16 = 1.185 > 1.
    p = latency.activation_profile("llama-moe-3.5b", "zipf:1.0", seed=0)[0]
    assert 4 / sum(1 / r for r in range(1, 17)) > 1
    w = np.sort(p)[::-1]
    assert w[0] == 1.0
    # The others stay proportional to 1/r: the capped head takes one slot, three remain.
    h = sum(1 / r for r in range(2, 17))
    np.testing.assert_allclose(w[1:], 3 * (1 / np.arange(2, 17)) / h)


def test_cap_probabilities_by_hand():
    np.testing.assert_allclose(cap_probabilities([1, 1 / 2, 1 / 3, 1 / 4], 3),
                               [1, 6 / 6.5, 4 / 6.5, 3 / 6.5])
    np.testing.assert_allclose(cap_probabilities([5, 5, 0, 0], 2), [1, 1, 0, 0])
    with pytest.raises(ActivationError, match="only 1 experts with positive weight"):
        cap_probabilities([1, 0, 0], 2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 100.0)), min_size=2, max_size=20), st.integers(1, 19))
def test_cap_probabilities_properties(weights, k):
    w = np.array(weights)
    if k > w.size or (w > 0).sum() < k:
        return
    p = cap_probabilities(w, k)
    assert abs(p.sum() - k) < 1e-9
    assert p.max() <= 1 + 1e-12 and p.min() >= 0
    # Order preserved, and uncapped experts proportional to their weights.
    order = np.argsort(-w, kind="stable")
    assert np.all(np.diff(p[order]) <= 1e-12)
    free = (p < 1 - 1e-12) & (w > 0)
    if free.sum() >= 2:
        ratio = p[free] / w[free]
        assert np.ptp(ratio) <= 1e-9 * ratio.max()


@pytest.mark.parametrize("spec, words", [
    ("zipf", "not a number"), ("zipf:-1", "exponent"), ("dirichlet:0", "concentration"),
    ("poisson:2", "unknown activation spec"), ("file:/no/such.csv", "no such activation file"),
])
def test_bad_specs(spec, words):
    with pytest.raises(ActivationError, match=words):
        latency.activation_profile("llama-moe-3.5b", spec)


def _write_counts_csv(path, counts):
    lines = ["layer,expert,count"] + [f"{l},{e},{c}" for (l, e), c in np.ndenumerate(counts)]
    path.write_text("\n".join(lines) + "\n")


def test_counts_csv_and_netcdf_round_trip(tmp_path):
    m = latency.load_model("olmoe-1b-7b")
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 1000, size=(m.n_moe_layers, m.n_routed_experts)).astype(float)
    csv_path = tmp_path / "counts.csv"
    _write_counts_csv(csv_path, counts)
    nc_path = tmp_path / "counts.nc"
    xr.Dataset({"count": (("layer", "expert"), counts)}).to_netcdf(nc_path)
    a = latency.activation_profile(m, f"file:{csv_path}")
    b = latency.activation_profile(m, f"file:{nc_path}")
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, cap_probabilities(counts, 8))
    np.testing.assert_allclose(a.sum(axis=1), 8)


@pytest.mark.parametrize("body, words", [
    ("layer,expert,n\n", ":1: header"),
    ("layer,expert,count\n0,0,1\n0,x,2\n", ":3:"),
    ("layer,expert,count\n0,0,1\n0,0,2\n", ":3: (layer 0, expert 0) listed twice"),
    ("layer,expert,count\n0,99,1\n", ":2: (layer 0, expert 99) outside"),
    ("layer,expert,count\n0,0,-1\n", ":2: count"),
])
def test_counts_csv_errors_name_file_and_line(tmp_path, body, words):
    path = tmp_path / "c.csv"
    path.write_text(body)
    with pytest.raises(ActivationError) as info:
        latency.load_counts(path, "llama-moe-3.5b")
    assert str(path) + words in str(info.value) or words in str(info.value)
    assert str(path) in str(info.value)


def test_counts_from_top1_data_are_exact_frequencies():
    np.testing.assert_allclose(latency.probabilities_from_counts([[30, 10, 0, 0]], 1), [[0.75, 0.25, 0, 0]])


def test_trace_counts_and_coactivation(tmp_path):
    rng = np.random.default_rng(1)
    n_tokens, n_layers, n_experts, k = 500, 3, 6, 2
    trace = np.stack([[rng.choice(n_experts, k, replace=False) for _ in range(n_layers)]
                      for _ in range(n_tokens)])
    path = tmp_path / "trace.npy"
    np.save(path, trace)
    loaded = latency.load_trace(path)
    counts = latency.counts_from_trace(loaded, n_experts)
    assert counts.sum() == n_tokens * n_layers * k
    co = latency.coactivation_from_trace(loaded, n_experts)
    np.testing.assert_allclose(np.diagonal(co, axis1=1, axis2=2), counts / n_tokens)
    # Each token contributes k*(k-1) off-diagonal pairs per layer.
    off = co.sum(axis=(1, 2)) - np.trace(co, axis1=1, axis2=2)
    np.testing.assert_allclose(off, k * (k - 1))
    with pytest.raises(ActivationError, match="same expert twice"):
        latency.counts_from_trace(np.array([[[1, 1]]]), 3)


def _brute_force_inclusion(w, k):
    out = np.zeros(len(w))
    for order in itertools.permutations(range(len(w)), k):
        prob, rest = 1.0, w.sum()
        for j in order:
            prob *= w[j] / rest
            rest -= w[j]
        out[list(order)] += prob
    return out


def test_plackett_luce_inclusion_against_enumeration():
    rng = np.random.default_rng(5)
    for _ in range(25):
        n = int(rng.integers(2, 7))
        k = int(rng.integers(1, n + 1))
        w = rng.random(n) ** 4  # strong skew
        w[rng.random(n) < 0.2] = 0.0
        expected = _brute_force_inclusion(w, k) if (w > 0).sum() > k else (w > 0).astype(float)
        np.testing.assert_allclose(plackett_luce_inclusion(w, k), expected, atol=1e-10)


def test_gumbel_topk_marginals_match_profile():
    # Calibrated logits reproduce the profile exactly (quadrature), and the sampler
    # draws exactly k experts whose empirical frequencies match within 4.5 SE.
    # zipf:0.8 rows have no capped expert; zipf:1.2 rows have one (probability 1, logit +inf).
    p = np.vstack([latency.activation_profile("llama-moe-3.5b", "zipf:0.8", seed=2)[:2],
                   latency.activation_profile("llama-moe-3.5b", "zipf:1.2", seed=2)[:2]])
    logits = topk_logits(p)
    # Rows with an expert of probability 1 get +inf there; check the others by quadrature.
    rows = ~np.isposinf(logits).any(axis=1)
    assert rows.tolist() == [True, True, False, False]
    np.testing.assert_allclose(plackett_luce_inclusion(np.exp(logits[rows]), 4), p[rows], atol=1e-6)
    n = 200_000
    mask = sample_active(p, n, rng=11, method="gumbel-topk", logits=logits)
    assert np.all(mask.sum(axis=2) == 4)
    freq = mask.mean(axis=0)
    se = np.sqrt(np.maximum(p * (1 - p), 1e-12) / n)
    assert np.all(np.abs(freq - p) <= 4.5 * se + 1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 7), st.integers(1, 30), st.integers(0, 2**32 - 1), st.data())
def test_gumbel_topk_keeps_the_k_largest_perturbed_logits(n_layers, n_experts, n_samples, seed, data):
    ks = np.array(data.draw(st.lists(st.integers(0, n_experts), min_size=n_layers, max_size=n_layers)))
    logits = np.random.default_rng(seed).normal(size=(n_layers, n_experts))
    mask = sample_gumbel_topk(logits, ks, n_samples, np.random.default_rng(seed))
    # The same noise, drawn again: the mask holds the ks largest keys of every layer.
    keys = logits[None] + np.random.default_rng(seed).gumbel(size=mask.shape)
    top = np.argsort(-keys, axis=2, kind="stable")
    want = np.zeros_like(mask)
    for layer, k in enumerate(ks):
        np.put_along_axis(want[:, layer], top[:, layer, :k], True, axis=1)
    np.testing.assert_array_equal(mask, want)


def test_sample_active_gumbel_topk_is_the_one_sampler():
    p = latency.activation_profile("llama-moe-3.5b", "zipf:0.8", seed=2)[:3]
    mask = sample_active(p, 50, rng=4, method="gumbel-topk")
    np.testing.assert_array_equal(mask, sample_gumbel_topk(topk_logits(p), np.round(p.sum(axis=1)).astype(int), 50,
                                                           np.random.default_rng(4)))


def test_topk_logits_rejects_non_integer_rows():
    with pytest.raises(ActivationError, match="sums to 1.5"):
        topk_logits([[0.5, 0.5, 0.5]])
