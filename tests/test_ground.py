"""Ground-station links: Skyfield look angles, the sparse layout, and the station CSV loader."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import xarray as xr
from skyfield.api import EarthSatellite, load, wgs84
from skyfield.framelib import itrs

from orbits.exceptions import OrbitsError
from orbits.links import ground_links, ground_links_at
from orbits.propagate import propagate
from orbits.stations import GroundStations, StationFormatError, load_stations
from orbits.timegrid import time_grid
from orbits.walker import walker
from test_kernels_links import gsl_twin

micro_deg = 1e-6
one_m_km = 1e-3


@pytest.fixture(scope="module")
def scene():
    c = walker("53:1584/72/1", altitude_km=550)
    times = time_grid(c.reference_epoch, 3000.0, 300.0)
    # Skyfield's EarthSatellite ITRS has no polar motion unless given a table; compare like with like.
    state = propagate(c, times, polar_motion=False)
    stations = load_stations().subset(slice(0, 56, 7))   # 8 stations from 78° N to 37° S
    sats = np.arange(0, 1584, 37)
    return c, times, state.isel(sat=sats), stations, sats


def _skyfield_times(times):
    ts = load.timescale()
    return ts, ts.from_datetimes([datetime.fromtimestamp(t.astype("int64") / 1e9, tz=timezone.utc)
                                  for t in times])


def _skyfield_look_angles(c, sats, stations, times):
    """Elevation, azimuth (deg) and range (km), shape (time, station, sat), from (sat − station).at(t).altaz()."""
    ts, t = _skyfield_times(times)
    shape = (len(times), len(stations), len(sats))
    elevation, azimuth, range_km = np.empty(shape), np.empty(shape), np.empty(shape)
    for s in range(len(stations)):
        site = wgs84.latlon(stations.latitude_deg[s], stations.longitude_deg[s],
                            elevation_m=stations.altitude_m[s])
        for k, j in enumerate(sats):
            alt, az, dist = (EarthSatellite.from_satrec(c.satrecs[j], ts) - site).at(t).altaz()
            elevation[:, s, k], azimuth[:, s, k], range_km[:, s, k] = alt.degrees, az.degrees, dist.km
    return elevation, azimuth, range_km


def _dense(gsl, var):
    out = np.full((gsl.sizes["time"], gsl.sizes["station"], gsl.sizes["sat"]), np.nan)
    out[gsl["time_index"].values, gsl["station_index"].values, gsl["sat_index"].values] = gsl[var].values
    return out


def test_skyfield_altaz_full_chain(scene):
    """propagate → ground_links agrees with Skyfield's (sat − station).at(t).altaz() for every pair."""
    c, times, state, stations, sats = scene
    gsl = ground_links(state, stations, min_elevation_deg=-90.0)   # every pair, above or below the horizon
    assert gsl.sizes["pair"] == len(times) * len(stations) * len(sats)
    want_el, want_az, want_range = _skyfield_look_angles(c, sats, stations, times)
    assert np.abs(_dense(gsl, "elevation_deg") - want_el).max() < micro_deg
    assert np.abs(_dense(gsl, "range_km") - want_range).max() < one_m_km
    d_az = (_dense(gsl, "azimuth_deg") - want_az + 180.0) % 360.0 - 180.0
    assert np.abs(d_az[want_el < 89.0]).max() < 1e-5   # azimuth is ill-conditioned only near the zenith


def test_skyfield_altaz_from_skyfield_positions():
    """Kernel geometry alone: Skyfield's own ITRS positions in, Skyfield's look angles out (to rounding)."""
    c = walker("97.6:40/8/3", altitude_km=780)
    times = time_grid("2026-03-20T12:00:00Z", 5400.0, 600.0)
    ts, t = _skyfield_times(times)
    sats = np.arange(len(c))
    position = np.stack([EarthSatellite.from_satrec(s, ts).at(t).frame_xyz(itrs).km.T for s in c.satrecs], axis=1)
    state = xr.Dataset({"position_itrs_km": (("time", "sat", "xyz"), position),
                        "sgp4_status": (("time", "sat"), np.zeros(position.shape[:2], np.int8))},
                       coords={"time": times})
    stations = GroundStations(["Svalbard", "Quito", "Hobart"], [78.23, -0.18, -42.88], [15.41, -78.47, 147.33],
                              [500.0, 2850.0, 10.0])
    gsl = ground_links(state, stations, min_elevation_deg=-90.0)
    want_el, _, want_range = _skyfield_look_angles(c, sats, stations, times)
    assert np.abs(_dense(gsl, "elevation_deg") - want_el).max() < 1e-9
    assert np.abs(_dense(gsl, "range_km") - want_range).max() < 1e-6


