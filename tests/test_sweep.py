"""Sweeps: dataset contract, values against an independent one-instant computation, resume, Dask."""

import json

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import latency
from spacexnet.cli import main
from spacexnet.exceptions import OutputError, SpaceXNetError
from spacexnet.scenario import build_constellation, model_setup, snapshot
from spacexnet.sweep import SweepOptions, sweep

WALKER = dict(walker="53:360/18/1", altitude_km=550)
MODEL = "llama-moe-3.5b-2of8"


@pytest.fixture(scope="module")
def setup():
    return model_setup(MODEL, seed=2)


@pytest.fixture(scope="module")
def constellation():
    return build_constellation(**WALKER)


def _opts(**kw):
    base = dict(duration_s=240, step_s=30, n_samples=300, chunk_steps=3)
    base.update(kw)
    return SweepOptions(**base)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, constellation, setup):
    path = tmp_path_factory.mktemp("sweep") / "ref.nc"
    sweep(constellation, setup, _opts(), path)
    with xr.open_dataset(path) as ds:
        return ds.load()


def _strip(ds):
    ds = ds.copy()
    ds.attrs.pop("history", None)
    return ds


def test_dataset_contract(reference):
    ds = reference
    assert ds.attrs["Conventions"].startswith("CF-")
    assert list(ds["policy"].values) == ["static", "recompute", "handover"]
    assert ds["token_latency_expected_ms"].dims == ("policy", "time")
    assert ds["token_latency_p99_ms"].dims == ("policy", "time")
    assert ds["gate_sat"].dims == ("policy", "time", "layer")
    assert ds["expert_sat"].dims == ("policy", "time", "layer", "expert")
    assert ds["migrations"].dims == ("policy", "time")
    assert ds.sizes["time"] == 9 and ds.sizes["layer"] == 32 and ds.sizes["expert"] == 8
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs or "flag_masks" in var.attrs, name
    for key in ("model", "hardware_profile", "link_profile", "seed", "element_set_epochs", "policies", "software"):
        assert key in ds.attrs, key
    # Static never moves; recompute re-places; every step reachable on a healthy shell.
    static = ds.sel(policy="static")
    assert int(static["migrations"].sum()) == 0
    assert (static["gate_sat"] == static["gate_sat"].isel(time=0)).all()
    assert bool(ds["reachable"].all())
    assert bool((ds["token_latency_p99_ms"] >= ds["token_latency_p50_ms"]).all())


def test_static_latency_equals_independent_snapshot(reference, constellation, setup):
    """The sweep's numbers for the static placement equal a fresh one-instant computation."""
    ds = reference.sel(policy="static")
    gates = ds["gate_sat"].isel(time=0).values
    experts = ds["expert_sat"].isel(time=0).values
    for i in (0, 4, 8):
        snap = snapshot(constellation, ds["time"].values[i], setup)
        exact = latency.token_latency(snap.graph, gates, experts, setup.probs, setup.times)
        assert ds["token_latency_expected_ms"].values[i] == pytest.approx(exact.expected_ms, rel=1e-12)
        np.testing.assert_allclose(ds["layer_latency_expected_ms"].values[i], exact.layer_ms, rtol=1e-12)
        assert ds["token_latency_expected_independent_ms"].values[i] == pytest.approx(exact.expected_independent_ms,
                                                                                      rel=1e-12)
    # The paper's approximation leaves a layer idle now and then, so it never exceeds the exactly-k value.
    assert bool((reference["token_latency_expected_independent_ms"]
                 <= reference["token_latency_expected_ms"] * (1 + 1e-12)).all())


def test_resume_after_interrupt_gives_the_same_file(tmp_path, constellation, setup, reference):
    path = tmp_path / "r.nc"

    def interrupt(done, total):
        if done == 5:  # inside the second chunk of three steps
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(constellation, setup, _opts(), path, progress=interrupt)
    assert not path.exists()  # nothing under the final name
    parts = tmp_path / ".r.nc.parts"
    assert (parts / "part-000000.nc").exists() and not (parts / "part-000001.nc").exists()
    seen = []
    sweep(constellation, setup, _opts(), path, resume=True, progress=lambda d, t: seen.append(d))
    assert seen[0] == 3  # resumed after the first chunk
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(_strip(back.load()), _strip(reference))
    assert not parts.exists()


def test_resume_state_is_plain_json_and_a_damaged_one_is_refused_in_one_line(tmp_path, constellation, setup):
    path = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        sweep(constellation, setup, _opts(), path,
              progress=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt) if d == 4 else None)
    state_file = tmp_path / ".r.nc.parts" / "state-000000.json"
    state = json.loads(state_file.read_text())
    assert state["steps_done"] == 3 and set(state["policies"]) == {"static", "recompute", "handover"}
    assert len(state["policies"]["static"]["serving"]["gate_sat"]) == setup.n_layers
    state_file.write_text(json.dumps({**state, "policies": {}}))
    with pytest.raises(SpaceXNetError, match=r"state-000000.json: not a sweep state .*rerun without --resume"):
        sweep(constellation, setup, _opts(), path, resume=True)


