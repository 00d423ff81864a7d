"""UTC time grids, SGP4 Julian dates and Earth orientation (orbits.timegrid)."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sgp4.api import jday
from skyfield.data import iers
from skyfield.timelib import Timescale

from orbits import TimeGridError
from orbits.timegrid import (
    _finals_path,
    earth_orientation_coverage,
    polar_motion_arcsec,
    time_grid,
    to_datetime64_utc,
    to_jd_utc,
    ut1_minus_utc_s,
)

one_microsecond_s = 1e-6
one_microarcsecond = 1e-6


@pytest.fixture(scope="module")
def finals():
    with open(_finals_path(), "rb") as handle:
        return iers.parse_x_y_dut1_from_finals_all(handle)


@pytest.fixture(scope="module")
def skyfield_ts(finals):
    """A Skyfield timescale built from the same IERS table (what load.timescale(builtin=False) does)."""
    daily_tt, daily_delta_t, leap_dates, leap_offsets = iers.build_timescale_arrays(
        finals["utc_mjd"], finals["dut1"])
    ts = Timescale((daily_tt, daily_delta_t), leap_dates, leap_offsets)
    iers.install_polar_motion_table(ts, finals)
    return ts


def test_naive_datetime_refused_with_the_fix():
    with pytest.raises(TimeGridError, match=r"tzinfo=timezone\.utc") as info:
        time_grid(datetime(2026, 1, 1, 6, 30), 60, 10)
    assert "datetime(2026, 1, 1, 6, 30, 0, tzinfo=timezone.utc)" in str(info.value)


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00",
                                  "2026-01-01 00:00:00z", "2026-01-01T05:30:00+05:30",
                                  "2025-12-31T19:00:00-0500"])
def test_iso_forms_are_utc(text):
    assert to_datetime64_utc(text) == np.datetime64("2026-01-01T00:00:00", "ns")


@pytest.mark.parametrize("text, fixed", [
    ("2026-01-01T00:10:00", "2026-01-01T00:10:00Z"),
    ("2026-01-01 00:10", "2026-01-01T00:10Z"),
    ("2026-01-01T00:00:00.123456789", "2026-01-01T00:00:00.123456789Z"),
    ("2026-01-01", "2026-01-01T00:00:00Z"),
])
def test_string_without_zone_refused_with_the_fix(text, fixed):
    # The rule of naive datetimes, for strings: no zone, no instant; the message shows the fix.
    with pytest.raises(TimeGridError, match="no time zone") as info:
        to_datetime64_utc(text)
    assert f"write {fixed} for UTC" in str(info.value)
    assert to_datetime64_utc(fixed) == np.datetime64(fixed[:-1].replace(" ", "T"), "ns")
    with pytest.raises(TimeGridError, match="no time zone"):
        time_grid(text, 60, 10)
    with pytest.raises(TimeGridError, match="no time zone"):
        to_datetime64_utc([fixed, text])


def test_datetime64_is_utc_by_convention():
    # numpy has no zones: datetime64 values are UTC instants, as documented, and stay accepted.
    t = np.array(["2026-01-01T00:10:00"], dtype="datetime64[s]")
    assert to_datetime64_utc(t)[0] == np.datetime64("2026-01-01T00:10:00", "ns")
    assert to_datetime64_utc(np.datetime64("2026-01-01T00:10")) == to_datetime64_utc("2026-01-01T00:10Z")


def test_aware_datetime_converted_and_nanoseconds_kept():
    aware = datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_datetime64_utc(aware) == np.datetime64("2026-01-01T00:00:00", "ns")
    assert to_datetime64_utc("2026-01-01T00:00:00.123456789Z") == np.datetime64("2026-01-01T00:00:00.123456789")


@pytest.mark.parametrize("start, duration_s, step_s, word", [
    ("not a time", 60, 1, "not a time"),
    ("2026-13-01T00:00:00Z", 60, 1, "2026-13-01"),
    ("2026-01-01T00:00:00Z", -1, 1, "duration_s=-1"),
    ("2026-01-01T00:00:00Z", 60, 0, "step_s=0"),
    ("2026-01-01T00:00:00Z", 60, -5, "step_s=-5"),
    ("2026-01-01T00:00:00Z", float("nan"), 1, "duration_s=nan"),
])
def test_bad_grids_name_the_value(start, duration_s, step_s, word):
    with pytest.raises(TimeGridError, match=word):
        time_grid(start, duration_s, step_s)


def test_grid_is_integer_nanoseconds_and_includes_a_whole_end():
    grid = time_grid("2026-01-01T00:00:00Z", 86_400, 0.1)
    assert grid.dtype == np.dtype("datetime64[ns]") and grid.size == 864_001
    assert grid[-1] == np.datetime64("2026-01-02T00:00:00", "ns")
    assert np.all(np.diff(grid) == np.timedelta64(100_000_000, "ns"))
    assert time_grid("2026-01-01T00:00Z", 59.9, 10).size == 6
    assert time_grid("2026-01-01T00:00Z", 0, 10).size == 1


def test_jd_split_matches_sgp4_jday_and_is_sub_microsecond():
    rng = np.random.default_rng(7)
    ns = rng.integers(0, 60 * 365 * 86_400 * 10**9, 200) + np.datetime64("1990-01-01", "ns").astype(np.int64)
    times = ns.astype("datetime64[ns]")
    jd, fr = to_jd_utc(times)
    for t, whole, fraction in zip(times[:50], jd[:50], fr[:50]):
        d = t.astype("datetime64[us]").item()
        ref_whole, ref_fraction = jday(d.year, d.month, d.day, d.hour, d.minute, d.second + d.microsecond * 1e-6)
        assert abs((whole - ref_whole) + (fraction - ref_fraction)) * 86_400 < one_microsecond_s
    # Reconstruct the nanosecond count from the pair: the split loses < 1 µs.
    back_s = (jd - 2440587.5) * 86_400 + fr * 86_400
    assert np.max(np.abs(back_s - ns / 1e9)) < one_microsecond_s
    assert np.all(jd % 1.0 == 0.5) and np.all((fr >= 0) & (fr < 1))


def test_leap_second_day_2016_vs_skyfield(skyfield_ts):
    # 2016-12-31 ended with a leap second (23:59:60), so UT1−UTC jumps by +1 s at midnight.
    times = np.array(["2016-12-30T12:00:00", "2016-12-31T00:00:00", "2016-12-31T12:00:00",
                      "2016-12-31T23:59:59", "2016-12-31T23:59:59.999", "2017-01-01T00:00:00",
                      "2017-01-01T00:00:01", "2017-01-01T12:00:00"], dtype="datetime64[ns]")
    ours = ut1_minus_utc_s(times)
    utc = [t.astype("datetime64[us]").item() for t in times]
    theirs = skyfield_ts.utc(
        [u.year for u in utc], [u.month for u in utc], [u.day for u in utc], [u.hour for u in utc],
        [u.minute for u in utc], [u.second + u.microsecond * 1e-6 for u in utc]).dut1
    assert np.max(np.abs(ours - theirs)) < one_microsecond_s
    assert abs((ours[5] - ours[4]) - 1.0) < 1e-3
    # A naive interpolation of UT1−UTC across the jump would be ~0.5 s off at noon.
    assert abs(ours[2] - ours[1]) < 2e-3


def test_ut1_close_to_skyfield_builtin_table():
    from skyfield.api import load

    ts = load.timescale(builtin=True)
    t = ts.utc(2020, 6, np.arange(1, 200, 7.3))
    ours = ut1_minus_utc_s(t.utc_datetime())
    assert np.max(np.abs(ours - t.dut1)) < 1e-4


def test_polar_motion_vs_skyfield(skyfield_ts):
    t = skyfield_ts.utc(2024, 3, np.linspace(1, 300, 37))
    x, y = polar_motion_arcsec(t.utc_datetime())
    _, x_sky, y_sky = t.polar_motion_angles()
    # Skyfield interpolates in TT, we in UTC: 69 s apart on a daily table, ~1e-6 arcsec.
    assert np.max(np.abs(x - x_sky)) < 10 * one_microarcsecond
    assert np.max(np.abs(y - y_sky)) < 10 * one_microarcsecond


def test_coverage_counts_times_outside_the_table():
    inside = to_jd_utc(np.array(["2020-01-01"], dtype="datetime64[ns]"))
    outside = to_jd_utc(np.array(["1960-01-01", "2090-01-01"], dtype="datetime64[ns]"))
    assert earth_orientation_coverage(*inside) == 0
    assert earth_orientation_coverage(*outside) == 2
