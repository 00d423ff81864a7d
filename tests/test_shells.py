"""Shell, plane and slot finding: exact on Walker shells, and on the real 2026-01 Starlink snapshot."""

import time
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from orbits import Constellation, analyze_shells, combine, find_shells, read_tle, unassigned, walker

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = DATA / "starlink_tle_snapshot.txt"


def test_walker_delta_structure_is_recovered_exactly():
    c = walker("53:1584/72/1", 550)
    found = find_shells(c)
    assert len(found) == len(c) and len(unassigned(found)) == 0
    info = found.shells[0]
    assert (info.planes, info.sats_per_plane, info.kind) == (72, 22, "observed")
    assert abs(info.altitude_km - 550.0) < 0.5 and abs(info.inclination_deg - 53.0) < 1e-3
    # F=1: the phase offset between planes (0.23°) is below the slot spacing, so ranks equal slots.
    assert (found.plane == c.plane).all() and (found.slot == c.slot).all()


def test_walker_star_planes_recovered_and_slots_a_cyclic_shift():
    c = walker("86.4:66/6/2", 780, star=True)
    found = find_shells(c)
    assert (found.plane == c.plane).all()
    for p in range(6):
        walker_slots = c.slot[c.plane == p]
        found_slots = found.slot[found.plane == p]
        shift = (found_slots - walker_slots) % 11
        assert len(set(shift.tolist())) == 1  # same order around the orbit, other starting slot


def test_two_shells_and_misfits_are_labelled_not_dropped():
    low = walker("53:1584/72/1", 550)
    high = walker("70:720/36/1", 570, shell=1)
    epoch_days = low.satrecs[0].jdsatepoch + low.satrecs[0].jdsatepochF - 2433281.5
    n_550 = low.satrecs[0].no_kozai

    def extra(satnum, altitude_factor=1.0, raan_deg=0.0, ecc=0.0):
        sat = Satrec()
        sat.sgp4init(WGS72, "i", satnum, epoch_days, 0.0, 0.0, 0.0, ecc, 0.0, np.radians(53.0), 0.0,
                     n_550 * altitude_factor, np.radians(raan_deg))
        return Constellation(satrecs=(sat,), norad_id=[satnum], name=[f"EXTRA-{satnum}"])

    raising = extra(90001, altitude_factor=1.05)     # ~ 230 km lower
    off_plane = extra(90002, raan_deg=2.5)           # halfway between planes 0 and 1
    eccentric = extra(90003, ecc=0.05)
    c = combine(low, high, raising, off_plane, eccentric)
    report = analyze_shells(c)
    found = report.constellation
    assert len(found) == len(c)
    assert [(round(s.inclination_deg), s.planes) for s in found.shells] == [(53, 72), (70, 36)]
    assert found.shells[0].sats_per_plane == 22 and found.shells[1].sats_per_plane == 20
    missing = unassigned(found).tolist()
    assert missing == [len(c) - 3, len(c) - 2, len(c) - 1]
    assert found.shell[len(c) - 3] == -1 and "below shell 0" in report.reasons[len(c) - 3]
    assert found.shell[len(c) - 2] == 0 and "fits no plane of shell 0" in report.reasons[len(c) - 2]
    assert "eccentric orbit" in report.reasons[len(c) - 1]
    assert "EXTRA-90002" in "\n".join(report.unassigned_messages())
    assert "2 shells" in report.summary()


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="plane_gap_deg=0 must be > 0"):
        find_shells(walker("53:4/2/0", 550), plane_gap_deg=0)


@pytest.fixture(scope="module")
def starlink_report():
    if not SNAPSHOT.exists():
        pytest.skip(f"Starlink snapshot not found at {SNAPSHOT}")
    c = read_tle(SNAPSHOT, structure=False)
    start = time.perf_counter()
    report = analyze_shells(c)
    elapsed_s = time.perf_counter() - start
    return c, report, elapsed_s


def shell_near(report, inclination_deg, altitude_km):
    shells = report.constellation.shells
    k = min(range(len(shells)), key=lambda j: abs(shells[j].inclination_deg - inclination_deg) * 100
            + abs(shells[j].altitude_km - altitude_km))
    info = shells[k]
    assert abs(info.inclination_deg - inclination_deg) < 0.1 and abs(info.altitude_km - altitude_km) < 5, info
    return k, info


