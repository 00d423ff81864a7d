"""Shell, plane and slot structure of real element sets.

Real constellations (e.g. Starlink TLEs) carry no plane or slot labels, and
hold satellites that are raising or lowering their orbits, drifting or
decaying. :func:`find_shells` labels what has structure and reports the rest
(plane ``-1``) instead of dropping it.

Method, at one reference epoch (default: the newest element-set epoch):

1. **Mean elements.** Inclination and eccentricity from the element set;
   mean altitude from the mean motion by Kepler's third law (WGS-72 mu,
   minus the WGS-84 equatorial radius — the same convention as
   :func:`orbits.walker.walker`, so a Walker shell at 550 km is found at
   550 km); RAAN moved to the reference epoch with SGP4's own secular rate
   ``satrec.nodedot`` (J2: dΩ/dt = −1.5 n J2 (R/p)² cos i, plus J2², J4
   terms; Vallado et al. 2006, AIAA 2006-6753); mean argument of latitude
   ω + M moved with SGP4's secular rates and the TLE's ṅ/2 drag term.
   Satellites that SGP4 cannot propagate to the reference epoch (decayed)
   fit no shell.
2. **Shells.** Eccentric orbits (e > 0.01) and satellites that SGP4 cannot
   propagate to the reference epoch fit no shell. Greedy density seeding in (inclination, altitude): the
   densest core (satellites within ±``inclination_tol_deg`` and
   ±``core_altitude_km``) seeds a shell if it holds at least
   ``min_shell_size`` satellites; members are all satellites within
   ±``inclination_tol_deg`` and ±``altitude_tol_km`` of the core's median,
   which is the shell's reported inclination and altitude. Repeat on the rest. A diffuse trail of satellites changing altitude has
   no dense core, so it seeds nothing.
3. **Planes.** Per shell, RAANs are clustered on the circle: a gap wider
   than ``plane_gap_deg`` separates planes. Clusters smaller than
   ``min_plane_size`` are not planes.
4. **Slots.** Per plane, slot = rank by argument of latitude in [0°, 360°).

Defaults come from the 2026-01 Starlink snapshot: mean inclinations of one
shell agree within 0.03° while distinct shells differ by ≥ 0.07° (53.05°,
53.15°, 53.22°); mean altitudes of one shell spread ≤ 5 km; within a plane
mean RAANs spread < 1° while adjacent planes are ≥ 2.3° apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sgp4.api import SGP4_ERRORS

from .constants import EARTH_RADIUS_KM, MU_WGS72_KM3_S2
from .constellation import Constellation, ShellInfo, recorded
from .exceptions import ConstellationError

__all__ = ["find_shells", "analyze_shells", "ShellReport", "unassigned", "mean_elements"]


def mean_elements(constellation, reference_jd=None) -> dict:
    """Mean elements of every satellite at one epoch, as float64 arrays of shape (n,).

    Parameters
    ----------
    constellation : Constellation
    reference_jd : float, optional
        UTC Julian date of the common epoch; default the newest element-set
        epoch.

    Returns
    -------
    dict
        ``inclination_deg``, ``eccentricity``, ``altitude_km`` (Kepler
        from the mean motion, above the WGS-84 equatorial radius),
        ``raan_deg`` (at the reference epoch, secular rate),
        ``arg_latitude_deg`` (mean, at the reference epoch), ``sgp4_error``
        (SGP4 error code at the reference epoch, 0 = fine) and
        ``reference_jd``.

    Examples
    --------
    >>> from orbits.walker import walker
    >>> m = mean_elements(walker("53:1584/72/1", 550))
    >>> round(float(m["altitude_km"][0]), 3), float(m["raan_deg"][22])
    (550.0, 5.0)
    """
    satrecs = constellation.satrecs
    inclo = np.array([s.inclo for s in satrecs])
    nodeo = np.array([s.nodeo for s in satrecs])
    nodedot = np.array([s.nodedot for s in satrecs])  # rad/min, SGP4 secular rate
    no_kozai = np.array([s.no_kozai for s in satrecs])  # rad/min
    ecco = np.array([s.ecco for s in satrecs])
    epoch_jd = constellation.epoch_jd
    if reference_jd is None:
        reference_jd = float(epoch_jd.max())
    dt_min = (reference_jd - epoch_jd) * 1440.0

    n_rad_s = no_kozai / 60.0
    with np.errstate(divide="ignore"):
        a_km = np.cbrt(MU_WGS72_KM3_S2 / n_rad_s**2)
    raan_rad = np.mod(nodeo + nodedot * dt_min, 2 * np.pi)

    # Mean argument of latitude, moved with SGP4's secular rates plus the
    # TLE's first mean-motion derivative (satrec.ndot is ṅ/2, rad/min², so
    # M(t) = M0 + n·t + (ṅ/2)·t²): drag shifts a low satellite along track by
    # up to a degree over the days a snapshot spans.
    argpo = np.array([s.argpo for s in satrecs])
    mo = np.array([s.mo for s in satrecs])
    argpdot = np.array([s.argpdot for s in satrecs])
    mdot = np.array([s.mdot for s in satrecs])
    ndot_half = np.array([s.ndot for s in satrecs])
    u_deg = np.mod(np.degrees(argpo + mo + (argpdot + mdot) * dt_min + ndot_half * dt_min**2), 360.0)
    # SGP4 at the reference epoch tells which satellites it cannot propagate.
    whole = np.floor(reference_jd - 0.5) + 0.5
    err, _, _ = constellation.satrec_array.sgp4(np.array([whole]), np.array([reference_jd - whole]))
    err = err[:, 0]
    return {
        "inclination_deg": np.degrees(inclo),
        "eccentricity": ecco,
        "altitude_km": a_km - EARTH_RADIUS_KM,
        "raan_deg": np.degrees(raan_rad),
        "arg_latitude_deg": u_deg,
        "sgp4_error": err.astype(np.int64),
        "reference_jd": reference_jd,
    }


@dataclass(frozen=True, eq=False)
class ShellReport:
    """What :func:`analyze_shells` found.

    Attributes
    ----------
    constellation : Constellation
        The input satellites, all kept, with shell, plane and slot labels
        (``-1`` where none fits) and one observed :class:`ShellInfo` per shell.
    elements : dict
        The mean elements used (see :func:`mean_elements`).
    plane_sizes : tuple of numpy.ndarray
        Per shell, satellites per plane (plane order).
    reasons : dict
        Satellite index → why it has no plane (``"altitude 350 km ..."``).
    """

    constellation: Constellation
    elements: dict
    plane_sizes: tuple
    reasons: dict

    @property
    def unassigned(self) -> np.ndarray:
        """Indices of satellites without a plane."""
        return np.flatnonzero(self.constellation.plane < 0)

    def unassigned_messages(self) -> list[str]:
        """One line per satellite without a plane: ``NAME (catalogue N): reason``."""
        c = self.constellation
        return [f"{c.name[k]} (catalogue {int(c.norad_id[k])}): {self.reasons[k]}" for k in self.unassigned]

    def summary(self) -> str:
        """A plain-text table of shells, planes and unassigned satellites."""
        c = self.constellation
        lines = [f"{len(c)} satellites, {len(c.shells)} shells, reference epoch "
                 f"{np.datetime64(_jd_to_datetime64(self.elements['reference_jd']), 's')} UTC"]
        for k, info in enumerate(c.shells):
            sizes = self.plane_sizes[k]
            members = int(np.sum(c.shell == k))
            in_planes = int(np.sum((c.shell == k) & (c.plane >= 0)))
            lines.append(f"  shell {k}: {info.inclination_deg:.2f}° {info.altitude_km:.1f} km, {members} satellites, "
                         f"{info.planes} planes ({in_planes} in planes; per plane min/median/max "
                         f"{sizes.min() if len(sizes) else 0}/{int(np.median(sizes)) if len(sizes) else 0}/"
                         f"{sizes.max() if len(sizes) else 0})")
        lines.append(f"  unassigned: {len(self.unassigned)}")
        return "\n".join(lines)


def _jd_to_datetime64(jd):
    return np.datetime64("1970-01-01T00:00:00", "ns") + np.timedelta64(int(round((jd - 2440587.5) * 86_400e9)), "ns")


def _circular_mean_deg(values_deg):
    rad = np.radians(values_deg)
    return math.degrees(math.atan2(np.mean(np.sin(rad)), np.mean(np.cos(rad)))) % 360.0


def _circular_clusters(angles_deg, gap_deg):
    """Split angles on the circle at gaps wider than ``gap_deg``; return lists of indices."""
    order = np.argsort(angles_deg, kind="stable")
    sorted_deg = angles_deg[order]
    gaps = np.diff(np.concatenate([sorted_deg, sorted_deg[:1] + 360.0]))
    cuts = np.flatnonzero(gaps > gap_deg)  # cluster ends after sorted position cut
    if len(cuts) == 0:
        return [order]
    clusters = []
    for j, end in enumerate(cuts):
        start = cuts[j - 1] + 1
        if start > end:  # the cluster that wraps through 0°/360°
            idx = np.concatenate([np.arange(start, len(order)), np.arange(0, end + 1)])
        else:
            idx = np.arange(start, end + 1)
        clusters.append(order[idx])
    return clusters


def _seed_shells(inc, alt, candidates, inclination_tol_deg, altitude_tol_km, core_altitude_km, min_shell_size):
    """Greedy density seeding; return a list of (members, centre inclination, centre altitude)."""
    remaining = np.array(candidates, dtype=np.int64)
    shells = []
    while len(remaining) >= min_shell_size:
        # Densest core: count neighbours in a box around each point, using a
        # coarse grid to keep it O(n) per round rather than O(n²).
        inc_r, alt_r = inc[remaining], alt[remaining]
        keys_i = np.floor(inc_r / inclination_tol_deg).astype(np.int64)
        keys_a = np.floor(alt_r / core_altitude_km).astype(np.int64)
        cells, inverse, counts = np.unique(np.stack([keys_i, keys_a], axis=1), axis=0,
                                           return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        best = int(np.argmax(counts))
        members = remaining[inverse == best]
        center_inc, center_alt = float(np.median(inc[members])), float(np.median(alt[members]))
        core = remaining[(np.abs(inc_r - center_inc) <= inclination_tol_deg)
                         & (np.abs(alt_r - center_alt) <= core_altitude_km)]
        if len(core) < min_shell_size:
            break
        center_inc, center_alt = float(np.median(inc[core])), float(np.median(alt[core]))
        in_shell = (np.abs(inc_r - center_inc) <= inclination_tol_deg) & (np.abs(alt_r - center_alt) <= altitude_tol_km)
        shells.append((remaining[in_shell], center_inc, center_alt))
        remaining = remaining[~in_shell]
    return shells


def analyze_shells(constellation, *, inclination_tol_deg=0.1, altitude_tol_km=10.0, core_altitude_km=2.5,
                   min_shell_size=None, plane_gap_deg=1.0, min_plane_size=2, max_eccentricity=0.01,
                   min_altitude_km=None, reference_jd=None) -> ShellReport:
    """Find shells, planes and slots, and say why the others fit none.

    Parameters
    ----------
    constellation : Constellation
    inclination_tol_deg : float
        Half-width of a shell in mean inclination, degrees.
    altitude_tol_km : float
        Half-width of a shell in mean altitude, km; farther satellites are
        raising, lowering or decaying.
    core_altitude_km : float
        Half-width in altitude of the dense core that seeds a shell, km.
    min_shell_size : int, optional
        Satellites needed in a core to make a shell. Default: 100, or a
        tenth of the constellation when that is smaller (at least 10). One
        launch batch (≤ ~60 Starlink satellites) passing through an altitude
        on its way up or down is then not taken for a shell.
    plane_gap_deg : float
        A gap in RAAN (at the reference epoch) wider than this separates
        two planes, degrees. Must be below the plane spacing (360°/P for
        Walker-delta).
    min_plane_size : int
        Satellites needed to make a plane; fewer are "off-station".
    max_eccentricity : float
        Shells are circular; more eccentric orbits fit no shell.
    min_altitude_km : float, optional
        Satellites below this mean altitude fit no shell (e.g. 400 to leave
        out batches at their insertion altitude).
    reference_jd : float, optional
        Common epoch (UTC Julian date); default the newest element-set epoch.

    Returns
    -------
    ShellReport

    Examples
    --------
    >>> from orbits.walker import walker
    >>> report = analyze_shells(walker("86.4:66/6/2", 780, star=True))
    >>> report.constellation.shells[0].planes, len(report.unassigned)
    (6, 0)
    """
    if not isinstance(constellation, Constellation):
        raise ConstellationError(f"analyze_shells() takes a Constellation, got {type(constellation).__name__}")
    for what, value in (("inclination_tol_deg", inclination_tol_deg), ("altitude_tol_km", altitude_tol_km),
                        ("core_altitude_km", core_altitude_km), ("plane_gap_deg", plane_gap_deg)):
        if not value > 0:
            raise ConstellationError(f"{what}={value!r} must be > 0")
    if min_shell_size is None:
        min_shell_size = min(100, max(10, len(constellation) // 10))
    if min_shell_size < 1 or min_plane_size < 1:
        raise ConstellationError("min_shell_size and min_plane_size must be ≥ 1")

    el = mean_elements(constellation, reference_jd)
    inc, alt, ecc, raan, u, err = (el["inclination_deg"], el["altitude_km"], el["eccentricity"],
                                   el["raan_deg"], el["arg_latitude_deg"], el["sgp4_error"])
    n = len(constellation)
    reasons = {}
    candidates = []
    for k in range(n):
        if err[k] != 0:
            reasons[k] = (f"SGP4 error {err[k]} at the reference epoch "
                          f"({SGP4_ERRORS.get(int(err[k]), 'unknown')}): decayed or unusable")
        elif ecc[k] > max_eccentricity:
            reasons[k] = f"eccentric orbit (e = {ecc[k]:.4f} > max_eccentricity {max_eccentricity:g})"
        elif min_altitude_km is not None and alt[k] < min_altitude_km:
            reasons[k] = f"altitude {alt[k]:.0f} km below min_altitude_km {min_altitude_km:g}"
        else:
            candidates.append(k)

    groups = _seed_shells(inc, alt, candidates, inclination_tol_deg, altitude_tol_km, core_altitude_km,
                          min_shell_size)
    # Shell order: by inclination, then altitude (deterministic, readable).
    groups.sort(key=lambda g: (round(g[1], 2), g[2]))

    shell = np.full(n, -1, dtype=np.int64)
    plane = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    infos, plane_sizes = [], []
    for k, (members, center_inc, center_alt) in enumerate(groups):
        shell[members] = k
        clusters = _circular_clusters(raan[members], plane_gap_deg)
        planes = [members[c] for c in clusters if len(c) >= min_plane_size]
        centers = [_circular_mean_deg(raan[p]) for p in planes]
        order = np.argsort(centers, kind="stable")
        planes = [planes[j] for j in order]
        centers = [centers[j] for j in order]
        for p, sats in enumerate(planes):
            plane[sats] = p
            slot[sats[np.argsort(u[sats], kind="stable")]] = np.arange(len(sats))
        sizes = np.array([len(p) for p in planes], dtype=np.int64)
        plane_sizes.append(sizes)
        label = f"shell {k} ({center_inc:.2f}° {center_alt:.0f} km)"
        for c in clusters:
            if len(c) >= min_plane_size:
                continue
            for j in members[c]:
                if centers:
                    delta = [abs((raan[j] - x + 180.0) % 360.0 - 180.0) for x in centers]
                    near = int(np.argmin(delta))
                    where = f"nearest plane {near} is {delta[near]:.1f}° away"
                else:
                    where = "the shell has no plane"
                reasons[int(j)] = (f"RAAN {raan[j]:.1f}° fits no plane of {label}; {where} "
                                   "(off-station or drifting)")
        infos.append(ShellInfo(
            inclination_deg=center_inc,
            altitude_km=center_alt,
            planes=len(planes),
            sats_per_plane=int(sizes[0]) if len(sizes) and np.all(sizes == sizes[0]) else 0,
            phasing=None, kind="observed"))

    for k in candidates:
        if shell[k] >= 0:
            continue
        same_inc = [j for j in range(len(infos)) if abs(infos[j].inclination_deg - inc[k]) <= inclination_tol_deg]
        if same_inc:
            j = min(same_inc, key=lambda j: abs(infos[j].altitude_km - alt[k]))
            delta = alt[k] - infos[j].altitude_km
            reasons[k] = (f"mean altitude {alt[k]:.0f} km is {abs(delta):.0f} km {'below' if delta < 0 else 'above'} "
                          f"shell {j} ({infos[j].inclination_deg:.2f}° {infos[j].altitude_km:.0f} km): "
                          "raising, lowering or decaying")
        else:
            reasons[k] = (f"no shell near inclination {inc[k]:.2f}° and altitude {alt[k]:.0f} km "
                          f"(fewer than min_shell_size={min_shell_size} satellites there)")

    labelled = Constellation(
        satrecs=constellation.satrecs, norad_id=constellation.norad_id, name=constellation.name,
        shell=shell, plane=plane, slot=slot, shells=tuple(infos), source=constellation.source,
        skipped=constellation.skipped)
    return ShellReport(constellation=labelled, elements=el, plane_sizes=tuple(plane_sizes), reasons=reasons)


@recorded
def find_shells(constellation, **options) -> Constellation:
    """Label shells, planes and slots of real element sets; keep every satellite.

    Satellites that fit no shell or no plane keep ``plane = slot = -1``
    (and ``shell = -1`` when they fit no shell). For the reasons, use
    :func:`analyze_shells`, which takes the same options and returns a
    :class:`ShellReport`.

    Parameters
    ----------
    constellation : Constellation
    **options
        As in :func:`analyze_shells`.

    Returns
    -------
    Constellation
        Same satellites in the same order, with observed :class:`ShellInfo`.

    Examples
    --------
    >>> from orbits.walker import walker
    >>> c = find_shells(walker("53:1584/72/1", 550))
    >>> c.shells[0].planes, c.shells[0].sats_per_plane, c.shells[0].kind
    (72, 22, 'observed')
    """
    return analyze_shells(constellation, **options).constellation


def unassigned(constellation) -> np.ndarray:
    """Indices of satellites without a plane (``plane == -1``).

    Examples
    --------
    >>> from orbits.walker import walker
    >>> len(unassigned(walker("86.4:66/6/2", 780, star=True)))
    0
    """
    return np.flatnonzero(constellation.plane < 0)
