"""TEME → ITRS, geodetic coordinates and argument of latitude against Skyfield and NumPy twins."""

import warnings
from datetime import timezone
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec
from sgp4.earth_gravity import wgs72
from skyfield.api import EarthSatellite, wgs84
from skyfield.data import iers
from skyfield.framelib import itrs
from skyfield.timelib import Timescale

from orbits import Constellation, time_grid, walker
from orbits.constants import WGS84_A_KM, WGS84_F
from orbits.frames import argument_of_latitude_deg, geodetic_from_itrs, gmst1982_rad, teme_to_itrs
from orbits.propagate import orbital_period_s, propagate
from orbits.timegrid import _finals_path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
one_meter_km = 1e-3
one_millimeter_km = 1e-6
one_mm_per_s_km_s = 1e-6


def _skyfield_ts(polar_motion):
    """Skyfield timescale on the same IERS table we use, so both sides share UT1 and the pole."""
    with open(_finals_path(), "rb") as handle:
        finals = iers.parse_x_y_dut1_from_finals_all(handle)
    daily_tt, daily_delta_t, leap_dates, leap_offsets = iers.build_timescale_arrays(
        finals["utc_mjd"], finals["dut1"])
    ts = Timescale((daily_tt, daily_delta_t), leap_dates, leap_offsets)
    if polar_motion:
        iers.install_polar_motion_table(ts, finals)
    return ts


def _skyfield_times(ts, times):
    return ts.from_datetimes([t.astype("datetime64[us]").item().replace(tzinfo=timezone.utc) for t in times])


def _compare_with_skyfield(constellation, times, polar_motion, ts, max_altitude_km=np.inf):
    ds = propagate(constellation, times, polar_motion=polar_motion)
    t = _skyfield_times(ts, times)
    worst_r = worst_alt = worst_deg = 0.0
    compared = 0
    for k, satrec in enumerate(constellation.satrecs):
        ok = (ds.sgp4_status.values[:, k] == 0) & (ds.altitude_km.values[:, k] < max_altitude_km)
        if not ok.any():
            continue
        position = EarthSatellite.from_satrec(satrec, ts).at(t[ok])
        r_sky = position.frame_xyz(itrs).km.T
        worst_r = max(worst_r, np.abs(ds.position_itrs_km.values[ok, k] - r_sky).max())
        geo = wgs84.geographic_position_of(position)
        worst_deg = max(worst_deg,
                        np.abs(ds.latitude_deg.values[ok, k] - geo.latitude.degrees).max(),
                        np.abs((ds.longitude_deg.values[ok, k] - geo.longitude.degrees + 180) % 360 - 180).max())
        worst_alt = max(worst_alt, np.abs(ds.altitude_km.values[ok, k] - geo.elevation.km).max())
        compared += int(ok.sum())
    return worst_r, worst_deg, worst_alt, compared


@pytest.mark.parametrize("polar_motion", [True, False])
def test_skyfield_itrs(polar_motion):
    """Real Starlink element sets, times from 90 days before to a year after their epochs."""
    path = DATA / "starlink_tle_snapshot.txt"
    if not path.exists():
        pytest.skip(f"{path} not present (shared data is not shipped with the repository)")
    lines = path.read_text().splitlines()
    records = list(range(0, len(lines) - 2, 3))[::190][:50]
    satrecs = [Satrec.twoline2rv(lines[i + 1], lines[i + 2]) for i in records]
    constellation = Constellation(satrecs, [s.satnum for s in satrecs], [lines[i].strip() for i in records])
    epoch = constellation.reference_epoch
    offsets_s = np.array([-90, 0.25, 7, 45, 120, 250, 365]) * 86_400 + 1234.5
    times = epoch + (offsets_s * 1e9).astype("timedelta64[ns]")
    ts = _skyfield_ts(polar_motion)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # satellites that decay within the year are flagged, not compared
        # Far from epoch SGP4 can run away without an error code (one of these satellites
        # reaches 1e12 km a year out); compare only where Starlink can physically be.
        worst_r, worst_deg, worst_alt, compared = _compare_with_skyfield(
            constellation, times, polar_motion, ts, max_altitude_km=2_000)
    assert compared > 250
    assert worst_r < one_meter_km / 1000  # measured ~1e-7 km: both are the same rotation
    assert worst_deg < 1e-6
    assert worst_alt < one_meter_km


