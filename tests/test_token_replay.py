"""The fast paths of token_latency give the plain computation's numbers bit for bit.

* the ring's costs and breakdown against the same formulas written with the
  public RoutingGraph.breakdown_from, expected_max and critical_probabilities;
* the trace replay kernel (a TraceReplay, distinct rows, Numba) against the
  NumPy replay of the same trace given as a bare array;
* the statistics of the samples against np.percentile, mean and std;
* ComputeTimes.broadcast's one-check path against its field-by-field checks.
"""

import itertools
import math

import numpy as np
import pytest

import latency
from latency import ComputeTimes, RoutingGraph
from latency import token as token_module
from latency.expectation import critical_probabilities, expected_max

PARTS = ("propagation_ms", "transmission_ms", "forwarding_ms", "compute_ms")


def _graph(rng, n_sat, cut=False):
    a = [int(rng.integers(0, i)) for i in range(1, n_sat)]
    b = list(range(1, n_sat))
    for _ in range(n_sat):
        i, j = rng.choice(n_sat, 2, replace=False)
        a.append(int(i)), b.append(int(j))
    up = np.ones(len(a), bool)
    if cut:  # the last satellites lose every link: unreachable
        up &= (np.array(a) < n_sat - 3) & (np.array(b) < n_sat - 3)
    return RoutingGraph.from_links(a, b, rng.uniform(300, 3000, len(a)), up, n_sat,
                                   latency.load_link_profile(), 8192)


def _reference(graph, gates, experts, probs, times):
    """token_latency's expectation and breakdown, term by term from the public functions."""
    n_layers, n_experts = experts.shape
    t = times.broadcast(n_layers, n_experts)
    bd = graph.breakdown_from(gates)  # one row per layer
    layer = np.arange(n_layers)
    nxt = np.roll(layer, -1)

    def item(rows):
        out = rows[layer[:, None], experts] + rows[nxt[:, None], experts]
        return np.concatenate([out, rows[layer, gates[nxt]][:, None]], axis=1)

    expert_ms = np.broadcast_to(t.expert_ms.reshape(n_layers, -1), (n_layers, n_experts))
    parts = {"propagation_ms": item(bd.propagation_ms), "transmission_ms": item(bd.transmission_ms),
             "forwarding_ms": item(bd.forwarding_ms),
             "compute_ms": np.concatenate([expert_ms, t.local_ms[:, None]], axis=1)}
    cost = item(bd.latency_ms) + parts["compute_ms"]
    prob = np.concatenate([np.minimum(probs, 1.0), np.ones((n_layers, 1))], axis=1)
    with np.errstate(invalid="ignore"):
        layer_ms = t.dispatch_ms + expected_max(cost, prob)
        weight = critical_probabilities(cost, prob)
        sums = {k: float(np.where(weight > 0, weight * v, 0.0).sum()) for k, v in parts.items()}
        independent = t.dispatch_ms + expected_max(cost, prob, method="independent")
    sums["compute_ms"] += float(t.dispatch_ms.sum() + t.head_ms)
    return float(layer_ms.sum() + t.head_ms), layer_ms, sums, float(independent.sum() + t.head_ms)


@pytest.mark.parametrize("seed", range(30))
def test_token_latency_matches_the_formulas_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n_sat = int(rng.integers(8, 40))
    graph = _graph(rng, n_sat, cut=seed % 5 == 4)
    n_layers, n_experts = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    gates = rng.integers(0, n_sat, n_layers)
    if seed % 3 == 0:
        gates[:] = gates[0]  # one gate for every layer: repeated rows
    experts = rng.integers(0, n_sat, (n_layers, n_experts))
    weights = rng.uniform(0, 1, (n_layers, n_experts)) ** 2
    weights[rng.random(weights.shape) < 0.2] = 0.0
    weights[:, 0] += 0.1  # at least one expert can be picked
    # A top-k profile per layer (k from 1 to the experts with weight), some experts always picked.
    probs = np.array([latency.cap_probabilities(w, int(rng.integers(1, (w > 0).sum() + 1))) for w in weights])
    if seed % 4 == 1:
        probs[0] = 0.0  # a dense layer
    expert_ms = rng.uniform(0, 3, (n_layers, n_experts)) if seed % 2 else rng.uniform(0, 3, n_layers)
    times = ComputeTimes(dispatch_ms=rng.uniform(0, 1, n_layers), local_ms=rng.uniform(0, 2, n_layers),
                         expert_ms=expert_ms, head_ms=float(rng.uniform(0, 1)))
    got = latency.token_latency(graph, gates, experts, probs, times)
    expected, layer_ms, sums, independent = _reference(graph, gates, experts, probs, times)
    assert got.expected_ms == expected
    assert got.expected_independent_ms == independent
    np.testing.assert_array_equal(got.layer_ms, layer_ms)
    assert got.breakdown.as_dict() == sums
    assert got.unreachable_layers == tuple(np.flatnonzero(~np.isfinite(layer_ms)).tolist())


