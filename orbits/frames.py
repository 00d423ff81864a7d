"""Reference frames: TEME → ITRS, geodetic coordinates on WGS-84, argument of latitude.

SGP4 gives positions in TEME (true equator, mean equinox of date). The
Earth-fixed frame follows Vallado et al. 2006 (AIAA 2006-6753, appendix C,
``teme2ecef``)::

    r_pef  = R3(θ_GMST1982(UT1)) · r_teme          (rotation about z)
    v_pef  = R3(θ) · v_teme − ω_E ẑ × r_pef
    r_itrs = W(x_p, y_p, s') · r_pef                (polar motion, optional)

where R3(θ) is Skyfield's ``rot_z(-θ)``. This is exactly what Skyfield's
``EarthSatellite.at(t).frame_xyz(itrs)`` reduces to (its TEME → GCRS and
GCRS → ITRS rotations cancel their precession, nutation and GAST), so the two
agree to rounding for the same UT1 (``tests/test_frames.py``).

UT1 and the pole come from :mod:`orbits.timegrid` (IERS ``finals2000A.all``
shipped by ``astropy-iers-data``, offline). Polar motion is applied by
default; it moves points by about 10 m at the surface (a few tenths of an
arcsecond) and can be switched off (``polar_motion=False`` gives the
pseudo-Earth-fixed frame PEF). The Earth-rotation rate for velocities is the
constant ω_E = 7.292115146706979e-5 rad/s; the length-of-day correction
(1 − LOD/86400, LOD ≈ 1 ms) changes velocities by < 1e-8 km/s and is left out.
"""

from __future__ import annotations

import math

import numpy as np

from . import _geodesy
from .constants import ARCSEC_TO_RAD, DAY_S, JD_J2000, OMEGA_EARTH_RAD_S, WGS84_A_KM, WGS84_F
from .timegrid import _polar_motion_from_jd, _ut1_minus_utc_from_jd, to_jd_utc

__all__ = [
    "gmst1982_rad",
    "teme_to_itrs_matrix",
    "teme_to_itrs",
    "geodetic_from_itrs",
    "argument_of_latitude_deg",
]

_TAU = 2.0 * math.pi
#: Rate of the TIO locator s', arcsec per Julian century (IERS Conventions 2010, eq. 5.13).
_SPRIME_ARCSEC_PER_CENTURY = -47.0e-6


def gmst1982_rad(jd_ut1_whole, jd_ut1_fraction=0.0) -> np.ndarray:
    """Greenwich mean sidereal time (IAU 1982), radians in [0, 2π), from split UT1 Julian dates.

    The formula of Vallado et al. 2006 (AIAA 2006-6753, appendix C) and of
    SGP4's ``gstime``, evaluated with the whole and fractional days kept apart
    so that the angle keeps ~1e-12 rad precision.

    Parameters
    ----------
    jd_ut1_whole, jd_ut1_fraction : array_like of float
        UT1 Julian date split into two parts (any split; their sum is the date).

    Returns
    -------
    numpy.ndarray of float64
        θ_GMST1982, radians.

    Examples
    --------
    >>> from sgp4.propagation import gstime
    >>> abs(float(gmst1982_rad(2451545.0, 0.25)) - gstime(2451545.25)) < 1e-9
    True
    """
    whole = np.asarray(jd_ut1_whole, dtype=np.float64)
    fraction = np.asarray(jd_ut1_fraction, dtype=np.float64)
    t = (whole - JD_J2000 + fraction) / 36525.0
    gmst_s = 67310.54841 + (8640184.812866 + (0.093104 + (-6.2e-6) * t) * t) * t
    # Sidereal seconds of the polynomial plus the UT1 day fraction, in turns.
    turns = (whole % 1.0 + fraction + gmst_s / DAY_S % 1.0) % 1.0
    return turns * _TAU


def _rot_z(angle):
    # Skyfield's active rotation rot_z(angle), stacked over times: shape (n, 3, 3).
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1),
                     np.stack([zero, zero, one], -1)], -2)


def _rot_x(angle):
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1),
                     np.stack([zero, s, c], -1)], -2)


def _rot_y(angle):
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
                     np.stack([-s, zero, c], -1)], -2)