def plane_centres_deg(report, k):
    c, el = report.constellation, report.elements
    centres = []
    for p in range(c.shells[k].planes):
        rad = np.radians(el["raan_deg"][(c.shell == k) & (c.plane == p)])
        centres.append(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())) % 360)
    return np.array(centres)


def test_starlink_snapshot_keeps_every_satellite_fast(starlink_report):
    c, report, elapsed_s = starlink_report
    found = report.constellation
    assert len(found) == len(c) == 9489
    assert (found.norad_id == c.norad_id).all()
    assert elapsed_s < 3.0
    missing = unassigned(found)
    assert set(report.reasons) == set(missing.tolist())
    # Every labelled plane has slots 0..n-1.
    for k in range(len(found.shells)):
        for p in range(found.shells[k].planes):
            slots = np.sort(found.slot[(found.shell == k) & (found.plane == p)])
            assert (slots == np.arange(len(slots))).all()


# (inclination, mean altitude, at least this many satellites): the major groups of
# shared/data/README.md, split by inclination where two shells share an altitude band.
MAJOR_SHELLS = [
    (43.0, 483, 1500), (43.0, 559, 1200),
    (53.16, 475, 2000), (53.22, 540, 1300), (53.05, 547, 250),
    (70.0, 572, 600), (97.6, 549.5, 300),
]


@pytest.mark.parametrize("inclination_deg, altitude_km, at_least", MAJOR_SHELLS)
def test_starlink_major_shells_found(starlink_report, inclination_deg, altitude_km, at_least):
    _, report, _ = starlink_report
    k, info = shell_near(report, inclination_deg, altitude_km)
    members = report.constellation.shell == k
    assert members.sum() >= at_least
    # Members are tight in mean altitude and inclination (they are one shell).
    el = report.elements
    assert np.ptp(el["altitude_km"][members]) <= 20.0
    assert np.ptp(el["inclination_deg"][members]) <= 0.2


def test_starlink_gen1_shell2_has_its_72_planes_5_degrees_apart(starlink_report):
    # FCC SAT-MOD-20200417-00037: 53.2°, 540 km, 72 planes of 22.
    _, report, _ = starlink_report
    k, info = shell_near(report, 53.22, 540)
    assert info.planes == 72
    centres = np.sort(plane_centres_deg(report, k))
    spacing = np.diff(np.concatenate([centres, centres[:1] + 360]))
    assert np.all(np.abs(spacing - 5.0) < 0.5)


def test_starlink_70_degree_shell_planes_on_a_10_degree_grid(starlink_report):
    # 70°, 570 km: 36 planes of 20 nominal; empty planes show as 20° gaps.
    _, report, _ = starlink_report
    k, info = shell_near(report, 70.0, 572)
    assert 28 <= info.planes <= 36
    centres = np.sort(plane_centres_deg(report, k))
    spacing = np.diff(np.concatenate([centres, centres[:1] + 360]))
    steps = np.round(spacing / 10.0)
    assert np.all(steps >= 1) and np.all(np.abs(spacing - 10.0 * steps) < 0.6)
    assert steps.sum() == 36


def test_starlink_unassigned_are_off_shell_altitudes(starlink_report):
    _, report, _ = starlink_report
    found = report.constellation
    el = report.elements
    candidates = (found.shell < 0) & (el["eccentricity"] <= 0.01) & (el["sgp4_error"] == 0)
    assert candidates.sum() > 0
    # A circular, propagating satellite outside every shell lies beyond
    # altitude_tol_km (10 km) of each shell within inclination_tol_deg (0.1°):
    # it is raising, lowering or decaying, and its reason says so.
    for k in np.flatnonzero(candidates):
        for info in found.shells:
            if abs(el["inclination_deg"][k] - info.inclination_deg) <= 0.1:
                assert abs(el["altitude_km"][k] - info.altitude_km) > 10.0
        assert "raising, lowering or decaying" in report.reasons[k] or "no shell near" in report.reasons[k]
    assert (found.shell < 0).sum() < 0.15 * len(found)
