"""Candidate inter-satellite link topologies: +Grid and k-nearest-visible.

A topology is a fixed list of satellite pairs (the candidate links) chosen
once, at the first timestep; :func:`orbits.links.isl_links` then tells, for
every timestep, how long each link is and whether it is up. Fixing the list
keeps the ``link`` dimension of the output constant over a sweep, the way a
real terminal keeps its partners.

+Grid (each satellite has two intra-plane and two inter-plane neighbours):

- intra-plane: consecutive slots of a plane, closing the ring (last slot to
  the first);
- inter-plane: between adjacent planes of a shell, each satellite to the
  nearest satellite of the next plane at the first timestep. With the same
  number of satellites in both planes (Walker shells) the pairing is the
  cyclic slot shift with the smallest summed distance, which is the "same
  slot, shifted by the Walker phasing" rule, including across the wrap from
  the last plane to the first of a Walker-delta shell, where the phasing
  adds up to one more slot. Otherwise (real, irregular planes) pairs are
  matched nearest-first, each satellite at most once per adjacent plane, and
  a pair is kept only if it is within 1.5× the nearest distance of one of
  its ends.
- Walker-star shells have no link across the seam between the last and the
  first plane (those planes counter-rotate). Observed shells (real TLEs)
  order planes by their right ascension of the ascending node at the first
  timestep and link neighbours in that order, wrapping around unless the
  RAAN gap is more than three times the median gap (a shell that covers only
  part of the equator).

Nearest visible: each satellite proposes links to its ``k`` nearest
satellites that it sees at the first timestep (line of sight clears the
Earth plus margin, within the terminal range); the candidate list is the
union, so a satellite may end up with more than ``k`` links.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from . import _kernels
from .exceptions import OrbitsError

__all__ = ["Topology", "plus_grid", "nearest_visible", "raan_deg", "TOPOLOGIES"]

#: Names accepted by :func:`orbits.links.isl_links` ``topology=``.
TOPOLOGIES = ("plus-grid", "nearest")

#: Link kinds, stored as the ``kind`` coordinate of the link dimension.
INTRA, INTER = "intra", "inter"

# An observed shell's planes wrap around unless the RAAN gap exceeds this many median gaps.
_MAX_GAP_FACTOR = 3.0
# Irregular planes: a nearest-first pair is kept only within this factor of an end's nearest distance.
_MATCH_SLACK = 1.5


@dataclass(frozen=True)
class Topology:
    """Candidate links: pairs of satellite indices and whether each is inter-plane.

    Parameters
    ----------
    name : str
        ``"plus-grid"`` or ``"nearest"``.
    sat_a, sat_b : ndarray of int64, shape (l,)
        Satellite indices (into the constellation), ``sat_a < sat_b`` is not required.
    inter_plane : ndarray of bool, shape (l,)
        True for inter-plane links (subject to the latitude cut-off).
    notes : tuple of str
        What was left out and why (satellites without structure, seams, gaps).
    """

    name: str
    sat_a: np.ndarray
    sat_b: np.ndarray
    inter_plane: np.ndarray
    notes: tuple = field(default=())

    def __len__(self) -> int:
        return int(self.sat_a.shape[0])

    @property
    def kind(self) -> np.ndarray:
        """``"intra"`` or ``"inter"`` per link."""
        return np.where(self.inter_plane, INTER, INTRA)

    def degree(self, n_sat: int) -> np.ndarray:
        """Number of candidate links of each satellite, shape (n_sat,)."""
        return np.bincount(np.concatenate([self.sat_a, self.sat_b]), minlength=n_sat)


def raan_deg(position_km, velocity_km_s) -> np.ndarray:
    """Right ascension of the ascending node from inertial (TEME) state vectors, degrees in [0, 360).

    The node lies along ``z × h`` with ``h = r × v``, so RAAN = atan2(h_x, −h_y)
    (Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., RV2COE).

    Examples
    --------
    >>> raan_deg([[7000.0, 0, 0], [0, 7000.0, 0]], [[0, 0, 7.5], [0, 0, 7.5]]).tolist()  # polar, northbound
    [0.0, 90.0]
    """
    h = np.cross(np.asarray(position_km, dtype=np.float64), np.asarray(velocity_km_s, dtype=np.float64))
    return np.degrees(np.arctan2(h[..., 0], -h[..., 1])) % 360.0


def _circular_mean_deg(angles_deg) -> float:
    a = np.radians(angles_deg[np.isfinite(angles_deg)])
    if a.size == 0:
        return math.nan
    return math.degrees(math.atan2(np.sin(a).mean(), np.cos(a).mean())) % 360.0


def _pair_distances_km(position_km, a_idx, b_idx):
    d = position_km[a_idx][:, None, :] - position_km[b_idx][None, :, :]
    dist = np.sqrt((d**2).sum(axis=-1))
    return np.where(np.isfinite(dist), dist, np.inf)  # a satellite without a position is never nearest


def _match_planes(position_km, a_idx, b_idx):
    """Pairs (a, b) between two adjacent planes, each in slot order."""
    dist = _pair_distances_km(position_km, a_idx, b_idx)
    n_a, n_b = dist.shape
    if n_a == n_b:
        rows = np.arange(n_a)
        shifts = [(rows + k) % n_b for k in range(n_b)]
        finite = [dist[rows, cols][np.isfinite(dist[rows, cols])] for cols in shifts]
        cost = [f.sum() / max(len(f), 1) if len(f) else np.inf for f in finite]
        best = int(np.argmin(cost))
        if np.isfinite(cost[best]):
            return a_idx, b_idx[shifts[best]]
        return a_idx[:0], b_idx[:0]
    # Irregular planes: nearest-first matching, each satellite used at most once.
    nearest_a = dist.min(axis=1)
    nearest_b = dist.min(axis=0)
    order = np.argsort(dist, axis=None, kind="stable")
    used_a = np.zeros(n_a, bool)
    used_b = np.zeros(n_b, bool)
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), n_b)
        d = dist[i, j]
        if not np.isfinite(d):
            break
        if used_a[i] or used_b[j]:
            continue
        if d > _MATCH_SLACK * min(nearest_a[i], nearest_b[j]):
            continue
        used_a[i] = used_b[j] = True
        pairs.append((i, j))
    if not pairs:
        return a_idx[:0], b_idx[:0]
    i, j = np.array(pairs).T
    return a_idx[i], b_idx[j]


def plus_grid(constellation, position_km, raan_deg_at_start=None) -> Topology:
    """+Grid candidate links from the shell/plane/slot labels of a constellation.

    Parameters
    ----------
    constellation : Constellation
        With ``shell``, ``plane`` and ``slot`` labels (Walker shells have them;
        real TLEs get them from :func:`orbits.shells.find_shells`). Satellites
        labelled ``-1`` get no +Grid link (reported in ``notes``).
    position_km : array_like, shape (n, 3)
        Positions at the first timestep in any Earth-centred frame, km
        (NaN for satellites without a valid SGP4 state).
    raan_deg_at_start : array_like, shape (n,), optional
        RAAN of each satellite at the first timestep, degrees; orders the
        planes of observed shells (see :func:`raan_deg`). When absent, the
        element-set RAAN is used.

    Returns
    -------
    Topology

    Raises
    ------
    OrbitsError
        When no satellite has a plane and a slot.

    Examples
    --------
    >>> import numpy as np
    >>> from orbits.walker import walker
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> r_km = np.array([s.sgp4(s.jdsatepoch, s.jdsatepochF)[1] for s in c.satrecs])
    >>> t = plus_grid(c, r_km)
    >>> len(t), int((t.kind == "inter").sum()), set(t.degree(len(c)).tolist())
    (3168, 1584, {4})
    """
    position_km = np.asarray(position_km, dtype=np.float64)
    n = len(constellation)
    if position_km.shape != (n, 3):
        raise OrbitsError(f"position_km has shape {position_km.shape}, expected ({n}, 3)")
    shell, plane, slot = constellation.shell, constellation.plane, constellation.slot
    labelled = (plane >= 0) & (slot >= 0)
    if not labelled.any():
        raise OrbitsError(
            "+Grid needs orbital planes and slots, and no satellite has them (no shell with planes "
            "was found among these element sets); use topology='nearest'")
    notes = []
    if not labelled.all():
        notes.append(f"{int((~labelled).sum())} satellite(s) without plane/slot have no +Grid links")
    if raan_deg_at_start is None:
        raan_deg_at_start = np.degrees([s.nodeo for s in constellation.satrecs]) % 360.0
    raan = np.asarray(raan_deg_at_start, dtype=np.float64)

    a_parts, b_parts, inter_parts = [], [], []

    def add(a, b, inter):
        a_parts.append(np.asarray(a, np.int64))
        b_parts.append(np.asarray(b, np.int64))
        inter_parts.append(np.full(len(a), inter, bool))

    for sh in np.unique(shell[labelled]):
        in_shell = labelled & (shell == sh)
        info = constellation.shells[sh] if 0 <= sh < len(constellation.shells) else None
        kind = info.kind if info is not None else "observed"
        members = {}
        for p in np.unique(plane[in_shell]):
            idx = np.flatnonzero(in_shell & (plane == p))
            members[int(p)] = idx[np.argsort(slot[idx], kind="stable")]
        # Intra-plane ring.
        for idx in members.values():
            if len(idx) == 2:
                add(idx[:1], idx[1:], False)
            elif len(idx) > 2:
                add(idx, np.roll(idx, -1), False)
        # Plane order: by index for Walker shells (RAAN grows with it), by RAAN when observed.
        keys = list(members)
        if kind == "observed":
            plane_raan = np.array([_circular_mean_deg(raan[members[p]]) for p in keys])
            keys = [keys[i] for i in np.argsort(plane_raan, kind="stable")]
            gaps = (np.diff(np.sort(plane_raan), append=np.sort(plane_raan)[0] + 360.0)
                    if len(keys) > 1 else np.array([]))
        else:
            keys.sort()
        neighbours = list(zip(keys[:-1], keys[1:]))
        if len(keys) > 2:
            if kind == "star":
                notes.append(f"shell {sh}: Walker-star seam between planes {keys[-1]} and {keys[0]} has no links")
            elif kind == "observed" and gaps[-1] > _MAX_GAP_FACTOR * np.median(gaps):
                notes.append(f"shell {sh}: no wrap-around links, the RAAN gap {gaps[-1]:.1f}° between "
                             f"planes {keys[-1]} and {keys[0]} exceeds {_MAX_GAP_FACTOR:g}× the median gap")
            else:
                neighbours.append((keys[-1], keys[0]))
        for k, (p, q) in enumerate(neighbours):
            if kind == "observed" and k < len(keys) - 1 and gaps[k] > _MAX_GAP_FACTOR * np.median(gaps):
                notes.append(f"shell {sh}: no links between planes {p} and {q} (RAAN gap {gaps[k]:.1f}°)")
                continue
            a, b = _match_planes(position_km, members[p], members[q])
            add(a, b, True)

    sat_a = np.concatenate(a_parts) if a_parts else np.zeros(0, np.int64)
    sat_b = np.concatenate(b_parts) if b_parts else np.zeros(0, np.int64)
    inter = np.concatenate(inter_parts) if inter_parts else np.zeros(0, bool)
    return Topology("plus-grid", sat_a, sat_b, inter, tuple(notes))


def nearest_visible(constellation, position_km, k=4, clear_radius_km=None, max_range_km=math.inf) -> Topology:
    """Links from each satellite to its ``k`` nearest satellites in line of sight at the first timestep.

    Parameters
    ----------
    constellation : Constellation
        Labels decide the link kind: same shell and plane (both known) is
        intra-plane, anything else inter-plane.
    position_km : array_like, shape (n, 3)
        Positions at the first timestep, Earth-centred, km (NaN: no links).
    k : int
        Links proposed per satellite (≥ 1).
    clear_radius_km : float
        Radius the line of sight must clear (Earth radius + margin), km.
    max_range_km : float
        Terminal range, km.

    Returns
    -------
    Topology
        The union of the proposals, each unordered pair once.

    Examples
    --------
    >>> import numpy as np
    >>> from orbits.walker import walker
    >>> c = walker("53:1584/72/1", altitude_km=550)
    >>> r_km = np.array([s.sgp4(s.jdsatepoch, s.jdsatepochF)[1] for s in c.satrecs])
    >>> t = nearest_visible(c, r_km, k=4, clear_radius_km=6458.137, max_range_km=5016.0)
    >>> int(t.degree(len(c)).min()) >= 4
    True
    """
    position_km = np.asarray(position_km, dtype=np.float64)
    n = len(constellation)
    if position_km.shape != (n, 3):
        raise OrbitsError(f"position_km has shape {position_km.shape}, expected ({n}, 3)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OrbitsError(f"k={k!r}: the number of nearest links per satellite must be an integer ≥ 1")
    if clear_radius_km is None:
        raise OrbitsError("nearest_visible needs clear_radius_km (Earth radius + margin, km)")
    valid = np.flatnonzero(np.all(np.isfinite(position_km), axis=1))
    notes = []
    if len(valid) < n:
        notes.append(f"{n - len(valid)} satellite(s) without a position at the first timestep have no links")
    if len(valid) < 2:
        empty = np.zeros(0, np.int64)
        return Topology("nearest", empty, empty, np.zeros(0, bool), tuple(notes))
    tree = cKDTree(position_km[valid])
    upper = max_range_km if math.isfinite(max_range_km) else np.inf
    m = min(len(valid), 4 * k + 1)
    while True:
        dist, nbr = tree.query(position_km[valid], k=m, distance_upper_bound=upper)
        dist, nbr = dist[:, 1:], nbr[:, 1:]  # column 0 is the satellite itself
        found = np.isfinite(dist)
        a = np.repeat(valid, m - 1).reshape(len(valid), m - 1)
        b = np.where(found, valid[np.minimum(nbr, len(valid) - 1)], -1)
        clearance_km = np.zeros(found.shape)
        if found.any():
            out = np.empty(int(found.sum()))
            _kernels.segment_clearance_km(position_km[a[found]], position_km[b[found]], out)
            clearance_km[found] = out
        visible = found & (clearance_km > clear_radius_km)
        rank = np.cumsum(visible, axis=1)
        accept = visible & (rank <= k)
        short = (rank[:, -1] < k) & found[:, -1]  # may have more visible candidates further out
        if not short.any() or m >= len(valid):
            break
        m = min(len(valid), 2 * m)
    pairs = np.sort(np.stack([a[accept], b[accept]], axis=1), axis=1)
    pairs = np.unique(pairs, axis=0)
    sat_a, sat_b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    shell, plane = constellation.shell, constellation.plane
    intra = (plane[sat_a] >= 0) & (plane[sat_a] == plane[sat_b]) & (shell[sat_a] == shell[sat_b])
    few = int(((np.bincount(np.concatenate([sat_a, sat_b]), minlength=n) < k)[valid]).sum())
    if few:
        notes.append(f"{few} satellite(s) see fewer than k={k} others at the first timestep")
    return Topology("nearest", sat_a, sat_b, ~intra, tuple(notes))