@pytest.mark.parametrize("polar_motion", [True, False])
def test_skyfield_itrs_walker_shell(polar_motion):
    constellation = walker("53:1584/72/1", altitude_km=550, epoch="2026-03-01T00:00:00Z").subset(slice(0, 1584, 53))
    times = time_grid("2026-03-01T00:00:00Z", 2 * 86_400, 3_607)
    worst_r, worst_deg, worst_alt, compared = _compare_with_skyfield(
        constellation, times, polar_motion, _skyfield_ts(polar_motion))
    assert compared == len(constellation) * times.size
    assert worst_r < one_millimeter_km and worst_deg < 1e-6 and worst_alt < one_meter_km


def test_skyfield_itrs_on_the_leap_second_day():
    constellation = walker("97.6:12/3/1", altitude_km=700, epoch="2016-12-31T12:00:00Z")
    times = time_grid("2016-12-31T23:58:00Z", 240, 7)
    worst_r, _, _, compared = _compare_with_skyfield(constellation, times, True, _skyfield_ts(True))
    assert compared == 12 * times.size and worst_r < one_millimeter_km


@pytest.mark.parametrize("polar_motion, tolerance_km_s", [(False, 0.1 * one_mm_per_s_km_s),
                                                          (True, 2 * one_mm_per_s_km_s)])
def test_skyfield_itrs_velocity(polar_motion, tolerance_km_s):
    # Skyfield neglects the precession rate of TEME against GCRS in velocities (~50″/yr,
    # 7.7e-12 rad/s × 7000 km ≈ 0.05 mm/s; see the TODO in skyfield.sgp4lib.TEME).
    # With polar motion Skyfield spins the Earth about the ITRS z axis, we (Vallado) about the
    # rotation pole: they differ by ω × (pole offset ~0.3″ × r) ≈ 0.8 mm/s at 7000 km.
    satrec = walker("53:22/1/0", altitude_km=550, epoch="2026-03-01T00:00:00Z").satrecs[0]
    times = time_grid("2026-03-01T00:00:00Z", 86_400, 997)
    from orbits.timegrid import to_jd_utc

    _, r, v = satrec.sgp4_array(*to_jd_utc(times))
    r_itrs, v_itrs = teme_to_itrs(r, times, v, polar_motion=polar_motion)
    ts = _skyfield_ts(polar_motion)
    sky_r, sky_v = EarthSatellite.from_satrec(satrec, ts).at(_skyfield_times(ts, times)).frame_xyz_and_velocity(itrs)
    assert np.abs(r_itrs - sky_r.km.T).max() < one_millimeter_km
    assert np.abs(v_itrs - sky_v.km_per_s.T).max() < tolerance_km_s


def test_gmst_matches_sgp4_gstime():
    from sgp4.propagation import gstime

    for jd in np.linspace(2440000.5, 2470000.5, 41):
        assert abs(gmst1982_rad(jd, 0.3) - gstime(jd + 0.3)) < 1e-8


# --- geodesy -------------------------------------------------------------------------------


def _geodetic_numpy_twin(r_km, a=WGS84_A_KM, f=WGS84_F):
    """Independent twin: Bowring-style fixed-point iteration on the geodetic latitude."""
    with np.errstate(invalid="ignore", divide="ignore"):  # np.where evaluates both branches
        return _geodetic_iteration(r_km, a, f)


