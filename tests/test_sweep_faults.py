"""Faults inside a sweep: a satellite that decays, user outage lists, a part of the network cut off.

The sweep goes on, marks the affected steps, never serves from a satellite
that is down, and the policies move what sat there (forced migrations).
"""

import warnings

import numpy as np
import pytest
import xarray as xr

import orbits
from placement.policies import FLAG_FORCED
from spacexnet.compare import place
from spacexnet.faults import load_faults
from spacexnet.scenario import model_setup, snapshot
from spacexnet.sweep import SweepOptions, sweep

MODEL = "llama-moe-3.5b-2of8"
START = "2026-01-02T16:00:00Z"  # 40 h after the Walker epoch


@pytest.fixture(scope="module")
def setup():
    return model_setup(MODEL, seed=1)


def _with_drag(index):
    """The 53:360/18/1 shell with satellite ``index`` given the largest BSTAR a TLE can hold: it decays ~45 h in."""
    lines = orbits.to_tle(orbits.walker("53:360/18/1", 550)).splitlines()
    l1 = lines[1 + 3 * index]
    l1 = l1[:53] + " 99999-0" + l1[61:68]
    lines[1 + 3 * index] = l1 + str(orbits.tle_checksum(l1))
    return orbits.parse_tle_text("\n".join(lines) + "\n", source=f"walker with sat {index} decaying")


def _hosts(snap, setup):
    pl = place(snap, setup)
    return set(pl.gate_sat.tolist()) | set(pl.expert_sat.ravel().tolist()), pl


def _serving(ds, policy, i):
    sel = ds.sel(policy=policy).isel(time=i)
    return set(sel["gate_sat"].values.tolist()) | set(sel["expert_sat"].values.ravel().tolist())


@pytest.fixture(scope="module")
def decay_run(setup, tmp_path_factory):
    index = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        constellation = _with_drag(index)
        path = tmp_path_factory.mktemp("decay") / "decay.nc"
        sweep(constellation, setup, SweepOptions(start=START, duration_s=6 * 3600, step_s=1800, n_samples=200,
                                                 chunk_steps=4), path)
    with xr.open_dataset(path) as ds:
        return index, constellation, ds.load()


def test_decaying_satellite_is_dropped_and_the_sweep_goes_on(decay_run):
    """SGP4 says the satellite decays mid-sweep; from then on nothing is served from it or routed through it.

    (Forced moves off a failed host are exercised by the outage-list test below: a satellite this low
    has already left its slot, so the placement does not use it.)
    """
    index, constellation, ds = decay_run
    with pytest.warns(orbits.PropagationWarning, match="decayed"):
        state = orbits.propagate(constellation, ds["time"].values)
    status = state["sgp4_status"].values[:, index]
    gone = (status != 0) | ~(state["altitude_km"].values[:, index] >= 100.0)
    assert not gone[0] and gone[-1] and status[-1] != 0, "the scenario must start healthy and end decayed"
    first = int(np.argmax(gone))
    assert ds.sizes["time"] == 13  # the sweep ran to the end
    # Low and off its slot, it has already lost its links; once decayed it can never count as usable.
    assert np.all(ds["satellites_usable"].values[first:] <= 359)
    for policy in ds["policy"].values:
        for i in range(first, ds.sizes["time"]):
            assert index not in _serving(ds, policy, i), (policy, i)
    assert bool(ds["reachable"].all())  # the rest of the shell still carries the model


