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

# Link geometry: inter-satellite and ground-station links over time.
from .links import ground_links, ground_links_at, isl_links, isl_topology, links_from_chunks  # noqa: E402
from .stations import GroundStations, StationFormatError, load_stations  # noqa: E402
from .topology import Topology  # noqa: E402

__all__ += ["isl_links", "ground_links", "ground_links_at", "isl_topology", "links_from_chunks",
            "load_stations", "GroundStations", "StationFormatError", "Topology"]
