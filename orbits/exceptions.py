"""Exceptions of the orbits layer.

Every user mistake (bad file, bad option) raises a subclass of
:class:`OrbitsError`, whose message names the value, the rule and the fix,
and for files the path and line (``path:line: reason``).
"""


class OrbitsError(ValueError):
    """Base class for user-facing errors of the orbits layer."""


class TLEFormatError(OrbitsError):
    """A TLE/3LE record is malformed (columns, checksum, numbers)."""


class OMMFormatError(OrbitsError):
    """An OMM record (CSV, JSON or XML) is malformed or incomplete."""


class ConstellationError(OrbitsError):
    """A constellation cannot be built as asked (bad Walker spec, unknown preset)."""


class TimeGridError(OrbitsError):
    """A time grid is invalid (naive datetime, non-positive step, bad ISO string)."""


class PropagationError(OrbitsError):
    """Propagation cannot give trustworthy positions (every satellite failed, etc.)."""
