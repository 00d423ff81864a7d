"""Space-XNet: place a mixture-of-experts model on a satellite constellation and measure token latency.

The front package: it re-exports the public API of the layers
(``orbits`` → ``latency`` → ``placement``) and wires them together.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("space-xnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from orbits import Constellation  # noqa: E402

from .io import write_dataset  # noqa: E402

__all__ = ["__version__", "Constellation", "write_dataset"]

from orbits import GroundStations, ground_links, isl_links, load_stations  # noqa: E402

__all__ += ["isl_links", "ground_links", "load_stations", "GroundStations"]

from orbits import iter_propagate, preset, propagate, read_omm, read_tle, time_grid, walker  # noqa: E402

__all__ += ["propagate", "iter_propagate", "time_grid", "walker", "read_tle", "read_omm", "preset"]
