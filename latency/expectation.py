"""Expected maximum of the costs of the active experts: exactly-k routing, or the paper's independence.

A layer waits for the slowest of its active experts. Sorting the items by
decreasing cost, the maximum equals ``c_(i)`` exactly when item ``(i)`` is
active and every costlier item is idle, so

    E[max] = sum_i c_(i) · P(item (i) is the costliest active one)

(0 when no item is active). The laws of the active set differ in those
probabilities:

* ``method="exactly-k"`` (the default): a token activates exactly k experts
  of a layer (k = the row sum of the probabilities), under the
  conditional-Bernoulli law calibrated to the inclusion probabilities
  (:mod:`latency.exactly_k`): ``P = w_(i) e_{k-1}(w_(i+1..n)) / e_k(w)``,
  exact by a dynamic program over the sorted items. Items with probability 1
  are always active.
* ``method="independent"``: each item is active on its own with its
  probability, ``P = p_(i) · prod_{j < i} (1 - p_(j))``; the paper's
  approximation. It leaves a layer with no active expert with probability
  ``prod (1 - p)`` (6.25 % for 2 of 8 uniform experts), which no top-k token
  does. The conditional-Bernoulli law is negatively associated, so for
  non-negative costs P(no item among the i costliest is active) is at most
  the product of the idle probabilities: the independent expectation is a
  lower bound of the exactly-k one.

Ties in cost give the same expectation in any order; ``inf`` costs (no
path) make the expectation ``inf`` when such an item can be active.
"""

from __future__ import annotations

import math

import numpy as np

from .exactly_k import critical_in_order, exactly_k_weights
from .exceptions import ActivationError

__all__ = ["expected_max", "critical_probabilities", "by_decreasing_cost", "METHODS"]

#: The activation laws of the expectation: exactly-k routing (default) and the paper's independence.
METHODS = ("exactly-k", "independent")


def expected_max(costs, probs, axis: int = -1, method: str = "exactly-k"):
    """Expected maximum of ``costs`` over the active items.

    Parameters
    ----------
    costs : array_like, shape (..., n)
        Cost of each item when active (any unit; ``inf`` allowed for unreachable).
    probs : array_like, shape (..., n)
        Probability that each item is active, in [0, 1]; broadcast against
        ``costs``. For ``"exactly-k"`` each row sums to a whole number k.
    axis : int
        Axis of the items.
    method : {"exactly-k", "independent"}
        Exactly k active items per row (conditional Bernoulli, see the module
        docstring), or each item active on its own (the paper's approximation).

    Returns
    -------
    numpy.ndarray
        E[max over active items of cost], 0 where no item can be active.
        ``inf`` if an item with infinite cost can be the costliest active one.

    Examples
    --------
    Two experts, costs 10 and 4 ms, one of them active (k = 1, each half
    the time); independently, the maximum is 10 with probability 0.5, 4 with
    probability 0.25, and nothing is active a quarter of the time:

    >>> float(expected_max([10.0, 4.0], [0.5, 0.5]))
    7.0
    >>> float(expected_max([10.0, 4.0], [0.5, 0.5], method="independent"))
    6.0
    """
    c, weight, _, shape = _sorted_rows(costs, probs, axis, method)
    # 0 * inf must stay 0 for items that are never critical (np.where evaluates both sides).
    with np.errstate(invalid="ignore"):
        term = np.where(weight > 0, c * weight, 0.0)
    total = term.sum(axis=-1)
    # A single row gives a NumPy scalar, as a reduction of a 1-D array does.
    return total.reshape(shape[:-1]) if len(shape) > 1 else total[0]


