"""``bench/dask_cluster.py``: its loopback Dask cluster runs a sweep whose file equals the local run's, then stops."""

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[1]
EXCERPT = ROOT / "tests" / "data" / "starlink_excerpt_2026-01-31.txt"

pytest.importorskip("distributed")
bench = load_script(ROOT / "bench" / "dask_cluster.py", "bench_dask_cluster")


def _alive(pid: int) -> bool:
    """Whether a process runs (the bench waits for its cluster's processes, so stopped ones are gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cluster_run_equals_local_run_and_the_cluster_stops(tmp_path, monkeypatch):
    args = ["--tle", str(EXCERPT), "--duration-s", "20", "--step-s", "10", "--samples", "200",
            "--experts-per-sat", "8", "--chunk-steps", "2"]
    pids = []
    started = bench.LoopbackCluster.__enter__

    def remember(self):
        out = started(self)
        pids.extend(p.pid for p in self.processes)
        return out

    monkeypatch.setattr(bench.LoopbackCluster, "__enter__", remember)
    result = bench.compare(args, 2, tmp_path)
    assert result["identical"]
    # The chunk tasks (3 steps in chunks of 2) ran on the cluster's workers, not in the sweep's process.
    assert result["tasks"] == 2 and result["compute_s"] > 0
    assert len(pids) == 3 and not any(_alive(pid) for pid in pids)
    with xr.open_dataset(tmp_path / "cluster.nc") as ds:
        assert ds.sizes["time"] == 3 and ds.sizes["policy"] == 3
        changed = ds.load().copy(deep=True)
    # The comparison can fail: one changed value makes the files differ.
    name = next(v for v in changed.data_vars
                if changed[v].dtype.kind == "f" and np.isfinite(changed[v].values).any())
    values = changed[name].values
    values[np.isfinite(values)] += 1.0
    changed.to_netcdf(tmp_path / "changed.nc")
    assert not bench.identical(tmp_path / "local.nc", tmp_path / "changed.nc")


def test_absent_snapshot_exits_with_a_message(tmp_path, capsys):
    assert bench.main(["--tle", str(tmp_path / "none.txt")]) == 2
    assert "none.txt is absent" in capsys.readouterr().err
