"""``spacexnet plot`` through click's CliRunner: three PNGs, paths on stdout, no overwrite, one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from spacexnet.cli import main
from spacexnet.io import write_dataset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = ("latency", "layers", "migrations")


def run(args):
    return CliRunner().invoke(main, ["plot", *map(str, args)])


@pytest.fixture
def sweep_file(tmp_path):
    rng = np.random.default_rng(11)
    time = pd.date_range("2026-01-01", periods=12, freq="60s")
    expected = 35.0 + rng.gamma(2.0, 1.0, (3, 12))
    migrations = rng.integers(0, 6, (3, 12))
    ds = xr.Dataset(
        {
            "token_latency_expected_ms": (("policy", "time"), expected, {"units": "ms"}),
            "token_latency_p99_ms": (("policy", "time"), 1.5 * expected, {"units": "ms"}),
            "layer_latency_expected_ms": (("policy", "time", "layer"), rng.gamma(3.0, 1.0, (3, 12, 4)),
                                          {"units": "ms"}),
            "migrations": (("policy", "time"), migrations),
            "bytes_moved": (("policy", "time"), migrations * 2.0e8, {"units": "bytes"}),
        },
        coords={"policy": ["static", "recompute", "handover"], "time": time, "layer": np.arange(4)},
    )
    # Written the way `spacexnet sweep` will write it: CF time, through spacexnet.io.
    return write_dataset(ds, tmp_path / "sweep.nc")


def assert_one_line_error(result, text):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spacexnet: error: ") and text in lines[0], result.stderr
    assert result.stdout == ""


def test_plot_writes_three_pngs_and_prints_their_paths(sweep_file, tmp_path):
    out = tmp_path / "figures"
    out.mkdir()
    result = run([sweep_file, "--out-dir", out, "--prefix", "shell1"])
    assert result.exit_code == 0, result.output
    expected = [out / f"shell1_{name}.png" for name in NAMES]
    assert result.stdout.splitlines() == [str(p) for p in expected]
    for path in expected:
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in expected)   # no temporaries left
    assert "3 figure(s) of 3 policies × 12 steps" in result.stderr


def test_plot_defaults_beside_the_dataset_and_quiet(sweep_file):
    result = run([sweep_file, "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    for name in NAMES:
        assert (sweep_file.parent / f"sweep_{name}.png").read_bytes()[:8] == PNG_MAGIC
    assert len(result.stdout.splitlines()) == 3


def test_plot_refuses_to_overwrite_any_existing_figure(sweep_file, tmp_path):
    # One of the three exists: nothing is written, the others are not created either.
    existing = tmp_path / "sweep_layers.png"
    existing.write_bytes(b"not mine to replace")
    result = run([sweep_file, "-q"])
    assert_one_line_error(result, f"{existing}: file(s) exist; pass --overwrite")
    assert existing.read_bytes() == b"not mine to replace"
    assert not (tmp_path / "sweep_latency.png").exists() and not (tmp_path / "sweep_migrations.png").exists()

    result = run([sweep_file, "-q", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert existing.read_bytes()[:8] == PNG_MAGIC


def test_plot_second_run_needs_overwrite(sweep_file):
    assert run([sweep_file, "-q"]).exit_code == 0
    before = (sweep_file.parent / "sweep_latency.png").read_bytes()
    assert_one_line_error(run([sweep_file, "-q"]), "pass --overwrite to replace them")
    assert (sweep_file.parent / "sweep_latency.png").read_bytes() == before


def absent(directory):
    return directory / "absent.nc"


def text_file(directory):
    path = directory / "notes.nc"
    path.write_text("time,latency\n0,40\n")
    return path


def a_directory(directory):
    return directory


def links_dataset(directory):
    path = directory / "links.nc"
    xr.Dataset({"x_km": ("t", [1.0, 2.0], {"units": "km"})}).to_netcdf(path)
    return path


@pytest.mark.parametrize("make, message", [
    (absent, "absent.nc: no such file"),
    (text_file, "notes.nc: not a readable NetCDF file (no NetCDF or HDF5 signature)"),
    (a_directory, ": not a file"),
    (links_dataset,
     "links.nc: variable 'token_latency_expected_ms' is missing: this is not a Space-XNet sweep dataset"),
])
def test_plot_bad_input_is_one_line_and_writes_nothing(tmp_path, make, message):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    target = make(data_dir)
    result = run([target, "--out-dir", tmp_path, "--prefix", "x"])
    assert_one_line_error(result, message)
    assert not list(tmp_path.glob("*.png"))


def test_plot_truncated_netcdf_is_one_line(sweep_file, tmp_path):
    broken = tmp_path / "broken.nc"
    broken.write_bytes(sweep_file.read_bytes()[:2000])        # an interrupted copy
    assert_one_line_error(run([broken, "-q"]), "broken.nc: not a readable NetCDF file")


def test_plot_missing_out_dir_and_bad_prefix(sweep_file, tmp_path):
    assert_one_line_error(run([sweep_file, "--out-dir", tmp_path / "nope"]), "output directory does not exist")
    result = run([sweep_file, "--prefix", "a/b"])
    assert result.exit_code == 2 and "--prefix" in result.stderr and "Traceback" not in result.output
