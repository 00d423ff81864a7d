"""Expected maximum of the costs of the active experts, under independent activations.

A layer waits for the slowest of its active experts. If expert ``e`` is
active with probability ``p_e`` independently of the others and costs
``c_e`` when active, then, sorting experts by decreasing cost,

    E[max] = sum_i c_(i) * p_(i) * prod_{j < i} (1 - p_(j)),

because the maximum equals ``c_(i)`` exactly when expert ``(i)`` is active and
every costlier expert is idle (the layer costs 0 extra when none is active).
Top-k routing activates exactly k experts, so activations are not strictly
independent; the Monte Carlo estimators in :mod:`latency.token` sample the
exact top-k law and report how far the two differ.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["expected_max", "critical_probabilities"]


def expected_max(costs, probs, axis: int = -1):
    """Expected maximum of ``costs`` over independently active items.

    Parameters
    ----------
    costs : array_like, shape (..., n)
        Cost of each item when active (any unit; ``inf`` allowed for unreachable).
    probs : array_like, shape (..., n)
        Probability that each item is active, in [0, 1]; broadcast against ``costs``.
    axis : int
        Axis of the items.

    Returns
    -------
    numpy.ndarray
        E[max over active items of cost], 0 where no item can be active.
        ``inf`` if an item with positive probability has infinite cost.

    Examples
    --------
    Two experts, costs 10 and 4 ms, active with probability 0.5 each:
    the maximum is 10 with probability 0.5 and 4 with probability 0.25.

    >>> float(expected_max([10.0, 4.0], [0.5, 0.5]))
    6.0
    """
    c, weight, _, shape = _sorted_rows(costs, probs, axis)
    # 0 * inf must stay 0 for items that are never active (np.where evaluates both sides).
    with np.errstate(invalid="ignore"):
        term = np.where(weight > 0, c * weight, 0.0)
    total = term.sum(axis=-1)
    # A single row gives a NumPy scalar, as a reduction of a 1-D array does.
    return total.reshape(shape[:-1]) if len(shape) > 1 else total[0]


def critical_probabilities(costs, probs, axis: int = -1):
    """Probability that each item is the costliest active one (sets the maximum).

    With items sorted by decreasing cost (ties in their given order), item
    ``(i)`` is critical when it is active and every costlier item is idle:
    ``p_(i) · prod_{j < i} (1 - p_(j))``; these are the weights of
    :func:`expected_max`, so ``sum(costs * weights) == expected_max`` for finite
    costs. They split an expected maximum into causes (propagation, compute, ...).

    Examples
    --------
    >>> critical_probabilities([10.0, 4.0], [0.5, 0.5]).tolist()
    [0.5, 0.25]
    """
    _, weight_sorted, order, shape = _sorted_rows(costs, probs, axis)
    weight = np.empty(weight_sorted.size)
    weight[order] = weight_sorted
    return np.moveaxis(weight.reshape(shape), -1, axis)


def _by_decreasing_cost(costs, probs):
    """Each row's items by decreasing cost (ties in their given order): costs, critical probabilities, order.

    The core of :func:`expected_max` and :func:`critical_probabilities` on
    ``(m, n)`` float64 rows, for a caller that needs both from one sort.
    ``order`` holds flat positions into the rows (``costs.ravel()[order]``
    is the sorted ``costs``), so that one gather or scatter serves all rows.
    """
    m, n = costs.shape
    order = np.argsort(-costs, axis=-1, kind="stable")
    order += (np.arange(m) * n)[:, None]
    c = costs.ravel()[order]
    p = probs.ravel()[order]
    # Probability that every costlier item is idle: the cumulative product shifted by one.
    before = np.empty_like(p)
    if n:
        before[:, 0] = 1.0
        np.cumprod(1.0 - p[:, :-1], axis=-1, out=before[:, 1:])
    return c, p * before, order


def _sorted_rows(costs, probs, axis):
    costs = np.asarray(costs, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    costs, probs = np.broadcast_arrays(costs, probs)
    costs = np.moveaxis(costs, axis, -1)
    probs = np.moveaxis(probs, axis, -1)
    shape = costs.shape
    rows = (math.prod(shape[:-1]), shape[-1])
    c, weight, order = _by_decreasing_cost(costs.reshape(rows), probs.reshape(rows))
    return c, weight, order, shape
