"""Physics layer of Space-XNet: constellations, element sets, SGP4 propagation, frames, link geometry.

Knows nothing of models or latency. Public API (each name is defined in its own module):
"""

from .constellation import Constellation, ShellInfo
from .exceptions import (
    ConstellationError,
    OMMFormatError,
    OrbitsError,
    PropagationError,
    TimeGridError,
    TLEFormatError,
)

__all__ = [
    "Constellation",
    "ShellInfo",
    "OrbitsError",
    "TLEFormatError",
    "OMMFormatError",
    "ConstellationError",
    "TimeGridError",
    "PropagationError",
]
