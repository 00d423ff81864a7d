"""Candidate ISL topologies: +Grid on Walker-delta, Walker-star and observed shells; k-nearest-visible."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbits import _kernels
from orbits.constants import EARTH_RADIUS_KM
from orbits.constellation import Constellation, ShellInfo
from orbits.exceptions import OrbitsError
from orbits.topology import nearest_visible, plus_grid, raan_deg
from orbits.walker import walker

clear_radius_km = EARTH_RADIUS_KM + 80.0


def _state_at_epoch(c):
    """TEME position and velocity of every satellite at its element-set epoch, km and km/s."""
    rv = [s.sgp4(s.jdsatepoch, s.jdsatepochF)[1:] for s in c.satrecs]
    return np.array([r for r, _ in rv]), np.array([v for _, v in rv])


def _pairs(topo):
    return {tuple(sorted(p)) for p in zip(topo.sat_a.tolist(), topo.sat_b.tolist())}


@pytest.fixture(scope="module")
def shell1():
    c = walker("53:1584/72/1", altitude_km=550)
    return c, *_state_at_epoch(c)


def test_plus_grid_walker_delta_counts_and_degree(shell1):
    c, r_km, _ = shell1
    topo = plus_grid(c, r_km)
    assert len(topo) == 3168 and int(topo.inter_plane.sum()) == 1584
    assert np.all(topo.degree(len(c)) == 4)
    assert len(_pairs(topo)) == 3168  # no duplicate link
    assert topo.notes == ()


def test_plus_grid_walker_delta_neighbours_follow_the_phasing(shell1):
    """Intra: next slot. Inter: next plane, same slot; across the wrap 71 → 0 one slot further.

    Walker 53:1584/72/1: slot s of plane p sits at u = 360°·s/22 + 360°·p/1584, so plane 71's
    slot s leads plane 0's slot s by 71 × 0.227° = 16.1° ≈ one slot spacing (16.4°).
    """
    c, r_km, _ = shell1
    topo = plus_grid(c, r_km)
    pa, pb = c.plane[topo.sat_a], c.plane[topo.sat_b]
    sa, sb = c.slot[topo.sat_a], c.slot[topo.sat_b]
    intra = ~topo.inter_plane
    assert np.all(pa[intra] == pb[intra]) and np.all((sb[intra] - sa[intra]) % 22 == 1)
    inter = topo.inter_plane
    assert np.all((pb[inter] - pa[inter]) % 72 == 1)
    wrap = inter & (pa == 71)
    assert wrap.sum() == 22 and np.all((sb[wrap] - sa[wrap]) % 22 == 1)
    assert np.all(sb[inter & ~wrap] == sa[inter & ~wrap])
    # and each inter-plane partner is the nearest satellite of that plane
    for a, b in zip(topo.sat_a[inter], topo.sat_b[inter]):
        others = np.flatnonzero(c.plane == c.plane[b])
        assert b == others[np.argmin(np.linalg.norm(r_km[others] - r_km[a], axis=1))]


@pytest.mark.parametrize("phasing", [0, 5, 11])
def test_plus_grid_wrap_keeps_the_relative_phase(phasing):
    """Every inter-plane pair, the wrap 11 → 0 included, has the same relative argument of latitude.

    Plane p+1 is 30° further in RAAN (the wrap too: 0° − 330°), so the same geometry repeats;
    across the wrap the phasing adds F slots, which plain slot labels would miss.
    """
    c = walker(f"53:240/12/{phasing}", altitude_km=550)
    r_km, _ = _state_at_epoch(c)
    topo = plus_grid(c, r_km)
    inter = topo.inter_plane
    mean_anomaly_deg = np.degrees([s.mo for s in c.satrecs])  # = argument of latitude (circular, ω = 0)
    du = (mean_anomaly_deg[topo.sat_b[inter]] - mean_anomaly_deg[topo.sat_a[inter]]) % 360.0
    assert np.ptp((du - du[0] + 180.0) % 360.0 - 180.0) < 1e-3
    wrap = c.plane[topo.sat_a[inter]] == 11
    assert wrap.sum() == 20 and np.all(c.plane[topo.sat_b[inter][wrap]] == 0)
    assert np.all(topo.degree(len(c)) == 4)


def test_plus_grid_walker_star_has_no_seam():
    c = walker("86.4:66/6/2", altitude_km=780, star=True)
    r_km, _ = _state_at_epoch(c)
    topo = plus_grid(c, r_km)
    pa, pb = c.plane[topo.sat_a], c.plane[topo.sat_b]
    inter = topo.inter_plane
    assert len(topo) == 66 + 5 * 11
    assert not np.any(inter & (((pa == 5) & (pb == 0)) | ((pa == 0) & (pb == 5))))
    degree = topo.degree(len(c))
    assert np.all(degree[(c.plane == 0) | (c.plane == 5)] == 3)
    assert np.all(degree[(c.plane > 0) & (c.plane < 5)] == 4)
    assert any("seam" in note for note in topo.notes)


def _as_observed(c, rng, drop=()):
    """Shuffle the order and relabel the planes at random, as structure found in real TLEs would be."""
    order = rng.permutation(len(c))
    order = order[~np.isin(order, drop)]
    relabel = rng.permutation(int(c.plane.max()) + 1)
    info = c.shells[0]
    observed = ShellInfo(info.inclination_deg, info.altitude_km, info.planes, info.sats_per_plane, None,
                         "observed")
    return Constellation(
        satrecs=[c.satrecs[i] for i in order], norad_id=c.norad_id[order], name=c.name[order],
        shell=c.shell[order], plane=relabel[c.plane[order]], slot=c.slot[order], shells=(observed,),
    ), order


def test_plus_grid_observed_shell_orders_planes_by_raan(shell1):
    """Relabelled planes in shuffled order give the same links as the Walker labels."""
    c, r_km, v_km_s = shell1
    want = {tuple(sorted(p)) for p in zip(c.norad_id[plus_grid(c, r_km).sat_a].tolist(),
                                          c.norad_id[plus_grid(c, r_km).sat_b].tolist())}
    obs, order = _as_observed(c, np.random.default_rng(1))
    topo = plus_grid(obs, r_km[order], raan_deg(r_km[order], v_km_s[order]))
    got = {tuple(sorted(p)) for p in zip(obs.norad_id[topo.sat_a].tolist(), obs.norad_id[topo.sat_b].tolist())}
    assert got == want


def test_plus_grid_observed_irregular_planes(shell1):
    """With satellites missing, each satellite still has at most one partner per adjacent plane."""
    c, r_km, v_km_s = shell1
    missing = np.flatnonzero((c.plane % 7 == 3) & (c.slot % 5 == 0))
    obs, order = _as_observed(c, np.random.default_rng(2), drop=missing)
    r, v = r_km[order], v_km_s[order]
    topo = plus_grid(obs, r, raan_deg(r, v))
    inter = topo.inter_plane
    d_km = np.linalg.norm(r[topo.sat_a] - r[topo.sat_b], axis=1)
    assert d_km[inter].max() < 1000.0       # adjacent-plane partners, no long leftovers
    # at most one partner in each adjacent plane
    partners = {}
    for a, b in zip(topo.sat_a[inter], topo.sat_b[inter]):
        for x, y in ((a, b), (b, a)):
            key = (int(x), int(obs.plane[y]))
            assert key not in partners, key
            partners[key] = y
    assert np.all(topo.degree(len(obs)) <= 4)
    assert int(inter.sum()) >= len(obs) - 2 * len(missing)


def test_plus_grid_needs_structure(shell1):
    c, r_km, _ = shell1
    bare = Constellation(c.satrecs, c.norad_id, c.name)
    with pytest.raises(OrbitsError, match="nearest"):
        plus_grid(bare, r_km)
    partial = Constellation(c.satrecs, c.norad_id, c.name, c.shell, np.where(c.plane == 0, -1, c.plane), c.slot,
                            c.shells)
    topo = plus_grid(partial, r_km)
    assert np.all(topo.degree(len(c))[c.plane == 0] == 0)
    assert any("22 satellite(s) without plane/slot" in note for note in topo.notes)


def _brute_force_nearest(r_km, k, max_range_km):
    n = len(r_km)
    pairs = set()
    for i in range(n):
        d = np.linalg.norm(r_km - r_km[i], axis=1)
        picked = 0
        for j in np.argsort(d, kind="stable"):
            if j == i or d[j] > max_range_km:
                continue
            out = np.empty(1)
            _kernels.segment_clearance_km(r_km[i:i + 1], r_km[j:j + 1], out)
            if out[0] > clear_radius_km:
                pairs.add((min(i, j), max(i, j)))
                picked += 1
                if picked == k:
                    break
    return pairs


@pytest.mark.parametrize("k", [1, 3, 6])
def test_nearest_visible_equals_brute_force(k):
    c = walker("70:120/10/3", altitude_km=600)
    r_km, _ = _state_at_epoch(c)
    topo = nearest_visible(c, r_km, k=k, clear_radius_km=clear_radius_km, max_range_km=5016.0)
    assert _pairs(topo) == _brute_force_nearest(r_km, k, 5016.0)
    assert np.all(topo.degree(len(c)) >= k)
    same_plane = c.plane[topo.sat_a] == c.plane[topo.sat_b]
    np.testing.assert_array_equal(topo.inter_plane, ~same_plane)


def test_nearest_visible_respects_visibility_and_missing_positions():
    """Sparse satellites far apart: fewer than k visible, no link through the Earth."""
    c = walker("53:12/3/1", altitude_km=550)
    r_km, _ = _state_at_epoch(c)
    r_km[0] = np.nan
    topo = nearest_visible(c, r_km, k=4, clear_radius_km=clear_radius_km)
    assert 0 not in set(topo.sat_a) | set(topo.sat_b)
    out = np.empty(len(topo))
    _kernels.segment_clearance_km(r_km[topo.sat_a], r_km[topo.sat_b], out)
    assert np.all(out > clear_radius_km)
    assert any("without a position" in note for note in topo.notes)
    assert any("fewer than k=4" in note for note in topo.notes)
    with pytest.raises(OrbitsError, match="k=0"):
        nearest_visible(c, r_km, k=0, clear_radius_km=clear_radius_km)


def test_raan_of_walker_planes(shell1):
    """RAAN from state vectors at epoch equals the element-set RAAN (360°·p/72)."""
    c, r_km, v_km_s = shell1
    got = raan_deg(r_km, v_km_s)
    want = np.degrees([s.nodeo for s in c.satrecs])
    diff = (got - want + 180.0) % 360.0 - 180.0
    # SGP4's short-period J2 terms move the osculating node by a few hundredths of a degree.
    assert np.abs(diff).max() < 0.1
    assert math.isclose(float(np.median(got[c.plane == 1])), 5.0, abs_tol=0.1)
