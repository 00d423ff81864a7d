"""Exceptions of the placement layer."""


class PlacementError(ValueError):
    """Base class for user-facing errors of the placement layer."""


class InfeasiblePlacementError(PlacementError):
    """A placement cannot satisfy its constraints (capacity, partition size)."""
