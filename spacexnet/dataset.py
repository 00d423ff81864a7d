"""The sweep dataset's schema: every variable ``spacexnet sweep`` writes, and how the file encodes it.

One place for the contract of the file (docs/dataset.md): the writer
(:mod:`spacexnet.sweep` through :func:`chunk_dataset` and
:func:`coordinates`, :mod:`spacexnet.parts` through :func:`encoding`), the
figures (:mod:`spacexnet.plots`), the summary table of ``spacexnet sweep``
and the reference page (``docs/dataset.py``) all read the dimensions, types,
units and long names from here.

Examples
--------
>>> VARIABLES["token_latency_expected_ms"].dims, VARIABLES["token_latency_expected_ms"].attrs["units"]
(('policy', 'time'), 'ms')
>>> [name for name, var in VARIABLES.items() if var.dims == ("time",)]
['satellites_usable', 'links_up']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from placement.policies import FLAG_MEANINGS

__all__ = ["Variable", "COORDINATES", "VARIABLES", "BREAKDOWN", "TIME_UNITS", "chunk_dataset", "coordinates",
           "encoding", "units", "differences", "type_name"]

#: CF units of the time coordinate in the files.
TIME_UNITS = "seconds since 1970-01-01T00:00:00Z"

#: The parts that add up to the expected token latency, one variable each (ms).
BREAKDOWN = ("propagation_ms", "transmission_ms", "forwarding_ms", "compute_ms")


@dataclass(frozen=True)
class Variable:
    """One variable of the file: its dimensions, its type in the file and its CF attributes."""

    dims: tuple
    dtype: object
    attrs: dict


_MS = {"units": "ms"}

#: The coordinates, in file order: ``time`` and ``policy`` in every chunk, the others added when the parts are joined.
COORDINATES = {
    "time": Variable(("time",), "datetime64[ns]", {}),
    "policy": Variable(("policy",), str, {}),
    "layer": Variable(("layer",), np.int32, {"long_name": "layer of the ring"}),
    "expert": Variable(("expert",), np.int32, {"long_name": "routed expert"}),
    "norad_id": Variable(("sat",), np.int64, {"long_name": "catalogue number"}),
    "activation_probability": Variable(("layer", "expert"), np.float64,
                                       {"units": "1", "long_name": "probability that the expert is among the top-k"}),
}

#: The data variables, in file order: one value per step (and policy, layer, expert or satellite).
VARIABLES = {
    "token_latency_expected_ms": Variable(("policy", "time"), np.float64,
                                          {**_MS, "long_name": "expected in-orbit token latency (exactly-k routing)"}),
    "token_latency_expected_independent_ms": Variable(
        ("policy", "time"), np.float64,
        {**_MS, "long_name": "expected in-orbit token latency with experts active independently "
                             "(the paper's approximation; never above the exactly-k value)"}),
    "token_latency_p50_ms": Variable(("policy", "time"), np.float64,
                                     {**_MS, "long_name": "median token latency (top-k routing, Monte Carlo)"}),
    "token_latency_p99_ms": Variable(("policy", "time"), np.float64,
                                     {**_MS, "long_name": "99th-percentile token latency "
                                                          "(top-k routing, Monte Carlo)"}),
    "layer_latency_expected_ms": Variable(("policy", "time", "layer"), np.float64,
                                          {**_MS, "long_name": "expected time of each layer (exactly-k routing)"}),
    "gate_sat": Variable(("policy", "time", "layer"), np.int32,
                         {"units": "1", "long_name": "satellite index of each layer's gate (-1: unplaced)"}),
    "expert_sat": Variable(("policy", "time", "layer", "expert"), np.int32,
                           {"units": "1", "long_name": "satellite index of each routed expert (-1: unplaced)"}),
    "subnet": Variable(("policy", "time", "sat"), np.int16,
                       {"units": "1", "long_name": "layer whose subnet each satellite belongs to (-1: none)"}),
    "migrations": Variable(("policy", "time"), np.int32,
                           {"units": "1", "long_name": "experts and gates whose migration started this step"}),
    "forced_migrations": Variable(("policy", "time"), np.int32,
                                  {"units": "1", "long_name": "migrations forced off unusable satellites"}),
    "bytes_moved": Variable(("policy", "time"), np.float64,
                            {"units": "bytes", "long_name": "weight bytes whose migration started this step"}),
    "migration_time_s": Variable(("policy", "time"), np.float64,
                                 {"units": "s", "long_name": "summed transfer time of the migrations started"}),
    "policy_flags": Variable(("policy", "time"), np.int8,
                             {"long_name": "what the policy did or met at this step",
                              "flag_masks": np.array(list(FLAG_MEANINGS), dtype=np.int8),
                              "flag_meanings": " ".join(FLAG_MEANINGS.values())}),
    "reachable": Variable(("policy", "time"), np.int8,
                          {"units": "1", "long_name": "1 if every gate and expert was placed and reachable",
                           "flag_values": np.array([0, 1], dtype=np.int8), "flag_meanings": "unreachable reachable"}),
    **{part: Variable(("policy", "time"), np.float64, {**_MS, "long_name": f"expected token latency: {part[:-3]} part"})
       for part in BREAKDOWN},
    "satellites_usable": Variable(("time",), np.int32,
                                  {"units": "1", "long_name": "satellites that may host a gate or expert"}),
    "links_up": Variable(("time",), np.int32, {"units": "1", "long_name": "inter-satellite links up"}),
}

OPTIONAL = {
    "user_delivery_ms": Variable(
        ("policy", "time"), np.float64,
        {**_MS, "long_name": "delivery of each token to the ground user: from the first layer's gate over the "
                             "inter-satellite links to the fastest satellite in view, then down to the user "
                             "(not part of token_latency_*; inf: no satellite in view can be reached, NaN: "
                             "nothing placed)"}),
}
"""Variables a file holds only when asked for: ``user_delivery_ms`` with a ground user (``sweep --user``).

