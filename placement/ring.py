"""Layer placement by ring partition (Space-XNet, arXiv 2605.00515).

Autoregressive decoding visits layers 1, 2, …, L and then layer 1 again:
a ring. The paper cuts the constellation along the orbit direction into L
subnets that follow each other on that ring: sort the satellites by
argument of latitude at the partition epoch and cut the sorted list into L
contiguous arcs of equal count; arc ``l`` hosts layer ``l`` and arc L hands
on to arc 1 across 360° → 0°.

Beyond the paper, a *belt* keeps only B adjacent orbital planes, so each
subnet is a compact patch (B planes × a few slots) instead of a band across
every plane.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_eligible, as_phase_deg
from .exceptions import InfeasiblePlacementError, PlacementError

__all__ = ["ring_partition", "belt_mask"]


def ring_partition(arg_lat_deg, n_layers: int, eligible=None, plane=None, belt_planes=None,
                   belt_first_plane=None) -> np.ndarray:
    """Cut the satellites into L arcs of equal count in orbit order.

    Parameters
    ----------
    arg_lat_deg : array_like, shape (n_sat,)
        Argument of latitude of each satellite at the partition epoch, in
        degrees (any real value; taken modulo 360 and compared to 1e-9°,
        so float noise does not break ties between planes).
    n_layers : int
        Number of MoE layers L (arcs).
    eligible : array_like of bool, shape (n_sat,), optional
        Satellites that may take part (e.g. valid SGP4 state, chosen shell).
    plane : array_like of int, shape (n_sat,), optional
        Orbital plane label of each satellite, −1 if unknown. Breaks phase
        ties (so an arc stays in neighbouring planes) and defines the belt.
    belt_planes : int, optional
        Use only B planes with consecutive labels. Satellites of unknown
        plane are left out. Labels do not wrap from the last plane to the
        first (a Walker-star seam lies there).
    belt_first_plane : int, optional
        Lowest plane label of the belt; by default the window of B
        consecutive labels holding the most eligible satellites (lowest
        label on ties).

    Returns
    -------
    ndarray of int64, shape (n_sat,)
        Layer of each satellite, −1 if it takes no part. Arc sizes differ by
        at most one; arc ``l`` holds sorted ranks ``[floor(l n / L), floor((l+1) n / L))``.

    Raises
    ------
    InfeasiblePlacementError
        Fewer usable satellites than layers.

    Examples
    --------
    >>> ring_partition([350.0, 10.0, 100.0, 190.0, 280.0, 370.0], 3).tolist()
    [2, 0, 1, 1, 2, 0]
    """
    phase = as_phase_deg(arg_lat_deg)
    n_sat = phase.size
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)) or n_layers < 1:
        raise PlacementError(f"n_layers must be a positive integer, got {n_layers!r}")
    use = as_eligible(eligible, n_sat).copy()
    plane_arr = None
    if plane is not None:
        plane_arr = np.asarray(plane)
        if plane_arr.shape != (n_sat,) or plane_arr.dtype.kind not in "iu":
            raise PlacementError(
                f"plane must be an integer array of shape ({n_sat},) (−1 for unknown), "
                f"got dtype {plane_arr.dtype} and shape {plane_arr.shape}"
            )
    if belt_planes is not None:
        use &= belt_mask(plane_arr, belt_planes, use, belt_first_plane)
    pool = np.flatnonzero(use)
    if pool.size < n_layers:
        raise InfeasiblePlacementError(
            f"ring partition needs at least one satellite per layer: {pool.size} usable satellites "
            f"for {n_layers} layers (eligible: {int(as_eligible(eligible, n_sat).sum())}"
            f"{', belt of ' + str(belt_planes) + ' planes' if belt_planes is not None else ''}); "
            "use a shell with more satellites, a wider belt (belt_planes) or a model with fewer layers"
        )
    keys = [pool, phase[pool]]
    if plane_arr is not None:
        keys.insert(1, plane_arr[pool])
    order = pool[np.lexsort(keys)]
    rank = np.arange(pool.size)
    subnet = np.full(n_sat, -1, dtype=np.int64)
    # rank r belongs to arc floor(r L / n): equal counts ±1, arcs contiguous.
    subnet[order] = (rank * n_layers) // pool.size
    return subnet


def belt_mask(plane, belt_planes: int, eligible=None, belt_first_plane=None) -> np.ndarray:
    """Satellites of B planes with consecutive labels.

    Parameters
    ----------
    plane : array_like of int, shape (n_sat,)
        Plane label, −1 unknown (never in the belt).
    belt_planes : int
        Number B of adjacent planes.
    eligible : array_like of bool, shape (n_sat,), optional
        Counted when choosing the default belt.
    belt_first_plane : int, optional
        Lowest label of the belt (default: the fullest window).

    Returns
    -------
    ndarray of bool, shape (n_sat,)

    Examples
    --------
    >>> belt_mask([0, 0, 1, 2, 2, 2, -1], 2).tolist()
    [False, False, True, True, True, True, False]
    """
    if plane is None:
        raise PlacementError("belt_planes needs plane labels: pass plane=(n_sat,) integer array, −1 for unknown")
    plane = np.asarray(plane)
    if isinstance(belt_planes, bool) or not isinstance(belt_planes, (int, np.integer)) or belt_planes < 1:
        raise PlacementError(f"belt_planes must be a positive integer number of planes, got {belt_planes!r}")
    use = np.ones(plane.shape, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    labels = np.unique(plane[plane >= 0])
    if labels.size < belt_planes:
        raise InfeasiblePlacementError(
            f"belt of {belt_planes} planes requested but only {labels.size} known planes exist; "
            "use belt_planes ≤ the number of planes or drop the belt"
        )
    if belt_first_plane is None:
        counts = np.array([np.count_nonzero(use & (plane >= lo) & (plane < lo + belt_planes))
                           for lo in labels])
        first = int(labels[int(np.argmax(counts))])
    else:
        first = int(belt_first_plane)
        if first not in labels:
            raise PlacementError(f"belt_first_plane {first} is not a plane label; known labels: {labels.tolist()}")
    return (plane >= first) & (plane < first + belt_planes)
