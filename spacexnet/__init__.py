"""Space-XNet: place a mixture-of-experts model on a satellite constellation and measure token latency.

The front package: it wires the layers (``orbits`` → ``latency`` →
``placement``) together and re-exports what users need. Figures are in
:mod:`spacexnet.plots` (imported on demand, since it loads matplotlib).

Examples
--------
>>> import spacexnet
>>> c = spacexnet.walker("53:360/18/1", altitude_km=550)
>>> setup = spacexnet.model_setup("llama-moe-3.5b-2of8")
>>> snap = spacexnet.snapshot(c, "2026-01-01T00:00:00Z", setup)
>>> spacexnet.place(snap, setup).gate_sat.shape
(32,)
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("space-xnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from latency import activation_profile, load_hardware, load_link_profile, load_model, RoutingGraph  # noqa: E402
from latency import sample_token_latency, token_latency  # noqa: E402
from orbits import Constellation, ground_links, isl_links, load_stations, preset, propagate, read_omm  # noqa: E402
from orbits import read_tle, time_grid, walker  # noqa: E402
from placement import STRATEGIES, joint, make_policy, space_xnet  # noqa: E402

from .accuracy import element_set_age_days, step_error  # noqa: E402
from .compare import compare, place  # noqa: E402
from .io import write_dataset  # noqa: E402
from .scenario import build_constellation, model_setup, snapshot  # noqa: E402
from .sweep import SweepOptions, sweep  # noqa: E402

__all__ = [
    "__version__",
    # constellations and motion (orbits)
    "Constellation", "walker", "preset", "read_tle", "read_omm", "time_grid", "propagate", "isl_links",
    "ground_links", "load_stations",
    # model and network costs (latency)
    "load_model", "load_hardware", "load_link_profile", "activation_profile", "RoutingGraph", "token_latency",
    "sample_token_latency",
    # placement
    "STRATEGIES", "space_xnet", "joint", "make_policy",
    # the front: scenarios, comparisons, sweeps, accuracy, output
    "build_constellation", "model_setup", "snapshot", "place", "compare", "SweepOptions", "sweep",
    "step_error", "element_set_age_days", "write_dataset",
]
