"""The exactly-k routing law: conditional Bernoulli sets with given inclusion probabilities.

A top-k router activates exactly k experts per token and layer. Of the
laws on k-subsets whose inclusion probabilities equal a profile ``p``, we
use the conditional-Bernoulli (CB) law

    P(S) ∝ prod_{i in S} w_i,   |S| = k,

the one of maximum entropy (it assumes nothing beyond the marginals), with
weights ``w`` calibrated so that ``P(i in S) = p_i`` exactly. Experts with
``p_i = 1`` are always in (weight ``inf`` here), with ``p_i = 0`` never
(weight 0). We chose it over the Plackett-Luce law of a Gumbel-perturbed
router (:func:`latency.topk_logits`) because its expected maximum has an
exact and cheap form: with items sorted by decreasing cost,

    P(item i is the costliest active) = w_i e_{k-1}(w_{i+1..n}) / e_k(w_{1..n}),

where ``e_m`` are elementary symmetric polynomials, all from one suffix
table (``e_m`` of every suffix, m <= k) built in ``n k`` additions of
positive terms, so without cancellation. The same table draws exact CB
samples item by item, so the Monte Carlo and the closed form describe one
law. The Plackett-Luce mean has no such dynamic program.

Weights are scaled to a largest free weight of 1 (the law does not change
with a common factor); ``e_k`` then stays between the product of the k
largest weights and ``C(n, k)``, far from float64's limits for the models
shipped (up to 256 experts, k = 8, weights down to 1e-12).

Calibration: ``w_i ← w_i · odds(p_i) / odds(π_i(w))`` (a step on the
log-odds of every item; the plain ratio ``p_i / π_i`` crawls when ``p_i``
is near 1), half a step at a time from ``w = odds(p)``; about 35 steps reach 1e-13 on
every shipped profile.

Examples
--------
>>> w, k = exactly_k_weights([[0.5, 0.5, 1.0, 0.0]])
>>> w.tolist(), k.tolist()
([[1.0, 1.0, inf, 0.0]], [2])
>>> exactly_k_inclusion(w, k).tolist()
[[0.5, 0.5, 1.0, 0.0]]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .exceptions import ActivationError

__all__ = ["exactly_k_weights", "exactly_k_inclusion", "sample_exactly_k", "sample_exactly_k_max"]

#: Probabilities this close to 1 are taken as "always selected" (as in :func:`latency.topk_logits`).
FORCED_ABOVE = 1.0 - 1e-12
#: Largest error of the calibrated inclusion probabilities before a warning.
_WARN_ABOVE = 1e-9


def exactly_k_weights(probs, tol: float = 1e-13, max_iter: int = 500):
    """CB weights whose exactly-k sets have the inclusion probabilities ``probs``.

    Parameters
    ----------
    probs : array_like, shape (..., n)
        Inclusion probabilities in [0, 1]; each row sums to an integer k
        (within 1e-6 k; the free items are rescaled to sum exactly).
    tol : float
        Largest error of the calibrated inclusion probabilities.
    max_iter : int
        Calibration steps before giving up (with a warning).

    Returns
    -------
    weights : numpy.ndarray, shape (..., n)
        ``inf`` for items always in (p >= 1 - 1e-12), 0 for items never in,
        positive finite weights (largest 1 per row) for the others.
    k : numpy.ndarray of int, shape (...)
        Items per set, the rounded row sums.

    Examples
    --------
    >>> w, k = exactly_k_weights([0.9, 0.5, 0.3, 0.3])
    >>> exactly_k_inclusion(w, k).round(12).tolist()
    [0.9, 0.5, 0.3, 0.3]
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0:
        raise ActivationError("probs must be an array (..., n_items)")
    shape = p.shape
    flat = p.reshape(-1, shape[-1]) if shape[-1] else p.reshape(-1, 0)
    if flat.size and not (flat.min() >= 0 and flat.max() <= 1 + 1e-9):
        raise ActivationError("probabilities must lie in [0, 1]")
    sums = flat.sum(axis=1)
    k = np.round(sums).astype(np.int64)
    bad = np.flatnonzero(np.abs(sums - k) > 1e-6 * np.maximum(1, k))
    if bad.size:
        raise ActivationError(f"row {bad[0]} sums to {sums[bad[0]]:.6g}; under exactly-k routing the "
                              "inclusion probabilities of a row sum to a whole number k")
    forced = flat >= FORCED_ABOVE
    free = (flat > 0) & ~forced
    free_k = k - forced.sum(axis=1)
    n_free = free.sum(axis=1)
    # Free items have p < 1 and sum to k', so there are more than k' of them (none when k' = 0).
    impossible = np.flatnonzero((free_k < 0) | ((free_k == 0) & (n_free > 0)) | ((free_k > 0) & (n_free <= free_k)))
    if impossible.size:
        row = int(impossible[0])
        raise ActivationError(f"row {row}: {forced[row].sum()} items with probability 1 and "
                              f"{n_free[row]} below it cannot make exactly k = {k[row]}")
    weights = np.where(forced, np.inf, 0.0)
    worst = 0.0
    for kk in np.unique(free_k[n_free > 0]):
        rows = np.flatnonzero((free_k == kk) & (n_free > 0))
        target = np.where(free[rows], flat[rows], 0.0)
        target *= kk / target.sum(axis=1, keepdims=True)  # exact sums: CB marginals always sum to k
        np.minimum(target, FORCED_ABOVE, out=target)  # a free item stays below 1 after the rescaling
        w, err = _calibrate(target, int(kk), tol, max_iter)
        weights[rows] = np.where(free[rows], w, weights[rows])
        worst = max(worst, err)
    if worst > _WARN_ABOVE:
        warnings.warn(f"exactly-k calibration reached an inclusion error of {worst:.2g} only",
                      RuntimeWarning, stacklevel=2)
    return weights.reshape(shape), k.reshape(shape[:-1])


