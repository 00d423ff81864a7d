"""Intra-layer expert placement: the paper's sorted rule.

Space-XNet (arXiv 2605.00515, intra-layer placement) sorts the experts of
a layer by activation probability and the candidate satellites by routing
cost, and puts the most frequent expert on the cheapest satellite.

Optimality (independent activations, several experts per satellite).
A satellite that can hold ``q`` experts offers ``q`` *slots* of the same
cost; experts that share a satellite run concurrently (see
:mod:`placement.model`), so an expert's cost depends only on its
satellite. For any assignment,

    E[max] = ∫_0^∞ P(max > x) dx = ∫_0^∞ (1 − ∏_{e : c_e > x} (1 − p_e)) dx.

For every threshold ``x`` the integrand only grows when (i) more experts
sit in slots costlier than ``x`` or (ii) those experts are more probable.
Using the E cheapest slots minimises the number of experts above every
``x`` at once, and putting the least probable experts in the costliest of
them minimises the product's complement at every ``x`` at once. The sorted
rule does both, so its integrand is pointwise minimal: it is optimal, for
every capacity. ``tests/test_placement_experts.py`` checks it against
brute force.
"""

from __future__ import annotations

import numpy as np

from latency.expectation import expected_max

from ._validate import as_capacity
from .exceptions import InfeasiblePlacementError, PlacementError

__all__ = ["assign_experts"]


