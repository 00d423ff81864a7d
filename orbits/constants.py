"""Physical constants of the orbits layer, each with its source.

SGP4 is defined on the WGS-72 gravity model (Vallado et al., "Revisiting
Spacetrack Report #3", AIAA 2006-6753), so element sets are built with WGS-72;
geodetic coordinates use the WGS-84 ellipsoid (NIMA TR8350.2).
"""

from sgp4.earth_gravity import wgs72 as _wgs72

#: WGS-72 gravitational parameter, km^3 s^-2 (as used by SGP4; sgp4.earth_gravity).
MU_WGS72_KM3_S2 = _wgs72.mu
#: WGS-72 equatorial radius, km (as used by SGP4; sgp4.earth_gravity).
RADIUS_WGS72_KM = _wgs72.radiusearthkm
#: WGS-72 J2 (sgp4.earth_gravity).
J2_WGS72 = _wgs72.j2

#: WGS-84 semi-major axis, km (NIMA TR8350.2, table 3.1).
WGS84_A_KM = 6378.137
#: WGS-84 flattening (NIMA TR8350.2, table 3.1).
WGS84_F = 1.0 / 298.257223563

#: Mean equatorial radius used for "altitude" of a shell, km (WGS-84 a).
EARTH_RADIUS_KM = WGS84_A_KM

#: Seconds in one day.
DAY_S = 86_400.0
#: Minutes in one day.
DAY_MIN = 1_440.0

#: Earth's rotation rate for TEME → PEF velocities, rad/s: the GMST-1982 rate at J2000
#: as used by Vallado's ``teme2ecef`` (Vallado et al. 2006, AIAA 2006-6753, appendix C).
OMEGA_EARTH_RAD_S = 7.292115146706979e-5
#: Arcseconds to radians (exact: π / 648000).
ARCSEC_TO_RAD = 4.84813681109536e-06
#: Julian date of J2000.0, 2000-01-01T12:00:00 TT (IAU 1976).
JD_J2000 = 2451545.0
