"""Walker-delta and Walker-star constellations as SGP4 element sets.

A Walker shell ``i:T/P/F`` has ``T`` satellites in ``P`` circular planes of
``S = T/P`` satellites at inclination ``i``; ``F`` (0 ≤ F < P) sets the
relative phasing of adjacent planes (Walker, "Satellite constellations",
J. Br. Interplanet. Soc. 37, 1984).

- Plane ``p`` has RAAN ``360°·p/P`` (delta) or ``180°·p/P`` (star, so the
  ascending nodes span half the equator and the first and last planes
  counter-rotate across a seam).
- Slot ``s`` of plane ``p`` has mean anomaly (= argument of latitude, the
  orbit being circular with argument of perigee 0)
  ``360°·s/S + 360°·F·p/T``.

Element sets are built with :meth:`sgp4.api.Satrec.sgp4init` on WGS-72 (the
gravity model of SGP4), with no drag. The mean motion comes from Kepler's
third law, ``n = sqrt(mu / a³)`` with ``a = EARTH_RADIUS_KM + altitude_km``,
and is given to SGP4 as its (Kozai) mean motion, as is usual for synthetic
TLEs. SGP4 then treats it as a mean element: the osculating altitude of a
satellite oscillates by a few km around the nominal value (J2 short-period
terms), which is expected.

All elements are rounded to TLE precision (1e-4 degree for angles, 1e-8
revolution per day for the mean motion, 1e-8 day for the epoch) so that a
Walker constellation written with :func:`orbits.tle.to_tle` and read back
propagates to the same positions.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import numpy as np
from sgp4.api import WGS72, Satrec

from .constants import DAY_MIN, EARTH_RADIUS_KM, MU_WGS72_KM3_S2
from .constellation import Constellation, ShellInfo, recorded
from .exceptions import ConstellationError, TimeGridError
from .timegrid import to_datetime64_utc

__all__ = ["walker", "combine", "DEFAULT_EPOCH", "parse_epoch"]

#: Default epoch of synthetic constellations (fixed so that results are reproducible).
DEFAULT_EPOCH = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)

#: Lowest altitude accepted for a Walker shell, km. Below ~150 km a circular
#: orbit decays within days (Vallado, "Fundamentals of Astrodynamics", 4th ed.,
#: sec. 9.6), so such a shell is almost surely a unit mistake (m instead of km).
MIN_ALTITUDE_KM = 150.0

#: First synthetic catalogue number, and the block reserved per shell index:
#: shell k gets ``80000 + 5000·k, ...``. Four shells of up to 5000 satellites
#: stay ≤ 99999 (plain 5-digit TLE numbers); beyond, numbers use the Alpha-5
#: TLE encoding, which sgp4 reads and writes up to 339999.
FIRST_SYNTHETIC_NORAD_ID = 80_000
NORAD_IDS_PER_SHELL = 5_000
#: Largest catalogue number that a TLE can hold (Alpha-5 'Z9999').
MAX_TLE_NORAD_ID = 339_999

# SGP4 counts epochs in days since 1949 December 31 00:00 UTC.
_SGP4_EPOCH0 = datetime(1949, 12, 31, tzinfo=timezone.utc)
# Minutes per radian of one revolution per day (sgp4.io xpdotp).
_XPDOTP = DAY_MIN / (2.0 * math.pi)

_SPEC_RE = re.compile(
    r"^\s*(?P<i>[-+]?\d+(\.\d*)?|[-+]?\.\d+)\s*:\s*(?P<t>\d+)\s*/\s*(?P<p>\d+)\s*/\s*(?P<f>\d+)\s*$"
)


def parse_epoch(epoch) -> datetime:
    """Return ``epoch`` as a timezone-aware UTC :class:`datetime.datetime`.

    Parameters
    ----------
    epoch : datetime, str, numpy.datetime64 or None
        ``None`` gives :data:`DEFAULT_EPOCH` (2026-01-01T00:00:00Z). A
        ``datetime`` must be timezone-aware and an ISO 8601 string must carry
        its zone (``Z`` or an offset, converted to UTC), the rule of
        :func:`orbits.to_datetime64_utc`. A ``numpy.datetime64`` is taken as
        UTC (the project's time convention).

    Raises
    ------
    ConstellationError
        For a naive ``datetime``, a string without a zone or an unreadable string.

    Examples
    --------
    >>> parse_epoch("2026-01-01T06:00Z").isoformat()
    '2026-01-01T06:00:00+00:00'
    """
    if epoch is None:
        return DEFAULT_EPOCH
    if isinstance(epoch, str):
        try:
            epoch = to_datetime64_utc(epoch)[()]
        except TimeGridError as exc:
            raise ConstellationError(f"epoch: {exc}") from None
    if isinstance(epoch, np.datetime64):
        us = epoch.astype("datetime64[us]").astype("int64")
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + np.timedelta64(int(us), "us").item()
    if isinstance(epoch, datetime):
        if epoch.tzinfo is None or epoch.tzinfo.utcoffset(epoch) is None:
            raise ConstellationError(
                f"epoch {epoch!r} is a naive datetime (no timezone), so its instant is "
                "ambiguous; pass an aware one, e.g. datetime(2026, 1, 1, tzinfo=timezone.utc)")
        return epoch.astimezone(timezone.utc)
    raise ConstellationError(
        f"epoch {epoch!r} has type {type(epoch).__name__}; "
        "give a timezone-aware datetime, an ISO 8601 string or a numpy.datetime64")


def _parse_spec(spec):
    """Return (inclination_deg, total, planes, phasing) from ``spec``, validated."""
    if isinstance(spec, str):
        match = _SPEC_RE.match(spec)
        if not match:
            raise ConstellationError(
                f"Walker spec {spec!r} is not of the form 'i:T/P/F' "
                "(inclination_deg:total/planes/phasing); write it like '53:1584/72/1'")
        inclination_deg = float(match["i"])
        total, planes, phasing = int(match["t"]), int(match["p"]), int(match["f"])
    else:
        try:
            inclination_deg, total, planes, phasing = spec
        except (TypeError, ValueError):
            raise ConstellationError(
                f"Walker spec {spec!r} is neither a string 'i:T/P/F' nor a tuple "
                "(inclination_deg, total, planes, phasing); write it like (53, 1584, 72, 1)") from None
        for what, value in (("total", total), ("planes", planes), ("phasing", phasing)):
            if isinstance(value, bool) or not float(value).is_integer():
                raise ConstellationError(
                    f"Walker {what} {value!r} must be a whole number, e.g. (53, 1584, 72, 1)")
        inclination_deg = float(inclination_deg)
        total, planes, phasing = int(total), int(planes), int(phasing)
    text = f"{inclination_deg:g}:{total}/{planes}/{phasing}"
    if not 0.0 <= inclination_deg <= 180.0:
        raise ConstellationError(
            f"Walker spec {text}: inclination {inclination_deg:g}° is outside [0°, 180°]; "
            "give the inclination in degrees, e.g. 53")
    if planes < 1 or total < 1:
        raise ConstellationError(
            f"Walker spec {text}: total T={total} and planes P={planes} must be ≥ 1")
    if total % planes:
        raise ConstellationError(
            f"Walker spec {text}: total T={total} is not divisible by planes P={planes}; "
            f"every plane holds T/P satellites, so choose e.g. T={planes * max(1, round(total / planes))}")
    if not 0 <= phasing < planes:
        raise ConstellationError(
            f"Walker spec {text}: phasing F={phasing} must satisfy 0 ≤ F < P={planes}; "
            f"use F mod P = {phasing % planes}")
    return inclination_deg, total, planes, phasing


def _epoch_days_1949(epoch_utc: datetime) -> float:
    # Rounded to 1e-8 day, the precision of a TLE epoch field.
    return round((epoch_utc - _SGP4_EPOCH0).total_seconds() / 86_400.0, 8)


def _mean_motion_rad_min(altitude_km: float) -> float:
    """Kepler mean motion at ``a = EARTH_RADIUS_KM + altitude_km``, rounded to TLE precision."""
    a_km = EARTH_RADIUS_KM + altitude_km
    n_rad_s = math.sqrt(MU_WGS72_KM3_S2 / a_km**3)
    revs_per_day = round(n_rad_s * 60.0 * _XPDOTP, 8)
    return revs_per_day / _XPDOTP


def _tle_angle_rad(angle_deg: float) -> float:
    # 1e-4 degree is the precision of TLE angle fields; wrap 360.0000 to 0.
    return math.radians(round(angle_deg % 360.0, 4) % 360.0)


@recorded
def walker(spec, altitude_km, star=False, epoch=None, *, shell=0, first_norad_id=None) -> Constellation:
    """Build a Walker-delta (or Walker-star) shell as SGP4 element sets.

    Parameters
    ----------
    spec : str or tuple
        ``"i:T/P/F"`` — inclination (degrees), total satellites, planes,
        phasing factor — e.g. ``"53:1584/72/1"``, or the tuple
        ``(inclination_deg, T, P, F)``. T must be divisible by P and
        0 ≤ F < P.
    altitude_km : float
        Circular altitude above the WGS-84 equatorial radius (6378.137 km),
        km; must exceed 150 km.
    star : bool
        Walker-star (RAAN over 180°) instead of Walker-delta (RAAN over 360°).
    epoch : datetime, str, numpy.datetime64 or None
        Element-set epoch (UTC); default 2026-01-01T00:00:00Z. See
        :func:`parse_epoch` for the accepted forms.
    shell : int
        Shell index used in names (``WALKER-S<shell>-P<plane>-S<slot>``) and
        for the default catalogue numbers ``80000 + 5000·shell + k``.
    first_norad_id : int, optional
        First catalogue number; satellite ``k = plane·S + slot`` gets
        ``first_norad_id + k``. Must keep every number ≤ 339999 (Alpha-5 TLE).

    Returns
    -------
    Constellation
        ``T`` satellites ordered by plane then slot, with ``shell`` = 0 (an
        index into its own ``shells``), ``plane`` and ``slot`` set and one
        :class:`ShellInfo` of kind ``"delta"`` or ``"star"``.

    Raises
    ------
    ConstellationError
        For a bad spec, altitude, epoch or catalogue-number range.

    Examples
    --------
    >>> c = walker("86.4:66/6/2", altitude_km=780, star=True)
    >>> len(c), c.shells[0].label()
    (66, '86.4° 780 km 6×11 star F=2')
    >>> str(c.name[12]), int(c.norad_id[12])
    ('WALKER-S0-P01-S01', 80012)
    """
    inclination_deg, total, planes, phasing = _parse_spec(spec)
    try:
        altitude_km = float(altitude_km)
    except (TypeError, ValueError):
        raise ConstellationError(f"altitude_km {altitude_km!r} is not a number; give it in km, e.g. 550") from None
    if not altitude_km > MIN_ALTITUDE_KM or not math.isfinite(altitude_km):
        raise ConstellationError(
            f"altitude_km {altitude_km:g} is not above {MIN_ALTITUDE_KM:g} km, where circular orbits "
            "decay within days; give the altitude in km (e.g. 550, not 550000 m or 0.55)")
    if isinstance(shell, bool) or not isinstance(shell, (int, np.integer)) or shell < 0:
        raise ConstellationError(f"shell {shell!r} must be an integer ≥ 0")
    epoch_utc = parse_epoch(epoch)
    epoch_days = _epoch_days_1949(epoch_utc)
    if first_norad_id is None:
        first_norad_id = FIRST_SYNTHETIC_NORAD_ID + NORAD_IDS_PER_SHELL * int(shell)
    first_norad_id = int(first_norad_id)
    if first_norad_id < 1 or first_norad_id + total - 1 > MAX_TLE_NORAD_ID:
        raise ConstellationError(
            f"catalogue numbers {first_norad_id}..{first_norad_id + total - 1} leave the TLE range "
            f"1..{MAX_TLE_NORAD_ID}; pass a smaller first_norad_id (or a smaller shell index)")

    per_plane = total // planes
    raan_span_deg = 180.0 if star else 360.0
    no_kozai = _mean_motion_rad_min(altitude_km)
    inclo = math.radians(round(inclination_deg, 4))
    plane_width = max(2, len(str(planes - 1)))
    slot_width = max(2, len(str(per_plane - 1)))

    satrecs, norad, names, plane_idx, slot_idx = [], [], [], [], []
    for p in range(planes):
        nodeo = _tle_angle_rad(raan_span_deg * p / planes)
        for s in range(per_plane):
            mo = _tle_angle_rad(360.0 * s / per_plane + 360.0 * phasing * p / total)
            satnum = first_norad_id + p * per_plane + s
            sat = Satrec()
            # sgp4init(gravity, opsmode, satnum, epoch, bstar, ndot, nddot,
            #          ecco, argpo, inclo, mo, no_kozai, nodeo): circular, no drag.
            sat.sgp4init(WGS72, "i", satnum, epoch_days, 0.0, 0.0, 0.0,
                         0.0, 0.0, inclo, mo, no_kozai, nodeo)
            satrecs.append(sat)
            norad.append(satnum)
            names.append(f"WALKER-S{shell}-P{p:0{plane_width}d}-S{s:0{slot_width}d}")
            plane_idx.append(p)
            slot_idx.append(s)

    kind = "star" if star else "delta"
    info = ShellInfo(inclination_deg=inclination_deg, altitude_km=altitude_km, planes=planes,
                     sats_per_plane=per_plane, phasing=phasing, kind=kind)
    return Constellation(
        satrecs=tuple(satrecs), norad_id=np.array(norad), name=np.array(names),
        shell=np.zeros(total, dtype=np.int32), plane=np.array(plane_idx), slot=np.array(slot_idx),
        shells=(info,),
        source=f"walker {inclination_deg:g}:{total}/{planes}/{phasing} {altitude_km:g} km {kind}",
    )


@recorded
def combine(*constellations) -> Constellation:
    """Join several constellations (e.g. shells) into one.

    Shell indices are renumbered so that they index the joined ``shells``
    tuple; satellites without a shell (``-1``) keep ``-1``. Plane and slot
    labels are kept (they are per shell).

    Parameters
    ----------
    *constellations : Constellation
        At least one.

    Returns
    -------
    Constellation

    Raises
    ------
    ConstellationError
        When a catalogue number appears more than once.

    Examples
    --------
    >>> a = walker("53:1584/72/1", 550)
    >>> b = walker("70:720/36/1", 570, shell=1)
    >>> c = combine(a, b)
    >>> len(c), len(c.shells), sorted(set(c.shell.tolist()))
    (2304, 2, [0, 1])
    """
    if len(constellations) == 1 and not isinstance(constellations[0], Constellation):
        constellations = tuple(constellations[0])
    if not constellations:
        raise ConstellationError("combine() needs at least one constellation")
    for c in constellations:
        if not isinstance(c, Constellation):
            raise ConstellationError(f"combine() takes Constellation objects, got {type(c).__name__}")
    norad = np.concatenate([c.norad_id for c in constellations])
    unique, counts = np.unique(norad, return_counts=True)
    if np.any(counts > 1):
        dup = unique[counts > 1]
        shown = ", ".join(str(int(x)) for x in dup[:5]) + (" ..." if len(dup) > 5 else "")
        raise ConstellationError(
            f"combine(): {len(dup)} catalogue numbers appear more than once ({shown}); every "
            "satellite needs its own number: build each Walker shell with a different shell= "
            "index or first_norad_id=")
    shells, shell_parts, offset = [], [], 0
    for c in constellations:
        shell_parts.append(np.where(c.shell >= 0, c.shell + offset, -1))
        shells.extend(c.shells)
        offset += len(c.shells)
    return Constellation(
        satrecs=tuple(s for c in constellations for s in c.satrecs),
        norad_id=norad,
        name=np.concatenate([c.name for c in constellations]),
        shell=np.concatenate(shell_parts),
        plane=np.concatenate([c.plane for c in constellations]),
        slot=np.concatenate([c.slot for c in constellations]),
        shells=tuple(shells),
        source=" + ".join(c.source for c in constellations),
        skipped=tuple(m for c in constellations for m in c.skipped),
    )
