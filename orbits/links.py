"""Link geometry over time: inter-satellite links (ISL) and ground-station links (GSL).

Given a propagated constellation (the dataset of :func:`orbits.propagate`),
:func:`isl_links` tells for every timestep how long each candidate ISL is and
whether it is up; :func:`ground_links` lists which satellites every ground
station sees, with elevation, azimuth and slant range. The numerical work is
in the Numba kernels of :mod:`orbits._kernels`; this module checks
arguments, walks the time axis in chunks and attaches labels and CF metadata.

Rules (each recorded in the output attributes):

- An ISL is up when both satellites have a valid SGP4 state, the segment
  between them clears a sphere of radius ``EARTH_RADIUS_KM + margin_km``
  (WGS-84 equatorial radius; conservative, see :mod:`orbits._kernels`), its
  length is at most ``max_range_km``, and, for inter-plane links only, when
  ``latitude_cutoff_deg`` is set, both ends have ``|latitude| <= cut-off``.
- A GSL is up when the satellite's elevation above the station's geodetic
  horizon is at least ``min_elevation_deg`` and its SGP4 state is valid.

Memory: ISL output is ``time × link``; GSL output is sparse (one row per
visible station–satellite pair and step), never ``time × station × sat``.
:func:`links_from_chunks` consumes propagation chunks one at a time, so only
one chunk of satellite positions is in memory at once.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from . import _kernels
from .constants import EARTH_RADIUS_KM
from .exceptions import OrbitsError
from .stations import GroundStations, load_stations
from .topology import TOPOLOGIES, Topology, nearest_visible, plus_grid, raan_deg

__all__ = [
    "isl_links",
    "ground_links",
    "links_from_chunks",
    "isl_topology",
    "ground_links_at",
    "DEFAULT_MARGIN_KM",
    "DEFAULT_MAX_RANGE_KM",
    "DEFAULT_MIN_ELEVATION_DEG",
]

#: Atmosphere margin a line of sight must clear above the Earth, km (design default;
#: about the mesopause, above which refraction and absorption are negligible for optical ISLs).
DEFAULT_MARGIN_KM = 80.0
#: Terminal range, km (design default).
DEFAULT_MAX_RANGE_KM = 5016.0
#: Minimum ground-station elevation, degrees (design default, as Starlink user terminals use).
DEFAULT_MIN_ELEVATION_DEG = 25.0
#: Timesteps per kernel call; bounds temporaries (a chunk of 1,584 satellites is ~4 MB per 100 steps).
DEFAULT_CHUNK_STEPS = 300


# ---------------------------------------------------------------- argument checks

def _float(value, what, lo=-math.inf, hi=math.inf, allow_inf=False):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OrbitsError(f"{what} {value!r} is not a number") from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf) or not lo <= x <= hi:
        raise OrbitsError(f"{what} {value!r} must be a number in [{lo:g}, {hi:g}]")
    return x


def _isl_rules(margin_km, max_range_km, latitude_cutoff_deg):
    margin_km = _float(margin_km, "margin_km", -EARTH_RADIUS_KM + 1.0, 10_000.0)
    max_range_km = _float(max_range_km, "max_range_km", 0.0, math.inf, allow_inf=True)
    if latitude_cutoff_deg is not None:
        latitude_cutoff_deg = _float(latitude_cutoff_deg, "latitude_cutoff_deg", 0.0, 90.0)
    return margin_km, max_range_km, latitude_cutoff_deg


def _check_chunk_steps(chunk_steps):
    if isinstance(chunk_steps, bool) or not isinstance(chunk_steps, (int, np.integer)) or chunk_steps < 1:
        raise OrbitsError(f"chunk_steps={chunk_steps!r} must be an integer ≥ 1")
    return int(chunk_steps)


def _check_state(state, need=("position_itrs_km", "sgp4_status")):
    if not isinstance(state, xr.Dataset):
        raise OrbitsError(f"state must be the xarray.Dataset of orbits.propagate, got {type(state).__name__}")
    missing = [v for v in need if v not in state.variables]
    if missing:
        raise OrbitsError(f"state lacks variable(s) {', '.join(missing)}; pass the dataset of orbits.propagate")
    if state.sizes.get("time", 0) < 1:
        raise OrbitsError("state has no timesteps")


def _positions(state, start=None, stop=None):
    sl = slice(start, stop)
    pos = state["position_itrs_km"].isel(time=sl).transpose("time", "sat", "xyz").values
    status = state["sgp4_status"].isel(time=sl).transpose("time", "sat").values
    return (np.ascontiguousarray(pos, dtype=np.float64), np.ascontiguousarray(status, dtype=np.int8))


def _sat_labels(state, constellation=None):
    n = state.sizes["sat"]
    if "norad_id" in state.coords:
        norad = state["norad_id"].values.astype(np.int64)
    elif constellation is not None:
        norad = constellation.norad_id
    else:
        norad = np.full(n, -1, np.int64)
    name = state["name"].values.astype(str) if "name" in state.coords else (
        constellation.name if constellation is not None else np.full(n, "", dtype=str))
    return norad, name


# ---------------------------------------------------------------- topology

def isl_topology(constellation, state, topology="plus-grid", *, k=4, margin_km=DEFAULT_MARGIN_KM,
                 max_range_km=DEFAULT_MAX_RANGE_KM) -> Topology:
    """Candidate ISLs chosen at the first timestep of ``state``.

    Parameters
    ----------
    constellation : Constellation
        Its plane/slot labels drive +Grid.
    state : xarray.Dataset
        Output of :func:`orbits.propagate` (at least the first timestep is used).
    topology : {"plus-grid", "nearest"} or Topology
        Rule for the candidate links; a :class:`~orbits.topology.Topology` is returned as is.
    k : int
        Links proposed per satellite for ``"nearest"``.
    margin_km, max_range_km : float
        Visibility rule used by ``"nearest"`` to pick links, km.

    Returns
    -------
    Topology

    Examples
    --------
    >>> from orbits.walker import walker; from orbits.propagate import propagate; from orbits.timegrid import time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> state = propagate(c, time_grid(c.reference_epoch, 0.0, 60.0))
    >>> len(isl_topology(c, state))
    3168
    """
    if isinstance(topology, Topology):
        return topology
    if topology not in TOPOLOGIES:
        raise OrbitsError(f"topology {topology!r} is not one of {', '.join(TOPOLOGIES)}")
    _check_state(state)
    if state.sizes["sat"] != len(constellation):
        raise OrbitsError(f"state has {state.sizes['sat']} satellites, the constellation {len(constellation)}; "
                          "propagate this constellation")
    position_km, _ = _positions(state, 0, 1)
    if topology == "plus-grid":
        raan = None
        if "position_teme_km" in state.variables and "velocity_teme_km_s" in state.variables:
            r = state["position_teme_km"].isel(time=0).transpose("sat", "xyz").values
            v = state["velocity_teme_km_s"].isel(time=0).transpose("sat", "xyz").values
            raan = raan_deg(r, v)
        return plus_grid(constellation, position_km[0], raan)
    margin_km, max_range_km, _ = _isl_rules(margin_km, max_range_km, None)
    return nearest_visible(constellation, position_km[0], k=k, clear_radius_km=EARTH_RADIUS_KM + margin_km,
                           max_range_km=max_range_km)


# ---------------------------------------------------------------- ISL

def _isl_chunk(position_km, status, abs_latitude_deg, topo, clear_radius_km, max_range_km, cutoff_deg):
    n_time = position_km.shape[0]
    distance_km = np.empty((n_time, len(topo)))
    up = np.empty((n_time, len(topo)), dtype=np.bool_)
    _kernels.isl_kernel(position_km, status, abs_latitude_deg, topo.sat_a, topo.sat_b, topo.inter_plane,
                        clear_radius_km, max_range_km, cutoff_deg, distance_km, up)
    return distance_km, up


def _abs_latitude(state, start, stop, n_time, n_sat, cutoff_deg):
    if cutoff_deg is None:
        return np.zeros((n_time, n_sat))  # never read against a finite cut-off
    if "latitude_deg" not in state.variables:
        raise OrbitsError("latitude_cutoff_deg needs the state's latitude_deg variable (from orbits.propagate)")
    lat = state["latitude_deg"].isel(time=slice(start, stop)).transpose("time", "sat").values
    return np.ascontiguousarray(np.abs(lat), dtype=np.float64)


def _isl_attrs(topo, margin_km, max_range_km, cutoff_deg, k):
    attrs = {
        "isl_topology": topo.name,
        "isl_margin_km": margin_km,
        "isl_max_range_km": max_range_km,
        "isl_latitude_cutoff_deg": "off" if cutoff_deg is None else cutoff_deg,
        "isl_earth_model": (f"line of sight must clear a sphere of radius {EARTH_RADIUS_KM} km "
                            f"(WGS-84 equatorial radius) + margin {margin_km:g} km"),
        "isl_rule": ("up = both SGP4 states valid and distance <= max range and line of sight clears "
                     "Earth + margin and (intra-plane or both |latitude| <= cut-off)"),
    }
    if topo.name == "nearest":
        attrs["isl_k"] = int(k)
    if topo.notes:
        attrs["isl_notes"] = "; ".join(topo.notes)
    return attrs


def _isl_dataset(time, distance_km, up, topo, norad, attrs):
    return xr.Dataset(
        {
            "distance_km": (("time", "link"), distance_km,
                            {"units": "km", "long_name": "inter-satellite link length"}),
            "up": (("time", "link"), up,
                   {"long_name": "inter-satellite link is usable (see isl_rule)"}),
        },
        coords={
            "time": ("time", time, {"long_name": "time (UTC)"}),
            "link": ("link", np.arange(len(topo), dtype=np.int32), {"long_name": "candidate link index"}),
            "sat_a": ("link", topo.sat_a.astype(np.int32), {"long_name": "satellite index of end A"}),
            "sat_b": ("link", topo.sat_b.astype(np.int32), {"long_name": "satellite index of end B"}),
            "norad_id_a": ("link", norad[topo.sat_a], {"long_name": "catalogue number of end A"}),
            "norad_id_b": ("link", norad[topo.sat_b], {"long_name": "catalogue number of end B"}),
            "kind": ("link", topo.kind.astype(str), {"long_name": "intra-plane or inter-plane link"}),
        },
        attrs=attrs,
    )


def isl_links(constellation, state, topology="plus-grid", *, k=4, margin_km=DEFAULT_MARGIN_KM,
              max_range_km=DEFAULT_MAX_RANGE_KM, latitude_cutoff_deg=None,
              chunk_steps=DEFAULT_CHUNK_STEPS) -> xr.Dataset:
    """Length and up flag of every candidate inter-satellite link at every timestep.

    Parameters
    ----------
    constellation : Constellation
        The propagated constellation (its plane/slot labels drive +Grid).
    state : xarray.Dataset
        Output of :func:`orbits.propagate`: ``position_itrs_km`` (time, sat,
        xyz), ``sgp4_status`` (time, sat), and ``latitude_deg`` when a
        latitude cut-off is set.
    topology : {"plus-grid", "nearest"} or Topology
        Candidate links, chosen at the first timestep (see :mod:`orbits.topology`).
    k : int
        Links proposed per satellite for ``"nearest"``.
    margin_km : float
        Atmosphere margin the line of sight must clear, km (default 80).
    max_range_km : float
        Terminal range, km (default 5,016; ``inf`` for none).
    latitude_cutoff_deg : float or None
        Inter-plane links are down while either end has |geodetic latitude|
        above this, degrees; None (default) disables the rule.
    chunk_steps : int
        Timesteps per kernel call.

    Returns
    -------
    xarray.Dataset
        ``distance_km`` and ``up`` (dims time, link); coordinates ``sat_a``,
        ``sat_b`` (satellite indices), ``norad_id_a``, ``norad_id_b`` and
        ``kind`` (``"intra"``/``"inter"``) on ``link``; attributes name the rules.

    Examples
    --------
    >>> from orbits.walker import walker; from orbits.propagate import propagate; from orbits.timegrid import time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> state = propagate(c, time_grid(c.reference_epoch, 600.0, 60.0))
    >>> isl = isl_links(c, state)
    >>> isl.sizes["link"], bool(isl["up"].all())
    (3168, True)
    """
    margin_km, max_range_km, cutoff_deg = _isl_rules(margin_km, max_range_km, latitude_cutoff_deg)
    chunk_steps = _check_chunk_steps(chunk_steps)
    _check_state(state)
    topo = isl_topology(constellation, state, topology, k=k, margin_km=margin_km, max_range_km=max_range_km)
    n_time, n_sat = state.sizes["time"], state.sizes["sat"]
    if topo.sat_a.size and max(topo.sat_a.max(), topo.sat_b.max()) >= n_sat:
        raise OrbitsError(f"topology refers to satellite {max(topo.sat_a.max(), topo.sat_b.max())}, "
                          f"but the state has {n_sat}")
    distance_km = np.empty((n_time, len(topo)))
    up = np.empty((n_time, len(topo)), dtype=np.bool_)
    clear_radius_km = EARTH_RADIUS_KM + margin_km
    cutoff = math.inf if cutoff_deg is None else cutoff_deg
    for start in range(0, n_time, chunk_steps):
        stop = min(start + chunk_steps, n_time)
        position_km, status = _positions(state, start, stop)
        abs_lat = _abs_latitude(state, start, stop, stop - start, n_sat, cutoff_deg)
        _kernels.isl_kernel(position_km, status, abs_lat, topo.sat_a, topo.sat_b, topo.inter_plane,
                            clear_radius_km, max_range_km, cutoff, distance_km[start:stop], up[start:stop])
    norad, _ = _sat_labels(state, constellation)
    return _isl_dataset(state["time"].values, distance_km, up, topo, norad,
                        _isl_attrs(topo, margin_km, max_range_km, cutoff_deg, k))


# ---------------------------------------------------------------- GSL

class _GslRunner:
    """Runs the sparse GSL kernel chunk after chunk, growing its buffers when a chunk overflows."""

    def __init__(self, stations, min_elevation_deg):
        self.station_km, self.enu = stations.itrs_km()
        self.station_km = np.ascontiguousarray(self.station_km)
        self.enu = np.ascontiguousarray(self.enu)
        self.sin_min = math.sin(math.radians(min_elevation_deg))
        self.capacity = 0
        self.parts = []
        self.counts = []

    def _buffers(self, capacity):
        return (np.empty(capacity, np.int32), np.empty(capacity, np.int32), np.empty(capacity, np.int32),
                np.empty(capacity), np.empty(capacity), np.empty(capacity))

    def run(self, position_km, status, time_offset):
        n_time = position_km.shape[0]
        if self.capacity == 0:
            # First guess: 40 visible satellites per station and step; grown on demand.
            self.capacity = max(1024, n_time * len(self.station_km) * 40)
        count = np.empty((n_time, len(self.station_km)), np.int32)
        while True:
            bufs = self._buffers(self.capacity)
            n = _kernels.gsl_kernel(position_km, status, self.station_km, self.enu, self.sin_min, time_offset,
                                    *bufs, count)
            if n <= self.capacity:
                break
            self.capacity = int(n * 1.25)
        self.parts.append(tuple(b[:n].copy() for b in bufs))  # copy: do not keep the large buffers
        self.counts.append(count)

    def arrays(self):
        if not self.parts:
            empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0)
            return (empty_i, empty_i, empty_i, empty_f, empty_f, empty_f), np.zeros((0, len(self.station_km)), np.int32)
        cols = tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))
        return cols, np.concatenate(self.counts)


def _stations(stations) -> GroundStations:
    if stations is None:
        return load_stations()
    if isinstance(stations, GroundStations):
        return stations
    if isinstance(stations, (str, bytes)) or hasattr(stations, "__fspath__"):
        return load_stations(stations)
    raise OrbitsError(f"stations must be GroundStations, a CSV path or None, got {type(stations).__name__}")


def _gsl_dataset(time, stations, norad, name, cols, count, min_elevation_deg):
    t_idx, s_idx, n_idx, elevation_deg, azimuth_deg, range_km = cols
    return xr.Dataset(
        {
            "time_index": ("pair", t_idx, {"long_name": "index of the timestep on the time dimension"}),
            "station_index": ("pair", s_idx, {"long_name": "index of the ground station on the station dimension"}),
            "sat_index": ("pair", n_idx, {"long_name": "index of the satellite on the sat dimension"}),
            "elevation_deg": ("pair", elevation_deg,
                              {"units": "degrees", "long_name": "satellite elevation above the geodetic horizon"}),
            "azimuth_deg": ("pair", azimuth_deg,
                            {"units": "degrees", "long_name": "satellite azimuth, clockwise from north"}),
            "range_km": ("pair", range_km, {"units": "km", "long_name": "station-satellite slant range"}),
            "visible_count": (("time", "station"), count,
                              {"units": "1", "long_name": "satellites visible from the station"}),
        },
        coords={
            "time": ("time", time, {"long_name": "time (UTC)"}),
            "station": ("station", stations.name.astype(str), {"long_name": "ground station name"}),
            "station_latitude_deg": ("station", stations.latitude_deg,
                                     {"units": "degrees_north", "long_name": "station geodetic latitude (WGS-84)"}),
            "station_longitude_deg": ("station", stations.longitude_deg,
                                      {"units": "degrees_east", "long_name": "station longitude (WGS-84)"}),
            "station_altitude_m": ("station", stations.altitude_m,
                                   {"units": "m", "long_name": "station height above the WGS-84 ellipsoid"}),
            "sat": ("sat", np.arange(len(norad), dtype=np.int32), {"long_name": "satellite index"}),
            "sat_norad_id": ("sat", norad, {"long_name": "satellite catalogue number"}),
            "sat_name": ("sat", name.astype(str), {"long_name": "satellite name"}),
        },
        attrs={
            "gsl_min_elevation_deg": float(min_elevation_deg),
            "gsl_rule": "up = SGP4 state valid and elevation >= gsl_min_elevation_deg",
            "gsl_frame": "ITRS; elevation and azimuth in the station's WGS-84 geodetic horizon frame",
            "gsl_layout": ("sparse: one row on dimension pair per visible (time, station, sat), sorted by "
                           "time, station, sat; time_index/station_index/sat_index point into the dimensions"),
            "stations_source": stations.source,
        },
    )


def ground_links(state, stations=None, *, min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
                 chunk_steps=DEFAULT_CHUNK_STEPS) -> xr.Dataset:
    """Visible ground-station–satellite pairs with elevation, azimuth and slant range, as sparse rows.

    Parameters
    ----------
    state : xarray.Dataset
        Output of :func:`orbits.propagate` (``position_itrs_km``, ``sgp4_status``).
    stations : GroundStations, path or None
        Stations, or a CSV file (see :func:`orbits.load_stations`); None
        loads the shipped set.
    min_elevation_deg : float
        Minimum elevation above the geodetic horizon, degrees (default 25).
    chunk_steps : int
        Timesteps per kernel call.

    Returns
    -------
    xarray.Dataset
        Dimension ``pair`` (one row per visible pair and step, sorted by
        time, station, sat) with ``time_index``, ``station_index``,
        ``sat_index``, ``elevation_deg``, ``azimuth_deg``, ``range_km``;
        ``visible_count`` (time, station); station and satellite labels.
        :func:`ground_links_at` expands one step to a (station, sat) grid.

    Examples
    --------
    >>> from orbits.walker import walker; from orbits.propagate import propagate; from orbits.timegrid import time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> state = propagate(c, time_grid(c.reference_epoch, 60.0, 60.0))
    >>> gsl = ground_links(state)
    >>> bool((gsl["elevation_deg"] >= 25.0).all()), int(gsl.sizes["pair"]) == int(gsl["visible_count"].sum())
    (True, True)
    """
    min_elevation_deg = _float(min_elevation_deg, "min_elevation_deg", -90.0, 90.0)
    chunk_steps = _check_chunk_steps(chunk_steps)
    _check_state(state)
    stations = _stations(stations)
    runner = _GslRunner(stations, min_elevation_deg)
    n_time = state.sizes["time"]
    for start in range(0, n_time, chunk_steps):
        position_km, status = _positions(state, start, min(start + chunk_steps, n_time))
        runner.run(position_km, status, start)
    cols, count = runner.arrays()
    norad, name = _sat_labels(state)
    return _gsl_dataset(state["time"].values, stations, norad, name, cols, count, min_elevation_deg)


def ground_links_at(gsl, time_index) -> xr.DataArray:
    """Elevation on a dense (station, sat) grid at one timestep, NaN where not visible.

    Parameters
    ----------
    gsl : xarray.Dataset
        Output of :func:`ground_links`.
    time_index : int
        Position on the ``time`` dimension.

    Examples
    --------
    >>> from orbits.walker import walker; from orbits.propagate import propagate; from orbits.timegrid import time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> gsl = ground_links(propagate(c, time_grid(c.reference_epoch, 0.0, 60.0)))
    >>> grid = ground_links_at(gsl, 0)
    >>> grid.dims, int(grid.notnull().sum()) == int(gsl["visible_count"][0].sum())
    (('station', 'sat'), True)
    """
    n_time = gsl.sizes["time"]
    if not -n_time <= int(time_index) < n_time:
        raise OrbitsError(f"time_index {time_index} is outside the {n_time} timesteps")
    time_index = int(time_index) % n_time
    rows = np.flatnonzero(gsl["time_index"].values == time_index)
    grid = np.full((gsl.sizes["station"], gsl.sizes["sat"]), np.nan)
    grid[gsl["station_index"].values[rows], gsl["sat_index"].values[rows]] = gsl["elevation_deg"].values[rows]
    return xr.DataArray(grid, dims=("station", "sat"),
                        coords={"station": gsl["station"], "sat": gsl["sat"], "time": gsl["time"][time_index]},
                        name="elevation_deg", attrs=dict(gsl["elevation_deg"].attrs))


# ---------------------------------------------------------------- streaming

def links_from_chunks(constellation, chunks, topology="plus-grid", *, stations=None, k=4,
                      margin_km=DEFAULT_MARGIN_KM, max_range_km=DEFAULT_MAX_RANGE_KM,
                      latitude_cutoff_deg=None, min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
                      ground=True, on_chunk=None):
    """ISL and GSL datasets from a stream of propagation chunks, holding one chunk at a time.

    Parameters
    ----------
    constellation : Constellation
    chunks : iterable of xarray.Dataset
        Consecutive time chunks of :func:`orbits.propagate` output, e.g. from
        :func:`orbits.iter_propagate`. The topology is chosen on the first.
    topology, k, margin_km, max_range_km, latitude_cutoff_deg
        As for :func:`isl_links`.
    stations, min_elevation_deg
        As for :func:`ground_links`.
    ground : bool
        Also compute ground-station links.
    on_chunk : callable, optional
        Called with the number of timesteps after each chunk (progress bars).

    Returns
    -------
    (xarray.Dataset, xarray.Dataset or None)
        The ISL dataset and the GSL dataset (None when ``ground`` is false),
        identical to :func:`isl_links` and :func:`ground_links` on the whole state.

    Examples
    --------
    >>> from orbits.walker import walker; from orbits.propagate import iter_propagate; from orbits.timegrid import time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> times = time_grid(c.reference_epoch, 600.0, 60.0)
    >>> isl, gsl = links_from_chunks(c, iter_propagate(c, times, 4))
    >>> isl.sizes["time"], gsl.sizes["time"]
    (11, 11)
    """
    margin_km, max_range_km, cutoff_deg = _isl_rules(margin_km, max_range_km, latitude_cutoff_deg)
    min_elevation_deg = _float(min_elevation_deg, "min_elevation_deg", -90.0, 90.0)
    stations = _stations(stations) if ground else None
    runner = _GslRunner(stations, min_elevation_deg) if ground else None
    clear_radius_km = EARTH_RADIUS_KM + margin_km
    cutoff = math.inf if cutoff_deg is None else cutoff_deg
    topo = None
    times, distances, ups = [], [], []
    offset = 0
    first = None
    for chunk in chunks:
        _check_state(chunk)
        if topo is None:
            first = chunk
            topo = isl_topology(constellation, chunk, topology, k=k, margin_km=margin_km,
                                max_range_km=max_range_km)
        n_time, n_sat = chunk.sizes["time"], chunk.sizes["sat"]
        position_km, status = _positions(chunk)
        abs_lat = _abs_latitude(chunk, None, None, n_time, n_sat, cutoff_deg)
        distance_km, up = _isl_chunk(position_km, status, abs_lat, topo, clear_radius_km, max_range_km, cutoff)
        distances.append(distance_km)
        ups.append(up)
        times.append(chunk["time"].values)
        if runner is not None:
            runner.run(position_km, status, offset)
        offset += n_time
        if on_chunk is not None:
            on_chunk(n_time)
    if topo is None:
        raise OrbitsError("no propagation chunks were given (empty time grid?)")
    time = np.concatenate(times)
    norad, name = _sat_labels(first, constellation)
    isl = _isl_dataset(time, np.concatenate(distances), np.concatenate(ups), topo, norad,
                       _isl_attrs(topo, margin_km, max_range_km, cutoff_deg, k))
    gsl = None
    if runner is not None:
        cols, count = runner.arrays()
        gsl = _gsl_dataset(time, stations, norad, name, cols, count, min_elevation_deg)
    return isl, gsl
