"""Physics layer of Space-XNet: constellations, element sets, SGP4 propagation, frames, link geometry.

Knows nothing of models or latency. Each public name is defined in its own module:

- constellations: :mod:`.constellation`, :mod:`.walker`, :mod:`.presets`, :mod:`.tle`, :mod:`.omm`, :mod:`.shells`;
- time and motion: :mod:`.timegrid`, :mod:`.propagate`, :mod:`.frames`;
- links: :mod:`.topology`, :mod:`.links`, :mod:`.stations`.
"""

from .constellation import Constellation, ShellInfo
from .exceptions import ConstellationError, OMMFormatError, OrbitsError, PropagationError, TimeGridError, TLEFormatError
from .frames import argument_of_latitude_deg, geodetic_from_itrs, gmst1982_rad, teme_to_itrs, teme_to_itrs_matrix
from .links import ground_links, ground_links_at, isl_links, isl_topology, links_from_chunks
from .omm import parse_omm_text, read_omm
from .presets import preset, preset_info, preset_names
from .propagate import PropagationWarning, iter_propagate, orbital_period_s, propagate, propagate_jd
from .shells import ShellReport, analyze_shells, find_shells, mean_elements, unassigned
from .stations import GroundStations, StationFormatError, load_stations
from .timegrid import polar_motion_arcsec, time_grid, to_datetime64_utc, to_jd_utc, ut1_minus_utc_s
from .tle import parse_tle_text, read_tle, tle_checksum, to_tle, write_tle
from .topology import Topology
from .walker import DEFAULT_EPOCH, combine, walker

__all__ = [
    # constellations
    "Constellation", "ShellInfo", "walker", "combine", "DEFAULT_EPOCH", "preset", "preset_names", "preset_info",
    "read_tle", "parse_tle_text", "to_tle", "write_tle", "tle_checksum", "read_omm", "parse_omm_text",
    "find_shells", "analyze_shells", "ShellReport", "unassigned", "mean_elements",
    # time and motion
    "time_grid", "to_datetime64_utc", "to_jd_utc", "ut1_minus_utc_s", "polar_motion_arcsec",
    "propagate", "propagate_jd", "iter_propagate", "orbital_period_s", "PropagationWarning",
    "teme_to_itrs", "teme_to_itrs_matrix", "gmst1982_rad", "geodetic_from_itrs", "argument_of_latitude_deg",
    # links
    "isl_links", "ground_links", "ground_links_at", "isl_topology", "links_from_chunks", "Topology",
    "load_stations", "GroundStations", "StationFormatError",
    # errors
    "OrbitsError", "TLEFormatError", "OMMFormatError", "ConstellationError", "TimeGridError", "PropagationError",
]