def test_resume_refuses_other_options(tmp_path, constellation, setup):
    path = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        sweep(constellation, setup, _opts(), path,
              progress=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt) if d == 4 else None)
    with pytest.raises(SpaceXNetError, match="other options"):
        sweep(constellation, setup, _opts(step_s=20), path, resume=True)


def test_dask_local_cluster_equals_local_run(tmp_path, constellation, setup, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        path = sweep(constellation, setup, _opts(), tmp_path / "d.nc", scheduler=client)
    with xr.open_dataset(path) as ds:
        xr.testing.assert_identical(_strip(ds.load()), _strip(reference))


def test_refuses_existing_output(tmp_path, constellation, setup):
    path = tmp_path / "x.nc"
    path.write_text("keep me")
    with pytest.raises(OutputError, match="--overwrite"):
        sweep(constellation, setup, _opts(), path)
    assert path.read_text() == "keep me"


def test_bad_options(constellation, setup, tmp_path):
    with pytest.raises(SpaceXNetError, match="unknown policy"):
        sweep(constellation, setup, _opts(policies=("static", "teleport")), tmp_path / "y.nc")


def test_cli_sweep_summary_and_errors(tmp_path):
    runner = CliRunner()
    out = tmp_path / "c.nc"
    args = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", MODEL, "--duration-s", "60",
            "--step-s", "30", "--samples", "100", "--out", str(out)]
    res = runner.invoke(main, args + ["-q"])
    assert res.exit_code == 0, res.output
    assert "mean expected ms" in res.output and "handover" in res.output
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 3
    res = runner.invoke(main, args + ["-q"])
    assert res.exit_code == 1 and "--overwrite" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, args + ["--overwrite", "--policy", "static,nope", "-q"])
    assert res.exit_code == 2 and "unknown policy" in res.output


def test_a_plain_rerun_says_it_discards_the_parts(tmp_path, constellation, setup):
    from spacexnet.sweep import SweepWarning

    path = tmp_path / "p.nc"
    with pytest.raises(KeyboardInterrupt, match=r"1 of 3 chunks are saved in .*\.p\.nc\.parts; .* --resume"):
        sweep(constellation, setup, _opts(), path,
              progress=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt) if d == 4 else None)
    args = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", MODEL, "--seed", "2",
            "--duration-s", "240", "--step-s", "30", "--samples", "300", "--chunk-steps", "3", "--out", str(path), "-q"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines() == [f"spacexnet: warning: starting over: discarding the 1 finished chunk(s) an "
                                       f"interrupted sweep left in {tmp_path / '.p.nc.parts'} (--resume continues "
                                       "such a sweep instead)"]
    with pytest.raises(KeyboardInterrupt):
        sweep(constellation, setup, _opts(), tmp_path / "q.nc",
              progress=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt) if d == 4 else None)
    with pytest.warns(SweepWarning, match="discarding the 1 finished chunk"):
        sweep(constellation, setup, _opts(), tmp_path / "q.nc")


def test_on_chunk_gives_each_saved_chunk_in_time_order(tmp_path, constellation, setup, reference):
    chunks = []
    sweep(constellation, setup, _opts(), tmp_path / "c.nc", on_chunk=lambda ds, moves: chunks.append(ds.load()))
    assert [c.sizes["time"] for c in chunks] == [3, 3, 3]  # 9 steps of 30 s in chunks of 3
    for name in ("token_latency_expected_ms", "token_latency_p99_ms", "migrations", "bytes_moved"):
        joined = xr.concat([c[name] for c in chunks], dim="time")
        assert np.array_equal(joined.values, reference[name].values, equal_nan=True), name


def test_on_chunk_lists_each_migration_that_the_dataset_counts(tmp_path, constellation, setup, reference):
    # A low price makes handover move too; each policy's moves are the ones its record counted.
    got = {}
    opts = _opts(migration_price=0.0, min_gain_ratio=0.0)
    path = sweep(constellation, setup, opts, tmp_path / "m.nc",
                 on_chunk=lambda ds, moves: [got.setdefault(p, []).extend(m) for p, m in moves.items()])
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    assert sum(len(m) for m in got["recompute"]) > 0 and sum(len(m) for m in got["handover"]) > 0
    for p, policy in enumerate(ds["policy"].values):
        steps = got[str(policy)]
        assert len(steps) == ds.sizes["time"]
        for i, moves in enumerate(steps):
            assert len(moves) == ds["migrations"].values[p, i]
            assert sum(m.forced for m in moves) == ds["forced_migrations"].values[p, i]
            assert sum(m.transfer_s for m in moves) == pytest.approx(ds["migration_time_s"].values[p, i])
            for m in moves:
                assert m.from_sat != m.to_sat and m.charged_ms == 0.0  # price 0: nothing charged
                if policy == "recompute":  # serves what it adopts at once: from the last step's, to this step's
                    before = ds["gate_sat" if m.kind == "gate" else "expert_sat"].values[p, i - 1, m.layer]
                    now = ds["gate_sat" if m.kind == "gate" else "expert_sat"].values[p, i, m.layer]
                    if m.kind == "expert":
                        before, now = before[m.expert], now[m.expert]
                    assert (m.from_sat, m.to_sat) == (before, now)
