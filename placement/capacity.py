"""Memory capacity: how many experts a satellite holds, and whether subnets fit.

A satellite holds ``floor((memory − reserved) / expert size)`` experts; a
subnet must hold its gate (which hosts no expert, see :mod:`placement.model`)
and all E experts of its layer. These checks run before any shortest path
is computed, so an impossible scenario fails in microseconds with the
numbers that make it impossible.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity
from .exceptions import InfeasiblePlacementError, PlacementError

__all__ = ["experts_per_satellite", "check_capacity", "satellites_needed"]


def experts_per_satellite(mem_bytes, reserved_bytes, expert_bytes) -> int:
    """Experts that fit in one satellite's memory.

    Parameters
    ----------
    mem_bytes : int or float
        Memory per satellite, bytes (from the hardware profile).
    reserved_bytes : int or float
        Memory kept for other uses (runtime, buffers, KV cache), bytes.
    expert_bytes : int or float
        Weights of one routed expert, bytes.

    Returns
    -------
    int
        ``floor((mem_bytes − reserved_bytes) / expert_bytes)``, at least 1.

    Raises
    ------
    InfeasiblePlacementError
        If not even one expert fits.

    Examples
    --------
    80 GB of memory, 8 GB reserved, 1.5 GB per expert:

    >>> experts_per_satellite(80e9, 8e9, 1.5e9)
    48
    """
    if expert_bytes <= 0:
        raise PlacementError(f"expert_bytes must be > 0, got {expert_bytes!r}")
    free = mem_bytes - reserved_bytes
    n = int(np.floor(free / expert_bytes)) if free > 0 else 0
    if n < 1:
        raise InfeasiblePlacementError(
            f"no expert fits on a satellite: memory {mem_bytes:.6g} B − reserved {reserved_bytes:.6g} B "
            f"= {free:.6g} B < one expert of {expert_bytes:.6g} B; choose a hardware profile with more "
            "memory, reserve less, or quantise the experts (fewer bytes per parameter)"
        )
    return n


def check_capacity(subnet, n_experts: int, capacity=1, n_layers: int | None = None) -> None:
    """Check that every subnet holds its gate and its experts.

    Subnet ``l`` with satellites of capacities ``q_1 … q_m`` fits when it
    can hold E experts whichever member becomes the gate (the gate hosts
    none): ``sum(q) − max(q) ≥ E``; for a uniform capacity ``q`` this reads
    ``(m − 1) q ≥ E``.

    Parameters
    ----------
    subnet : array_like of int, shape (n_sat,)
        Layer of each satellite, −1 outside every subnet.
    n_experts : int
        Routed experts per layer (E).
    capacity : int or array_like of int, shape (n_sat,)
        Experts per satellite.
    n_layers : int, optional
        Number of layers L (default ``subnet.max() + 1``); a layer without
        any satellite is reported.

    Raises
    ------
    InfeasiblePlacementError
        Naming the first subnet that does not fit, its size, the experts
        needed and the capacity.

    Examples
    --------
    >>> import numpy as np
    >>> check_capacity(np.array([0, 0, 0, 1, 1, 1]), n_experts=2)
    >>> try:
    ...     check_capacity(np.array([0, 0, 1, 1]), n_experts=2)
    ... except InfeasiblePlacementError as err:
    ...     print(str(err).split(';')[0])
    subnet 0 has 2 satellites (1 gate + 1 for experts × capacity 1 = 1 expert slots) but layer 0 has 2 experts
    """
    subnet = np.asarray(subnet, dtype=np.int64)
    cap = as_capacity(capacity, subnet.size)
    if n_layers is None:
        n_layers = int(subnet.max()) + 1
    inside = subnet >= 0
    size = np.bincount(subnet[inside], minlength=n_layers)[:n_layers]
    total = np.bincount(subnet[inside], weights=cap[inside], minlength=n_layers)[:n_layers]
    largest = np.zeros(n_layers)
    np.maximum.at(largest, subnet[inside], cap[inside])
    slots = (total - largest).astype(np.int64)
    short = np.flatnonzero((slots < n_experts) | (size < 1))
    if short.size == 0:
        return
    l = int(short[0])
    uniform = np.unique(cap[subnet == l]).size <= 1
    cap_text = f"capacity {int(cap[subnet == l][0])}" if uniform and size[l] else "capacities as given"
    per_slot = int(cap[subnet == l][0]) if uniform and size[l] else 1
    needed_sats = 1 + -(-n_experts // max(per_slot, 1)) if per_slot else None
    raise InfeasiblePlacementError(
        f"subnet {l} has {size[l]} satellites (1 gate + {max(size[l] - 1, 0)} for experts × {cap_text} "
        f"= {slots[l]} expert slots) but layer {l} has {n_experts} experts"
        f"{f'; it needs at least {needed_sats} satellites' if needed_sats else ''}"
        f" ({short.size} of {n_layers} subnets are short); fix: fewer layers per ring, a wider belt "
        "(belt_planes), more eligible satellites, or more memory per satellite (capacity)"
    )


def satellites_needed(n_layers: int, n_experts: int, capacity: int = 1) -> int:
    """Fewest eligible satellites on which the ring partition passes :func:`check_capacity`.

    The ring partition gives each of the L subnets ``floor(n / L)`` or
    ``ceil(n / L)`` satellites; a subnet of ``m`` satellites of uniform
    capacity ``q`` fits when ``(m − 1) q ≥ E``. So ``n`` satellites hold the
    model exactly when ``n ≥ L (1 + ⌈E / q⌉)``.

    Parameters
    ----------
    n_layers : int
        Layers of the ring (L), dense ones included: every layer has a subnet.
    n_experts : int
        Routed experts per layer (E).
    capacity : int
        Experts per satellite (q ≥ 1).

    Returns
    -------
    int
        ``L × (1 + ⌈E / q⌉)``.

    Examples
    --------
    LLaMA-MoE-3.5B (32 layers of 16 experts), one expert per satellite:

    >>> satellites_needed(32, 16)
    544
    >>> satellites_needed(32, 16, capacity=4)
    160
    """
    for what, value, least in (("n_layers", n_layers, 1), ("n_experts", n_experts, 0), ("capacity", capacity, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise PlacementError(f"{what} must be a whole number ≥ {least}, got {value!r}")
    return int(n_layers) * (1 + -(-int(n_experts) // int(capacity)))
