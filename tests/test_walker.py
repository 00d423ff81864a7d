"""Walker shells, presets and combine: geometry checked by propagating with SGP4 itself."""

import json
from datetime import datetime, timedelta, timezone
from importlib.resources import files

import numpy as np
import pytest
from sgp4.api import Satrec

from orbits import ConstellationError, combine, parse_tle_text, preset, preset_names, to_tle, walker
from orbits.constants import EARTH_RADIUS_KM

one_millimetre_km = 1e-6
#: Angles measured on osculating SGP4 states carry J2 short-period terms of
#: amplitude about 1.5·J2·(R/a)² ≈ 1.3e-3 rad ≈ 0.07° (Brouwer 1959), which
#: depend on the argument of latitude (as sin 2u), so two satellites at
#: different arguments of latitude differ by up to twice that.
angle_tol_deg = 0.15


def osculating_raan_u_deg(sat, jd, fr):
    """RAAN and argument of latitude (degrees) from the SGP4 state at (jd, fr)."""
    err, r, v = sat.sgp4(jd, fr)
    assert err == 0
    r, v = np.array(r), np.array(v)
    h = np.cross(r, v)
    node = np.cross([0.0, 0.0, 1.0], h)
    raan = np.degrees(np.arctan2(node[1], node[0])) % 360.0
    cos_u = np.dot(node, r) / (np.linalg.norm(node) * np.linalg.norm(r))
    u = np.degrees(np.arccos(np.clip(cos_u, -1, 1)))
    if r[2] < 0:
        u = 360.0 - u
    return raan, u


