"""All user-facing exceptions of Space-XNet in one place.

Each layer defines its own (``orbits.exceptions``, ``latency.exceptions``,
``placement.exceptions``) so that layers stay independent; this module
re-exports them and lists which ones the CLI reports as one clear line.
"""

from orbits.exceptions import (  # noqa: F401
    ConstellationError,
    OMMFormatError,
    OrbitsError,
    PropagationError,
    TimeGridError,
    TLEFormatError,
)


class SpaceXNetError(ValueError):
    """Base class for user-facing errors of the front (options, outputs)."""


class OutputError(SpaceXNetError):
    """An output cannot be written (exists without --overwrite, missing directory, disk error)."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are user mistakes: reported in one line, exit code 1."""
    from latency.exceptions import LatencyError
    from placement.exceptions import PlacementError

    return (OrbitsError, LatencyError, PlacementError, SpaceXNetError)


class FaultFileError(SpaceXNetError):
    """A fault list (failed satellites or links) is malformed or names an unknown satellite."""


class SweepWarning(UserWarning):
    """Something the user asked for that the sweep does, but probably not as meant (one line)."""
