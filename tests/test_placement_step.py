"""One timestep, one :class:`placement.Step`: every policy of the step gets the same object.

The step searches each source once whichever policy asks, keeps the layer
times of the placements evaluated and makes the strategy's placement once;
each record must still be the one the policy makes alone at a step of its
own. A policy's state is plain data: saved (JSON) and restored midway, the
run goes on as if never stopped.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from placement import POLICIES, PlacementError, Step, make_policy
from placement.migration import StepOracle
from test_placement_graphs import random_probs
from test_placement_policies import COMMON, N_EXPERTS, N_LAYERS, POLICY_OPTIONS, RotatingTorus

POLICY_KW = {k: v for k, v in COMMON.items() if k in POLICY_OPTIONS}
STEP_KW = {k: v for k, v in COMMON.items() if k not in POLICY_OPTIONS}


def _same_record(a, b):
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
        elif isinstance(x, float) and math.isnan(x):
            assert math.isnan(y), name
        else:
            assert x == y and type(x) is type(y), name


def test_step_oracle_searches_each_source_once():
    sc = RotatingTorus(seed=7)
    full = dijkstra(sc.graph(0), directed=False)
    calls = []

    def path_ms(src):
        calls.append(np.asarray(src).tolist())
        return full[np.asarray(src)]

    oracle = StepOracle(path_ms, sc.n_sat)
    for ask in ([3, 9], [9, 3], [3, 11, 9], [11], [20, 3]):
        np.testing.assert_array_equal(oracle(ask), full[ask])
    assert calls == [[3, 9], [11], [20]] and (oracle.calls, oracle.sources) == (3, 4)
    a, b = np.arange(sc.n_sat), np.roll(np.arange(sc.n_sat), 5)
    # Without via the relays are every source searched so far.
    via = [3, 9, 11, 20]
    np.testing.assert_array_equal(oracle.relay_ms(a, b), oracle.relay_ms(a, b, via=via))
    np.testing.assert_array_equal(oracle.relay_ms(a, b, via=via),
                                  np.where(a == b, 0.0, (full[via][:, a] + full[via][:, b]).min(axis=0)))


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
def test_policies_record_the_same_sharing_a_step_as_alone(failures):
    sc = RotatingTorus(seed=3, jitter=0.2)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 3)
    rng = np.random.default_rng(0)
    masks = [rng.random(sc.n_sat) >= (0.1 if failures else 0.0) for _ in range(16)]
    kw = {**POLICY_KW, "migration_price": 0.01, "min_gain_ratio": 0.0}
    shared = {name: make_policy(name, **kw) for name in POLICIES}
    alone = {name: make_policy(name, **kw) for name in POLICIES}
    for t, usable in enumerate(masks):
        ahead = [sc.oracle(t + 1), sc.oracle(t + 2)]
        step = Step(t, sc.phase(t), sc.oracle(t), probs, usable=usable, plane=sc.plane, lookahead=ahead, **STEP_KW)
        searched = 0
        for name in POLICIES:
            own = Step(t, sc.phase(t), sc.oracle(t), probs, usable=usable, plane=sc.plane, lookahead=ahead,
                       **STEP_KW)
            _same_record(shared[name].step(step), alone[name].step(own))
            searched += own.oracle.sources
        assert step.oracle.sources < searched


def test_a_policy_restored_from_its_saved_state_goes_on_as_if_never_stopped():
    sc = RotatingTorus(seed=4, jitter=0.3)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 4)
    # Cheap moves and 2 s transfers over 1 s steps: handover has moves in flight at most steps.
    kw = {**POLICY_KW, "step_s": 1.0, "migration_price": 0.001, "min_gain_ratio": 0.0}
    masks = [np.random.default_rng(t).random(sc.n_sat) >= 0.05 for t in range(24)]

    def step(t):
        return Step(t, sc.phase(t), sc.oracle(t), probs, usable=masks[t], plane=sc.plane,
                    lookahead=[sc.oracle(t + 1)], **STEP_KW)

    in_flight = 0
    for name in POLICIES:
        through = make_policy(name, **kw)
        stopped = make_policy(name, **kw)
        for t in range(24):
            want = through.step(step(t))
            if t % 5 == 2:  # save as a sweep does after a chunk, into a fresh policy
                saved = json.loads(json.dumps(stopped.state()))
                stopped = make_policy(name, **kw)
                stopped.restore(saved)
                in_flight += bool(saved.get("pending"))
            _same_record(stopped.step(step(t)), want)
    assert in_flight  # the saved states did carry moves in flight
    with pytest.raises(PlacementError, match="'static' policy's state cannot restore a 'handover' policy"):
        make_policy("handover", **kw).restore(make_policy("static", **kw).state())
