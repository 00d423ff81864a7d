"""Numba kernel of the exactly-k sampler (:func:`latency.exactly_k.sample_exactly_k`).

Kept apart so that importing :mod:`latency` does not load numba; the sampler
imports it on its first draw. ``tests/test_exactly_k.py`` compares it with
the whole-array NumPy form of the same draw, mask for mask.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["draw_exactly_k"]


@njit(cache=True, nogil=True, error_model="numpy")
def draw_exactly_k(finite, forced, free_k, s, u, mask, values, largest):
    # The sequential CB draw, one (sample, row) at a time: the same divisions and comparisons as a
    # whole-array NumPy pass (IEEE, no fast-math), so the same draws. Writes the masks into ``mask``
    # and/or, when ``values`` has rows, the largest value of each draw's items into ``largest``
    # (-inf for none; NaN propagates, as in ndarray.max).
    n_samples, n_rows, n = u.shape
    with_mask = mask.shape[0] > 0
    with_largest = values.shape[0] > 0
    for i in range(n_samples):
        for r in range(n_rows):
            left = free_k[r]
            top = -np.inf
            for j in range(n):
                chosen = False
                if left > 0:
                    take = finite[r, j] * s[r, j + 1, left - 1] / s[r, j, left]
                    chosen = u[i, r, j] < take
                if chosen:
                    left -= 1
                if with_mask:
                    mask[i, r, j] = chosen or forced[r, j]
                if with_largest and (chosen or forced[r, j]):
                    v = values[r, j]
                    if v > top or v != v:
                        top = v
            if with_largest:
                largest[i, r] = top