def _calibrate(target, k, tol, max_iter):
    """Free weights (rows of ``target``, zeros stay 0) with CB(k) inclusion ``target``; and the error left.

    Each step multiplies every weight by ``(odds(p_i) / odds(π_i))^α``. With
    α = 1 this is a Newton step that ignores how the items couple, and it can
    overshoot by up to a factor 2 (two free items with k = 1 would swap their
    weights for ever); α = 1/2 converges by about a factor 2 a step on the
    shipped profiles. A row whose error grows anyway goes back and halves α.
    """
    odds_target = target / (1.0 - target)
    w = odds_target / odds_target.max(axis=1, keepdims=True)
    pi = _inclusion(w, k)
    err = np.abs(pi - target).max(axis=1)
    alpha = np.full(len(w), 0.5)
    for _ in range(max_iter):
        # A row that has converged stays put, so that its weights do not depend on the rows
        # calibrated with it (token_latency and expected_max then agree bit for bit).
        going = err >= tol
        if not going.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(target > 0, odds_target * (1.0 - pi) / pi, 0.0)
        trial = w * ratio ** alpha[:, None]
        trial /= trial.max(axis=1, keepdims=True)
        pi_trial = _inclusion(trial, k)
        err_trial = np.abs(pi_trial - target).max(axis=1)
        better = going & (err_trial < err)
        w = np.where(better[:, None], trial, w)
        pi = np.where(better[:, None], pi_trial, pi)
        err = np.where(better, err_trial, err)
        alpha = np.where(better | ~going, alpha, alpha * 0.5)
    return w, float(err.max(initial=0.0))


def _suffix_table(w, k):
    """``S[r, j, m] = e_m(w[r, j:])`` for m = 0..k: elementary symmetric polynomials of every suffix.

    ``w`` is ``(R, n)`` with finite non-negative entries; ``S`` is ``(R, n + 1, k + 1)``.
    """
    rows, n = w.shape
    s = np.zeros((rows, n + 1, k + 1))
    s[:, n, 0] = 1.0
    for j in range(n - 1, -1, -1):
        s[:, j] = s[:, j + 1]
        s[:, j, 1:] += w[:, j, None] * s[:, j + 1, :-1]
    return s


def _inclusion(w, k):
    """CB(k) inclusion probabilities of finite weights ``(R, n)``: ``w_i e_{k-1}(w without i) / e_k(w)``."""
    prefix = _suffix_table(w[:, ::-1], k)[:, ::-1]  # prefix[:, j] = e(w[:, :j])
    suffix = _suffix_table(w, k)
    # e_{k-1} of all but item j: the products of a prefix part and a suffix part of degrees a + b = k - 1.
    leave_one_out = np.einsum("rja,rja->rj", prefix[:, :-1, :k], suffix[:, 1:, k - 1::-1])
    return w * leave_one_out / suffix[:, 0, k][:, None]


def exactly_k_inclusion(weights, k):
    """Inclusion probabilities of the CB law with ``weights`` (``inf``: always in) and k items per row.

    Examples
    --------
    >>> exactly_k_inclusion([[2.0, 1.0, 1.0]], [2]).round(6).tolist()  # sets {0,1}, {0,2} weigh 2, {1,2} 1
    [[0.8, 0.6, 0.6]]
    """
    w = np.asarray(weights, dtype=np.float64)
    shape = w.shape
    w = w.reshape(-1, shape[-1])
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), shape[:-1]).reshape(-1)
    forced = np.isinf(w)
    free_k = k - forced.sum(axis=1)
    out = np.where(forced, 1.0, 0.0)
    for kk in np.unique(free_k):
        if kk <= 0:
            continue
        rows = np.flatnonzero(free_k == kk)
        finite = np.where(forced[rows], 0.0, w[rows])
        out[rows] += _inclusion(finite, int(kk))
    return out.reshape(shape)


