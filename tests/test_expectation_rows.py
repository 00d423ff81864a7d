"""expected_max and critical_probabilities with method="independent" give the textbook computation bit for bit."""

import numpy as np
import pytest

from latency.expectation import by_decreasing_cost, critical_probabilities, expected_max


def _textbook(costs, probs, axis):
    """Sort along ``axis`` by decreasing cost, weight each item by p · prod(1 - p of the costlier)."""
    costs, probs = np.broadcast_arrays(np.asarray(costs, dtype=float), np.asarray(probs, dtype=float))
    costs, probs = np.moveaxis(costs, axis, -1), np.moveaxis(probs, axis, -1)
    order = np.argsort(-costs, axis=-1, kind="stable")
    c = np.take_along_axis(costs, order, axis=-1)
    p = np.take_along_axis(probs, order, axis=-1)
    idle = np.cumprod(1.0 - p, axis=-1)
    before = np.concatenate([np.ones_like(idle[..., :1]), idle[..., :-1]], axis=-1)
    weight = p * before
    with np.errstate(invalid="ignore"):
        value = np.where(weight > 0, c * weight, 0.0).sum(axis=-1)
    unsorted = np.empty_like(weight)
    np.put_along_axis(unsorted, order, weight, axis=-1)
    return value, np.moveaxis(unsorted, -1, axis)


def _same(a, b):
    return type(a) is type(b) and np.shape(a) == np.shape(b) and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("seed", range(40))
def test_rows_match_the_textbook_sort(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(n) for n in rng.integers(0 if seed % 10 == 0 else 1, 7, ndim))
    costs = rng.uniform(0, 10, shape)
    if seed % 3 == 0:
        costs = costs.round()  # ties keep their given order
    costs[rng.random(shape) < 0.1] = np.inf
    probs = rng.uniform(0, 1, shape)
    probs[rng.random(shape) < 0.2] = 0.0
    probs[rng.random(shape) < 0.1] = 1.0
    axis = int(rng.integers(-ndim, ndim))
    if seed % 4 == 1 and ndim > 1:
        probs, axis = probs[(0,) * (ndim - 1)], -1  # one row of probabilities for every row of costs
    value, weight = _textbook(costs, probs, axis)
    with np.errstate(invalid="ignore"):
        assert _same(expected_max(costs, probs, axis, method="independent"), value)
    assert _same(critical_probabilities(costs, probs, axis, method="independent"), weight)


def test_one_row_gives_a_numpy_scalar_like_a_reduction():
    assert type(expected_max([10.0, 4.0], [0.5, 0.5])) is np.float64
    assert type(expected_max([10.0, 4.0], [0.5, 0.5], method="independent")) is np.float64


def test_by_decreasing_cost_returns_flat_positions():
    costs = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 4.0]])
    c, w, order = by_decreasing_cost(costs, np.full((2, 3), 0.5))
    assert order.tolist() == [[1, 2, 0], [3, 4, 5]]
    np.testing.assert_array_equal(c, costs.ravel()[order])
    assert w.tolist() == [[0.5, 0.25, 0.125]] * 2
