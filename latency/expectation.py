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
    costs = np.asarray(costs, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    costs, probs = np.broadcast_arrays(costs, probs)
    costs = np.moveaxis(costs, axis, -1)
    probs = np.moveaxis(probs, axis, -1)
    order = np.argsort(-costs, axis=-1, kind="stable")
    c = np.take_along_axis(costs, order, axis=-1)
    p = np.take_along_axis(probs, order, axis=-1)
    idle = np.cumprod(1.0 - p, axis=-1)
    # Probability that every costlier item is idle: shifted cumulative product.
    before = np.concatenate([np.ones_like(idle[..., :1]), idle[..., :-1]], axis=-1)
    weight = p * before
    # 0 * inf must stay 0 for items that are never active (np.where evaluates both sides).
    with np.errstate(invalid="ignore"):
        term = np.where(weight > 0, c * weight, 0.0)
    return term.sum(axis=-1)


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
    costs = np.asarray(costs, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    costs, probs = np.broadcast_arrays(costs, probs)
    costs = np.moveaxis(costs, axis, -1)
    probs = np.moveaxis(probs, axis, -1)
    order = np.argsort(-costs, axis=-1, kind="stable")
    p = np.take_along_axis(probs, order, axis=-1)
    idle = np.cumprod(1.0 - p, axis=-1)
    before = np.concatenate([np.ones_like(idle[..., :1]), idle[..., :-1]], axis=-1)
    weight_sorted = p * before
    weight = np.empty_like(weight_sorted)
    np.put_along_axis(weight, order, weight_sorted, axis=-1)
    return np.moveaxis(weight, -1, axis)
