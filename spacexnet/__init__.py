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

import importlib
import sys
import types
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("space-xnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: Each re-exported name → the module that defines it. Imported on first use, so that
#: ``import spacexnet`` (and the command line's ``--help``) does not load NumPy, Numba, xarray, SciPy.
_EXPORTS = {
    **dict.fromkeys(["activation_profile", "load_hardware", "load_link_profile", "load_model", "RoutingGraph",
                     "sample_token_latency", "token_latency"], "latency"),
    **dict.fromkeys(["Constellation", "ground_links", "isl_links", "load_stations", "preset", "propagate", "read_omm",
                     "read_tle", "time_grid", "walker"], "orbits"),
    **dict.fromkeys(["STRATEGIES", "joint", "make_policy", "space_xnet"], "placement"),
    **dict.fromkeys(["element_set_age_days", "step_error"], ".accuracy"),
    **dict.fromkeys(["compare", "place"], ".compare"),
    "write_dataset": ".io",
    **dict.fromkeys(["build_constellation", "model_setup", "snapshot"], ".scenario"),
    **dict.fromkeys(["SweepOptions", "sweep"], ".sweep"),
}


class _Front(types.ModuleType):
    """This package: its re-exported names resolve on first use."""

    def __getattr__(self, name):
        if name not in _EXPORTS:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(_EXPORTS[name], self.__name__), name)
        setattr(self, name, value)
        return value

    def __setattr__(self, name, value):
        # Importing the submodule ``spacexnet.sweep`` (or ``.compare``) binds it here under its own name;
        # the package's ``sweep`` stays the function, as when everything was imported up front.
        if name in _EXPORTS and isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(_EXPORTS))


sys.modules[__name__].__class__ = _Front

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
