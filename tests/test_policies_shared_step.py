"""Policies of one step share the rows they searched and the layers' times they computed.

The sharing goes through the step's memo; each record must be the one the
policy makes alone (same numbers, same ``oracle_sources``), and the oracle
must be asked for each source once per step whoever asks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from placement import POLICIES, PlacementError, make_policy
from placement.migration import StepOracle
from test_placement_graphs import random_probs
from test_placement_policies import COMMON, N_EXPERTS, N_LAYERS, RotatingTorus


def _same_record(a, b):
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
        elif isinstance(x, float) and math.isnan(x):
            assert math.isnan(y), name
        else:
            assert x == y and type(x) is type(y), name


def test_shared_step_oracle_answers_and_counts_as_alone_and_searches_once():
    sc = RotatingTorus(seed=7)
    full = dijkstra(sc.graph(0), directed=False)
    calls = []

    def path_ms(src):
        calls.append(np.asarray(src).tolist())
        return full[np.asarray(src)]

    first = StepOracle(path_ms, sc.n_sat)
    first([3, 9])
    second = StepOracle(path_ms, sc.n_sat, share=first)
    alone = StepOracle(lambda s: full[np.asarray(s)], sc.n_sat)
    for ask in ([9, 3], [3, 11, 9], [11], [20, 3]):
        np.testing.assert_array_equal(second(ask), alone(ask))
        assert (second.calls, second.sources) == (alone.calls, alone.sources)
    assert calls == [[3, 9], [11], [20]]  # a source is searched once, whoever asks
    a, b = np.arange(sc.n_sat), np.roll(np.arange(sc.n_sat), 5)
    # Without via the relays are the sources this oracle asked for, not the other's.
    np.testing.assert_array_equal(second.relay_ms(a, b), alone.relay_ms(a, b))
    first([30])
    np.testing.assert_array_equal(second.relay_ms(a, b), alone.relay_ms(a, b))
    np.testing.assert_array_equal(second.relay_ms(a, b, via=[30, 3]), alone.relay_ms(a, b, via=[30, 3]))
    assert second.sources == alone.sources
    with pytest.raises(PlacementError, match="same path_ms"):
        StepOracle(lambda s: full[np.asarray(s)], sc.n_sat, share=first)


def test_pair_ms_is_the_rows_entries():
    sc = RotatingTorus(seed=2)
    full = dijkstra(sc.graph(0), directed=False)
    oracle = StepOracle(lambda s: full[np.asarray(s)], sc.n_sat)
    gate = np.array([4, 17, 30])
    cols = np.array([[0, 5, 6], [1, 1, 40], [47, 2, 3]])
    np.testing.assert_array_equal(oracle.pair_ms(gate[:, None], cols), full[gate[:, None], cols])
    np.testing.assert_array_equal(oracle.pair_ms(gate, [1, 2, 3]), full[gate, [1, 2, 3]])
    assert oracle.sources == 3


@pytest.mark.parametrize("failures", [False, True])
def test_policies_record_the_same_with_a_shared_memo_as_alone(failures):
    sc = RotatingTorus(seed=3, jitter=0.2)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 3)
    rng = np.random.default_rng(0)
    masks = [rng.random(sc.n_sat) >= (0.1 if failures else 0.0) for _ in range(16)]
    kw = {**COMMON, "migration_price": 0.01, "min_gain_ratio": 0.0}
    shared = {name: make_policy(name, plane=sc.plane, **kw) for name in POLICIES}
    alone = {name: make_policy(name, plane=sc.plane, **kw) for name in POLICIES}
    planner = make_policy("recompute", plane=sc.plane, **kw)
    for t, usable in enumerate(masks):
        # Every policy finds the strategy's placement in its memo: the same searches either way.
        entry = planner.candidate(sc.phase(t), sc.oracle(t), usable, probs)
        path = sc.oracle(t)
        memo = {"placements": [entry]}
        for name in POLICIES:
            got = shared[name].step(t, sc.phase(t), path, usable, probs, memo=memo)
            ref = alone[name].step(t, sc.phase(t), sc.oracle(t), usable, probs, memo={"placements": [entry]})
            _same_record(got, ref)
