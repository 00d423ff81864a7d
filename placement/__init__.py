"""Optimization of Space-XNet placements on plain cost arrays: ring partition, expert mapping, handover.

Never imports ``orbits``, ``sgp4`` or ``numba``.
"""

from .exceptions import InfeasiblePlacementError, PlacementError

__all__ = ["PlacementError", "InfeasiblePlacementError"]
