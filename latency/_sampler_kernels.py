"""Numba kernels of the exactly-k sampler (:func:`latency.exactly_k.sample_exactly_k`).

Kept apart so that importing :mod:`latency` does not load numba; the sampler
imports them on its first draw. ``tests/test_exactly_k.py`` compares them with
the whole-array NumPy form of the same draw, mask for mask and value for value.

Both follow the sequential CB draw, one (sample, row) at a time. ``take[r, j, m]``
is the chance that item j is in with m items still to pick (0 for m = 0),
worked out once per call by the caller with the same IEEE operations as a
whole-array NumPy pass, so the same draws: a look-up per item instead of a
multiplication and a division.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["draw_exactly_k", "draw_exactly_k_max"]


@njit(cache=True, nogil=True, error_model="numpy")
def draw_exactly_k(take, forced, free_k, u, mask):
    # The masks of the draws into ``mask`` (n_samples, rows, items).
    n_samples, n_rows, n = u.shape
    for i in range(n_samples):
        for r in range(n_rows):
            left = free_k[r]
            for j in range(n):
                chosen = u[i, r, j] < take[r, j, left]
                left -= chosen
                mask[i, r, j] = chosen or forced[r, j]


@njit(inline="always")
def _fold(top, value):
    # The larger, NaN propagating (as ndarray.max): ``top`` stays NaN once it is.
    return value if (value > top or value != value) else top


@njit(cache=True, nogil=True, error_model="numpy")
def draw_exactly_k_max(take, forced, free_k, u, values, largest):
    # The largest of ``values`` over each draw's items into ``largest`` (n_samples, rows); -inf for none.
    # Four samples at a time: each (sample, row) is a chain of dependent look-ups (the next item's chance
    # depends on how many are left), and four independent chains keep the core busy while one waits.
    # Items not drawn offer -inf, which changes no fold: the same value as a branch per item.
    n_samples, n_rows, n = u.shape
    none = -np.inf
    i = 0
    while i + 4 <= n_samples:
        for r in range(n_rows):
            l0 = l1 = l2 = l3 = free_k[r]
            t0 = t1 = t2 = t3 = none
            for j in range(n):
                f = forced[r, j]
                v = values[r, j]
                c0 = u[i, r, j] < take[r, j, l0]
                c1 = u[i + 1, r, j] < take[r, j, l1]
                c2 = u[i + 2, r, j] < take[r, j, l2]
                c3 = u[i + 3, r, j] < take[r, j, l3]
                l0 -= c0
                l1 -= c1
                l2 -= c2
                l3 -= c3
                t0 = _fold(t0, v if (c0 or f) else none)
                t1 = _fold(t1, v if (c1 or f) else none)
                t2 = _fold(t2, v if (c2 or f) else none)
                t3 = _fold(t3, v if (c3 or f) else none)
            largest[i, r] = t0
            largest[i + 1, r] = t1
            largest[i + 2, r] = t2
            largest[i + 3, r] = t3
        i += 4
    while i < n_samples:
        for r in range(n_rows):
            left = free_k[r]
            top = none
            for j in range(n):
                chosen = u[i, r, j] < take[r, j, left]
                left -= chosen
                top = _fold(top, values[r, j] if (chosen or forced[r, j]) else none)
            largest[i, r] = top
        i += 1
