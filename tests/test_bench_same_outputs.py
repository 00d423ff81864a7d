"""bench/same_outputs.py and bench/against_commit.py compare sweep files by values: they must see a change."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def same_outputs():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))  # the script imports its sibling against_commit.py
    try:
        return load_script(ROOT / "bench" / "same_outputs.py", "bench_same_outputs")
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_values_compare_equal_across_provenance_and_differ_on_one_value(same_outputs, tmp_path):
    ds = xr.Dataset({"token_latency_expected_ms": (("policy", "time"), np.arange(6.0).reshape(2, 3))},
                    attrs={"history": "spacexnet sweep --out a.nc"})
    ds.to_netcdf(tmp_path / "a.nc")
    ds.assign_attrs(history="spacexnet sweep --workers 3 --out b.nc").to_netcdf(tmp_path / "b.nc")
    changed = ds.copy(deep=True)
    changed["token_latency_expected_ms"][1, 2] += 1e-9
    changed.to_netcdf(tmp_path / "c.nc")
    assert same_outputs._same_values(tmp_path / "a.nc", tmp_path / "b.nc")
    assert not same_outputs._same_values(tmp_path / "a.nc", tmp_path / "c.nc")


def test_bad_worker_counts_are_refused(same_outputs, capsys):
    for bad in ("1,x", "0", ","):
        with pytest.raises(SystemExit) as exc:
            same_outputs.main(["HEAD", "--workers", bad])
        assert exc.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_the_earlier_tree_is_that_commit_and_is_removed(same_outputs, tmp_path):
    import subprocess

    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    with same_outputs.earlier_tree("HEAD", tmp_path) as tree:
        found = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert found.stdout == head.stdout and (tree / "spacexnet" / "sweep.py").is_file()
    assert not tree.exists()
    listed = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout
    assert str(tree) not in listed