def critical_in_order(weights, k):
    """Probability that each item is the first active one of its row under CB (rows sorted by decreasing cost).

    ``weights`` and ``k`` are as :func:`exactly_k_weights` returns them, already in the
    rows' order, ``(R, n)`` and ``(R,)``. Item j is critical when it is in
    and no item before it is: ``w_j e_{k'-1}(after j) / e_{k'}(all)`` for a
    free item, ``e_{k'}(after j) / e_{k'}(all)`` for the first item always
    in, 0 for every item after it (k' counts the free items of a set).
    """
    forced = np.isinf(weights)
    finite = np.where(forced, 0.0, weights)
    free_k = k - forced.sum(axis=1)
    top = int(max(free_k.max(initial=0), 0))
    s = _suffix_table(finite, top)
    rows = np.arange(len(weights))
    whole = s[rows, 0, free_k]                                     # e_k'(all free)
    after = s[:, 1:, :]                                            # e(after j), (R, n, top + 1)
    seen = np.cumsum(forced, axis=1)
    before_forced = (seen - forced) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pick = after[rows[:, None], np.arange(weights.shape[1])[None, :], np.maximum(free_k - 1, 0)[:, None]]
        free_part = np.where((free_k[:, None] >= 1) & ~before_forced & ~forced, finite * pick, 0.0)
        stay = after[rows[:, None], np.arange(weights.shape[1])[None, :], free_k[:, None]]
        forced_part = np.where(forced & (seen == 1), stay, 0.0)
        crit = (free_part + forced_part) / whole[:, None]
    return np.where(np.isfinite(crit), crit, 0.0)


#: Samples drawn per block: the block's uniforms stay in cache between the generator and the kernel.
_BLOCK_SAMPLES = 512


def _draws(weights, k, n_samples: int, rng, values):
    w = np.asarray(weights, dtype=np.float64)
    n_rows, n = w.shape
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), (n_rows,))
    forced = np.isinf(w)
    finite = np.where(forced, 0.0, w)
    free_k = k - forced.sum(axis=1)
    top = int(max(free_k.max(initial=0), 0))
    s = _suffix_table(finite, top)
    # take[r, j, m]: item j's conditional chance with m items still to pick (none with m = 0), each
    # worked out as the sequential draw would, (w_j · e_{m-1}(after j)) / e_m(j and after).
    take = np.zeros((n_rows, n, top + 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        take[:, :, 1:] = finite[:, :, None] * s[:, 1:, :-1] / s[:, :-1, 1:]
    with_values = values is not None
    if with_values:
        values = np.ascontiguousarray(values, dtype=np.float64)
        if values.shape != (n_rows, n):
            raise ActivationError(f"values have shape {values.shape}, the weights {(n_rows, n)}")
        mask, largest = None, np.empty((n_samples, n_rows))
    else:
        mask, largest = np.empty((n_samples, n_rows, n), dtype=bool), None
    # Imported here, as routing imports its kernels: numba loads only when it is needed.
    from ._sampler_kernels import draw_exactly_k, draw_exactly_k_max

    # One uniform per (sample, row, item), in that order: the generator's stream does not depend on how
    # it is cut, so blocks of samples draw what one rng.random((n_samples, n_rows, n)) would.
    free_k = np.maximum(free_k, 0)
    u = np.empty((min(_BLOCK_SAMPLES, n_samples), n_rows, n))
    for a in range(0, n_samples, _BLOCK_SAMPLES):
        b = min(a + _BLOCK_SAMPLES, n_samples)
        block = u[:b - a]
        rng.random(out=block)
        if with_values:
            draw_exactly_k_max(take, forced, free_k, block, values, largest[a:b])
        else:
            draw_exactly_k(take, forced, free_k, block, mask[a:b])
    return mask, largest


def sample_exactly_k(weights, k, n_samples: int, rng) -> np.ndarray:
    """Exact CB draws: boolean masks ``(n_samples, R, n)`` for weights ``(R, n)`` and k ``(R,)``.

    Items are visited in order with ``r`` items still to pick: item j is in
    with probability ``w_j e_{r-1}(after j) / e_r(j and after)`` (1 for an
    item always in), which is the CB law's own conditional. One uniform per
    (sample, row, item).

    Examples
    --------
    >>> m = sample_exactly_k([[1.0, 1.0, np.inf]], [2], 5, np.random.default_rng(0))
    >>> m.sum(axis=2).ravel().tolist(), bool(m[:, 0, 2].all())
    ([2, 2, 2, 2, 2], True)
    """
    return _draws(weights, k, n_samples, rng, None)[0]


def sample_exactly_k_max(weights, k, n_samples: int, rng, values) -> np.ndarray:
    """The largest of ``values`` ``(R, n)`` over the items of each CB draw, ``(n_samples, R)``.

    The draws of :func:`sample_exactly_k` with the same ``rng`` state, without
    their masks: equal to ``np.where(mask, values, -inf).max(axis=2)``.

    Examples
    --------
    >>> sample_exactly_k_max([[1.0, 1.0, np.inf]], [2], 3, np.random.default_rng(0), [[5.0, 7.0, 1.0]])
    array([[7.],
           [5.],
           [7.]])
    """
    return _draws(weights, k, n_samples, rng, values)[1]