def _geodetic_iteration(r_km, a, f):
    x, y, z = np.moveaxis(np.asarray(r_km, dtype=float), -1, 0)
    e2 = f * (2 - f)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - e2))
    for _ in range(10):
        n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
        h = np.where(np.abs(lat) < np.pi / 4, p / np.cos(lat) - n, z / np.sin(lat) - n * (1 - e2))
        lat = np.arctan2(z, p * (1 - e2 * n / (n + h)))
    n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    h = np.where(np.abs(lat) < np.pi / 4, p / np.cos(lat) - n, z / np.sin(lat) - n * (1 - e2))
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), h


def _ecef_from_geodetic(lat_deg, lon_deg, h_km, a=WGS84_A_KM, f=WGS84_F):
    e2 = f * (2 - f)
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return np.stack([(n + h_km) * np.cos(lat) * np.cos(lon), (n + h_km) * np.cos(lat) * np.sin(lon),
                     (n * (1 - e2) + h_km) * np.sin(lat)], -1)


def test_geodetic_kernel_vs_numpy_twin_and_round_trip():
    rng = np.random.default_rng(3)
    lat = np.concatenate([rng.uniform(-90, 90, 2000), [90.0, -90.0, 0.0, 89.9999, -45.0]])
    lon = np.concatenate([rng.uniform(-180, 180, 2000), [0.0, 12.0, 180.0, -179.0, 33.0]])
    h = np.concatenate([rng.uniform(-5, 40_000, 2000), [550.0, 550.0, 0.0, 1200.0, 35_786.0]])
    r = _ecef_from_geodetic(lat, lon, h)
    got_lat, got_lon, got_h = geodetic_from_itrs(r)
    assert np.abs(got_lat - lat).max() < 1e-9
    assert np.abs((got_lon - lon + 180) % 360 - 180)[np.abs(lat) < 90].max() < 1e-9
    assert np.abs(got_h - h).max() < one_millimeter_km
    twin_lat, twin_lon, twin_h = _geodetic_numpy_twin(r)
    assert np.abs(got_lat - twin_lat).max() < 1e-9 and np.abs(got_h - twin_h).max() < one_millimeter_km


def test_geodetic_vs_skyfield_wgs84():
    from skyfield.api import load
    from skyfield.toposlib import ITRSPosition
    from skyfield.units import Distance

    t = load.timescale(builtin=True).utc(2026, 2, 1)
    rng = np.random.default_rng(11)
    r = rng.normal(size=(200, 3))
    r *= (rng.uniform(6500, 42_200, 200) / np.linalg.norm(r, axis=1))[:, None]
    lat, lon, h = geodetic_from_itrs(r)
    for k in range(0, 200, 4):
        geo = wgs84.geographic_position_of(ITRSPosition(Distance(km=r[k])).at(t))
        assert abs(geo.latitude.degrees - lat[k]) < 1e-6
        assert abs((geo.longitude.degrees - lon[k] + 180) % 360 - 180) < 1e-6
        assert abs(geo.elevation.km - h[k]) < one_meter_km
        # And the other way: Skyfield's geodetic → ITRS gives our vector back.
        back = wgs84.latlon(lat[k], lon[k], elevation_m=h[k] * 1e3).itrs_xyz.km
        assert np.abs(back - r[k]).max() < one_millimeter_km