def test_minimum_elevation_selects_exactly_the_visible_pairs(scene):
    c, times, state, stations, sats = scene
    gsl = ground_links(state, stations)                       # default 25°
    want_el, _, _ = _skyfield_look_angles(c, sats, stations, times)
    got = ~np.isnan(_dense(gsl, "elevation_deg"))
    clear = np.abs(want_el - 25.0) > micro_deg
    np.testing.assert_array_equal(got[clear], want_el[clear] >= 25.0)
    assert got.sum() > 0
    np.testing.assert_array_equal(gsl["visible_count"].values, got.sum(axis=-1))
    assert gsl.attrs["gsl_min_elevation_deg"] == 25.0


def test_sparse_layout_matches_numpy_twin_and_dense_view():
    c = walker("53:1584/72/1", altitude_km=550)
    state = propagate(c, time_grid(c.reference_epoch, 600.0, 120.0))
    stations = load_stations()
    gsl = ground_links(state, stations, chunk_steps=2)
    station_km, enu = stations.itrs_km()
    want = gsl_twin(state["position_itrs_km"].values, state["sgp4_status"].values, station_km, enu, 25.0)
    for got_name, want_name in (("time_index", "time"), ("station_index", "station"), ("sat_index", "sat")):
        np.testing.assert_array_equal(gsl[got_name].values, want[want_name])
    np.testing.assert_allclose(gsl["elevation_deg"].values, want["elevation_deg"], atol=1e-9, rtol=0)
    # rows sorted by (time, station, sat)
    key = (gsl["time_index"].values.astype(np.int64) * 100 + gsl["station_index"].values) * 10_000 \
        + gsl["sat_index"].values
    assert np.all(np.diff(key) > 0)
    grid = ground_links_at(gsl, -1)
    assert grid.dims == ("station", "sat")
    assert int(grid.notnull().sum()) == int(gsl["visible_count"][-1].sum())
    with pytest.raises(OrbitsError, match="outside the 6 timesteps"):
        ground_links_at(gsl, 6)
    # Memory: the sparse rows are a small fraction of a dense time × station × sat grid.
    assert gsl.sizes["pair"] < 0.02 * gsl.sizes["time"] * gsl.sizes["station"] * gsl.sizes["sat"]


def test_failed_satellites_are_never_visible():
    c = walker("53:1584/72/1", altitude_km=550)
    state = propagate(c, time_grid(c.reference_epoch, 0.0, 60.0))
    gsl = ground_links(state, min_elevation_deg=0.0)
    seen = np.unique(gsl["sat_index"].values)
    broken = state.copy(deep=True)
    broken["sgp4_status"][0, seen[:5]] = 6      # status flags the failure even if positions remain
    gsl_broken = ground_links(broken, min_elevation_deg=0.0)
    assert not np.isin(seen[:5], gsl_broken["sat_index"].values).any()
    assert gsl_broken.sizes["pair"] == gsl.sizes["pair"] - np.isin(gsl["sat_index"].values, seen[:5]).sum()


def test_shipped_stations():
    stations = load_stations()
    assert len(stations) >= 50
    assert len(set(stations.name.tolist())) == len(stations)
    assert np.all(np.abs(stations.latitude_deg) <= 90.0)
    assert stations.latitude_deg.max() > 70.0 and stations.latitude_deg.min() < -50.0
    london = stations.name.tolist().index("London")
    assert stations.latitude_deg[london] == pytest.approx(51.51, abs=0.05)


def _csv(tmp_path, text, name="stations.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_csv_without_altitude(tmp_path):
    path = _csv(tmp_path, "# my sites\nname,latitude_deg,longitude_deg,operator\nA,10,20,x\n\nB,-10.5,200,y\n")
    stations = load_stations(path)
    assert stations.name.tolist() == ["A", "B"]
    np.testing.assert_array_equal(stations.altitude_m, [0.0, 0.0])
    assert stations.source == str(path)


@pytest.mark.parametrize("text, message", [
    ("name,latitude_deg\nA,10\n", r"stations.csv:1: header lacks column\(s\) longitude_deg"),
    ("name,latitude_deg,longitude_deg\nA,10,20\nB,north,20\n", r"stations.csv:3: latitude_deg 'north' is not a number"),
    ("# c\nname,latitude_deg,longitude_deg\nA,95,20\n", r"stations.csv:3: latitude_deg 95.0 is outside \[-90, 90\]"),
    ("name,latitude_deg,longitude_deg\nA,10,20\nA,11,21\n", r"stations.csv:3: duplicate station name 'A' \(first on line 2\)"),
    ("name,latitude_deg,longitude_deg\nA,10\n", r"stations.csv:2: 2 fields, header has 3"),
    ("name,latitude_deg,longitude_deg,altitude_m\nA,10,20,12000\n", r"stations.csv:2: altitude_m 12000.0 is outside"),
    ("# nothing here\n", r"stations.csv: no stations"),
])
def test_user_csv_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(StationFormatError, match=message):
        load_stations(_csv(tmp_path, text))


def test_missing_station_file(tmp_path):
    with pytest.raises(StationFormatError, match="no such ground-station file"):
        load_stations(tmp_path / "nope.csv")
    assert issubclass(StationFormatError, OrbitsError)
