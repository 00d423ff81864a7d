"""SGP4 propagation of a constellation over a UTC time grid into an :class:`xarray.Dataset`.

All satellites are propagated together with :meth:`sgp4.api.SatrecArray.sgp4`
(Vallado's C++ SGP4), a chunk of time steps at a time so that memory stays
bounded by the chunk, not by the length of the grid. One compiled pass per
chunk (:func:`orbits._geodesy.post_sgp4_kernel`) then transposes the states
to (time, sat), rotates them to ITRS (:mod:`orbits.frames`) and derives
geodetic coordinates and the argument of latitude.

SGP4 never raises per sample: a nonzero error code (``sgp4.api.SGP4_ERRORS``)
becomes ``sgp4_status`` for that (time, sat) and NaN in every float variable
of that row; failures are reported with :class:`PropagationWarning` naming
the catalogue numbers, and a propagation in which nothing succeeds raises
:class:`~orbits.exceptions.PropagationError`.

A failure is also carried to every time *farther from the element-set
epoch* than the first failing one, with the same code: past a decay, SGP4's
secular elements keep evolving and later calls can return status 0 with a
position that means nothing (a decayed rocket body "reappears"; a Starlink
element set propagated a year out reaches 1e12 km). A satellite does not
come back from decay, so those rows are flagged rather than trusted.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Iterator

import numpy as np
import sgp4
import xarray as xr
from sgp4.api import SGP4_ERRORS

from . import _geodesy
from .constants import WGS84_A_KM, WGS84_F
from .exceptions import PropagationError
from .frames import _rotation_from_jd
from .timegrid import earth_orientation_coverage, earth_orientation_source, to_datetime64_utc, to_jd_utc

__all__ = [
    "propagate",
    "propagate_jd",
    "iter_propagate",
    "orbital_period_s",
    "PropagationWarning",
    "SGP4_STATUS_MEANINGS",
    "DEFAULT_CHUNK_SAT_STEPS",
]

#: Default work per chunk, satellite-steps: about 45 MB of intermediate and
#: output arrays (≈ 180 bytes per satellite-step), small enough for a laptop,
#: large enough that per-chunk overhead is negligible.
DEFAULT_CHUNK_SAT_STEPS = 250_000

#: CF ``flag_meanings`` words for SGP4 error codes 0..6 (after ``sgp4.api.SGP4_ERRORS``).
SGP4_STATUS_MEANINGS = (
    "ok",
    "mean_eccentricity_out_of_range",
    "mean_motion_below_zero",
    "perturbed_eccentricity_out_of_range",
    "semilatus_rectum_below_zero",
    "unused_code_5",
    "satellite_decayed",
)


class PropagationWarning(UserWarning):
    """Some satellites could not be propagated at some times (SGP4 error codes)."""


def _chunk_steps(n_sat: int, chunk_steps) -> int:
    if chunk_steps is None:
        return max(1, DEFAULT_CHUNK_SAT_STEPS // max(n_sat, 1))
    if int(chunk_steps) != chunk_steps or chunk_steps < 1:
        raise PropagationError(f"chunk_steps={chunk_steps!r} must be a positive integer")
    return int(chunk_steps)


def _datetime64_from_jd(jd_utc, fr_utc) -> np.ndarray:
    days = (np.asarray(jd_utc, dtype=np.float64) - 2440587.5)
    whole = np.floor(days)
    frac = (days - whole) + np.asarray(fr_utc, dtype=np.float64)
    ns = whole.astype(np.int64) * 86_400_000_000_000 + np.round(frac * 86_400e9).astype(np.int64)
    return ns.astype("datetime64[ns]")


#: The outputs of ``propagate(..., earth_fixed_only=True)``, by the kernels' names.
_EARTH_FIXED = ("r_itrs", "lat", "alt", "status")


def _empty_outputs(n_time, n_sat, earth_fixed_only=False) -> dict:
    """Uninitialised (time, sat[, xyz]) arrays of every quantity the post-SGP4 kernel writes (or the Earth-fixed one)."""
    out = {
        "r_teme": np.empty((n_time, n_sat, 3)),
        "v_teme": np.empty((n_time, n_sat, 3)),
        "r_itrs": np.empty((n_time, n_sat, 3)),
        "lat": np.empty((n_time, n_sat)),
        "lon": np.empty((n_time, n_sat)),
        "alt": np.empty((n_time, n_sat)),
        "u": np.empty((n_time, n_sat)),
        "status": np.empty((n_time, n_sat), dtype=np.int8),
    }
    return {key: out[key] for key in _EARTH_FIXED} if earth_fixed_only else out


def _run_chunk(satrec_array, jd, fr, polar_motion, earth_fixed_only=False):
    """SGP4 + frames + geodesy for one chunk: dict of (T, S[, 3]) arrays."""
    err, r_st, v_st = satrec_array.sgp4(jd, fr)
    n_sat, n_time = err.shape
    rot = np.ascontiguousarray(_rotation_from_jd(jd, fr, polar_motion))
    out = _empty_outputs(n_time, n_sat, earth_fixed_only)
    if earth_fixed_only:
        _geodesy.earth_fixed_kernel(err, r_st, rot, WGS84_A_KM, WGS84_F, out["r_itrs"], out["lat"], out["alt"],
                                    out["status"])
    else:
        _geodesy.post_sgp4_kernel(err, r_st, v_st, rot, WGS84_A_KM, WGS84_F,
                                  out["r_teme"], out["v_teme"], out["r_itrs"], out["lat"], out["lon"],
                                  out["alt"], out["u"], out["status"])
    return out


class _FailureFront:
    """Per satellite, the failing time closest to epoch on each side; later rows inherit its code."""

    def __init__(self, constellation):
        self.epoch_whole = np.array([s.jdsatepoch for s in constellation.satrecs])
        self.epoch_fraction = np.array([s.jdsatepochF for s in constellation.satrecs])
        n = len(constellation)
        self.after_days = np.full(n, np.inf)
        self.after_code = np.zeros(n, dtype=np.int8)
        self.before_days = np.full(n, -np.inf)
        self.before_code = np.zeros(n, dtype=np.int8)

    def needed(self, status) -> bool:
        """Whether this chunk needs the (time, sat) pass: it has failures, or earlier chunks had."""
        return bool(np.isfinite(self.after_days).any() or np.isfinite(self.before_days).any()
                    or (status != 0).any())

    def tsince_days(self, jd, fr):
        # Split arithmetic, as SGP4 itself does, so "after" is decided exactly.
        return (jd[:, None] - self.epoch_whole[None, :]) + (fr[:, None] - self.epoch_fraction[None, :])

    def update(self, tsince_days, status):
        failed = status != 0
        columns = np.arange(status.shape[1])
        forward = np.where(failed & (tsince_days >= 0), tsince_days, np.inf)
        row = np.argmin(forward, axis=0)
        closer = forward[row, columns] < self.after_days
        self.after_days[closer] = forward[row, columns][closer]
        self.after_code[closer] = status[row, columns][closer]
        backward = np.where(failed & (tsince_days < 0), tsince_days, -np.inf)
        row = np.argmax(backward, axis=0)
        closer = backward[row, columns] > self.before_days
        self.before_days[closer] = backward[row, columns][closer]
        self.before_code[closer] = status[row, columns][closer]

    def apply(self, tsince_days, arrays) -> None:
        status = arrays["status"]
        late = (status == 0) & (tsince_days > self.after_days[None, :])
        early = (status == 0) & (tsince_days < self.before_days[None, :])
        if not (late.any() or early.any()):
            return
        status[late] = np.broadcast_to(self.after_code, status.shape)[late]
        status[early] = np.broadcast_to(self.before_code, status.shape)[early]
        mask = late | early
        for key, value in arrays.items():
            if key != "status":
                value[mask] = np.nan


def _failure_message(status, times, constellation, already=None) -> str | None:
    """One sentence naming the satellites that failed (not in ``already``), or None."""
    failed_any = (status != 0).any(axis=0)
    sats = np.flatnonzero(failed_any)
    if already is not None:
        sats = np.array([s for s in sats if s not in already], dtype=np.int64)
        already.update(int(s) for s in sats)
    if sats.size == 0:
        return None
    parts = []
    for s in sats[:10]:
        first = int(np.flatnonzero(status[:, s] != 0)[0])
        code = int(status[first, s])
        when = np.datetime_as_string(times[first], unit="s")
        parts.append(f"NORAD {int(constellation.norad_id[s])} ({constellation.name[s].strip()}) "
                     f"from {when}Z: error {code}, {SGP4_ERRORS.get(code, 'unknown error')}")
    more = f"; and {sats.size - 10} more" if sats.size > 10 else ""
    return (f"SGP4 failed for {sats.size} of {len(constellation)} satellite(s); their rows from the "
            f"first failure on (away from the element-set epoch) are NaN and flagged in sgp4_status: "
            + "; ".join(parts) + more)


def _dataset(constellation, times, arrays, polar_motion: bool, jd, fr) -> xr.Dataset:
    frame_itrs = ("ITRS: TEME rotated by GMST-1982 of UT1, then polar motion (IERS finals2000A)"
                  if polar_motion else
                  "PEF (pseudo Earth-fixed): TEME rotated by GMST-1982 of UT1, no polar motion")
    tsx = ("time", "sat", "xyz")
    ts = ("time", "sat")
    names = {"position_teme_km": "r_teme", "velocity_teme_km_s": "v_teme", "position_itrs_km": "r_itrs",
             "latitude_deg": "lat", "longitude_deg": "lon", "altitude_km": "alt", "argument_of_latitude_deg": "u",
             "sgp4_status": "status"}
    arrays = {**dict.fromkeys(names.values()), **arrays}  # the variables not computed are left out below
    data_vars = {
        "position_teme_km": (tsx, arrays["r_teme"], {
            "units": "km", "long_name": "satellite position, TEME frame (SGP4 true equator, mean equinox)",
            "frame": "TEME"}),
        "velocity_teme_km_s": (tsx, arrays["v_teme"], {
            "units": "km s-1", "long_name": "satellite velocity, TEME frame", "frame": "TEME"}),
        "position_itrs_km": (tsx, arrays["r_itrs"], {
            "units": "km", "long_name": "satellite position, Earth-fixed ITRS frame",
            "frame": frame_itrs}),
        "latitude_deg": (ts, arrays["lat"], {
            "units": "degrees_north", "standard_name": "latitude",
            "long_name": "geodetic latitude on the WGS-84 ellipsoid", "frame": "ITRS / WGS-84"}),
        "longitude_deg": (ts, arrays["lon"], {
            "units": "degrees_east", "standard_name": "longitude",
            "long_name": "geodetic longitude on the WGS-84 ellipsoid (-180..180)", "frame": "ITRS / WGS-84"}),
        "altitude_km": (ts, arrays["alt"], {
            "units": "km", "standard_name": "height_above_reference_ellipsoid",
            "long_name": "geodetic height above the WGS-84 ellipsoid", "frame": "ITRS / WGS-84"}),
        "argument_of_latitude_deg": (ts, arrays["u"], {
            "units": "degrees",
            "long_name": "argument of latitude: angle from the ascending node to the position in the "
                         "orbit plane (0..360)", "frame": "TEME"}),
        "sgp4_status": (ts, arrays["status"], {
            "units": "1",
            "long_name": "SGP4 error code (0 = ok; nonzero rows are NaN; a failure also flags every "
                         "later time, farther from the element-set epoch)",
            "flag_values": np.arange(len(SGP4_STATUS_MEANINGS), dtype=np.int8),
            "flag_meanings": " ".join(SGP4_STATUS_MEANINGS)}),
    }
    data_vars = {name: var for name, var in data_vars.items() if arrays[names[name]] is not None}
    coords = {
        "time": ("time", times, {"standard_name": "time", "long_name": "time, UTC"}),
        "sat": ("sat", np.arange(len(constellation), dtype=np.int32),
                {"long_name": "satellite index in the constellation", "units": "1"}),
        "xyz": ("xyz", np.array(["x", "y", "z"]), {"long_name": "Cartesian component"}),
        "norad_id": ("sat", constellation.norad_id, {"long_name": "NORAD catalogue number", "units": "1"}),
        "name": ("sat", constellation.name, {"long_name": "satellite name"}),
        "shell": ("sat", constellation.shell, {"long_name": "shell index (-1 unknown)", "units": "1"}),
        "plane": ("sat", constellation.plane, {"long_name": "orbital plane in its shell (-1 unknown)",
                                               "units": "1"}),
        "slot": ("sat", constellation.slot, {"long_name": "in-plane slot (-1 unknown)", "units": "1"}),
    }
    outside = earth_orientation_coverage(jd, fr)
    eop = earth_orientation_source()
    if outside:
        eop += f"; {outside} of {len(times)} time(s) outside the table used the held end values"
    attrs = {
        "propagator": f"SGP4 (python-sgp4 {sgp4.__version__}, Vallado C++ code), element sets as given",
        "earth_orientation": eop,
        "polar_motion": "applied" if polar_motion else "not applied (PEF)",
        "geodetic_model": f"WGS-84 ellipsoid (a = {WGS84_A_KM} km, 1/f = {1.0 / WGS84_F:.12g}), Heikkinen closed form",
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _check_constellation(constellation):
    if not hasattr(constellation, "satrec_array") or not hasattr(constellation, "norad_id"):
        raise PropagationError(
            f"expected an orbits.Constellation, got {type(constellation).__name__}; "
            "build one with orbits.walker, orbits.read_tle or orbits.Constellation")


def _raise_all_failed(constellation, status, times):
    codes, counts = np.unique(status[status != 0], return_counts=True)
    detail = ", ".join(f"error {int(c)} ({SGP4_ERRORS.get(int(c), 'unknown')}) ×{int(n)}"
                       for c, n in zip(codes, counts))
    first = np.datetime_as_string(times[0], unit="s")
    last = np.datetime_as_string(times[-1], unit="s")
    raise PropagationError(
        f"SGP4 failed for every one of the {len(constellation)} satellite(s) at every time "
        f"from {first}Z to {last}Z: {detail}; check the element sets and that the times are "
        "near their epochs")


def propagate_jd(constellation, jd_utc, fr_utc, *, polar_motion: bool = True, chunk_steps=None,
                 progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """Propagate at split UTC Julian dates ``(jd_utc, fr_utc)``, exactly as SGP4 receives them.

    The lower-level form of :func:`propagate`, for callers that must hit
    instants exactly (for example "epoch + 360 minutes" with the epoch's own
    ``jdsatepoch``/``jdsatepochF`` split, as in Vallado's verification
    file). The ``time`` coordinate is the same instants rounded to the
    nanosecond.

    Parameters
    ----------
    constellation : orbits.Constellation
        Satellites to propagate.
    jd_utc, fr_utc : array_like of float, shape (n,)
        UTC Julian dates split into two parts, as for ``SatrecArray.sgp4``.
    polar_motion : bool
        Apply polar motion in the ITRS rotation (default True).
    chunk_steps : int, optional
        Time steps per chunk (default: about 250,000 satellite-steps per chunk).
    progress : callable, optional
        Called with the number of time steps finished after each chunk.

    Returns
    -------
    xarray.Dataset
        As :func:`propagate`.

    Examples
    --------
    >>> from orbits import walker
    >>> c = walker("53:4/2/1", altitude_km=550, epoch="2026-01-01T00:00:00Z")
    >>> s = c.satrecs[0]
    >>> ds = propagate_jd(c, [s.jdsatepoch], [s.jdsatepochF + 90 / 1440])
    >>> int(ds.sgp4_status.max())
    0
    """
    _check_constellation(constellation)
    # SatrecArray.sgp4 needs C-contiguous float64 (a transposed view is refused).
    jd = np.ascontiguousarray(np.atleast_1d(np.asarray(jd_utc, dtype=np.float64)))
    fr = np.ascontiguousarray(np.atleast_1d(np.asarray(fr_utc, dtype=np.float64)))
    if jd.ndim != 1 or jd.shape != fr.shape or jd.size == 0:
        raise PropagationError(f"jd_utc {jd.shape} and fr_utc {fr.shape} must be equal non-empty 1-D arrays")
    if not (np.isfinite(jd).all() and np.isfinite(fr).all()):
        raise PropagationError("jd_utc and fr_utc must be finite")
    return _propagate(constellation, _datetime64_from_jd(jd, fr), jd, fr, polar_motion,
                      chunk_steps, progress)


def propagate(constellation, times, *, polar_motion: bool = True, chunk_steps=None,
              progress: Callable[[int], None] | None = None, earth_fixed_only: bool = False) -> xr.Dataset:
    """Propagate every satellite of a constellation over UTC times with SGP4.

    Parameters
    ----------
    constellation : orbits.Constellation
        Satellites to propagate (their element sets, catalogue numbers, names
        and shell/plane/slot labels).
    times : array_like of datetime64, ISO str or aware datetime, shape (n,)
        UTC instants, e.g. from :func:`orbits.time_grid`.
    polar_motion : bool
        Apply the IERS pole offsets in the Earth-fixed rotation (default
        True: true ITRS; False gives PEF, which differs by about 10 m).
    chunk_steps : int, optional
        Time steps computed at once; bounds the working memory (default:
        about 250,000 satellite-steps per chunk). Results do not depend on it.
    progress : callable, optional
        Called with the number of time steps finished after each chunk
        (e.g. ``tqdm.update``).
    earth_fixed_only : bool
        Only ``position_itrs_km``, ``latitude_deg``, ``altitude_km`` and
        ``sgp4_status``, with the values the full call gives: what link
        rules and a decay check need, at a part of the cost.

    Returns
    -------
    xarray.Dataset
        Dims ``time``, ``sat``, ``xyz``. Variables ``position_teme_km``,
        ``velocity_teme_km_s``, ``position_itrs_km`` (time, sat, xyz),
        ``latitude_deg``, ``longitude_deg``, ``altitude_km``,
        ``argument_of_latitude_deg`` (time, sat; float64) and
        ``sgp4_status`` (time, sat; int8 with CF ``flag_values`` and
        ``flag_meanings``). Coordinates ``time`` (UTC ``datetime64[ns]``),
        ``sat``, ``xyz`` and, on ``sat``, ``norad_id``, ``name``, ``shell``,
        ``plane``, ``slot``. Rows with a nonzero status are NaN.

    Raises
    ------
    PropagationError
        When no satellite can be propagated at any of the times.
    TimeGridError
        For unreadable times (naive datetimes, bad ISO strings).

    Warns
    -----
    PropagationWarning
        When some satellites fail at some times, naming their catalogue
        numbers, the first failing time and the SGP4 error.

    Examples
    --------
    >>> from orbits import walker, time_grid
    >>> c = walker("53:1584/72/1", altitude_km=550, epoch="2026-01-01T00:00:00Z")
    >>> ds = propagate(c, time_grid("2026-01-01T00:00:00Z", duration_s=600, step_s=60))
    >>> ds.position_itrs_km.shape
    (11, 1584, 3)
    """
    _check_constellation(constellation)
    times64 = np.atleast_1d(to_datetime64_utc(times))
    if times64.ndim != 1 or times64.size == 0:
        raise PropagationError(f"times must be a non-empty 1-D sequence, got shape {times64.shape}")
    jd, fr = to_jd_utc(times64)
    return _propagate(constellation, times64, jd, fr, polar_motion, chunk_steps, progress, earth_fixed_only)


def _propagate(constellation, times64, jd, fr, polar_motion, chunk_steps, progress,
               earth_fixed_only=False) -> xr.Dataset:
    n_time, n_sat = times64.size, len(constellation)
    step = _chunk_steps(n_sat, chunk_steps)
    # Preallocate the result and fill it chunk by chunk: no concatenation copies.
    full = _empty_outputs(n_time, n_sat, earth_fixed_only)
    satrec_array = constellation.satrec_array
    for start in range(0, n_time, step):
        stop = min(start + step, n_time)
        part = _run_chunk(satrec_array, jd[start:stop], fr[start:stop], polar_motion, earth_fixed_only)
        for key, value in part.items():
            full[key][start:stop] = value
        if progress is not None:
            progress(stop - start)
    front = _FailureFront(constellation)
    if front.needed(full["status"]):
        tsince_days = front.tsince_days(jd, fr)
        front.update(tsince_days, full["status"])
        front.apply(tsince_days, full)
        del tsince_days
    status = full["status"]
    if not (status == 0).any():
        _raise_all_failed(constellation, status, times64)
    message = _failure_message(status, times64, constellation)
    if message:
        warnings.warn(message, PropagationWarning, stacklevel=3)
    return _dataset(constellation, times64, full, polar_motion, jd, fr)


def iter_propagate(constellation, times, chunk_steps=None, *,
                   polar_motion: bool = True) -> Iterator[xr.Dataset]:
    """Propagate chunk by chunk, yielding one :func:`propagate`-style Dataset per chunk of times.

    For sweeps that stream: only one chunk is in memory at a time. Chunks
    are consecutive slices of ``times`` and concatenate (``xr.concat(...,
    "time")``) to what :func:`propagate` returns.

    Parameters
    ----------
    constellation : orbits.Constellation
        Satellites to propagate.
    times : array_like of datetime64, ISO str or aware datetime, shape (n,)
        UTC instants.
    chunk_steps : int, optional
        Time steps per chunk (default: about 250,000 satellite-steps).
    polar_motion : bool
        Apply polar motion (default True).

    Yields
    ------
    xarray.Dataset
        The variables of :func:`propagate` for one chunk of times.

    Raises
    ------
    PropagationError
        When a chunk has no valid sample and no earlier chunk had one (the
        whole run would be NaN). A run that was valid and then fails
        entirely (every satellite decayed) keeps yielding flagged chunks.
        Failures are carried forward to later chunks (see the module notes);
        with times that are not increasing, a chunk only knows the failures
        found so far.

    Warns
    -----
    PropagationWarning
        Once per newly failing satellite, as in :func:`propagate`.

    Examples
    --------
    >>> from orbits import walker, time_grid
    >>> c = walker("53:66/6/1", altitude_km=550, epoch="2026-01-01T00:00:00Z")
    >>> grid = time_grid("2026-01-01T00:00:00Z", duration_s=3600, step_s=60)
    >>> [chunk.sizes["time"] for chunk in iter_propagate(c, grid, chunk_steps=25)]
    [25, 25, 11]
    """
    _check_constellation(constellation)
    times64 = np.atleast_1d(to_datetime64_utc(times))
    if times64.ndim != 1 or times64.size == 0:
        raise PropagationError(f"times must be a non-empty 1-D sequence, got shape {times64.shape}")
    step = _chunk_steps(len(constellation), chunk_steps)
    jd_all, fr_all = to_jd_utc(times64)
    reported: set[int] = set()
    any_valid = False
    satrec_array = constellation.satrec_array
    front = _FailureFront(constellation)
    for start in range(0, times64.size, step):
        stop = min(start + step, times64.size)
        jd, fr = jd_all[start:stop], fr_all[start:stop]
        part = _run_chunk(satrec_array, jd, fr, polar_motion)
        if front.needed(part["status"]):
            tsince_days = front.tsince_days(jd, fr)
            front.update(tsince_days, part["status"])
            front.apply(tsince_days, part)
        chunk_times = times64[start:stop]
        valid = bool((part["status"] == 0).any())
        if not valid and not any_valid:
            _raise_all_failed(constellation, part["status"], chunk_times)
        any_valid = any_valid or valid
        message = _failure_message(part["status"], chunk_times, constellation, already=reported)
        if message:
            warnings.warn(message, PropagationWarning, stacklevel=2)
        yield _dataset(constellation, chunk_times, part, polar_motion, jd, fr)


def orbital_period_s(constellation) -> float:
    """Orbital period used as the default sweep duration, s.

    Defined as the largest, over shells, of the median period of the
    shell's satellites (satellites without a shell, ``shell == -1``, form
    one group). The median ignores the few satellites of a real catalogue
    that are raising or lowering their orbit; the maximum over shells makes
    one "period" a full revolution of every shell. A satellite's period is
    2π / n with n the element set's (Kozai) mean motion, the "revolutions
    per day" of its TLE.

    Parameters
    ----------
    constellation : orbits.Constellation
        The constellation.

    Returns
    -------
    float
        Period, s.

    Examples
    --------
    >>> from orbits import walker
    >>> round(orbital_period_s(walker("53:1584/72/1", altitude_km=550)) / 60, 1)
    95.6
    """
    _check_constellation(constellation)
    # no_kozai is in radians per minute.
    period_s = np.array([2.0 * math.pi / s.no_kozai * 60.0 for s in constellation.satrecs])
    shells = np.asarray(constellation.shell)
    return float(max(np.median(period_s[shells == k]) for k in np.unique(shells)))
