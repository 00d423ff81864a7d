"""Link kernels against their plain-NumPy twins and against closed-form geometry.

The twins below are the reference implementations (the numbagg way): written
for clarity with whole-array NumPy, they must agree with the Numba kernels in
``orbits/_kernels.py`` on random geometry (hypothesis) and on edge cases.
``bench/links.py`` times them too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbits import _kernels as K
from orbits.constants import EARTH_RADIUS_KM
from orbits.stations import geodetic_to_itrs_km

one_mm_km = 1e-6
one_m_km = 1e-3
tiny_deg = 1e-9


# ---------------------------------------------------------------- NumPy twins

def segment_clearance_twin(a_km, b_km):
    """Smallest geocentric distance of segments a-b, km (NumPy)."""
    d = b_km - a_km
    dd = np.einsum("...i,...i->...", d, d)
    safe = np.where(dd > 0.0, dd, 1.0)
    t = np.where(dd > 0.0, -np.einsum("...i,...i->...", a_km, d) / safe, 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a_km + t[..., None] * d
    return np.sqrt(np.einsum("...i,...i->...", closest, closest))


def isl_twin(position_km, status, abs_latitude_deg, sat_a, sat_b, inter_plane,
             clear_radius_km, max_range_km, latitude_cutoff_deg):
    """Distance (t, l) and up flag (t, l) of ISLs (NumPy)."""
    a = position_km[:, sat_a]
    b = position_km[:, sat_b]
    distance_km = np.sqrt(((b - a) ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore"):
        up = (status[:, sat_a] == 0) & (status[:, sat_b] == 0) & (distance_km <= max_range_km)
        latitude_ok = ((abs_latitude_deg[:, sat_a] <= latitude_cutoff_deg)
                       & (abs_latitude_deg[:, sat_b] <= latitude_cutoff_deg))
        up &= ~inter_plane[None, :] | latitude_ok
        up &= segment_clearance_twin(a, b) > clear_radius_km
    return distance_km, up


def gsl_twin(position_km, status, station_km, station_enu, min_elevation_deg, time_offset=0):
    """Visible (time, station, sat) triples, elevation, azimuth, range, per-step counts (NumPy)."""
    rho = position_km[:, None, :, :] - station_km[None, :, None, :]        # (t, s, n, 3)
    enu = rho @ station_enu.transpose(0, 2, 1)[None]                        # (t, s, n, 3): east, north, up
    east, north, up = enu[..., 0], enu[..., 1], enu[..., 2]
    range_km = np.sqrt((rho ** 2).sum(axis=-1))
    elevation_deg = np.degrees(np.arctan2(up, np.hypot(east, north)))
    with np.errstate(invalid="ignore"):
        visible = (elevation_deg >= min_elevation_deg) & (status[:, None, :] == 0)
    t, s, n = np.nonzero(visible)
    azimuth_deg = np.degrees(np.arctan2(east[t, s, n], north[t, s, n])) % 360.0
    return {
        "time": t + time_offset, "station": s, "sat": n,
        "elevation_deg": elevation_deg[t, s, n], "azimuth_deg": azimuth_deg,
        "range_km": range_km[t, s, n], "count": visible.sum(axis=-1),
    }


# ---------------------------------------------------------------- kernel runners

def run_isl(position_km, status, abs_latitude_deg, sat_a, sat_b, inter_plane,
            clear_radius_km, max_range_km, latitude_cutoff_deg):
    n_time, n_link = position_km.shape[0], sat_a.shape[0]
    distance_km = np.empty((n_time, n_link))
    up = np.empty((n_time, n_link), dtype=np.bool_)
    K.isl_kernel(position_km, status, abs_latitude_deg, sat_a, sat_b, inter_plane,
                 clear_radius_km, max_range_km, latitude_cutoff_deg, distance_km, up)
    return distance_km, up


def run_gsl(position_km, status, station_km, station_enu, min_elevation_deg, capacity=None,
            time_offset=0):
    n_time, n_station = position_km.shape[0], station_km.shape[0]
    if capacity is None:
        capacity = n_time * n_station * position_km.shape[1]
    out = {
        "time": np.empty(capacity, np.int32), "station": np.empty(capacity, np.int32),
        "sat": np.empty(capacity, np.int32), "elevation_deg": np.empty(capacity),
        "azimuth_deg": np.empty(capacity), "range_km": np.empty(capacity),
        "count": np.empty((n_time, n_station), np.int32),
    }
    n = K.gsl_kernel(position_km, status, station_km, station_enu,
                     math.sin(math.radians(min_elevation_deg)), time_offset,
                     out["time"], out["station"], out["sat"], out["elevation_deg"],
                     out["azimuth_deg"], out["range_km"], out["count"])
    return n, {k: (v[:min(n, capacity)] if v.ndim == 1 else v) for k, v in out.items()}


# ---------------------------------------------------------------- random geometry

def random_shell(rng, n_time, n_sat, bad_fraction=0.1):
    """Positions at radii 6,000-9,000 km (some below the clearance sphere), some failed."""
    direction = rng.normal(size=(n_time, n_sat, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    radius_km = rng.uniform(6000.0, 9000.0, size=(n_time, n_sat, 1))
    position_km = direction * radius_km
    status = np.where(rng.random((n_time, n_sat)) < bad_fraction,
                      rng.integers(1, 7, size=(n_time, n_sat)), 0).astype(np.int8)
    position_km[status != 0] = np.nan  # as SGP4 gives: no position for a failed sample
    abs_latitude_deg = np.degrees(np.arcsin(np.abs(direction[..., 2])))
    return position_km, status, abs_latitude_deg


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_time=st.integers(1, 4), n_sat=st.integers(2, 40),
       n_link=st.integers(1, 80), margin_km=st.floats(0.0, 500.0),
       max_range_km=st.floats(100.0, 20000.0),
       latitude_cutoff_deg=st.one_of(st.just(math.inf), st.floats(0.0, 90.0)))
def test_isl_kernel_equals_twin(seed, n_time, n_sat, n_link, margin_km, max_range_km, latitude_cutoff_deg):
    rng = np.random.default_rng(seed)
    position_km, status, abs_latitude_deg = random_shell(rng, n_time, n_sat)
    sat_a = rng.integers(0, n_sat, n_link).astype(np.int64)
    sat_b = (sat_a + rng.integers(1, n_sat, n_link)) % n_sat
    inter_plane = rng.random(n_link) < 0.5
    args = (position_km, status, abs_latitude_deg, sat_a, sat_b, inter_plane,
            EARTH_RADIUS_KM + margin_km, max_range_km, latitude_cutoff_deg)
    distance_km, up = run_isl(*args)
    want_distance_km, want_up = isl_twin(*args)
    np.testing.assert_allclose(distance_km, want_distance_km, rtol=0, atol=one_mm_km, equal_nan=True)
    np.testing.assert_array_equal(up, want_up)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50))
def test_segment_clearance_equals_twin(seed, n):
    rng = np.random.default_rng(seed)
    a_km = rng.normal(scale=8000.0, size=(n, 3))
    b_km = rng.normal(scale=8000.0, size=(n, 3))
    b_km[0] = a_km[0]  # a degenerate (zero-length) segment
    out_km = np.empty(n)
    K.segment_clearance_km(a_km, b_km, out_km)
    np.testing.assert_allclose(out_km, segment_clearance_twin(a_km, b_km), rtol=1e-12, atol=one_mm_km)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_time=st.integers(1, 4), n_sat=st.integers(1, 60),
       n_station=st.integers(1, 6), min_elevation_deg=st.floats(-10.0, 60.0),
       time_offset=st.integers(0, 1000))
def test_gsl_kernel_equals_twin(seed, n_time, n_sat, n_station, min_elevation_deg, time_offset):
    rng = np.random.default_rng(seed)
    # Satellites 300-2,000 km up so that a fair share is above any station's horizon.
    direction = rng.normal(size=(n_time, n_sat, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    position_km = direction * rng.uniform(6700.0, 8400.0, size=(n_time, n_sat, 1))
    status = (rng.random((n_time, n_sat)) < 0.1).astype(np.int8)
    position_km[status != 0] = np.nan
    station_km, station_enu = geodetic_to_itrs_km(rng.uniform(-90, 90, n_station),
                                                  rng.uniform(-180, 180, n_station),
                                                  rng.uniform(0, 4000, n_station))
    n, got = run_gsl(position_km, status, station_km, station_enu, min_elevation_deg,
                     time_offset=time_offset)
    want = gsl_twin(position_km, status, station_km, station_enu, min_elevation_deg, time_offset)
    assert n == len(want["sat"])
    for key in ("time", "station", "sat", "count"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    np.testing.assert_allclose(got["elevation_deg"], want["elevation_deg"], rtol=0, atol=tiny_deg)
    np.testing.assert_allclose(got["range_km"], want["range_km"], rtol=0, atol=one_mm_km)
    # Azimuth wraps at 0/360 and is undefined at the zenith; compare on the circle.
    d_az = (got["azimuth_deg"] - want["azimuth_deg"] + 180.0) % 360.0 - 180.0
    assert np.all(np.abs(d_az) < 1e-7)


def test_gsl_kernel_reports_overflow_and_keeps_counts():
    rng = np.random.default_rng(3)
    position_km, status, _ = random_shell(rng, 3, 200, bad_fraction=0.0)
    position_km *= 8000.0 / np.linalg.norm(position_km, axis=-1, keepdims=True)
    station_km, station_enu = geodetic_to_itrs_km([10.0, -40.0], [20.0, 100.0], [0.0, 0.0])
    n_full, full = run_gsl(position_km, status, station_km, station_enu, 10.0)
    assert n_full > 5
    n_small, small = run_gsl(position_km, status, station_km, station_enu, 10.0, capacity=5)
    assert n_small == n_full                      # the true total, so the caller can grow
    np.testing.assert_array_equal(small["count"], full["count"])
    np.testing.assert_array_equal(small["sat"], full["sat"][:5])


# ---------------------------------------------------------------- closed-form geometry

def _two_sats(radius_km, angle_rad):
    """Two satellites at the same radius, ``angle_rad`` apart in the x-y plane, as (1, 2, 3)."""
    return np.array([[[radius_km, 0.0, 0.0],
                      [radius_km * math.cos(angle_rad), radius_km * math.sin(angle_rad), 0.0]]])


def _isl_pair(position_km, margin_km=80.0, max_range_km=math.inf, inter=False,
              abs_latitude_deg=None, cutoff=math.inf, status=None):
    n_sat = position_km.shape[1]
    if abs_latitude_deg is None:
        abs_latitude_deg = np.zeros(position_km.shape[:2])
    if status is None:
        status = np.zeros(position_km.shape[:2], np.int8)
    return run_isl(position_km, status, abs_latitude_deg, np.array([0]), np.array([n_sat - 1]),
                   np.array([inter]), EARTH_RADIUS_KM + margin_km, max_range_km, cutoff)


@pytest.mark.parametrize("altitude_km", [340.0, 550.0, 1200.0])
@pytest.mark.parametrize("margin_km", [0.0, 80.0, 200.0])
def test_grazing_distance_same_altitude(altitude_km, margin_km):
    """Line of sight touches the margin sphere at chord 2·sqrt(r² − (R + margin)²)."""
    r_km = EARTH_RADIUS_KM + altitude_km
    rho_km = EARTH_RADIUS_KM + margin_km
    grazing_km = 2.0 * math.sqrt(r_km**2 - rho_km**2)
    grazing_angle_rad = 2.0 * math.acos(rho_km / r_km)
    # Just inside the grazing angle the chord's midpoint clears the sphere by about a metre.
    for angle_rad, want_up in ((grazing_angle_rad - 1e-6, True), (grazing_angle_rad + 1e-6, False)):
        distance_km, up = _isl_pair(_two_sats(r_km, angle_rad), margin_km=margin_km)
        assert bool(up[0, 0]) is want_up
        assert distance_km[0, 0] == pytest.approx(2 * r_km * math.sin(angle_rad / 2), abs=one_mm_km)
        assert distance_km[0, 0] == pytest.approx(grazing_km, abs=0.02)  # 1e-6 rad × r


@settings(max_examples=50, deadline=None)
@given(r1_km=st.floats(6400.0, 50000.0), r2_km=st.floats(6400.0, 50000.0),
       lat_deg=st.floats(-90.0, 90.0), lon_deg=st.floats(-180.0, 180.0),
       margin_km=st.floats(-6000.0, 500.0))
def test_antipodal_satellites_never_see_each_other(r1_km, r2_km, lat_deg, lon_deg, margin_km):
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    u = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    position_km = np.stack([u * r1_km, -u * r2_km])[None]
    distance_km, up = _isl_pair(position_km, margin_km=margin_km)
    assert not up[0, 0]
    assert distance_km[0, 0] == pytest.approx(r1_km + r2_km, rel=1e-12)


def test_segment_clearance_closed_form():
    r_km = 7000.0
    a = np.array([[r_km, 0.0, 0.0], [r_km, 0.0, 0.0], [8000.0, 0.0, 0.0]])
    b = np.array([[0.0, r_km, 0.0], [r_km, 0.0, 0.0], [9000.0, 0.0, 0.0]])
    out_km = np.empty(3)
    K.segment_clearance_km(a, b, out_km)
    # 90° apart: the chord's midpoint is r/√2 from the centre; a point; a radial segment.
    np.testing.assert_allclose(out_km, [r_km / math.sqrt(2), r_km, 8000.0], rtol=1e-14)


def test_range_rule_is_inclusive():
    position_km = _two_sats(EARTH_RADIUS_KM + 550.0, math.radians(10.0))
    distance_km, _ = _isl_pair(position_km)
    _, up_at = _isl_pair(position_km, max_range_km=float(distance_km[0, 0]))
    _, up_below = _isl_pair(position_km, max_range_km=float(distance_km[0, 0]) - one_m_km)
    assert up_at[0, 0] and not up_below[0, 0]


def test_latitude_cutoff_only_for_inter_plane_links():
    position_km = _two_sats(EARTH_RADIUS_KM + 550.0, math.radians(10.0))
    abs_latitude_deg = np.array([[20.0, 75.0]])
    for inter, cutoff, want in ((True, math.inf, True), (True, 70.0, False), (True, 75.0, True),
                                (False, 70.0, True)):
        _, up = _isl_pair(position_km, inter=inter, abs_latitude_deg=abs_latitude_deg, cutoff=cutoff)
        assert bool(up[0, 0]) is want, (inter, cutoff)


def test_invalid_sgp4_status_means_down():
    position_km = _two_sats(EARTH_RADIUS_KM + 550.0, math.radians(10.0))
    for status in ([[0, 1]], [[6, 0]]):
        distance_km, up = _isl_pair(position_km, status=np.array(status, np.int8))
        assert not up[0, 0] and np.isfinite(distance_km[0, 0])
    position_km[0, 1] = np.nan
    distance_km, up = _isl_pair(position_km)  # even with status 0, no position means down
    assert not up[0, 0] and np.isnan(distance_km[0, 0])


@settings(max_examples=60, deadline=None)
@given(lat_deg=st.floats(-89.9, 89.9), lon_deg=st.floats(-180.0, 180.0), alt_m=st.floats(-100.0, 5000.0),
       elevation_deg=st.floats(-5.0, 89.0), azimuth_deg=st.floats(0.0, 359.999),
       range_km=st.floats(300.0, 3000.0))
def test_gsl_recovers_constructed_look_angles(lat_deg, lon_deg, alt_m, elevation_deg, azimuth_deg, range_km):
    """A satellite placed at (elevation, azimuth, range) in the station frame is seen there."""
    station_km, enu = geodetic_to_itrs_km([lat_deg], [lon_deg], [alt_m])
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    local = np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    position_km = (station_km[0] + range_km * local @ enu[0])[None, None, :]
    n, got = run_gsl(position_km, np.zeros((1, 1), np.int8), station_km, enu, -10.0)
    assert n == 1
    assert got["elevation_deg"][0] == pytest.approx(elevation_deg, abs=1e-9)
    assert got["range_km"][0] == pytest.approx(range_km, abs=one_mm_km)
    d_az = (got["azimuth_deg"][0] - azimuth_deg + 180.0) % 360.0 - 180.0
    assert abs(d_az) < 1e-8
    # and the minimum-elevation rule is applied on both sides of the value
    assert run_gsl(position_km, np.zeros((1, 1), np.int8), station_km, enu, elevation_deg - 1e-6)[0] == 1
    assert run_gsl(position_km, np.zeros((1, 1), np.int8), station_km, enu, elevation_deg + 1e-6)[0] == 0


def test_overhead_satellite_at_zenith():
    station_km, enu = geodetic_to_itrs_km([45.0], [7.0], [0.0])
    position_km = (station_km[0] + 550.0 * enu[0, 2])[None, None, :]
    n, got = run_gsl(position_km, np.zeros((1, 1), np.int8), station_km, enu, 25.0)
    assert n == 1
    assert got["elevation_deg"][0] == pytest.approx(90.0, abs=1e-9)
    assert got["range_km"][0] == pytest.approx(550.0, abs=one_mm_km)


def test_geodetic_to_itrs_wgs84_axes():
    """Equator/prime meridian at a; the pole at b = a(1 − f) (NIMA TR8350.2 table 3.1/3.3)."""
    from orbits.constants import WGS84_A_KM, WGS84_F

    position_km, enu = geodetic_to_itrs_km([0.0, 90.0, 0.0], [0.0, 0.0, 90.0], [0.0, 0.0, 1000.0])
    b_km = WGS84_A_KM * (1.0 - WGS84_F)
    np.testing.assert_allclose(position_km, [[WGS84_A_KM, 0, 0], [0, 0, b_km], [0, WGS84_A_KM + 1.0, 0]],
                               atol=1e-9)
    assert b_km == pytest.approx(6356.7523142, abs=1e-7)
    # east, north, up are orthonormal and right-handed
    for frame in enu:
        np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-15)
        np.testing.assert_allclose(np.cross(frame[0], frame[1]), frame[2], atol=1e-15)
