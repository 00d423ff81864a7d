"""ISL datasets over time: Starlink shell 1 +Grid against closed-form orbit geometry, rules, streaming, NetCDF."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from orbits import _kernels
from orbits.constants import EARTH_RADIUS_KM
from orbits.exceptions import OrbitsError
from orbits.links import ground_links, isl_links, links_from_chunks
from orbits.propagate import iter_propagate, orbital_period_s, propagate
from orbits.timegrid import time_grid
from orbits.walker import walker

SHELL1_ALTITUDE_KM = 550.0
SHELL1_A_KM = EARTH_RADIUS_KM + SHELL1_ALTITUDE_KM
#: SGP4's J2 short-period terms move a 550 km, 53° orbit's radius by about
#: (3/4)·J2·R²/a·sin²i ≈ 3 km; chords between neighbours change by a fraction of that.
sgp4_oscillation_km = 5.0


@pytest.fixture(scope="module")
def shell1():
    c = walker("53:1584/72/1", altitude_km=SHELL1_ALTITUDE_KM)
    # One orbital period at 60 s: every satellite passes both turning latitudes.
    state = propagate(c, time_grid(c.reference_epoch, orbital_period_s(c), 60.0))
    return c, state


@pytest.fixture(scope="module")
def shell1_isl(shell1):
    c, state = shell1
    return isl_links(c, state)


def _circular_position(raan_rad, u_rad, inclination_rad, a_km):
    """Position on a circular orbit: R3(−Ω)·R1(−i)·a[cos u, sin u, 0]."""
    cu, su = np.cos(u_rad), np.sin(u_rad)
    co, so, ci, si = np.cos(raan_rad), np.sin(raan_rad), math.cos(inclination_rad), math.sin(inclination_rad)
    return a_km * np.stack([co * cu - so * su * ci, so * cu + co * su * ci, su * si], axis=-1)


def test_starlink_shell1_plus_grid_count_and_all_up(shell1_isl):
    isl = shell1_isl
    assert isl.sizes["link"] == 3168
    assert int((isl["kind"] == "intra").sum()) == 1584 and int((isl["kind"] == "inter").sum()) == 1584
    assert bool(isl["up"].all())
    degree = np.bincount(np.concatenate([isl["sat_a"].values, isl["sat_b"].values]), minlength=1584)
    assert np.all(degree == 4)


def test_starlink_shell1_intra_plane_length_is_the_chord(shell1_isl):
    """22 satellites per plane: neighbours are 2·a·sin(π/22) ≈ 1,972 km apart on a circular 550 km orbit."""
    chord_km = 2.0 * SHELL1_A_KM * math.sin(math.pi / 22)
    d = shell1_isl["distance_km"].where(shell1_isl["kind"] == "intra", drop=True).values
    assert chord_km == pytest.approx(1971.95, abs=0.01)
    assert np.abs(d - chord_km).max() < sgp4_oscillation_km
    assert abs(d.mean() - chord_km) < 1.0


def test_starlink_shell1_inter_plane_length_follows_latitude(shell1, shell1_isl):
    """Adjacent planes (ΔΩ = 5°, Δu = 360°/1584) are closest at the turning latitudes, farthest at the equator.

    Closed form: the chord between (Ω, u) and (Ω + 5°, u + 0.227°) on circular orbits of radius a
    over one revolution is 391.2 km at u = 90° and 621.3 km at u = 0°.
    """
    _, state = shell1
    isl = shell1_isl
    u = np.radians(np.linspace(0.0, 360.0, 36001))
    chord_km = np.linalg.norm(
        _circular_position(math.radians(5.0), u + 2 * math.pi / 1584, math.radians(53.0), SHELL1_A_KM)
        - _circular_position(0.0, u, math.radians(53.0), SHELL1_A_KM), axis=-1)
    shortest_km, longest_km = chord_km.min(), chord_km.max()
    assert np.degrees(u[chord_km.argmin()]) % 180.0 == pytest.approx(90.0, abs=0.5)  # midpoint of the pair
    inter = isl["kind"].values == "inter"
    d = isl["distance_km"].values[:, inter]
    # 60 s steps sample u every 3.8°; near the extremes the chord is flat to within a few km.
    assert np.abs(d.min(axis=0) - shortest_km).max() < sgp4_oscillation_km
    assert np.abs(d.max(axis=0) - longest_km).max() < sgp4_oscillation_km
    lat = np.abs(state["latitude_deg"].values[:, isl["sat_a"].values[inter]])
    at_shortest = lat[d.argmin(axis=0), np.arange(inter.sum())]
    at_longest = lat[d.argmax(axis=0), np.arange(inter.sum())]
    assert np.all(at_shortest > 45.0) and np.all(at_longest < 8.0)


def test_lengths_equal_positions(shell1, shell1_isl):
    """Each distance is the norm of the difference of the two satellites' positions (TEME and ITRS alike)."""
    _, state = shell1
    a, b = shell1_isl["sat_a"].values, shell1_isl["sat_b"].values
    for var in ("position_itrs_km", "position_teme_km"):
        r = state[var].values
        np.testing.assert_allclose(shell1_isl["distance_km"].values, np.linalg.norm(r[:, a] - r[:, b], axis=-1),
                                   rtol=1e-12)