def test_walker_550_altitude_stays_within_sgp4_oscillation_bound():
    """Geodetic altitude of a 550 km, 53° circular shell over three periods.

    SGP4 (WGS-72, Kozai elements, e = 0) moves the radius away from the mean
    semi-major axis a by (Vallado et al. 2006, sgp4 ``_dspace``/propagation):
      * the J3 long-period term, an effective eccentricity e_J3 = ½|J3/J2| sin i · R/a (±a e_J3 ≈ 6 km);
      * the J2 short-period term ¼ J2 sin²i (R/a) R cos 2u (≈ ±1 km) and a constant
        −¾ J2 (3cos²i − 1)(R/a) R (≈ −0.4 km).
    The WGS-84 ellipsoid is lower than its equatorial radius by up to a f sin²φ
    (≈ 13.6 km at φ = 53°). Geodetic height stays inside these bounds (+0.2 km
    for second-order terms), and must use the ellipsoid: the spread exceeds 10 km.
    """
    constellation = walker("53:1584/72/1", altitude_km=550, epoch="2026-01-01T00:00:00Z").subset(slice(0, 1584, 11))
    period_s = orbital_period_s(constellation)
    ds = propagate(constellation, time_grid("2026-01-01T00:00:00Z", 3 * period_s, 30))
    satrec = constellation.satrecs[0]
    r_e = wgs72.radiusearthkm
    a_km = satrec.a * r_e  # SGP4's un-Kozai'd mean semi-major axis
    inc = satrec.inclo
    e_j3 = 0.5 * abs(wgs72.j3 / wgs72.j2) * np.sin(inc) * r_e / a_km
    short_km = 0.25 * wgs72.j2 * np.sin(inc) ** 2 * r_e / a_km * r_e
    const_km = -0.75 * wgs72.j2 * (3 * np.cos(inc) ** 2 - 1) * r_e / a_km * r_e
    margin_km = 0.2
    low = a_km + const_km - short_km - a_km * e_j3 - WGS84_A_KM - margin_km
    high = a_km + const_km + short_km + a_km * e_j3 - WGS84_A_KM * (1 - WGS84_F * np.sin(inc) ** 2) + margin_km
    h = ds.altitude_km.values
    assert low < 545 and high < 571  # the bound is about 550 −7/+21 km
    assert h.min() > low and h.max() < high
    assert h.max() - h.min() > 10.0


# --- argument of latitude -----------------------------------------------------------------


def _argument_of_latitude_twin(r, v):
    h = np.cross(r, v)
    node = np.cross([0.0, 0.0, 1.0], h)
    node /= np.linalg.norm(node, axis=-1, keepdims=True)
    cos_u = np.sum(node * r, -1) / np.linalg.norm(r, axis=-1)
    u = np.degrees(np.arccos(np.clip(cos_u, -1, 1)))
    return np.where(r[..., 2] < 0, 360.0 - u, u)


def test_argument_of_latitude_vs_twin_and_elements():
    rng = np.random.default_rng(5)
    r = rng.normal(size=(5000, 3)) * 7000
    v = rng.normal(size=(5000, 3)) * 7
    u = argument_of_latitude_deg(r, v)
    twin = _argument_of_latitude_twin(r, v)
    assert np.abs((u - twin + 180) % 360 - 180).max() < 1e-6
    assert u.min() >= 0 and u.max() < 360
    # A circular orbit at epoch: u = argument of perigee + mean anomaly (= true anomaly when e = 0).
    satrec = Satrec()
    satrec.sgp4init(WGS72, "i", 1, 18262.0, 0.0, 0.0, 0.0, 0.0, np.radians(30.0),
                    np.radians(53.0), np.radians(70.0), 0.0659, np.radians(10.0))
    e, r0, v0 = satrec.sgp4_tsince(0.0)
    assert e == 0
    # Mean and osculating elements differ by J2 short-period terms (~0.1°).
    assert abs(float(argument_of_latitude_deg(r0, v0)) - 100.0) < 0.2


def test_argument_of_latitude_special_cases():
    assert argument_of_latitude_deg([7000.0, 0, 0], [0, 5.0, 5.0]) == 0.0  # at the ascending node
    assert argument_of_latitude_deg([0, 0, 7000.0], [-7.5, 0, 0]) == 90.0
    assert argument_of_latitude_deg([-7000.0, 0, 0], [0, -5.0, -5.0]) == 180.0
    assert argument_of_latitude_deg([0, 7000.0, 0], [-7.5, 0, 0]) == 90.0  # equatorial: true longitude
    assert argument_of_latitude_deg([0, 7000.0, 0], [7.5, 0, 0]) == 270.0  # retrograde equatorial