def critical_probabilities(costs, probs, axis: int = -1, method: str = "exactly-k"):
    """Probability that each item is the costliest active one (sets the maximum).

    With items sorted by decreasing cost (ties in their given order), these
    are the weights of :func:`expected_max`, so ``sum(costs * weights) ==
    expected_max`` for finite costs. They split an expected maximum into
    causes (propagation, compute, ...).

    Examples
    --------
    >>> critical_probabilities([10.0, 4.0], [0.5, 0.5]).tolist()
    [0.5, 0.5]
    >>> critical_probabilities([10.0, 4.0], [0.5, 0.5], method="independent").tolist()
    [0.5, 0.25]
    """
    _, weight_sorted, order, shape = _sorted_rows(costs, probs, axis, method)
    weight = np.empty(weight_sorted.size)
    weight[order] = weight_sorted
    return np.moveaxis(weight.reshape(shape), -1, axis)


def _sort_rows(costs):
    """Flat positions of each row's items by decreasing cost (ties in their given order), and the sorted costs.

    ``order`` holds flat positions into the ``(m, n)`` rows
    (``costs.ravel()[order]`` is the sorted ``costs``), so that one gather
    or scatter serves all rows.
    """
    m, n = costs.shape
    order = np.argsort(-costs, axis=-1, kind="stable")
    order += (np.arange(m) * n)[:, None]
    return order, costs.ravel()[order]


def by_decreasing_cost(costs, probs):
    """Each row's items by decreasing cost: costs, critical probabilities under independence, order.

    The core of :func:`expected_max` and :func:`critical_probabilities` with
    ``method="independent"`` on ``(m, n)`` float64 rows, for a caller that
    needs both from one sort.

    Returns
    -------
    costs, weights : float64 (m, n)
        Each row's costs from the dearest down, and the probability that
        each is the dearest active item; ``(costs * weights).sum(-1)`` is the
        expected maximum where every cost is finite.
    order : int (m, n)
        Flat indices into ``costs`` of that order.

    Examples
    --------
    >>> import numpy as np
    >>> c, w, _ = by_decreasing_cost(np.array([[1.0, 3.0, 2.0]]), np.full((1, 3), 0.5))
    >>> c.tolist(), w.tolist()
    ([[3.0, 2.0, 1.0]], [[0.5, 0.25, 0.125]])
    """
    order, c = _sort_rows(costs)
    p = probs.ravel()[order]
    # Probability that every costlier item is idle: the cumulative product shifted by one.
    before = np.empty_like(p)
    if costs.shape[1]:
        before[:, 0] = 1.0
        np.cumprod(1.0 - p[:, :-1], axis=-1, out=before[:, 1:])
    return c, p * before, order


def _by_decreasing_cost_exactly_k(costs, weights, k):
    """As :func:`by_decreasing_cost`, under exactly-k routing with CB ``weights`` and ``k`` per row.

    ``weights`` and ``k`` come from :func:`latency.exactly_k.exactly_k_weights`
    (``inf``: always active), rows ``(m, n)`` and ``(m,)``.
    """
    order, c = _sort_rows(costs)
    return c, critical_in_order(weights.ravel()[order], k), order


def _sorted_rows(costs, probs, axis, method):
    if method not in METHODS:
        raise ActivationError(f"method {method!r} must be one of {', '.join(map(repr, METHODS))}")
    costs = np.asarray(costs, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    costs, probs = np.broadcast_arrays(costs, probs)
    costs = np.moveaxis(costs, axis, -1)
    probs = np.moveaxis(probs, axis, -1)
    shape = costs.shape
    rows = (math.prod(shape[:-1]), shape[-1])
    costs, probs = costs.reshape(rows), probs.reshape(rows)
    if method == "independent":
        c, weight, order = by_decreasing_cost(costs, probs)
    else:
        # Broadcast rows repeat: calibrate each distinct row once.
        distinct, inverse = np.unique(probs, axis=0, return_inverse=True)
        weights, k = exactly_k_weights(distinct)
        inverse = inverse.ravel()
        c, weight, order = _by_decreasing_cost_exactly_k(costs, weights[inverse], k[inverse])
    return c, weight, order, shape
