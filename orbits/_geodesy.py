"""Numba kernels for frames and geodesy: pure loops on float64 arrays writing into ``out``.

No labels, no validation: the wrappers in :mod:`orbits.frames` and
:mod:`orbits.propagate` check shapes and dtypes before calling. The tests
compare every kernel with a plain-NumPy twin (``tests/test_frames.py``,
``tests/test_propagate.py``).

Geodetic coordinates use Heikkinen's closed form (M. Heikkinen, "Geschlossene
Formeln zur Berechnung räumlicher geodätischer Koordinaten aus rechtwinkligen
Koordinaten", Z. Vermess. 107, 1982; as written in J. Zhu, "Conversion of
Earth-centered Earth-fixed coordinates to geodetic coordinates", IEEE TAES
30(3), 1994): exact, no iteration, valid for every point farther than about
50 km from the Earth's centre (closer in, the cubic's discriminant changes
sign), which covers every orbit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["geodetic_kernel", "argument_of_latitude_kernel", "post_sgp4_kernel", "earth_fixed_kernel"]

_RAD_TO_DEG = 180.0 / math.pi


@njit(cache=True, nogil=True, inline="always")
def _geodetic_point(x, y, z, a, f):
    """(lat_deg, lon_deg, height) of one Earth-fixed point on the ellipsoid (a, f); units of a."""
    b = a * (1.0 - f)
    e2 = f * (2.0 - f)  # first eccentricity squared
    ep2 = (a * a - b * b) / (b * b)  # second eccentricity squared
    p = math.sqrt(x * x + y * y)
    big_f = 54.0 * b * b * z * z
    g = p * p + (1.0 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * big_f * p * p / (g * g * g)
    s = (1.0 + c + math.sqrt(c * c + 2.0 * c)) ** (1.0 / 3.0)
    k = s + 1.0 + 1.0 / s
    big_p = big_f / (3.0 * k * k * g * g)
    q = math.sqrt(1.0 + 2.0 * e2 * e2 * big_p)
    r0 = (-big_p * e2 * p / (1.0 + q)
          + math.sqrt(max(0.5 * a * a * (1.0 + 1.0 / q)
                          - big_p * (1.0 - e2) * z * z / (q * (1.0 + q))
                          - 0.5 * big_p * p * p, 0.0)))
    t = p - e2 * r0
    u = math.sqrt(t * t + z * z)
    v = math.sqrt(t * t + (1.0 - e2) * z * z)
    z0 = b * b * z / (a * v)
    height = u * (1.0 - b * b / (a * v))
    lat = math.atan2(z + ep2 * z0, p) * _RAD_TO_DEG
    lon = math.atan2(y, x) * _RAD_TO_DEG
    return lat, lon, height


@njit(cache=True, nogil=True, inline="always")
def _argument_of_latitude(rx, ry, rz, vx, vy, vz):
    """Angle from the ascending node to r in the orbit plane, degrees in [0, 360)."""
    hx = ry * vz - rz * vy
    hy = rz * vx - rx * vz
    hz = rx * vy - ry * vx
    h = math.sqrt(hx * hx + hy * hy + hz * hz)
    node = math.sqrt(hx * hx + hy * hy)
    if node > 1e-12 * h:
        # With n = z × h = (−h_y, h_x, 0): n·r = h_x r_y − h_y r_x and
        # (n × r)·h/|h| = r_z |h| (because h·r = 0); both share the factor |n||r|.
        u = math.atan2(rz * h, hx * ry - hy * rx)
    elif hz >= 0.0:
        # Equatorial prograde orbit: no node; measure from the x axis (true longitude).
        u = math.atan2(ry, rx)
    else:
        u = math.atan2(-ry, rx)
    u = u * _RAD_TO_DEG
    if u < 0.0:
        u += 360.0
    if u >= 360.0:
        u -= 360.0
    return u


@njit(cache=True, nogil=True, inline="always")
def _rotated(rot, rx, ry, rz):
    """``rot @ (rx, ry, rz)`` for one 3×3 rotation (TEME to ITRS), in one fixed order of operations."""
    x = rot[0, 0] * rx + rot[0, 1] * ry + rot[0, 2] * rz
    y = rot[1, 0] * rx + rot[1, 1] * ry + rot[1, 2] * rz
    z = rot[2, 0] * rx + rot[2, 1] * ry + rot[2, 2] * rz
    return x, y, z


@njit(cache=True, nogil=True, inline="always")
def _earth_fixed_into(rot_t, rx, ry, rz, a_km, f, t, s, r_itrs, lat_deg, alt_km):
    """Write the ITRS position, geodetic latitude and height of TEME ``r`` at ``[t, s]``; returns the longitude.

    The one path both post-SGP4 kernels take, so their Earth-fixed outputs are the same values.
    """
    x, y, z = _rotated(rot_t, rx, ry, rz)
    r_itrs[t, s, 0] = x
    r_itrs[t, s, 1] = y
    r_itrs[t, s, 2] = z
    lat, lon, h = _geodetic_point(x, y, z, a_km, f)
    lat_deg[t, s] = lat
    alt_km[t, s] = h
    return lon


@njit(cache=True, nogil=True, inline="always")
def _earth_fixed_nan(t, s, r_itrs, lat_deg, alt_km):
    """NaN for the Earth-fixed outputs at ``[t, s]`` (SGP4 failed there)."""
    for k in range(3):
        r_itrs[t, s, k] = np.nan
    lat_deg[t, s] = np.nan
    alt_km[t, s] = np.nan


@njit(cache=True, nogil=True)
def geodetic_kernel(r_km, a_km, f, lat_deg, lon_deg, alt_km):
    """Geodetic latitude, longitude and height of points ``r_km`` (n, 3) on ellipsoid (a_km, f)."""
    for i in range(r_km.shape[0]):
        lat, lon, h = _geodetic_point(r_km[i, 0], r_km[i, 1], r_km[i, 2], a_km, f)
        lat_deg[i] = lat
        lon_deg[i] = lon
        alt_km[i] = h


@njit(cache=True, nogil=True)
def argument_of_latitude_kernel(r_km, v_km_s, u_deg):
    """Argument of latitude, degrees, of states (n, 3) × (n, 3)."""
    for i in range(r_km.shape[0]):
        u_deg[i] = _argument_of_latitude(r_km[i, 0], r_km[i, 1], r_km[i, 2],
                                         v_km_s[i, 0], v_km_s[i, 1], v_km_s[i, 2])


@njit(cache=True, nogil=True)
def post_sgp4_kernel(err, r_st, v_st, rot, a_km, f,
                     r_teme, v_teme, r_itrs, lat_deg, lon_deg, alt_km, u_deg, status):
    """Everything after SGP4 in one pass over (sat, time), transposing to (time, sat).

    Parameters (all preallocated by the caller)
    ----------
    err : uint8 (S, T)            SGP4 error codes from SatrecArray.sgp4.
    r_st, v_st : float64 (S, T, 3)  TEME position km / velocity km/s from SatrecArray.sgp4.
    rot : float64 (T, 3, 3)       TEME → ITRS rotation per time.
    r_teme, v_teme, r_itrs : float64 (T, S, 3) outputs.
    lat_deg, lon_deg, alt_km, u_deg : float64 (T, S) outputs.
    status : int8 (T, S) output.
    """
    n_sat = r_st.shape[0]
    n_time = r_st.shape[1]
    nan = np.nan
    for s in range(n_sat):
        for t in range(n_time):
            code = err[s, t]
            status[t, s] = code
            if code != 0:
                for k in range(3):
                    r_teme[t, s, k] = nan
                    v_teme[t, s, k] = nan
                _earth_fixed_nan(t, s, r_itrs, lat_deg, alt_km)
                lon_deg[t, s] = nan
                u_deg[t, s] = nan
                continue
            rx = r_st[s, t, 0]
            ry = r_st[s, t, 1]
            rz = r_st[s, t, 2]
            vx = v_st[s, t, 0]
            vy = v_st[s, t, 1]
            vz = v_st[s, t, 2]
            r_teme[t, s, 0] = rx
            r_teme[t, s, 1] = ry
            r_teme[t, s, 2] = rz
            v_teme[t, s, 0] = vx
            v_teme[t, s, 1] = vy
            v_teme[t, s, 2] = vz
            lon_deg[t, s] = _earth_fixed_into(rot[t], rx, ry, rz, a_km, f, t, s, r_itrs, lat_deg, alt_km)
            u_deg[t, s] = _argument_of_latitude(rx, ry, rz, vx, vy, vz)


@njit(cache=True, nogil=True)
def earth_fixed_kernel(err, r_st, rot, a_km, f, r_itrs, lat_deg, alt_km, status):
    """:func:`post_sgp4_kernel`'s Earth-fixed outputs only: ITRS position, geodetic latitude and height, status.

    The same operations in the same order for these outputs, so the same
    values; no TEME copies, longitude or argument of latitude (what a
    sweep needs of satellites it only links).
    """
    n_sat = r_st.shape[0]
    n_time = r_st.shape[1]
    for s in range(n_sat):
        for t in range(n_time):
            code = err[s, t]
            status[t, s] = code
            if code != 0:
                _earth_fixed_nan(t, s, r_itrs, lat_deg, alt_km)
                continue
            _earth_fixed_into(rot[t], r_st[s, t, 0], r_st[s, t, 1], r_st[s, t, 2], a_km, f, t, s, r_itrs, lat_deg,
                              alt_km)
