"""Numba kernel of the token layer: the replay of a router trace (:class:`latency.TraceReplay`).

A sweep replays one trace (2,000 tokens) at every step and for every
policy. In NumPy that is a gather of every slot of every token, a maximum
over the slots, the layer times and two sums over a ``(tokens, layers)``
array, each a pass over memory. This kernel works out the time of each
distinct (layer, experts) row of the trace once, then gathers and sums
them in one pass.

It gives the NumPy path's numbers bit for bit (``tests/test_token_replay.py``
compares them), because it repeats NumPy's operations in NumPy's order:

* ``np.maximum`` keeps its first argument when it is NaN or not smaller;
* ``a.sum(axis=1)`` of a row of n <= 128 values starts from 0 and adds
  NumPy's pairwise sum, which for such a row is a plain loop when n < 8 and
  otherwise eight interleaved accumulators, combined as
  ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, plus the leftover
  values one by one (longer rows are split in halves, which this kernel
  does not do: the caller keeps rings of more than :data:`PAIRWISE_BLOCK`
  layers on the NumPy path);
* ``a.sum(axis=0)`` adds the rows one after the other, starting from 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .pairwise import PAIRWISE_BLOCK, pairwise_block

__all__ = ["replay_rows", "PAIRWISE_BLOCK"]

_pairwise_block = njit(inline="always")(pairwise_block)


@njit(inline="always")
def _maximum(a, b):
    # np.maximum on two floats: NaN wins, else the larger (the first one on a tie).
    return a if (a >= b or a != a) else b


@njit(cache=True, nogil=True)
def replay_rows(flat_cost, floor, dispatch, head_ms, slots, row_layer, token_row, chunk, samples, layer_sum):
    """Token and layer times of a trace replayed through its distinct (layer, slots) rows.

    Parameters
    ----------
    flat_cost : float64 (L·E + 1,)
        Cost of expert e of layer l at ``l·E + e``; the last entry, ``-inf``,
        is where an empty slot points.
    floor, dispatch : float64 (L,)
        The gate's direct path (the least a layer can take) and its dispatch time.
    head_ms : float
        LM head, added to every token.
    slots : int (S, U)
        Flat positions into ``flat_cost`` of the slots of each distinct row.
    row_layer : int (U,)
        Layer of each distinct row.
    token_row : int (n, L)
        Distinct row of every token at every layer.
    chunk : int
        Tokens per block of the layer sums (the NumPy path's chunk).
    samples : float64 (n,)
        Output: time of each token.
    layer_sum : float64 (L,)
        Accumulated in place: each layer's time summed over the tokens, block by block.
    """
    n_slots, n_rows = slots.shape
    n_tokens, n_layers = token_row.shape
    row_time = np.empty(n_rows)
    for u in range(n_rows):
        worst = -np.inf
        for s in range(n_slots):
            worst = _maximum(worst, flat_cost[slots[s, u]])
        layer = row_layer[u]
        row_time[u] = dispatch[layer] + _maximum(worst, floor[layer])
    times = np.empty(n_layers)
    block = np.empty(n_layers)
    for start in range(0, n_tokens, chunk):
        block[:] = 0.0
        for t in range(start, min(start + chunk, n_tokens)):
            for layer in range(n_layers):
                times[layer] = row_time[token_row[t, layer]]
            # Apart from the gather, so that it vectorises.
            for layer in range(n_layers):
                block[layer] += times[layer]
            samples[t] = (0.0 + _pairwise_block(times, n_layers)) + head_ms
        for layer in range(n_layers):
            layer_sum[layer] += block[layer]
