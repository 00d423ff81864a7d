"""The policies' shortcuts give the numbers and errors of the plain computations."""

from __future__ import annotations

import numpy as np
import pytest

from latency.expectation import expected_max
from placement import PlacementError
from placement.model import _expected_max_rows
from test_placement_graphs import random_probs
from test_placement_policies import COMMON, N_EXPERTS, N_LAYERS, RotatingTorus, drive


def test_expected_max_rows_is_expected_max_bit_for_bit():
    rng = np.random.default_rng(0)
    for trial in range(400):
        n_layers, n_experts = rng.integers(1, 40, size=2)
        if trial % 3 == 0:  # ties, signed zeros and unreachable experts
            costs = rng.choice([0.0, -0.0, 1.0, 2.5, np.inf], size=(n_layers, n_experts))
        else:
            costs = rng.random((n_layers, n_experts)) * 100.0
        probs = rng.random((n_layers, n_experts))
        probs[rng.random(probs.shape) < 0.2] = 0.0
        probs[rng.random(probs.shape) < 0.1] = 1.0
        if trial % 7 == 0:
            costs = np.asfortranarray(costs)
        if trial % 11 == 0:
            probs = probs[:, ::-1]
        got, want = _expected_max_rows(costs, probs), expected_max(costs, probs, method="independent")
        assert got.shape == want.shape and got.tobytes() == want.tobytes()
    # Other shapes are expected_max's own.
    assert _expected_max_rows([10.0, 4.0], [0.5, 0.5]) == 6.0


def test_inputs_changed_in_place_are_seen_and_checked_at_the_next_step():
    sc = RotatingTorus(seed=1)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 1)
    times = np.full(N_LAYERS, 1.3)
    pol = drive("recompute", plane=sc.plane, **{**COMMON, "expert_time_ms": times})
    ref = drive("recompute", plane=sc.plane, **{**COMMON, "expert_time_ms": times.copy()})
    buf = probs.copy()
    for t in range(3):
        got = pol.step(t, sc.phase(t), sc.oracle(t), None, buf)
        want = ref.step(t, sc.phase(t), sc.oracle(t), None, buf.copy())
        assert got.total_ms == want.total_ms
        buf[:, ::-1] = probs  # the caller changes its array in place: the next step sees it
        probs = buf.copy()
    times[:] = 2.0  # so do the options' arrays
    ref = drive("recompute", plane=sc.plane, **{**COMMON, "expert_time_ms": 2.0})
    assert pol.step(5, sc.phase(5), sc.oracle(5), None, buf).total_ms == ref.step(
        5, sc.phase(5), sc.oracle(5), None, buf).total_ms
    bad = buf.copy()
    bad[0, 0] = 1.5
    with pytest.raises(PlacementError, match=r"probs\[0, 0\] = 1.5 is not a probability"):
        pol.step(6, sc.phase(6), sc.oracle(6), None, bad)
    with pytest.raises(PlacementError, match="probs must have shape"):
        pol.step(7, sc.phase(7), sc.oracle(7), None, np.zeros((1, 2, 3)))