def _ring(rng, n_layers, n_experts, unreachable=False):
    """A ring with random costs (the replay reads costs, probabilities, dispatch and head only)."""
    cost = rng.uniform(0, 50, (n_layers, n_experts + 1)).round(int(rng.integers(0, 3)))  # ties
    if unreachable:
        cost[rng.random(cost.shape) < 0.05] = np.inf
    prob = np.ones((n_layers, n_experts + 1))
    prob[:, :n_experts] = rng.uniform(0, 1, (n_layers, n_experts))
    stack = np.zeros((4, n_layers, n_experts + 1))
    return token_module._Ring(cost, prob, stack, rng.uniform(0, 1, n_layers), float(rng.uniform(0, 2)))


def _trace(rng, n_tokens, n_layers, n_experts, n_slots):
    ids = np.full((n_tokens, n_layers, n_slots), -1)
    for t, l in itertools.product(range(n_tokens), range(n_layers)):
        k = int(rng.integers(0, min(n_slots, n_experts) + 1))
        ids[t, l, :k] = np.sort(rng.choice(n_experts, k, replace=False))
        rng.shuffle(ids[t, l])  # empty slots anywhere
    if n_tokens > 4:
        ids[n_tokens // 2:] = ids[:n_tokens - n_tokens // 2]  # repeated rows
    return ids


@pytest.mark.parametrize("n_layers, n_experts, n_slots, n_tokens", [
    (1, 1, 1, 3), (3, 5, 2, 50), (7, 4, 0, 20), (8, 16, 4, 300), (9, 3, 3, 40), (32, 16, 4, 2000),
    (33, 6, 2, 120), (128, 20, 3, 1000),  # three chunks of 781 tokens
    (64, 64, 6, 100),  # rows too many digits for one integer key
    (130, 2, 1, 30),  # beyond NumPy's pairwise block: the NumPy path
])
def test_trace_kernel_matches_numpy_replay(n_layers, n_experts, n_slots, n_tokens):
    rng = np.random.default_rng(n_layers * 1000 + n_tokens)
    ring = _ring(rng, n_layers, n_experts, unreachable=n_layers % 2 == 1)
    ids = _trace(rng, n_tokens, n_layers, n_experts, n_slots)
    replay = latency.TraceReplay(ids, ring.prob[:, :n_experts])
    with np.errstate(invalid="ignore"):  # quantiles between inf samples
        fast = token_module._samples_from_ring(ring, replay, 2, None, None)
        again = token_module._samples_from_ring(ring, replay, 2, None, None)  # distinct rows kept
        plain = token_module._samples_from_ring(ring, ids, 2, None, None)    # a bare array: NumPy
    for got in (fast, again):
        np.testing.assert_array_equal(got.samples_ms, plain.samples_ms)
        np.testing.assert_array_equal(got.layer_mean_ms, plain.layer_mean_ms)
        np.testing.assert_array_equal([got.mean_ms, got.sem_ms, got.p50_ms, got.p95_ms, got.p99_ms],
                                      [plain.mean_ms, plain.sem_ms, plain.p50_ms, plain.p95_ms, plain.p99_ms])
        assert got.reachable == plain.reachable


def test_trace_replay_of_moe_layers_only_uses_the_kernel_rows():
    rng = np.random.default_rng(7)
    ring = _ring(rng, 4, 3)
    probs = ring.prob[:, :3].copy()
    probs[[0, 2]] = 0.0  # dense layers: the trace covers layers 1 and 3
    ids = _trace(rng, 60, 2, 3, 2)
    replay = latency.TraceReplay(ids, probs)
    fast = token_module._samples_from_ring(ring, replay, 2, None, None)
    plain = token_module._samples_from_ring(ring, replay.ids.copy(), 2, None, None)
    np.testing.assert_array_equal(fast.samples_ms, plain.samples_ms)
    np.testing.assert_array_equal(fast.layer_mean_ms, plain.layer_mean_ms)


def test_a_replay_pickled_before_the_row_cache_still_replays():
    rng = np.random.default_rng(3)
    ring = _ring(rng, 3, 4)
    ids = _trace(rng, 30, 3, 4, 2)
    replay = latency.TraceReplay(ids, ring.prob[:, :4])
    del replay._rows
    got = token_module._samples_from_ring(ring, replay, 2, None, None)
    np.testing.assert_array_equal(got.samples_ms, token_module._samples_from_ring(ring, ids, 2, None, None).samples_ms)


def test_sample_statistics_match_numpy():
    rng = np.random.default_rng(11)
    for trial in range(3000):
        n = int(rng.integers(1, 40)) if trial % 2 else int(rng.integers(1, 6000))
        x = rng.uniform(0, 1000, n) * 10.0 ** rng.uniform(-5, 5)
        if trial % 3 == 0:
            x = x.round(int(rng.integers(0, 2)))  # ties
        if trial % 7 == 0:
            x[rng.random(n) < 0.05] = np.inf
        if trial % 11 == 0:
            x[rng.random(n) < 0.02] = -np.inf
        if trial % 13 == 0:
            x[rng.random(n) < 0.01] = np.nan
        finite = bool(np.all(np.isfinite(x)))
        with np.errstate(invalid="ignore"):  # inf - inf, as in NumPy
            quantiles = np.percentile(x, [50, 95, 99])
            mean = float(x.mean())
            sem = float(x.std(ddof=1) / math.sqrt(n)) if finite and n > 1 else math.nan
            got = token_module._percentiles(x, finite), token_module._mean_sem(x, finite)
        np.testing.assert_array_equal(got[0], quantiles, err_msg=str(trial))
        np.testing.assert_array_equal(got[1], (mean, sem), err_msg=str(trial))


VALUES = [0.0, 1.5, -0.0, np.inf, np.nan, -1.0, [1.0, 2.0, 3.0], np.array([1, 2, 3]), [1.0], [[1.0] * 4] * 3,
          [[1.0]] * 3, np.ones((3, 5)), [1.0, np.nan, 2.0], "x", None, [1.0, 2.0]]


def _outcome(times, fast):
    try:
        if fast:
            r = times.broadcast(3, 4)
        else:
            r = ComputeTimes.broadcast(_NoQuickPath(times.dispatch_ms, times.local_ms, times.expert_ms,
                                                    times.head_ms), 3, 4)
    except Exception as exc:  # noqa: BLE001 - the same error, type and message, is the point
        return type(exc).__name__, str(exc)
    fields = [np.asarray(x) for x in (r.dispatch_ms, r.local_ms, r.expert_ms)]
    return ([(f.tolist(), f.dtype, f.shape, np.signbit(f).tolist()) for f in fields], r.head_ms,
            type(r.head_ms))


class _NoQuickPath(ComputeTimes):
    def _broadcast_valid(self, n_layers, n_experts):
        return None


def test_broadcast_quick_path_agrees_with_the_checks():
    for d, l, e, h in itertools.product(VALUES, VALUES, VALUES, [0.0, 2.0, np.nan, -1.0, "q"]):
        times = ComputeTimes(d, l, e, h)
        assert _outcome(times, True) == _outcome(times, False), (d, l, e, h)


def test_broadcast_returns_fresh_per_layer_arrays():
    dispatch = np.array([1.0, 2.0, 3.0])
    r = ComputeTimes(dispatch, 0.5, dispatch).broadcast(3)
    r.dispatch_ms[0] = r.expert_ms[0] = 9.0
    assert dispatch[0] == 1.0