Their attributes in a file are the schema's plus those of the run (the
user's position and the minimum elevation, :func:`user_attrs`).
"""


def user_attrs(user, min_elevation_deg: float) -> dict:
    """The attributes ``user_delivery_ms`` adds to the schema's: where the user stands and the elevation rule.

    >>> from types import SimpleNamespace
    >>> user_attrs(SimpleNamespace(lat_deg=48.85, lon_deg=2.35, alt_km=0.0), 25)["user_latitude_deg"]
    48.85
    """
    return {"user_latitude_deg": float(user.lat_deg), "user_longitude_deg": float(user.lon_deg),
            "user_altitude_km": float(user.alt_km), "min_elevation_deg": float(min_elevation_deg)}


def units(name: str) -> str:
    """The CF units of variable ``name`` (``""`` for none).

    >>> units("bytes_moved")
    'bytes'
    """
    var = VARIABLES.get(name) or OPTIONAL.get(name) or COORDINATES[name]
    return var.attrs.get("units", "")


def chunk_dataset(times, policies, values: dict, run_attrs: dict | None = None) -> xr.Dataset:
    """The dataset of one chunk of steps: every variable of :data:`VARIABLES`, typed and described.

    Parameters
    ----------
    times : ndarray of datetime64
        The chunk's UTC instants.
    policies : list of str
        The policies, in the order of the ``policy`` axis of ``values``.
    values : dict of array_like
        One array per name of :data:`VARIABLES`, with its dimensions, and
        one per variable of :data:`OPTIONAL` the run asked for.
    run_attrs : dict of dict, optional
        Attributes of this run added to an optional variable's, by name
        (e.g. :func:`user_attrs`).

    Examples
    --------
    >>> t = np.array(["2026-01-01T00:00"], dtype="datetime64[ns]")
    >>> values = {name: np.zeros([{"policy": 1, "time": 1}.get(d, 2) for d in var.dims])
    ...           for name, var in VARIABLES.items()}
    >>> ds = chunk_dataset(t, ["static"], values)
    >>> ds["gate_sat"].dtype, ds["links_up"].attrs["long_name"]
    (dtype('int32'), 'inter-satellite links up')
    """
    missing = [name for name in VARIABLES if name not in values]
    extra = [name for name in values if name not in VARIABLES and name not in OPTIONAL]
    if missing or extra:
        raise ValueError(f"chunk_dataset: missing {missing}, not in the schema {extra}")
    run_attrs = run_attrs or {}
    schema = {**VARIABLES, **{name: var for name, var in OPTIONAL.items() if name in values}}
    data = {name: (var.dims, np.asarray(values[name], dtype=var.dtype), {**var.attrs, **run_attrs.get(name, {})})
            for name, var in schema.items()}
    return xr.Dataset(data, coords={"time": times, "policy": np.array(policies, dtype=object)})


def coordinates(probs, norad_id) -> dict:
    """The coordinates joined to the parts: ``layer``, ``expert``, ``norad_id`` and ``activation_probability``.

    Examples
    --------
    >>> sorted(coordinates(np.full((2, 3), 0.5), np.array([44713, 44714])))
    ['activation_probability', 'expert', 'layer', 'norad_id']
    """
    probs = np.asarray(probs, dtype=np.float64)
    values = {"layer": np.arange(probs.shape[0]), "expert": np.arange(probs.shape[1]), "norad_id": norad_id,
              "activation_probability": probs}
    return {name: (COORDINATES[name].dims, np.asarray(value, dtype=COORDINATES[name].dtype),
                   dict(COORDINATES[name].attrs))
            for name, value in values.items()}


def encoding(ds: xr.Dataset) -> dict:
    """NetCDF encodings of a sweep dataset: times as float seconds (CF), floats without a fill value.

    Examples
    --------
    >>> encoding(xr.Dataset({"x": ("t", [1.0])}, coords={"t": np.array(["2026-01-01"], dtype="datetime64[ns]")}))
    {'x': {'_FillValue': None}, 't': {'units': 'seconds since 1970-01-01T00:00:00Z', 'calendar': 'standard', \
'dtype': 'float64'}}
    """
    enc = {}
    for name, var in ds.variables.items():
        if var.dtype.kind == "M":
            enc[name] = {"units": TIME_UNITS, "calendar": "standard", "dtype": "float64"}
        elif var.dtype.kind == "f":
            enc[name] = {"_FillValue": None}
    return enc


def differences(ds: xr.Dataset) -> list[str]:
    """How ``ds`` (a sweep file, opened) differs from the schema: one line per variable, empty when it agrees.

    Checks that the file holds exactly the schema's variables, each with
    its dimensions, type and attributes, and that an optional variable it
    holds has its dimensions, type and at least the schema's attributes.

    Examples
    --------
    >>> differences(xr.Dataset({"links_up": ("time", np.zeros(2, np.int32))}))[0]
    'time: missing'
    """
    out = []
    schema = {**COORDINATES, **VARIABLES}
    for name, var in schema.items():
        if name not in ds.variables:
            out.append(f"{name}: missing")
            continue
        got = ds[name]
        if tuple(got.dims) != var.dims:
            out.append(f"{name}: dimensions {tuple(got.dims)}, schema {var.dims}")
        if not _same_type(got.dtype, var.dtype):
            out.append(f"{name}: type {got.dtype}, schema {type_name(var.dtype)}")
        attrs = {k: v for k, v in got.attrs.items() if not (name == "time" and k in ("units", "calendar"))}
        if {k: str(v) for k, v in attrs.items()} != {k: str(v) for k, v in var.attrs.items()}:
            out.append(f"{name}: attributes {attrs}, schema {var.attrs}")
    for name, var in OPTIONAL.items():
        if name in ds.variables:
            got = ds[name]
            if tuple(got.dims) != var.dims or not _same_type(got.dtype, var.dtype):
                out.append(f"{name}: dimensions {tuple(got.dims)} and type {got.dtype}, schema {var.dims} "
                           f"{type_name(var.dtype)}")
            if any(str(got.attrs.get(k)) != str(v) for k, v in var.attrs.items()):
                out.append(f"{name}: attributes {dict(got.attrs)}, schema {var.attrs}")
    out += [f"{name}: not in the schema" for name in ds.variables if name not in schema and name not in OPTIONAL]
    return out


def _same_type(found: np.dtype, schema) -> bool:
    # Strings come back as objects; times decoded, or as float seconds when opened without decoding.
    if schema is str:
        return found.kind in "OUS"
    if schema == "datetime64[ns]":
        return found.kind in "Mf"
    return found == np.dtype(schema)


def type_name(schema) -> str:
    """How the reference names a schema type: ``string`` for text, else NumPy's name.

    >>> type_name(str), type_name(np.int32)
    ('string', 'int32')
    """
    return "string" if schema is str else str(np.dtype(schema))
