"""UTC time grids, SGP4 Julian dates, and Earth orientation (UT1−UTC, polar motion).

One time model for the whole package: times are UTC ``datetime64[ns]``
(POSIX-like, so a leap second 23:59:60 is not representable: a step that
spans one lasts one SI second more than its nominal length, exactly as in
SGP4's own UTC Julian dates); SGP4 receives the same instants as split UTC
Julian dates ``(jd_whole, jd_fraction)``.

Earth orientation comes from the IERS ``finals2000A.all`` table shipped by
the ``astropy-iers-data`` package (Bulletin A: observed values, then about a
year of predictions), read offline, parsed with
:func:`skyfield.data.iers.parse_x_y_dut1_from_finals_all`; nothing is ever
downloaded. Outside the table (before 1973-01-02 or after its last
prediction) UT1−TAI and the pole offsets are held at the nearest tabulated
value; :func:`earth_orientation_coverage` tells how many instants that
concerns so datasets can say so.

UT1−UTC jumps by +1 s at each leap second, so it is never interpolated
directly: the continuous UT1−TAI is interpolated linearly in UTC, and the
step count of TAI−UTC (found as the > 0.9 s jumps of the table, the rule
Skyfield's ``build_timescale_arrays`` uses) is added back.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from .constants import DAY_S
from .exceptions import TimeGridError

__all__ = [
    "time_grid",
    "to_datetime64_utc",
    "to_jd_utc",
    "ut1_minus_utc_s",
    "polar_motion_arcsec",
    "earth_orientation_source",
    "earth_orientation_coverage",
]

#: Julian date of the POSIX epoch 1970-01-01T00:00:00 UTC.
_JD_UNIX_EPOCH = 2440587.5
#: Julian date minus modified Julian date (IAU 1973).
_MJD_OFFSET = 2400000.5
_NS_PER_DAY = 86_400 * 10**9
# datetime64[ns] holds 1677-09-21 to 2262-04-11; numpy wraps around silently outside.
_NS_MAX = np.iinfo(np.int64).max
_NS_FIRST = np.datetime64(np.iinfo(np.int64).min + 1, "ns")
_NS_LAST = np.datetime64(_NS_MAX, "ns")
_MAX_SPAN_S = _NS_MAX / 1e9 - 1.0
_UNIT_ORDER = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns")


def _range_complaint(what) -> str:
    return (f"{what} is outside the range of UTC datetime64[ns], {_NS_FIRST} to {_NS_LAST}; "
            "give a time between the years 1678 and 2261")


def _checked_ns(value):
    """``value`` (datetime64 scalar or array, any unit) as datetime64[ns], refusing silent wrap-around."""
    unit = np.datetime_data(value.dtype)[0]
    out = value.astype("datetime64[ns]")
    if unit in _UNIT_ORDER and unit != "ns":
        # A coarser unit converts exactly when in range: a round trip that differs means overflow.
        wrapped = (out.astype(value.dtype) != value) & ~np.isnat(value)
        if np.any(wrapped):
            bad = np.asarray(value).ravel()[int(np.flatnonzero(np.ravel(wrapped))[0])]
            raise TimeGridError(_range_complaint(f"time {bad}"))
    return out



def _naive_complaint(value: datetime) -> str:
    # Show the user's own date with the fix applied (Skyfield's _naive_complaint idea).
    fixed = (f"datetime({value.year}, {value.month}, {value.day}, {value.hour}, {value.minute}, "
             f"{value.second}, tzinfo=timezone.utc)")
    return (f"{value!r} is a naive datetime (no time zone), so its UTC instant is unknown; "
            f"give it one, for example {fixed} (from datetime import timezone), "
            f"or pass an ISO string such as '{value.strftime('%Y-%m-%dT%H:%M:%S')}Z'")


# A date followed by a time of day (so that appending "Z" gives a valid ISO 8601 UTC time).
_TIME_OF_DAY_RE = re.compile(r"[T ]\d{2}(:?\d{2}(:?\d{2}(\.\d+)?)?)?$")
# An ISO time-of-day that ends in Z or a ±HH:MM / ±HHMM / ±HH offset.
_OFFSET_RE = re.compile(r"^(?P<main>.*[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d+)?)?)?)"
                        r"\s*(?P<off>Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def _zone_complaint(text: str) -> str:
    # Like _naive_complaint for strings: show the user's own time with the zone added.
    fixed = (text.replace(" ", "T") if _TIME_OF_DAY_RE.search(text) else f"{text}T00:00:00") + "Z"
    return (f"time {text!r} has no time zone, so its UTC instant is unknown; "
            f"write {fixed} for UTC, or add the offset of its zone (for example +01:00)")


def _parse_iso(text: str) -> np.datetime64:
    text = text.strip()
    offset_min = 0
    main = text
    match = _OFFSET_RE.match(text)
    if match:
        main = match.group("main")
        off = match.group("off").upper()
        if off != "Z":
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            hours = int(digits[:2])
            minutes = int(digits[2:4]) if len(digits) > 2 else 0
            if hours > 23 or minutes > 59:
                raise TimeGridError(f"time {text!r}: UTC offset {off} is out of range")
            offset_min = sign * (60 * hours + minutes)
    try:
        value = np.datetime64(main.replace(" ", "T"), "ns")
        # Parsed again at day resolution, where no year numpy accepts overflows: a mismatch is wrap-around.
        day = np.datetime64(main.replace(" ", "T"), "D")
    except ValueError:
        raise TimeGridError(
            f"time {text!r} is not an ISO 8601 UTC time; expected e.g. '2026-01-01T00:00:00Z'"
        ) from None
    if np.isnat(value):
        raise TimeGridError(f"time {text!r} is not a time (NaT); expected e.g. '2026-01-01T00:00:00Z'")
    if value.astype("datetime64[D]") != day:
        raise TimeGridError(_range_complaint(f"time {text!r}"))
    if not match:
        # The same rule as for naive datetimes: a wall-clock reading without a zone is no instant.
        raise TimeGridError(_zone_complaint(text))
    # Local time = UTC + offset, so UTC = local − offset.
    utc = value - np.timedelta64(offset_min, "m")
    if (offset_min > 0 and utc > value) or (offset_min < 0 and utc < value):
        raise TimeGridError(_range_complaint(f"time {text!r}"))
    return utc


def _scalar_to_datetime64(value) -> np.datetime64:
    if isinstance(value, str):
        return _parse_iso(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise TimeGridError(_naive_complaint(value))
        utc = value.astimezone(timezone.utc)
        nanosecond = getattr(value, "nanosecond", 0)  # pandas.Timestamp keeps ns
        base = _checked_ns(np.datetime64(utc.replace(tzinfo=None), "us"))
        return base + np.timedelta64(nanosecond, "ns")
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise TimeGridError("time is NaT (not a time)")
        return _checked_ns(value)
    raise TimeGridError(
        f"cannot read a UTC time from {value!r} ({type(value).__name__}); give an ISO string "
        "('2026-01-01T00:00:00Z'), a numpy datetime64, or a timezone-aware datetime"
    )


def to_datetime64_utc(times) -> np.ndarray:
    """Convert times to a UTC ``datetime64[ns]`` array.

    Parameters
    ----------
    times : str, datetime, numpy.datetime64 or array_like of them
        ISO 8601 strings with a zone (``Z`` or ``+00:00`` mean UTC; another
        offset is converted to UTC), timezone-aware :class:`datetime.datetime`
        objects, or ``datetime64`` values (taken as UTC; numpy has no zones).
        Naive datetimes and strings without a zone are refused: their instant
        depends on a zone nobody named.

    Returns
    -------
    numpy.ndarray of datetime64[ns]
        Same shape as ``times`` (0-d for a scalar).

    Raises
    ------
    TimeGridError
        For a naive datetime, a string without a zone, an unparsable string or NaT.

    Examples
    --------
    >>> to_datetime64_utc("2026-01-01T01:30:00+01:30")
    array('2026-01-01T00:00:00.000000000', dtype='datetime64[ns]')
    """
    if isinstance(times, np.ndarray) and times.dtype.kind == "M":
        out = _checked_ns(times)
        if np.isnat(out).any():
            bad = int(np.flatnonzero(np.isnat(out).ravel())[0])
            raise TimeGridError(f"times[{bad}] is NaT (not a time)")
        return out
    if isinstance(times, (str, datetime, np.datetime64)):
        return np.array(_scalar_to_datetime64(times))
    items = list(times)
    return np.array([_scalar_to_datetime64(item) for item in items], dtype="datetime64[ns]")


def _seconds_to_ns(value, what: str, allow_zero: bool) -> int:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise TimeGridError(f"{what}={value!r} is not a number of seconds") from None
    if not np.isfinite(seconds):
        raise TimeGridError(f"{what}={value!r} must be a finite number of seconds")
    if abs(seconds) > _MAX_SPAN_S:
        raise TimeGridError(f"{what}={value!r} s is longer than datetime64[ns] can span "
                            f"(about ±{_MAX_SPAN_S / (365.25 * DAY_S):.0f} years)")
    ns = int(round(seconds * 1e9))
    if ns < 0 or (ns == 0 and not allow_zero):
        rule = "≥ 0" if allow_zero else "> 0 (at least 1 ns)"
        raise TimeGridError(f"{what}={value!r} s must be {rule}")
    return ns


def time_grid(start, duration_s: float, step_s: float) -> np.ndarray:
    """Evenly spaced UTC instants ``start + k * step_s`` for ``0 ≤ k * step_s ≤ duration_s``.

    The end is included when ``duration_s`` is a whole number of steps.
    Instants are computed in integer nanoseconds, so long grids do not
    accumulate rounding error.

    Parameters
    ----------
    start : str, datetime or numpy.datetime64
        First instant, UTC (see :func:`to_datetime64_utc`; naive datetimes and
        strings without a zone are refused).
    duration_s : float
        Span of the grid, s (≥ 0; 0 gives the single instant ``start``).
    step_s : float
        Spacing, s (> 0).

    Returns
    -------
    numpy.ndarray of datetime64[ns], shape (n,)
        UTC instants.

    Raises
    ------
    TimeGridError
        For a naive datetime or zoneless string, an unparsable ISO string, a
        negative duration or a non-positive step.

    Examples
    --------
    >>> time_grid("2026-01-01T00:00:00Z", duration_s=60, step_s=30)
    array(['2026-01-01T00:00:00.000000000', '2026-01-01T00:00:30.000000000',
           '2026-01-01T00:01:00.000000000'], dtype='datetime64[ns]')
    """
    start64 = to_datetime64_utc(start)
    if start64.ndim != 0:
        raise TimeGridError(f"start must be one instant, got {start64.size} of them")
    duration_ns = _seconds_to_ns(duration_s, "duration_s", allow_zero=True)
    step_ns = _seconds_to_ns(step_s, "step_s", allow_zero=False)
    n = duration_ns // step_ns + 1
    if int(start64.astype(np.int64)) + (n - 1) * step_ns > _NS_MAX:
        raise TimeGridError(f"time grid from {start64} over {duration_s!r} s ends after {_NS_LAST}, "
                            "the last instant datetime64[ns] can hold")
    return start64[()] + np.arange(n, dtype=np.int64) * np.timedelta64(step_ns, "ns")


def to_jd_utc(times) -> tuple[np.ndarray, np.ndarray]:
    """Split UTC Julian dates ``(jd_whole, jd_fraction)`` for :meth:`sgp4.api.SatrecArray.sgp4`.

    ``jd_whole`` is the Julian date of the preceding UTC midnight (ends in .5)
    and ``jd_fraction`` the fraction of the day, computed from integer
    nanoseconds: the pair is exact to about 1e-11 s (the rounding of the
    fraction), far below 1 µs.

    Parameters
    ----------
    times : array_like of datetime64, str or aware datetime
        UTC instants (see :func:`to_datetime64_utc`).

    Returns
    -------
    jd_whole, jd_fraction : numpy.ndarray of float64
        Same shape as ``times``.

    Examples
    --------
    >>> to_jd_utc(np.array(["2000-01-01T12:00:00"], dtype="datetime64[ns]"))
    (array([2451544.5]), array([0.5]))
    """
    ns = to_datetime64_utc(times).astype(np.int64)
    days, rem_ns = np.divmod(ns, _NS_PER_DAY)
    return _JD_UNIX_EPOCH + days.astype(np.float64), rem_ns.astype(np.float64) / _NS_PER_DAY


# ---------------------------------------------------------------------------
# Earth orientation parameters (offline IERS table)


def _finals_path() -> Path:
    import astropy_iers_data

    return Path(astropy_iers_data.__file__).resolve().parent / "data" / "finals2000A.all"


@lru_cache(maxsize=1)
def _eop_table():
    """(mjd_utc, ut1_minus_tai_continuous_s, leap_mjd, x_arcsec, y_arcsec) from finals2000A.all."""
    from skyfield.data.iers import parse_x_y_dut1_from_finals_all

    path = _finals_path()
    with open(path, "rb") as handle:
        finals = parse_x_y_dut1_from_finals_all(handle)
    mjd = np.asarray(finals["utc_mjd"], dtype=np.float64)
    dut1 = np.asarray(finals["dut1"], dtype=np.float64)
    # A leap second appears as a +1 s jump of UT1−UTC between consecutive days
    # (Skyfield's build_timescale_arrays uses the same > 0.9 s rule).
    jump = np.concatenate([[False], np.diff(dut1) > 0.9])
    steps = np.cumsum(jump).astype(np.float64)
    leap_mjd = mjd[jump]
    continuous = dut1 - steps
    x = np.asarray(finals["x_arcseconds"], dtype=np.float64)
    y = np.asarray(finals["y_arcseconds"], dtype=np.float64)
    return mjd, continuous, leap_mjd, x, y


def _mjd_utc(jd_whole, jd_fraction) -> np.ndarray:
    return (np.asarray(jd_whole, dtype=np.float64) - _MJD_OFFSET) + np.asarray(jd_fraction, dtype=np.float64)


def _ut1_minus_utc_from_jd(jd_whole, jd_fraction) -> np.ndarray:
    mjd_table, continuous, leap_mjd, _, _ = _eop_table()
    mjd = _mjd_utc(jd_whole, jd_fraction)
    # np.interp holds the end values outside the table (documented above).
    smooth = np.interp(mjd, mjd_table, continuous)
    steps = np.searchsorted(leap_mjd, mjd, side="right").astype(np.float64)
    return smooth + steps


def _polar_motion_from_jd(jd_whole, jd_fraction) -> tuple[np.ndarray, np.ndarray]:
    mjd_table, _, _, x, y = _eop_table()
    mjd = _mjd_utc(jd_whole, jd_fraction)
    return np.interp(mjd, mjd_table, x), np.interp(mjd, mjd_table, y)


def ut1_minus_utc_s(times) -> np.ndarray:
    """UT1 − UTC, s, from the IERS ``finals2000A.all`` table (offline).

    Leap seconds are respected: the value jumps by +1 s at 00:00 UTC after
    a leap second and is linear in between.

    Parameters
    ----------
    times : array_like of datetime64, str or aware datetime
        UTC instants.

    Returns
    -------
    numpy.ndarray of float64
        UT1 − UTC, s, same shape as ``times``.

    Examples
    --------
    >>> before, after = ut1_minus_utc_s(["2016-12-31T23:59:59Z", "2017-01-01T00:00:00Z"])
    >>> round(float(after - before), 3)
    1.0
    """
    return _ut1_minus_utc_from_jd(*to_jd_utc(times))


def polar_motion_arcsec(times) -> tuple[np.ndarray, np.ndarray]:
    """Pole coordinates ``(x_p, y_p)``, arcseconds, from IERS ``finals2000A.all`` (offline).

    Parameters
    ----------
    times : array_like of datetime64, str or aware datetime
        UTC instants.

    Returns
    -------
    x_p_arcsec, y_p_arcsec : numpy.ndarray of float64
        Same shape as ``times``.

    Examples
    --------
    >>> x, y = polar_motion_arcsec(["2020-01-01T00:00:00Z"])
    >>> bool(abs(x[0]) < 1 and abs(y[0]) < 1)
    True
    """
    return _polar_motion_from_jd(*to_jd_utc(times))


def earth_orientation_source() -> str:
    """Text naming the Earth-orientation table used, its version and its span (for dataset attributes)."""
    import astropy_iers_data

    mjd = _eop_table()[0]
    first = (np.datetime64("1858-11-17", "D") + int(mjd[0]))
    last = (np.datetime64("1858-11-17", "D") + int(mjd[-1]))
    version = getattr(astropy_iers_data, "__version__", "unknown")
    return (f"IERS finals2000A.all (Bulletin A, observed and predicted) from astropy-iers-data "
            f"{version}, {first} to {last}; held at the end values outside")


def earth_orientation_coverage(jd_whole, jd_fraction) -> int:
    """Number of instants (UTC Julian dates) outside the Earth-orientation table."""
    mjd_table = _eop_table()[0]
    mjd = _mjd_utc(jd_whole, jd_fraction)
    return int(np.count_nonzero((mjd < mjd_table[0]) | (mjd > mjd_table[-1])))
