"""Numba kernels of the link layer: pure loops on float64 arrays writing into ``out``.

Nothing here knows labels, units beyond their names, or xarray: the wrappers in
:mod:`orbits.links` check arguments, allocate outputs and attach metadata
(the numbagg way). Every kernel has a plain-NumPy twin in
``tests/test_kernels_links.py`` that the tests compare against.

Frames: positions are Earth-centred Cartesian, km. ISL geometry is frame
independent (any Earth-centred frame works); ground-station geometry needs
satellites and stations in the same Earth-fixed frame (ITRS).

Earth model for line-of-sight clearance: a sphere of radius
``EARTH_RADIUS_KM + margin_km`` centred on the geocentre. The WGS-84
ellipsoid lies inside its equatorial sphere (the polar radius is 21.4 km
shorter), so the sphere test is conservative: a link it calls up clears the
real ellipsoid by at least the margin, and a link it calls down grazes it no
higher than margin + 21.4 km. Against an 80 km atmosphere margin, itself a
convention, that bias is small and the test stays a few multiply-adds.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = [
    "segment_clearance_km",
    "isl_kernel",
    "gsl_kernel",
]

_RAD2DEG = 180.0 / math.pi


@njit(cache=True, nogil=True, inline="always")
def _segment_min_radius_sq(ax, ay, az, bx, by, bz):
    # Squared distance from the geocentre to the closest point of segment a-b:
    # project the origin on the line, clamp the parameter to [0, 1].
    dx = bx - ax
    dy = by - ay
    dz = bz - az
    dd = dx * dx + dy * dy + dz * dz
    if dd > 0.0:
        t = -(ax * dx + ay * dy + az * dz) / dd
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
    else:
        t = 0.0
    px = ax + t * dx
    py = ay + t * dy
    pz = az + t * dz
    return px * px + py * py + pz * pz


@njit(cache=True, nogil=True)
def segment_clearance_km(a_km, b_km, out_km):
    """Smallest geocentric distance of each segment ``a[i]``–``b[i]``, km.

    ``a_km``, ``b_km``: (m, 3) float64; ``out_km``: (m,) float64, written.
    A segment clears a sphere of radius R when ``out_km[i] > R``.
    """
    for i in range(a_km.shape[0]):
        out_km[i] = math.sqrt(_segment_min_radius_sq(a_km[i, 0], a_km[i, 1], a_km[i, 2],
                                                     b_km[i, 0], b_km[i, 1], b_km[i, 2]))


@njit(cache=True, nogil=True)
def isl_kernel(position_km, status, abs_latitude_deg, sat_a, sat_b, inter_plane,
               clear_radius_km, max_range_km, latitude_cutoff_deg,
               out_distance_km, out_up):
    """Distance and up flag of every candidate ISL at every timestep.

    Parameters (all checked by the wrapper)
    ----------
    position_km : (t, n, 3) float64, Earth-centred positions, km (NaN where SGP4 failed).
    status : (t, n) int8, SGP4 status, 0 = valid.
    abs_latitude_deg : (t, n) float64, |latitude|, degrees (read only for inter-plane links).
    sat_a, sat_b : (l,) int64, satellite indices of each link.
    inter_plane : (l,) bool, True for inter-plane links (subject to the latitude cut-off).
    clear_radius_km : float, radius the segment must clear (Earth radius + margin), km.
    max_range_km : float, terminal range, km.
    latitude_cutoff_deg : float, inter-plane links are down when either end has
        ``|latitude| > latitude_cutoff_deg``; ``inf`` disables the rule.
    out_distance_km : (t, l) float64, written: link length, km (NaN if an end has no position).
    out_up : (t, l) bool, written.
    """
    clear_sq = clear_radius_km * clear_radius_km
    for it in range(position_km.shape[0]):
        for k in range(sat_a.shape[0]):
            i = sat_a[k]
            j = sat_b[k]
            ax = position_km[it, i, 0]
            ay = position_km[it, i, 1]
            az = position_km[it, i, 2]
            bx = position_km[it, j, 0]
            by = position_km[it, j, 1]
            bz = position_km[it, j, 2]
            dx = bx - ax
            dy = by - ay
            dz = bz - az
            distance = math.sqrt(dx * dx + dy * dy + dz * dz)
            out_distance_km[it, k] = distance
            # NaN compares false, so a missing position can never be "up".
            up = status[it, i] == 0 and status[it, j] == 0 and distance <= max_range_km
            if up and inter_plane[k]:
                up = (abs_latitude_deg[it, i] <= latitude_cutoff_deg
                      and abs_latitude_deg[it, j] <= latitude_cutoff_deg)
            if up:
                up = _segment_min_radius_sq(ax, ay, az, bx, by, bz) > clear_sq
            out_up[it, k] = up


@njit(cache=True, nogil=True)
def gsl_kernel(position_km, status, station_km, station_enu, sin_min_elevation, time_offset,
               out_time, out_station, out_sat, out_elevation_deg, out_azimuth_deg, out_range_km,
               out_count):
    """Visible (time, station, satellite) triples with elevation, azimuth and slant range.

    Output is sparse: only pairs with elevation >= the minimum are written, in
    (time, station, satellite) order, into the first rows of the ``out_*`` arrays.
    The return value is the number of visible pairs; when it exceeds the
    capacity ``len(out_time)``, only the first rows were written and the
    caller reruns with larger outputs (``out_count`` is always complete).

    Parameters (all checked by the wrapper)
    ----------
    position_km : (t, n, 3) float64, satellite positions in ITRS, km.
    status : (t, n) int8, SGP4 status, 0 = valid (others are never visible).
    station_km : (s, 3) float64, station positions in ITRS, km.
    station_enu : (s, 3, 3) float64, rows: unit east, north, up (geodetic normal) in ITRS.
    sin_min_elevation : float, sine of the minimum elevation.
    time_offset : int, added to the written time indices (chunk start).
    out_time, out_station, out_sat : (c,) int32, written.
    out_elevation_deg, out_azimuth_deg, out_range_km : (c,) float64, written.
    out_count : (t, s) int32, written: visible satellites per station and step.
    """
    n_time = position_km.shape[0]
    n_sat = position_km.shape[1]
    n_station = station_km.shape[0]
    capacity = out_time.shape[0]
    sin_sq = sin_min_elevation * sin_min_elevation
    n = 0
    for it in range(n_time):
        for s in range(n_station):
            ox = station_km[s, 0]
            oy = station_km[s, 1]
            oz = station_km[s, 2]
            ux = station_enu[s, 2, 0]
            uy = station_enu[s, 2, 1]
            uz = station_enu[s, 2, 2]
            count = 0
            for j in range(n_sat):
                rx = position_km[it, j, 0] - ox
                ry = position_km[it, j, 1] - oy
                rz = position_km[it, j, 2] - oz
                up_km = rx * ux + ry * uy + rz * uz
                # Cheap rejections first: most satellites are below the horizon.
                if sin_min_elevation >= 0.0:
                    if not up_km >= 0.0:  # also rejects NaN
                        continue
                    range_sq = rx * rx + ry * ry + rz * rz
                    if up_km * up_km < sin_sq * range_sq:
                        continue
                else:
                    range_sq = rx * rx + ry * ry + rz * rz
                    if not up_km >= sin_min_elevation * math.sqrt(range_sq):
                        continue
                if status[it, j] != 0:
                    continue
                count += 1
                if n < capacity:
                    range_km = math.sqrt(range_sq)
                    east_km = rx * station_enu[s, 0, 0] + ry * station_enu[s, 0, 1] + rz * station_enu[s, 0, 2]
                    north_km = rx * station_enu[s, 1, 0] + ry * station_enu[s, 1, 1] + rz * station_enu[s, 1, 2]
                    out_time[n] = it + time_offset
                    out_station[n] = s
                    out_sat[n] = j
                    # atan2 of the horizontal and vertical parts is accurate at all elevations.
                    out_elevation_deg[n] = math.atan2(up_km, math.sqrt(east_km * east_km + north_km * north_km)) * _RAD2DEG
                    azimuth_deg = math.atan2(east_km, north_km) * _RAD2DEG
                    if azimuth_deg < 0.0:
                        azimuth_deg += 360.0
                    out_azimuth_deg[n] = azimuth_deg
                    out_range_km[n] = range_km
                n += 1
            out_count[it, s] = count
    return n