def assign_experts(costs_ms, probs, capacity=1) -> np.ndarray:
    """Map experts to candidate satellites by the sorted rule (optimal).

    Parameters
    ----------
    costs_ms : array_like, shape (n_cand,)
        Cost in ms of running an expert of this layer on each candidate
        satellite: path from the gate, expert time, path to the next gate.
        ``inf`` marks an unreachable candidate (used last, if at all).
    probs : array_like, shape (E,)
        Activation probability of each expert of the layer.
    capacity : int or array_like of int, shape (n_cand,)
        Experts each candidate can hold (memory per satellite divided by
        the expert's size, see :func:`placement.experts_per_satellite`).

    Returns
    -------
    numpy.ndarray of int64, shape (E,)
        Index into ``costs_ms`` of the satellite hosting each expert. Ties
        (equal probabilities or costs) go to the lower index, so the result
        is deterministic.

    Raises
    ------
    InfeasiblePlacementError
        If the candidates cannot hold all E experts.

    Examples
    --------
    The most frequent expert (1) goes on the cheapest satellite (2):

    >>> assign_experts([5.0, 9.0, 1.0], [0.2, 0.7, 0.1]).tolist()
    [0, 2, 1]

    Two slots per satellite fill the cheapest satellite first:

    >>> assign_experts([5.0, 9.0, 1.0], [0.2, 0.7, 0.1], capacity=2).tolist()
    [2, 2, 0]
    """
    costs = np.asarray(costs_ms, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if costs.ndim != 1 or p.ndim != 1 or p.size == 0:
        raise PlacementError(
            f"assign_experts takes 1-D costs_ms (n_cand,) and probs (E,), got shapes {costs.shape} and {p.shape}"
        )
    if np.isnan(costs).any():
        raise PlacementError("costs_ms contains NaN; mark unreachable candidates with inf")
    free = as_capacity(capacity, costs.size)
    if free.sum() < p.size:
        raise InfeasiblePlacementError(
            f"{costs.size} candidate satellites hold {int(free.sum())} experts "
            f"(capacity {capacity!r} per satellite) but the layer has {p.size} experts; "
            "add candidates or raise the memory per satellite"
        )
    slot_sat, _ = fill_sorted(costs[None, :], free[None, :], p.size)
    return experts_to_slots(slot_sat[0], p)


def fill_sorted(costs: np.ndarray, free: np.ndarray, n_experts: int):
    """The E cheapest slots of each row, in ascending cost.

    Parameters
    ----------
    costs : ndarray, shape (R, n)
        Cost in ms of each satellite, one row per independent problem.
    free : ndarray of int, shape (R, n) or (n,)
        Free expert slots on each satellite.
    n_experts : int
        Number of slots wanted (E).

    Returns
    -------
    slot_sat : ndarray of int64, shape (R, E)
        Satellite of each slot, cheapest first (ties: lower index first).
        Rows without room for E experts are padded with their last satellite.
    feasible : ndarray of bool, shape (R,)
        Whether the row had room for E experts.
    """
    n_rows, n = costs.shape
    free = np.broadcast_to(free, costs.shape)
    if n > 4 * n_experts + 16:
        # Every satellite with room offers at least one slot, so the E
        # cheapest slots lie on satellites no dearer than the E-th cheapest
        # one with room. Keeping all of those (ties included) and nothing
        # else leaves the result, tie order included, unchanged, and turns
        # an O(n log n) sort of every row into O(n) selection.
        room = free > 0
        threshold = np.partition(np.where(room, costs, np.inf), n_experts - 1, axis=1)[:, n_experts - 1]
        keep = room & (costs <= threshold[:, None])
        width = int(keep.sum(axis=1).max())
        if width < n // 2:
            # Stable sort of booleans is a radix sort: kept satellites first,
            # in index order.
            sub = np.argsort(~keep, axis=1, kind="stable")[:, :width]
            sub_kept = np.take_along_axis(keep, sub, axis=1)
            sub_cost = np.where(sub_kept, np.take_along_axis(costs, sub, axis=1), np.inf)
            sub_free = np.where(sub_kept, np.take_along_axis(free, sub, axis=1), 0)
            slot_pos, feasible = fill_sorted(sub_cost, sub_free, n_experts)
            return np.take_along_axis(sub, slot_pos, axis=1), feasible
    order = np.argsort(costs, axis=1, kind="stable")
    free_o = np.take_along_axis(free, order, axis=1).astype(np.int64)
    before = np.cumsum(free_o, axis=1) - free_o
    used_o = np.clip(n_experts - before, 0, free_o)
    cum = np.cumsum(used_o, axis=1)
    feasible = cum[:, -1] >= n_experts
    # Slot j of row r sits at the first sorted position whose cumulative use
    # exceeds j; offsetting rows by (E + 1) makes one flat monotone array so
    # a single searchsorted answers every row at once.
    offset = (np.arange(n_rows, dtype=np.int64) * (n_experts + 1))[:, None]
    flat = (cum + offset).ravel()
    queries = (np.arange(n_experts, dtype=np.int64)[None, :] + offset).ravel()
    pos = np.searchsorted(flat, queries, side="right").reshape(n_rows, n_experts)
    pos -= (np.arange(n_rows, dtype=np.int64) * n)[:, None]
    np.clip(pos, 0, n - 1, out=pos)
    slot_sat = np.take_along_axis(order, pos, axis=1)
    return slot_sat, feasible


def sorted_expected_max(costs: np.ndarray, free: np.ndarray, probs: np.ndarray):
    """Optimal layer cost of each row under the sorted rule.

    Parameters
    ----------
    costs : ndarray, shape (R, n)
    free : ndarray of int, shape (R, n) or (n,)
    probs : ndarray, shape (R, E) or (E,)

    Returns
    -------
    value_ms : ndarray, shape (R,)
        E[max] of the sorted assignment (``inf`` for rows without room).
    slot_sat : ndarray of int64, shape (R, E)
        Satellites of the slots, cheapest first.
    """
    probs = np.broadcast_to(probs, (costs.shape[0], probs.shape[-1]))
    slot_sat, feasible = fill_sorted(costs, free, probs.shape[1])
    slot_cost = np.take_along_axis(costs, slot_sat, axis=1)
    p_desc = -np.sort(-probs, axis=1)
    value = expected_max(slot_cost, p_desc, method="independent")
    return np.where(feasible, value, np.inf), slot_sat


def cheapest_slot_costs(costs: np.ndarray, free: np.ndarray, n_experts: int):
    """Costs of the E cheapest slots of each row, ascending (the sorted rule's, without satellites).

    The values equal ``np.take_along_axis(costs, fill_sorted(costs, free, E)[0], axis=1)``
    on every feasible row: equal costs are interchangeable, so which of
    several tied satellites offers a slot changes no value, and an unordered
    selection followed by a sort of E values gives the same vector as
    sorting the whole row.

    Parameters
    ----------
    costs : ndarray, shape (..., n)
        Cost in ms of each satellite, one row per independent problem.
    free : ndarray of int, broadcastable to ``costs``
        Free expert slots on each satellite.
    n_experts : int
        Number of slots wanted (E).

    Returns
    -------
    slot_cost : ndarray, shape (..., E)
        Cost of each slot, cheapest first; meaningless on infeasible rows.
    feasible : ndarray of bool, shape (...)
        Whether the row had room for E experts.
    """
    free = np.broadcast_to(free, costs.shape)
    feasible = free.sum(axis=-1) >= n_experts
    return cheapest_masked_slot_costs(np.where(free > 0, costs, np.inf), free, n_experts), feasible


def cheapest_masked_slot_costs(masked: np.ndarray, free: np.ndarray, n_experts: int) -> np.ndarray:
    """:func:`cheapest_slot_costs` (without ``feasible``) on costs already ``inf`` where ``free == 0``.

    A satellite without room is then picked only after every slot with a
    finite cost, that is only on rows too short to be feasible or where
    the remaining slots cost ``inf`` as well: the values are unchanged.
    """
    n = masked.shape[-1]
    if np.max(free, initial=0) <= 1:
        # One slot per satellite: the E cheapest slots are the E cheapest entries.
        if n > n_experts:
            masked = np.partition(masked, n_experts - 1, axis=-1)[..., :n_experts]
        out = np.sort(masked, axis=-1)
        if n < n_experts:
            out = np.concatenate([out, np.full(out.shape[:-1] + (n_experts - n,), np.inf)], axis=-1)
        return out
    free = np.broadcast_to(free, masked.shape)
    if n > n_experts:
        # Each of the E cheapest satellites with room offers a slot and none is dearer
        # than a satellite left out, so the E cheapest slots lie on them.
        sub = np.argpartition(masked, n_experts - 1, axis=-1)[..., :n_experts]
        masked = np.take_along_axis(masked, sub, axis=-1)
        free = np.take_along_axis(free, sub, axis=-1)
    flat = masked.reshape(-1, masked.shape[-1])
    slot_pos, _ = fill_sorted(flat, free.reshape(flat.shape), n_experts)
    return np.take_along_axis(flat, slot_pos, axis=1).reshape(masked.shape[:-1] + (n_experts,))


def experts_to_slots(slot_sat: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Give slot j (j-th cheapest) to the j-th most probable expert.

    ``slot_sat`` and ``probs`` have shape (..., E); returns (..., E) satellites
    indexed by expert.
    """
    rank = np.argsort(-probs, axis=-1, kind="stable")
    out = np.empty_like(slot_sat)
    np.put_along_axis(out, rank, slot_sat, axis=-1)
    return out
