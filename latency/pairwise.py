"""NumPy's pairwise summation of a short row, for Numba kernels that must give NumPy's sums bit for bit.

``a.sum()`` of a row of n <= :data:`PAIRWISE_BLOCK` float64 values is, in
NumPy, a plain loop when n < 8 and otherwise eight interleaved accumulators,
combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, plus the
leftover values one by one; longer rows are split in halves, which
:func:`pairwise_block` does not do (callers keep longer rows on NumPy).

This module does not import numba: the kernels that need the sum compile
:func:`pairwise_block` themselves (``njit(inline="always")(pairwise_block)``),
so that :mod:`placement` can read :data:`PAIRWISE_BLOCK` without loading numba.
numba's cache does not notice edits to this file: clear the ``__pycache__``
folders of ``latency`` and ``placement`` if it ever changes.

Example
-------
>>> import numpy as np
>>> a = np.random.default_rng(0).random(37)
>>> bool(pairwise_block(a, a.size) == a.sum())
True
"""

from __future__ import annotations

__all__ = ["PAIRWISE_BLOCK", "pairwise_block"]

#: The longest row NumPy's pairwise summation adds as one block (its PW_BLOCKSIZE).
PAIRWISE_BLOCK = 128


def pairwise_block(a, n):
    """NumPy's pairwise sum of ``a[:n]``, for ``n <= PAIRWISE_BLOCK`` (plain Python; kernels compile it)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    m = n - n % 8
    for i in range(8, m, 8):
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(m, n):
        res += a[i]
    return res