def test_user_outages_of_satellites_and_links(setup, tmp_path):
    constellation = orbits.walker("53:360/18/1", 550)
    start = np.datetime64("2026-01-01T00:00:00", "ns")
    hosts, pl = _hosts(snapshot(constellation, start, setup), setup)
    gate = int(pl.gate_sat[0])
    sats = tmp_path / "sats.csv"
    sats.write_text("norad_id,start,end\n"
                    f"{constellation.norad_id[gate]},2026-01-01T00:01:00Z,2026-01-01T00:03:00Z\n")
    # Cut every candidate link of one satellite of plane 9 for the whole run.
    victim = int(np.flatnonzero(constellation.plane == 9)[0])
    topo = orbits.isl_topology(constellation, orbits.propagate(constellation, start[None]))
    touching = np.flatnonzero((topo.sat_a == victim) | (topo.sat_b == victim))
    rows = [f"{constellation.norad_id[topo.sat_a[i]]},{constellation.norad_id[topo.sat_b[i]]},"
            "2026-01-01T00:00:00Z," for i in touching]
    links = tmp_path / "links.csv"
    links.write_text("norad_id_a,norad_id_b,start,end\n" + "\n".join(rows) + "\n")
    faults = load_faults(sats, links, constellation=constellation)
    path = sweep(constellation, setup, SweepOptions(start=start, duration_s=240, step_s=60, n_samples=200),
                 tmp_path / "f.nc", faults=faults)
    with xr.open_dataset(path) as ds:
        assert "norad_id" in ds.attrs["faults"] or ds.attrs["faults"] != "none"
        # Links: the victim's links are down at every step, so it is cut off and unusable.
        gate_links = int(((topo.sat_a == gate) | (topo.sat_b == gate)).sum())
        expected = len(topo) - touching.size - np.array([0, gate_links, gate_links, 0, 0])  # a down satellite's links are down
        assert ds["links_up"].values.tolist() == expected.tolist()
        assert np.all(ds["satellites_usable"].values <= 359)
        for policy in ds["policy"].values:
            for i in range(ds.sizes["time"]):
                assert victim not in _serving(ds, policy, i)
        # The failed gate satellite: down at steps 1 and 2 ([00:01, 00:03)), free again at step 3.
        static = ds.sel(policy="static")
        assert gate in _serving(ds, "static", 0)
        assert gate not in _serving(ds, "static", 1) and gate not in _serving(ds, "static", 2)
        assert int(static["forced_migrations"].values[1]) >= 1
        assert ds["satellites_usable"].values[1] == ds["satellites_usable"].values[0] - 1


def test_cut_off_region_keeps_the_sweep_going(setup, tmp_path):
    """Every link of two whole planes down: the constellation splits; the sweep marks it and goes on."""
    constellation = orbits.walker("53:360/18/1", 550)
    start = np.datetime64("2026-01-01T00:00:00", "ns")
    topo = orbits.isl_topology(constellation, orbits.propagate(constellation, start[None]))
    planes = constellation.plane
    cut = np.flatnonzero(topo.inter_plane & (((planes[topo.sat_a] == 0) & (planes[topo.sat_b] == 1))
                                             | ((planes[topo.sat_a] == 1) & (planes[topo.sat_b] == 0))
                                             | ((planes[topo.sat_a] == 9) & (planes[topo.sat_b] == 10))
                                             | ((planes[topo.sat_a] == 10) & (planes[topo.sat_b] == 9))))
    rows = [f"{constellation.norad_id[topo.sat_a[i]]},{constellation.norad_id[topo.sat_b[i]]},"
            "2026-01-01T00:01:00Z," for i in cut]
    links = tmp_path / "links.csv"
    links.write_text("norad_id_a,norad_id_b,start,end\n" + "\n".join(rows) + "\n")
    faults = load_faults(link_path=links, constellation=constellation)
    path = sweep(constellation, setup, SweepOptions(start=start, duration_s=180, step_s=60, n_samples=200),
                 tmp_path / "cut.nc", faults=faults)
    with xr.open_dataset(path) as ds:
        usable = ds["satellites_usable"].values
        assert usable[0] == 360
        # Two halves of 9 planes × 20: the sweep keeps the larger (first found on a tie) and goes on.
        assert np.all(usable[1:] == 180)
        assert ds.sizes["time"] == 4
        static = ds.sel(policy="static")
        # Half the model sat on the other half: it moves (or, without room, the step is flagged).
        moved = int(static["forced_migrations"].values[1])
        flagged = bool(static["policy_flags"].values[1] & 4)
        assert moved > 0 or flagged


def test_cli_fault_files(tmp_path):
    from click.testing import CliRunner

    from spacexnet.cli import main

    good = tmp_path / "sats.csv"
    good.write_text("norad_id,start,end\n80001,2026-01-01T00:00:30Z,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("norad_id,start,end\n80001,yesterday,\n")
    base = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", MODEL, "--duration-s", "60",
            "--step-s", "30", "--samples", "100", "-q"]
    res = CliRunner().invoke(main, base + ["--fail-sats", str(good), "--out", str(tmp_path / "ok.nc")])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(tmp_path / "ok.nc") as ds:
        assert "sats.csv" in ds.attrs["faults"]
        assert ds["satellites_usable"].values.tolist() == [360, 359, 359]
    res = CliRunner().invoke(main, base + ["--fail-sats", str(bad), "--out", str(tmp_path / "bad.nc")])
    assert res.exit_code == 1 and f"{bad}:2" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "bad.nc").exists()