def _rotation_from_jd(jd_utc, fr_utc, polar_motion: bool) -> np.ndarray:
    """TEME → ITRS (or PEF) matrices, shape (n, 3, 3), for split UTC Julian dates of shape (n,)."""
    jd_utc = np.atleast_1d(np.asarray(jd_utc, dtype=np.float64))
    fr_utc = np.atleast_1d(np.asarray(fr_utc, dtype=np.float64))
    dut1_s = _ut1_minus_utc_from_jd(jd_utc, fr_utc)
    theta = gmst1982_rad(jd_utc, fr_utc + dut1_s / DAY_S)
    rot = _rot_z(-theta)
    if polar_motion:
        x_arcsec, y_arcsec = _polar_motion_from_jd(jd_utc, fr_utc)
        centuries = (jd_utc - JD_J2000 + fr_utc) / 36525.0
        sprime_arcsec = _SPRIME_ARCSEC_PER_CENTURY * centuries
        # W = rot_x(y_p) · rot_y(x_p) · rot_z(−s'), Skyfield's polar_motion_matrix
        # (IERS Conventions 2010, eq. 5.3, with its transposed-rotation convention).
        w = (_rot_x(y_arcsec * ARCSEC_TO_RAD) @ _rot_y(x_arcsec * ARCSEC_TO_RAD)
             @ _rot_z(-sprime_arcsec * ARCSEC_TO_RAD))
        rot = w @ rot
    return rot


def teme_to_itrs_matrix(times, *, polar_motion: bool = True) -> np.ndarray:
    """Rotation matrices that take TEME vectors to ITRS (PEF without polar motion).

    Parameters
    ----------
    times : array_like of datetime64, str or aware datetime, shape (n,)
        UTC instants.
    polar_motion : bool
        Apply the IERS pole offsets (default True).

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        ``r_itrs = M[i] @ r_teme`` at ``times[i]``.

    Examples
    --------
    >>> m = teme_to_itrs_matrix(["2026-01-01T00:00:00Z"])
    >>> bool(np.allclose(m[0] @ m[0].T, np.eye(3)))
    True
    """
    jd, fr = to_jd_utc(times)
    return _rotation_from_jd(np.ravel(jd), np.ravel(fr), polar_motion)


def _itrs_from_teme_jd(r_teme_km, jd_utc, fr_utc, v_teme_km_s=None, polar_motion=True):
    rot = _rotation_from_jd(jd_utc, fr_utc, polar_motion)
    r = np.asarray(r_teme_km, dtype=np.float64)
    n = rot.shape[0]
    if r.shape[0] != n or r.shape[-1] != 3:
        raise ValueError(f"r_teme_km has shape {r.shape}; expected ({n}, 3) or ({n}, n_sat, 3) "
                         f"for {n} times")
    extra = r.ndim - 2
    rot_b = rot.reshape((n,) + (1,) * extra + (3, 3))
    r_itrs = np.einsum("...ij,...j->...i", rot_b, r)
    if v_teme_km_s is None:
        return r_itrs
    v = np.asarray(v_teme_km_s, dtype=np.float64)
    if v.shape != r.shape:
        raise ValueError(f"v_teme_km_s has shape {v.shape}, r_teme_km has {r.shape}")
    # PEF = rot_z(−θ) · TEME; the polar-motion part W is constant over a step.
    rot_pef = _rotation_from_jd(jd_utc, fr_utc, False).reshape(rot_b.shape)
    r_pef = np.einsum("...ij,...j->...i", rot_pef, r)
    v_pef = np.einsum("...ij,...j->...i", rot_pef, v)
    v_pef[..., 0] += OMEGA_EARTH_RAD_S * r_pef[..., 1]  # − ω ẑ × r = (ω y, −ω x, 0)
    v_pef[..., 1] -= OMEGA_EARTH_RAD_S * r_pef[..., 0]
    w = np.einsum("...ij,...kj->...ik", rot_b, rot_pef)  # W = R · R_pefᵀ
    v_itrs = np.einsum("...ij,...j->...i", w, v_pef)
    return r_itrs, v_itrs