def test_latitude_cutoff_downs_only_inter_plane_links(shell1):
    c, state = shell1
    isl = isl_links(c, state, latitude_cutoff_deg=45.0)
    lat = np.abs(state["latitude_deg"].values)
    a, b = isl["sat_a"].values, isl["sat_b"].values
    inter = isl["kind"].values == "inter"
    want_down = (lat[:, a] > 45.0) | (lat[:, b] > 45.0)
    np.testing.assert_array_equal(isl["up"].values[:, inter], ~want_down[:, inter])
    assert bool(isl["up"].values[:, ~inter].all())
    assert 0.1 < want_down[:, inter].mean() < 0.6
    assert isl.attrs["isl_latitude_cutoff_deg"] == 45.0


def test_range_and_margin_rules(shell1):
    c, state = shell1
    short = isl_links(c, state, max_range_km=1000.0)
    inter = short["kind"].values == "inter"
    assert not short["up"].values[:, ~inter].any() and short["up"].values[:, inter].all()
    # A margin above the orbit: no line of sight clears it.
    assert not isl_links(c, state, margin_km=600.0)["up"].any()
    # An intra-plane chord (π/11 apart) dips to a·cos(π/22) − R ≈ 479.5 km at its midpoint: margins
    # clearly below keep it up, clearly above take it down (SGP4 moves the radius by ~3 km).
    midpoint_altitude_km = SHELL1_A_KM * math.cos(math.pi / 22) - EARTH_RADIUS_KM
    assert midpoint_altitude_km == pytest.approx(479.5, abs=0.1)
    for margin_km, want in ((midpoint_altitude_km - 15.0, True), (midpoint_altitude_km + 15.0, False)):
        up = isl_links(c, state, margin_km=margin_km, max_range_km=math.inf)["up"].values
        assert np.all(up[:, ~inter] == want), margin_km
        # Inter-plane chords (≤ 622 km) dip at most a − sqrt(a² − 311²) ≈ 7 km: always clear.
        assert up[:, inter].all()


def test_sgp4_failure_takes_links_down(shell1):
    c, state = shell1
    broken = state.copy(deep=True)
    bad_sat, bad_steps = 100, slice(10, 20)
    broken["sgp4_status"][bad_steps, bad_sat] = 6
    broken["position_itrs_km"][bad_steps, bad_sat, :] = np.nan
    isl = isl_links(c, broken)
    touches = (isl["sat_a"].values == bad_sat) | (isl["sat_b"].values == bad_sat)
    assert touches.sum() == 4
    assert not isl["up"].values[bad_steps][:, touches].any()
    assert np.isnan(isl["distance_km"].values[bad_steps][:, touches]).all()
    assert isl["up"].values[:, ~touches].all() and isl["up"].values[:10].all()


def test_nearest_topology_dataset(shell1):
    c, state = shell1
    isl = isl_links(c, state, topology="nearest", k=2)
    assert isl.attrs["isl_topology"] == "nearest" and isl.attrs["isl_k"] == 2
    degree = np.bincount(np.concatenate([isl["sat_a"].values, isl["sat_b"].values]), minlength=len(c))
    assert degree.min() >= 2
    assert bool(isl["up"].isel(time=0).all())   # chosen among visible satellites at the first step
    # In shell 1 the two nearest satellites are in the adjacent planes (~400-620 km), not in-plane (1,972 km).
    assert set(isl["kind"].values.tolist()) == {"inter"}


def test_streaming_equals_whole_state_and_chunking(shell1):
    c, state = shell1
    times = state["time"].values[:25]
    whole = state.isel(time=slice(0, 25))
    isl_stream, gsl_stream = links_from_chunks(c, iter_propagate(c, times, 7), latitude_cutoff_deg=50.0)
    xr.testing.assert_identical(isl_stream, isl_links(c, whole, latitude_cutoff_deg=50.0, chunk_steps=4))
    xr.testing.assert_identical(gsl_stream, ground_links(whole, chunk_steps=3))
    _, none = links_from_chunks(c, iter_propagate(c, times[:2]), ground=False)
    assert none is None


