"""The paper's two-level placement: ring partition, gates, sorted experts.

Space-XNet (arXiv 2605.00515): layer placement by a ring partition of the
constellation in orbit order, then intra-layer placement of each layer's
experts on its subnet by the sorted rule. Gates follow the rule of
:mod:`placement.gates`. One oracle call with at most L·K sources.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity, as_phase_deg, as_probs
from .capacity import check_capacity
from .experts import experts_to_slots, fill_sorted
from .gates import DEFAULT_GATE_CANDIDATES, _choose_gates, subnet_members
from .model import Placement
from .ring import ring_partition

__all__ = ["space_xnet", "place_experts_in_subnets", "two_level_on_subnets"]


def space_xnet(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None, belt_planes=None,
               seed=None, gate_time_ms=0.0, expert_time_ms=0.0, n_gate_candidates: int = DEFAULT_GATE_CANDIDATES,
               gate_bound=None) -> Placement:
    """Space-XNet placement: ring partition, gate ring, sorted experts.

    Parameters
    ----------
    arg_lat_deg : array_like, shape (n_sat,)
        Argument of latitude of each satellite at the partition epoch, degrees.
    path_ms : callable
        ``path_ms(sources) -> (len(sources), n_sat)`` shortest-path latency
        in ms, ``inf`` if unreachable.
    probs : array_like, shape (L, E)
        Activation probability of each routed expert of each MoE layer.
    capacity : int or array_like of int, shape (n_sat,)
        Experts per satellite (:func:`experts_per_satellite`).
    eligible : array_like of bool, shape (n_sat,), optional
        Satellites that may host anything.
    plane : array_like of int, shape (n_sat,), optional
        Plane labels (−1 unknown), for tie-breaks and the belt.
    belt_planes : int, optional
        Restrict the ring to B adjacent planes (beyond the paper).
    seed : ignored
        Accepted so that every strategy has the same signature; deterministic.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
        Accepted for the common signature; per-layer constants do not move
        the optimum (they add the same amount to every candidate).
    n_gate_candidates : int
        Candidate gates per subnet (K).
    gate_bound : GateBound, optional
        The last full gate choice of a time series
        (:class:`placement.GateBound`, its ``observe`` called with this
        step's links): candidates it proves worse are not searched. The
        same placement, fewer searches.

    Returns
    -------
    Placement
        ``strategy == "space-xnet"``; experts confined to their subnet.

    Raises
    ------
    InfeasiblePlacementError
        Before any oracle call, if a subnet cannot hold its gate and experts.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.arange(8.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             8 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> pl = space_xnet(pos * 45.0, ring, [[0.9, 0.1], [0.5, 0.5]])
    >>> pl.subnet.tolist(), pl.gate_sat.shape, pl.expert_sat.shape
    ([0, 0, 0, 0, 1, 1, 1, 1], (2,), (2, 2))
    """
    p = as_probs(probs)
    phase = as_phase_deg(arg_lat_deg)
    cap = as_capacity(capacity, phase.size)
    subnet = ring_partition(phase, p.shape[0], eligible=eligible, plane=plane, belt_planes=belt_planes)
    placement, _ = two_level_on_subnets(subnet, path_ms, p, phase, plane, cap, n_gate_candidates, gate_bound)
    return placement


def two_level_on_subnets(subnet, path_ms, probs, phase_deg, plane, capacity, n_gate_candidates, gate_bound=None):
    """Gates and sorted experts on a given partition; also returns the gates' rows (L, n_sat)."""
    n_layers, n_experts = probs.shape
    check_capacity(subnet, n_experts, capacity, n_layers)
    gate_sat, gate_rows = _choose_gates(subnet, path_ms, probs, arg_lat_deg=phase_deg, plane=plane,
                                        capacity=capacity, n_candidates=n_gate_candidates, gate_bound=gate_bound)
    expert_sat = place_experts_in_subnets(subnet, gate_sat, gate_rows, probs, capacity)
    placement = Placement(subnet=subnet, gate_sat=gate_sat, expert_sat=expert_sat, strategy="space-xnet")
    return placement, gate_rows


def place_experts_in_subnets(subnet, gate_sat, gate_rows_ms, probs, capacity) -> np.ndarray:
    """Sorted rule inside every subnet at once, given the gates.

    Parameters
    ----------
    subnet : ndarray of int, shape (n_sat,)
    gate_sat : ndarray of int, shape (L,)
    gate_rows_ms : ndarray, shape (L, n_sat)
        ``d(g_l, ·)`` for each gate.
    probs : ndarray, shape (L, E)
    capacity : ndarray of int, shape (n_sat,)

    Returns
    -------
    ndarray of int64, shape (L, E)
    """
    n_layers = gate_sat.size
    # Ring order inside a subnet does not matter here; index order will do.
    members = subnet_members(subnet, n_layers, np.zeros(subnet.size))
    safe = np.maximum(members, 0)
    pad = members < 0
    gate_rows_ms = np.asarray(gate_rows_ms)
    layer = np.arange(n_layers)[:, None]
    cost = gate_rows_ms[layer, safe] + gate_rows_ms[(layer + 1) % n_layers, safe]
    cost = np.where(pad, np.inf, cost)
    free = np.where(pad | (members == gate_sat[:, None]), 0, capacity[safe])
    slot_pos, _ = fill_sorted(cost, free, probs.shape[1])
    slot_sat = np.take_along_axis(members, slot_pos, axis=1)
    return experts_to_slots(slot_sat, probs)
