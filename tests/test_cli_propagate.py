"""``spacexnet propagate`` through click's CliRunner."""

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from spacexnet.cli import main

WALKER = ["--walker", "53:72/6/1", "--altitude-km", "550"]
ISS = """ISS (ZARYA)
1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537
"""


@pytest.fixture
def runner():
    return CliRunner()


def test_default_run_writes_a_cf_dataset(runner, tmp_path):
    out = tmp_path / "shell.nc"
    result = runner.invoke(main, ["propagate", *WALKER, "--duration-s", "300", "--step-s", "60",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "72 satellites" in result.stderr and "6 steps" in result.stderr and str(out) in result.stderr
    with xr.open_dataset(out) as ds:
        assert dict(ds.sizes) == {"time": 6, "sat": 72, "xyz": 3}
        for name, var in ds.data_vars.items():
            assert var.attrs.get("units") and var.attrs.get("long_name"), name
        assert ds.time.encoding["units"].startswith("seconds since 1970-01-01")
        assert ds.time.values[0] == np.datetime64("2026-01-01T00:00:00", "ns")  # walker default epoch
        assert ds.attrs["Conventions"].startswith("CF-") and "walker" in ds.attrs["source"]
        assert "element_set_epochs" in ds.attrs and "propagate" in ds.attrs["history"]
        assert int(ds.sgp4_status.max()) == 0 and np.isfinite(ds.position_itrs_km.values).all()


def test_default_duration_is_one_orbital_period(runner, tmp_path):
    out = tmp_path / "period.nc"
    result = runner.invoke(main, ["propagate", *WALKER, "--step-s", "600", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 10  # 95.6 min at 10-minute steps: 0..90 min


def test_overwrite(runner, tmp_path):
    out = tmp_path / "x.nc"
    args = ["propagate", *WALKER, "--duration-s", "60", "--out", str(out), "-q"]
    assert runner.invoke(main, args).exit_code == 0
    before = out.stat().st_mtime_ns
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("spacexnet: error:") and "--overwrite" in result.stderr
    assert out.stat().st_mtime_ns == before
    assert runner.invoke(main, args + ["--overwrite"]).exit_code == 0


def test_tle_file_and_its_epoch(runner, tmp_path):
    tle = tmp_path / "iss.tle"
    tle.write_text(ISS)
    out = tmp_path / "iss.nc"
    result = runner.invoke(main, ["propagate", "--tle", str(tle), "--duration-s", "120", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert int(ds.norad_id[0]) == 25544 and str(ds.name.values[0]) == "ISS (ZARYA)"
        assert ds.time.values[0] == np.datetime64("2008-09-20T12:25:00", "ns")  # epoch, to the minute
        assert "2008-09-20T12:25:40Z" in ds.attrs["element_set_epochs"]


@pytest.mark.parametrize("args, words", [
    (["--tle", "MISSING.tle"], "MISSING.tle"),
    (["--tle", "BAD"], "bad.tle:2: line 1 too short"),
    ([*WALKER, "--start", "yesterday"], "yesterday"),
    ([*WALKER, "--start", "2026-01-01T00:10:00"], "no time zone, so its UTC instant is unknown; "
                                                  "write 2026-01-01T00:10:00Z for UTC"),
])
def test_bad_input_is_one_line_exit_1(runner, tmp_path, args, words):
    bad = tmp_path / "bad.tle"
    bad.write_text("ISS\n1 25544U 98067A   08264.51782528\n2 25544  51.6416\n")
    args = [str(bad) if a == "BAD" else str(tmp_path / a) if a == "MISSING.tle" else a for a in args]
    result = runner.invoke(main, ["propagate", *args, "--out", str(tmp_path / "o.nc")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spacexnet: error:") and words in lines[0]
    assert not (tmp_path / "o.nc").exists()
