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

# Propagation: UTC time grids, SGP4 into xarray, TEME → ITRS frames, geodesy.
from .frames import argument_of_latitude_deg, geodetic_from_itrs, gmst1982_rad, teme_to_itrs, teme_to_itrs_matrix  # noqa: E402,E501
from .propagate import PropagationWarning, iter_propagate, orbital_period_s, propagate, propagate_jd  # noqa: E402
from .timegrid import polar_motion_arcsec, time_grid, to_datetime64_utc, to_jd_utc, ut1_minus_utc_s  # noqa: E402

__all__ += ["time_grid", "to_datetime64_utc", "to_jd_utc", "ut1_minus_utc_s", "polar_motion_arcsec",
            "teme_to_itrs", "teme_to_itrs_matrix", "gmst1982_rad", "geodetic_from_itrs",
            "argument_of_latitude_deg", "propagate", "propagate_jd", "iter_propagate", "orbital_period_s",
            "PropagationWarning"]

# Constellations: Walker shells, presets, TLE/OMM element sets, shell structure of real data.
from .omm import parse_omm_text, read_omm  # noqa: E402
from .presets import preset, preset_info, preset_names  # noqa: E402
from .shells import ShellReport, analyze_shells, find_shells, mean_elements, unassigned  # noqa: E402
from .tle import parse_tle_text, read_tle, tle_checksum, to_tle, write_tle  # noqa: E402
from .walker import DEFAULT_EPOCH, combine, walker  # noqa: E402

__all__ += ["walker", "combine", "DEFAULT_EPOCH", "preset", "preset_names", "preset_info",
            "read_tle", "parse_tle_text", "to_tle", "write_tle", "tle_checksum",
            "read_omm", "parse_omm_text", "find_shells", "analyze_shells", "ShellReport",
            "unassigned", "mean_elements"]