def test_netcdf_round_trip(shell1, tmp_path):
    from spacexnet.io import write_dataset

    c, state = shell1
    isl = isl_links(c, state.isel(time=slice(0, 5)), latitude_cutoff_deg=60.0)
    path = write_dataset(isl, tmp_path / "isl.nc")
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), isl)
        assert back["distance_km"].attrs["units"] == "km"
        for key in ("isl_topology", "isl_margin_km", "isl_max_range_km", "isl_latitude_cutoff_deg"):
            assert key in back.attrs


def test_bad_arguments(shell1):
    c, state = shell1
    with pytest.raises(OrbitsError, match="plus-grid, nearest"):
        isl_links(c, state, topology="ring")
    with pytest.raises(OrbitsError, match="max_range_km"):
        isl_links(c, state, max_range_km=-5.0)
    with pytest.raises(OrbitsError, match="latitude_cutoff_deg"):
        isl_links(c, state, latitude_cutoff_deg=120.0)
    with pytest.raises(OrbitsError, match="latitude_deg"):
        isl_links(c, state.drop_vars("latitude_deg"), latitude_cutoff_deg=50.0)
    with pytest.raises(OrbitsError, match="sgp4_status"):
        isl_links(c, state.drop_vars("sgp4_status"))
    with pytest.raises(OrbitsError, match="66 satellites, the constellation 1584"):
        isl_links(c, propagate(walker("53:66/6/1", altitude_km=550), state["time"].values[:1]))
    with pytest.raises(OrbitsError, match="chunk_steps"):
        isl_links(c, state, chunk_steps=0)


def _snapshot():
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"
    if not path.exists():
        pytest.skip(f"real Starlink TLE snapshot not found at {path}")
    return path


def test_real_tle_nearest_visible_links():
    """Real Starlink TLEs (irregular planes): k-nearest-visible links are up at the first step and valid."""
    from orbits.tle import read_tle

    c = read_tle(_snapshot())
    mean_motion = np.array([s.no_kozai for s in c.satrecs]) * 1440.0 / (2 * math.pi)
    inclination = np.degrees([s.inclo for s in c.satrecs])
    # The operational 53° shell near 550 km: 15.0-15.1 revolutions per day.
    keep = (np.abs(inclination - 53.05) < 0.2) & (mean_motion > 15.0) & (mean_motion < 15.1)
    shell = c.subset(keep)
    state = propagate(shell, time_grid(shell.reference_epoch, 600.0, 300.0))
    isl = isl_links(shell, state, topology="nearest", k=4)
    ok = state["sgp4_status"].values[0] == 0
    degree = np.bincount(np.concatenate([isl["sat_a"].values, isl["sat_b"].values]), minlength=len(shell))
    assert np.all(degree[ok] >= 4)
    assert bool(isl["up"].isel(time=0).all())
    out = np.empty(isl.sizes["link"])
    r = state["position_itrs_km"].values[-1]
    _kernels.segment_clearance_km(r[isl["sat_a"].values], r[isl["sat_b"].values], out)
    up_last = isl["up"].values[-1]
    assert np.all(out[up_last] > EARTH_RADIUS_KM + 80.0)
    assert np.all(isl["distance_km"].values[-1][up_last] <= 5016.0)


def test_real_tle_plus_grid_uses_found_structure():
    """Real Starlink TLEs: +Grid on the shells/planes/slots found by read_tle (find_shells)."""
    from orbits.tle import read_tle

    c = read_tle(_snapshot())
    labelled = (c.plane >= 0) & (c.slot >= 0)
    assert labelled.mean() > 0.8
    state = propagate(c, time_grid(c.reference_epoch, 0.0, 60.0))
    isl = isl_links(c, state)
    a, b = isl["sat_a"].values, isl["sat_b"].values
    degree = np.bincount(np.concatenate([a, b]), minlength=len(c))
    assert np.all(degree[~labelled] == 0) and degree.max() <= 4
    assert np.mean(degree[labelled] == 4) > 0.5
    inter = isl["kind"].values == "inter"
    assert np.all(c.plane[a[~inter]] == c.plane[b[~inter]]) and np.all(c.shell[a] == c.shell[b])
    assert np.all(c.plane[a[inter]] != c.plane[b[inter]])
    # Most candidate links of real, partly irregular planes are usable at the first step.
    assert isl["up"].values.mean() > 0.9
    assert "without plane/slot" in isl.attrs["isl_notes"]