def teme_to_itrs(r_teme_km, times, v_teme_km_s=None, *, polar_motion: bool = True):
    """Rotate TEME positions (and velocities) to the Earth-fixed ITRS.

    Parameters
    ----------
    r_teme_km : array_like, shape (n, 3) or (n, n_sat, 3)
        TEME positions, km; the first axis runs over ``times``.
    times : array_like of datetime64, str or aware datetime, shape (n,)
        UTC instants.
    v_teme_km_s : array_like, same shape as ``r_teme_km``, optional
        TEME velocities, km/s.
    polar_motion : bool
        Apply the IERS pole offsets (default True); False gives PEF.

    Returns
    -------
    r_itrs_km : numpy.ndarray
        ITRS positions, km, same shape as ``r_teme_km``.
    v_itrs_km_s : numpy.ndarray
        ITRS velocities (relative to the rotating Earth), km/s; only when
        ``v_teme_km_s`` is given.

    Examples
    --------
    >>> r = teme_to_itrs([[7000.0, 0.0, 0.0]], ["2026-01-01T00:00:00Z"])
    >>> round(float(np.linalg.norm(r)), 9)
    7000.0
    """
    jd, fr = to_jd_utc(times)
    return _itrs_from_teme_jd(r_teme_km, np.ravel(jd), np.ravel(fr), v_teme_km_s, polar_motion)


def geodetic_from_itrs(r_itrs_km, *, a_km: float = WGS84_A_KM, f: float = WGS84_F):
    """Geodetic latitude, longitude and height on the WGS-84 ellipsoid from ITRS positions.

    Heikkinen's closed form (exact, no iteration; see :mod:`orbits._geodesy`),
    compiled with Numba.

    Parameters
    ----------
    r_itrs_km : array_like, shape (..., 3)
        Earth-fixed positions, km (farther than ~50 km from the Earth's centre).
    a_km, f : float
        Ellipsoid semi-major axis, km, and flattening (default WGS-84, NIMA TR8350.2).

    Returns
    -------
    latitude_deg, longitude_deg, altitude_km : numpy.ndarray, shape (...)
        Geodetic latitude (−90..90), longitude (−180..180], degrees, and
        height above the ellipsoid, km.

    Examples
    --------
    >>> lat, lon, alt = geodetic_from_itrs([6378.137 + 550.0, 0.0, 0.0])
    >>> float(lat), float(lon), round(float(alt), 9)
    (0.0, 0.0, 550.0)
    """
    r = np.ascontiguousarray(r_itrs_km, dtype=np.float64)
    if r.shape[-1:] != (3,):
        raise ValueError(f"r_itrs_km has shape {r.shape}; the last axis must be x, y, z (3)")
    flat = r.reshape(-1, 3)
    lat = np.empty(flat.shape[0])
    lon = np.empty(flat.shape[0])
    alt = np.empty(flat.shape[0])
    _geodesy.geodetic_kernel(flat, float(a_km), float(f), lat, lon, alt)
    shape = r.shape[:-1]
    return lat.reshape(shape), lon.reshape(shape), alt.reshape(shape)


def argument_of_latitude_deg(r_teme_km, v_teme_km_s) -> np.ndarray:
    """Argument of latitude u, degrees in [0, 360): the angle from the ascending node to r in the orbit plane.

    u = atan2(r_z |h|, h_x r_y − h_y r_x) with h = r × v (the node vector
    is ẑ × h). For an equatorial orbit, which has no node, u is the true
    longitude (angle from the x axis in the direction of motion).

    Parameters
    ----------
    r_teme_km : array_like, shape (..., 3)
        Inertial (TEME) position, km.
    v_teme_km_s : array_like, shape (..., 3)
        Inertial (TEME) velocity, km/s.

    Returns
    -------
    numpy.ndarray, shape (...)
        Argument of latitude, degrees.

    Examples
    --------
    >>> float(argument_of_latitude_deg([0.0, 0.0, 7000.0], [-7.5, 0.0, 0.0]))
    90.0
    """
    r = np.ascontiguousarray(r_teme_km, dtype=np.float64)
    v = np.ascontiguousarray(v_teme_km_s, dtype=np.float64)
    if r.shape != v.shape or r.shape[-1:] != (3,):
        raise ValueError(f"r_teme_km {r.shape} and v_teme_km_s {v.shape} must have the same shape (..., 3)")
    out = np.empty(r.reshape(-1, 3).shape[0])
    _geodesy.argument_of_latitude_kernel(r.reshape(-1, 3), v.reshape(-1, 3), out)
    return out.reshape(r.shape[:-1])
