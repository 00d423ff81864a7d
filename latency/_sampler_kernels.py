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
def draw_exactly_k(take, forced, free_k, u, mask, values, largest):
    # The sequential CB draw, one (sample, row) at a time. ``take[r, j, m]`` is the chance that item j
    # is in with m items still to pick (0 for m = 0), worked out once per call by the caller with the
    # same IEEE operations as a whole-array NumPy pass, so the same draws: a look-up per item instead of
    # a multiplication and a division. Writes the masks into ``mask`` and/or, when ``values`` has rows,
    # the largest value of each draw's items into ``largest`` (-inf for none; NaN propagates, as in
    # ndarray.max).
    n_samples, n_rows, n = u.shape
    with_mask = mask.shape[0] > 0
    with_largest = values.shape[0] > 0
    for i in range(n_samples):
        for r in range(n_rows):
            left = free_k[r]
            top = -np.inf
            for j in range(n):
                chosen = u[i, r, j] < take[r, j, left]
                left -= chosen
                if with_mask:
                    mask[i, r, j] = chosen or forced[r, j]
                if with_largest and (chosen or forced[r, j]):
                    v = values[r, j]
                    if v > top or v != v:
                        top = v
            if with_largest:
                largest[i, r] = top