def wrap180(x):
    return (np.asarray(x) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("spec, altitude_km, star", [
    ("53:1584/72/1", 550, False),
    ("86.4:66/6/2", 780, True),
    ("60:40/8/3", 1000, False),
    ("97.6:120/10/7", 560, True),
])
def test_walker_phasing_and_raan_spacing_at_epoch(spec, altitude_km, star):
    c = walker(spec, altitude_km=altitude_km, star=star)
    info = c.shells[0]
    T, P, F, S = len(c), info.planes, info.phasing, info.sats_per_plane
    sat0 = c.satrecs[0]
    jd, fr = sat0.jdsatepoch, sat0.jdsatepochF
    raan = np.empty(T)
    u = np.empty(T)
    for k, sat in enumerate(c.satrecs):
        raan[k], u[k] = osculating_raan_u_deg(sat, jd, fr)
    index = {(int(p), int(s)): k for k, (p, s) in enumerate(zip(c.plane, c.slot))}
    span = 180.0 if star else 360.0
    for p in range(P - 1):
        for s in range(S):
            a, b = index[(p, s)], index[(p + 1, s)]
            assert abs(wrap180(raan[b] - raan[a] - span / P)) < angle_tol_deg
            # Same slot, adjacent planes: argument of latitude offset 360°·F/T.
            assert abs(wrap180(u[b] - u[a] - 360.0 * F / T)) < angle_tol_deg
    for p in range(P):
        for s in range(S - 1):
            a, b = index[(p, s)], index[(p, s + 1)]
            assert abs(wrap180(u[b] - u[a] - 360.0 / S)) < angle_tol_deg
    assert abs(wrap180(raan[index[(0, 0)]])) < angle_tol_deg


def test_walker_altitude_is_mean_over_an_orbit():
    # a = R_WGS84 + h is the Kepler mean motion given to SGP4 as its mean
    # motion: the orbit-averaged radius sits within a few km of it (J2).
    c = walker("53:22/1/0", altitude_km=550)
    sat = c.satrecs[0]
    period_min = 2 * np.pi / sat.no_kozai
    radii = []
    for t_min in np.linspace(0, period_min, 200, endpoint=False):
        err, r, _ = sat.sgp4_tsince(t_min)
        assert err == 0
        radii.append(np.linalg.norm(r))
    mean_altitude_km = np.mean(radii) - EARTH_RADIUS_KM
    assert abs(mean_altitude_km - 550.0) < 15.0
    assert np.ptp(radii) < 40.0  # circular up to J2 oscillations


def test_walker_labels_names_and_catalogue_numbers():
    c = walker("53:1584/72/1", 550)
    assert len(c) == 1584 and c.has_structure
    assert c.norad_id[0] == 80000 and c.norad_id[-1] == 80000 + 1583
    assert len(set(c.norad_id.tolist())) == 1584 and c.norad_id.max() <= 99999
    assert c.name[3 * 22 + 11] == "WALKER-S0-P03-S11"
    assert c.plane[3 * 22 + 11] == 3 and c.slot[3 * 22 + 11] == 11
    info = c.shells[0]
    assert (info.kind, info.planes, info.sats_per_plane, info.phasing) == ("delta", 72, 22, 1)
    second = walker("70:720/36/1", 570, shell=1)
    assert second.norad_id[0] == 85000 and second.name[0] == "WALKER-S1-P00-S00"
    assert walker("53:10/2/0", 550, first_norad_id=123).norad_id.tolist() == list(range(123, 133))


def test_walker_epoch_default_iso_and_aware():
    default = walker("53:4/2/0", 550)
    assert default.epochs[0] == np.datetime64("2026-01-01T00:00:00")
    utc_iso = walker("53:4/2/0", 550, epoch="2026-03-01T12:00:00Z")
    offset_iso = walker("53:4/2/0", 550, epoch="2026-03-01T14:00:00+02:00")
    aware = walker("53:4/2/0", 550, epoch=datetime(2026, 3, 1, 12, tzinfo=timezone.utc))
    npdt = walker("53:4/2/0", 550, epoch=np.datetime64("2026-03-01T12:00"))
    for c in (utc_iso, offset_iso, aware, npdt):
        assert abs(c.epochs[0] - np.datetime64("2026-03-01T12:00:00")) < np.timedelta64(1, "ms")
    with pytest.raises(ConstellationError, match="naive datetime.*tzinfo=timezone.utc"):
        walker("53:4/2/0", 550, epoch=datetime(2026, 1, 1))
    with pytest.raises(ConstellationError, match="not an ISO 8601"):
        walker("53:4/2/0", 550, epoch="yesterday")
    # A string without a zone is refused like a naive datetime, with the fix.
    with pytest.raises(ConstellationError, match="no time zone.*write 2026-03-01T12:00:00Z for UTC"):
        walker("53:4/2/0", 550, epoch="2026-03-01T12:00:00")
    # An aware non-UTC datetime is the same instant.
    tz = timezone(timedelta(hours=-5))
    other = walker("53:4/2/0", 550, epoch=datetime(2026, 3, 1, 7, tzinfo=tz))
    assert abs(other.epochs[0] - np.datetime64("2026-03-01T12:00:00")) < np.timedelta64(1, "ms")


@pytest.mark.parametrize("spec, altitude_km, needle", [
    ("53:1585/72/1", 550, "not divisible by planes P=72"),
    ("53:1584/72/72", 550, "0 ≤ F < P=72"),
    ("190:1584/72/1", 550, "outside \\[0°, 180°\\]"),
    ("-1:1584/72/1", 550, "outside \\[0°, 180°\\]"),
    ("53:1584/72/1", 120, "not above 150 km"),
    ("53:1584/72/1", 550000 / 1e9, "not above 150 km"),
    ("53-1584-72-1", 550, "not of the form 'i:T/P/F'"),
    ((53, 1584.5, 72, 1), 550, "whole number"),
    ((53, 1584, 72), 550, "neither a string"),
])
def test_walker_bad_input_names_value_rule_and_fix(spec, altitude_km, needle):
    with pytest.raises(ConstellationError, match=needle):
        walker(spec, altitude_km)


def test_walker_tuple_spec_equals_string_spec():
    a = walker((53, 1584, 72, 1), 550)
    b = walker("53:1584/72/1", 550)
    assert all(x.nodeo == y.nodeo and x.mo == y.mo and x.no_kozai == y.no_kozai
               for x, y in zip(a.satrecs, b.satrecs))


def test_walker_tle_export_round_trips_to_a_millimetre():
    c = walker("86.4:66/6/2", 780, star=True)
    back = parse_tle_text(to_tle(c), structure=False)
    assert back.norad_id.tolist() == c.norad_id.tolist()
    assert back.name.tolist() == c.name.tolist()
    jd0 = c.satrecs[0].jdsatepoch
    for fr in (0.0, 0.3, 1.7):
        for a, b in zip(c.satrecs, back.satrecs):
            ea, ra, _ = a.sgp4(jd0, fr)
            eb, rb, _ = b.sgp4(jd0, fr)
            assert ea == eb == 0
            assert np.linalg.norm(np.subtract(ra, rb)) < one_millimetre_km


def test_combine_renumbers_shells_and_refuses_duplicate_catalogue_numbers():
    a = walker("53:1584/72/1", 550)
    b = walker("70:720/36/1", 570, shell=1)
    c = combine(a, b)
    assert len(c) == 2304 and len(c.shells) == 2
    assert (c.shell[:1584] == 0).all() and (c.shell[1584:] == 1).all()
    assert c.shells[1].inclination_deg == 70.0
    assert c.plane[1584:].max() == 35
    with pytest.raises(ConstellationError, match="appear more than once.*shell= index or first_norad_id"):
        combine(a, walker("70:720/36/1", 570))


def test_preset_names_default_and_unknown():
    names = preset_names()
    assert {"starlink-shell1", "kuiper-630", "oneweb", "iridium"} <= set(names)
    default = preset()
    assert len(default) == 1584 and default.shells[0].label() == "53.0° 550 km 72×22 delta F=1"
    with pytest.raises(ConstellationError, match="unknown constellation preset 'nope'.*starlink-shell1"):
        preset("nope")


def test_every_preset_matches_its_json_entry_and_cites_a_source():
    catalogue = json.loads(files("spacexnet_data").joinpath("constellations.json").read_text())
    assert catalogue["default"] == "starlink-shell1"
    for name, entry in catalogue["presets"].items():
        assert len(entry["source"]) > 40, name
        c = preset(name)
        assert len(c.shells) == len(entry["shells"])
        assert len(set(c.norad_id.tolist())) == len(c)
        for k, shell in enumerate(entry["shells"]):
            i, rest = shell["walker"].split(":")
            T, P, F = map(int, rest.split("/"))
            info = c.shells[k]
            assert (info.inclination_deg, info.planes, info.phasing) == (float(i), P, F)
            assert info.kind == shell["kind"] and info.altitude_km == shell["altitude_km"]
            assert np.sum(c.shell == k) == T
    assert len(preset("oneweb")) == 588 and preset("oneweb").shells[0].kind == "star"
    assert preset("kuiper-630").shells[0].sats_per_plane == 34


def test_preset_epoch_is_passed_through():
    c = preset("iridium", epoch="2027-06-01T00:00:00Z")
    assert c.epochs[0] == np.datetime64("2027-06-01T00:00:00")


def test_constellations_pickle_by_recipe_bit_identical():
    """Satrec cannot be pickled; constellations travel to other processes as the call that built them."""
    import pickle

    from orbits import preset, propagate, time_grid

    for c in (preset("starlink-shell1"), preset("iridium").subset(np.arange(0, 66, 3))):
        back = pickle.loads(pickle.dumps(c))
        t = time_grid(c.reference_epoch, 3600, 600)
        a, b = propagate(c, t), propagate(back, t)
        assert np.array_equal(a["position_teme_km"].values, b["position_teme_km"].values)
        assert np.array_equal(c.plane, back.plane) and np.array_equal(c.norad_id, back.norad_id)
        assert back.source == c.source


def test_constellation_without_recipe_refuses_to_pickle():
    import pickle

    from orbits import Constellation, preset

    c = preset("iridium")
    raw = Constellation(c.satrecs, c.norad_id, c.name)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(raw)


def test_a_process_rebuilds_each_recipe_once():
    """A sweep sends its constellation with every chunk task: a worker parses it the first time only."""
    import pickle

    from orbits import constellation, preset

    c = preset("iridium")
    parts = [c.subset(np.arange(k, 66, 3)) for k in range(3)]
    first = pickle.loads(pickle.dumps(parts[0]))
    assert pickle.loads(pickle.dumps(parts[0])) is first
    others = [pickle.loads(pickle.dumps(p)) for p in parts[1:]]
    assert all(o is not first and np.array_equal(o.norad_id, p.norad_id) for o, p in zip(others, parts[1:]))
    for k in range(constellation.REPLAYED_KEPT + 1):
        pickle.loads(pickle.dumps(preset("iridium", epoch=f"2027-0{k + 1}-01T00:00:00Z")))
    assert pickle.loads(pickle.dumps(parts[0])) is not first  # rebuilt: the oldest were let go
