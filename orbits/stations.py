"""Ground stations: loading them from CSV and placing them in the Earth-fixed frame.

The shipped set (``data/ground_stations.csv``) is a worldwide spread of city
centres and a few well-known ground-station sites; users give their own with
the same columns. Coordinates are WGS-84 geodetic: latitude and longitude in
degrees (east positive), altitude in metres above the ellipsoid.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from .constants import WGS84_A_KM, WGS84_F
from .exceptions import OrbitsError

__all__ = ["GroundStations", "StationFormatError", "load_stations", "geodetic_to_itrs_km",
           "DEFAULT_STATIONS"]

#: Name of the shipped station file inside the ``spacexnet_data`` package.
DEFAULT_STATIONS = "ground_stations.csv"

_REQUIRED = ("name", "latitude_deg", "longitude_deg")


class StationFormatError(OrbitsError):
    """A ground-station file is malformed (columns, numbers, ranges, duplicate names)."""


def geodetic_to_itrs_km(latitude_deg, longitude_deg, altitude_m, a_km=WGS84_A_KM, f=WGS84_F):
    """Earth-fixed positions and local east/north/up frames of geodetic points.

    Parameters
    ----------
    latitude_deg, longitude_deg : array_like, shape (s,)
        WGS-84 geodetic latitude and longitude (east positive), degrees.
    altitude_m : array_like, shape (s,)
        Height above the ellipsoid, metres.
    a_km, f : float
        Ellipsoid semi-major axis (km) and flattening; WGS-84 by default.

    Returns
    -------
    position_km : ndarray, shape (s, 3)
        ITRS position, km.
    enu : ndarray, shape (s, 3, 3)
        Rows ``enu[:, 0]`` east, ``enu[:, 1]`` north, ``enu[:, 2]`` up: unit
        vectors in ITRS; up is the ellipsoid normal (geodetic vertical), as in
        Skyfield's ``wgs84.latlon``.

    Notes
    -----
    The standard geodetic-to-Cartesian conversion with the prime-vertical
    radius of curvature (NIMA TR8350.2, ch. 4; Vallado, "Fundamentals of
    Astrodynamics and Applications", 4th ed., ch. 3), and the topocentric
    east/north/up frame whose up axis is the ellipsoid normal.

    Examples
    --------
    >>> position_km, enu = geodetic_to_itrs_km([0.0], [0.0], [0.0])
    >>> position_km.round(3).tolist(), enu[0, 2].tolist()
    ([[6378.137, 0.0, 0.0]], [1.0, 0.0, 0.0])
    """
    lat = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    lon = np.radians(np.asarray(longitude_deg, dtype=np.float64))
    h_km = np.asarray(altitude_m, dtype=np.float64) / 1000.0
    e2 = f * (2.0 - f)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    sin_lon, cos_lon = np.sin(lon), np.cos(lon)
    n_km = a_km / np.sqrt(1.0 - e2 * sin_lat**2)  # prime-vertical radius of curvature
    position_km = np.stack([
        (n_km + h_km) * cos_lat * cos_lon,
        (n_km + h_km) * cos_lat * sin_lon,
        (n_km * (1.0 - e2) + h_km) * sin_lat,
    ], axis=-1)
    east = np.stack([-sin_lon, cos_lon, np.zeros_like(lon)], axis=-1)
    north = np.stack([-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat], axis=-1)
    up = np.stack([cos_lat * cos_lon, cos_lat * sin_lon, sin_lat], axis=-1)
    return position_km, np.stack([east, north, up], axis=1)


@dataclass(frozen=True, eq=False)
class GroundStations:
    """Named ground stations at WGS-84 geodetic coordinates.

    Parameters
    ----------
    name : array_like of str, shape (s,)
        Distinct station names.
    latitude_deg, longitude_deg : array_like of float, shape (s,)
        Geodetic latitude in [-90, 90] and longitude (east positive) in [-180, 360), degrees.
    altitude_m : array_like of float, shape (s,)
        Height above the WGS-84 ellipsoid, metres.
    source : str
        Where the stations came from (file path or "shipped ground_stations.csv").

    Examples
    --------
    >>> st = GroundStations(["Quito"], [-0.18], [-78.47], [2850.0])
    >>> len(st), st.itrs_km()[0].shape
    (1, (1, 3))
    """

    name: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    altitude_m: np.ndarray
    source: str = ""

    def __post_init__(self):
        name = np.asarray(self.name, dtype=str)
        n = name.shape[0] if name.ndim == 1 else -1
        if n < 1:
            raise StationFormatError("ground stations: need at least one station (a 1-D list of names)")
        object.__setattr__(self, "name", name)
        for attr in ("latitude_deg", "longitude_deg", "altitude_m"):
            arr = np.asarray(getattr(self, attr), dtype=np.float64)
            if arr.shape != (n,):
                raise StationFormatError(f"ground stations: {attr} has shape {arr.shape}, expected ({n},)")
            if not np.all(np.isfinite(arr)):
                raise StationFormatError(f"ground stations: {attr} has non-finite values")
            object.__setattr__(self, attr, arr)
        if np.any(np.abs(self.latitude_deg) > 90.0):
            bad = int(np.argmax(np.abs(self.latitude_deg) > 90.0))
            raise StationFormatError(f"ground station {name[bad]!r}: latitude_deg {self.latitude_deg[bad]} "
                                     "is outside [-90, 90]")
        if np.any((self.longitude_deg < -180.0) | (self.longitude_deg >= 360.0)):
            bad = int(np.argmax((self.longitude_deg < -180.0) | (self.longitude_deg >= 360.0)))
            raise StationFormatError(f"ground station {name[bad]!r}: longitude_deg {self.longitude_deg[bad]} "
                                     "is outside [-180, 360)")
        unique, counts = np.unique(name, return_counts=True)
        if np.any(counts > 1):
            raise StationFormatError(f"ground stations: duplicate name {unique[counts > 1][0]!r}")

    def __len__(self) -> int:
        return self.name.shape[0]

    def __repr__(self) -> str:
        return f"<GroundStations {len(self)} stations, source={self.source!r}>"

    def itrs_km(self):
        """ITRS positions (s, 3), km, and east/north/up unit vectors (s, 3, 3); see :func:`geodetic_to_itrs_km`."""
        return geodetic_to_itrs_km(self.latitude_deg, self.longitude_deg, self.altitude_m)

    def subset(self, index) -> "GroundStations":
        """Stations restricted to ``index`` (boolean mask, integer indices or a slice)."""
        idx = np.arange(len(self))[index]
        return GroundStations(self.name[idx], self.latitude_deg[idx], self.longitude_deg[idx],
                              self.altitude_m[idx], source=self.source)


def _number(text, column, where, lo=-math.inf, hi=math.inf):
    try:
        value = float(text)
    except ValueError:
        raise StationFormatError(f"{where}: {column} {text.strip()!r} is not a number") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise StationFormatError(f"{where}: {column} {value} is outside [{lo:g}, {hi:g}]")
    return value


def load_stations(path=None) -> GroundStations:
    """Read ground stations from a CSV file (default: the shipped set).

    The file has a header row with at least ``name, latitude_deg,
    longitude_deg`` and optionally ``altitude_m`` (0 when absent); other
    columns are ignored. Blank lines and lines starting with ``#`` are
    comments.

    Parameters
    ----------
    path : str or path-like, optional
        User CSV; ``None`` loads ``data/ground_stations.csv``.

    Returns
    -------
    GroundStations

    Raises
    ------
    StationFormatError
        With ``path:line: reason`` for a missing column, a bad number, a
        latitude or longitude out of range, a duplicate name, or no stations.

    Examples
    --------
    >>> stations = load_stations()
    >>> len(stations) >= 50, "London" in stations.name
    (True, True)
    """
    if path is None:
        resource = files("spacexnet_data") / DEFAULT_STATIONS
        text = resource.read_text(encoding="utf-8")
        label, source = DEFAULT_STATIONS, f"shipped {DEFAULT_STATIONS}"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StationFormatError(f"{p}: no such ground-station file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise StationFormatError(f"{p}: cannot read ground-station file ({exc})") from None
        label = source = str(p)

    header = None
    names, lats, lons, alts = [], [], [], []
    seen = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{label}:{lineno}"
        row = next(csv.reader([line]))
        if header is None:
            header = [cell.strip().lower() for cell in row]
            missing = [col for col in _REQUIRED if col not in header]
            if missing:
                raise StationFormatError(f"{where}: header lacks column(s) {', '.join(missing)} "
                                         f"(expected name,latitude_deg,longitude_deg[,altitude_m])")
            continue
        if len(row) != len(header):
            raise StationFormatError(f"{where}: {len(row)} fields, header has {len(header)}")
        cells = dict(zip(header, row))
        name = cells["name"].strip()
        if not name:
            raise StationFormatError(f"{where}: empty station name")
        if name in seen:
            raise StationFormatError(f"{where}: duplicate station name {name!r} (first on line {seen[name]})")
        seen[name] = lineno
        names.append(name)
        lats.append(_number(cells["latitude_deg"], "latitude_deg", where, -90.0, 90.0))
        lons.append(_number(cells["longitude_deg"], "longitude_deg", where, -180.0, 360.0 - 1e-9))
        alt = cells.get("altitude_m", "").strip()
        alts.append(_number(alt, "altitude_m", where, -500.0, 9000.0) if alt else 0.0)
    if header is None or not names:
        raise StationFormatError(f"{label}: no stations (expected a header name,latitude_deg,longitude_deg"
                                 "[,altitude_m] and one row per station)")
    return GroundStations(np.array(names), np.array(lats), np.array(lons), np.array(alts), source=source)
