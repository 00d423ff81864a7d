"""``spacexnet links`` through click's CliRunner: exit codes, output file, summary, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from spacexnet.cli import main

SMALL = ["links", "--walker", "53:66/6/1", "--altitude-km", "550", "--start", "2026-01-01T00:00:00Z",
         "--duration-s", "600", "--step-s", "60"]


def run(args):
    return CliRunner().invoke(main, args)


def test_links_writes_netcdf_with_rules(tmp_path):
    out = tmp_path / "links.nc"
    result = run(SMALL + ["--margin-km", "100", "--max-range-km", "4500", "--latitude-cutoff-deg", "50",
                          "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""                       # data goes to the file, logs to stderr
    assert "132 candidate links (66 intra-plane, 66 inter-plane) over 11 steps" in result.stderr
    assert f"wrote {out}" in result.stderr
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 11 and ds.sizes["link"] == 132 and ds.sizes["station"] >= 50
        assert ds.attrs["isl_topology"] == "plus-grid"
        assert ds.attrs["isl_margin_km"] == 100.0 and ds.attrs["isl_max_range_km"] == 4500.0
        assert ds.attrs["isl_latitude_cutoff_deg"] == 50.0 and ds.attrs["gsl_min_elevation_deg"] == 25.0
        assert ds.attrs["Conventions"] == "CF-1.11" and "walker 53:66/6/1" in ds.attrs["source"]
        assert ds["distance_km"].attrs["units"] == "km" and ds["elevation_deg"].attrs["units"] == "degrees"
        assert ds["up"].dtype == bool
        # The rules were applied: nothing up is longer than the range.
        assert float(ds["distance_km"].where(ds["up"]).max()) <= 4500.0
        assert np.all(ds["elevation_deg"].values >= 25.0)
        assert str(ds["time"].values[0]) == "2026-01-01T00:00:00.000000000"


def test_links_nearest_without_ground_and_quiet(tmp_path):
    out = tmp_path / "nearest.nc"
    result = run(SMALL + ["--topology", "nearest", "--k", "3", "--no-ground", "-q", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    with xr.open_dataset(out) as ds:
        assert ds.attrs["isl_topology"] == "nearest" and ds.attrs["isl_k"] == 3
        assert "pair" not in ds.dims and "gsl_min_elevation_deg" not in ds.attrs


def test_links_refuses_to_overwrite(tmp_path):
    out = tmp_path / "links.nc"
    assert run(SMALL + ["-q", "--no-ground", "--out", str(out)]).exit_code == 0
    before = out.read_bytes()
    result = run(SMALL + ["-q", "--no-ground", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "file exists; pass --overwrite" in result.stderr
    assert out.read_bytes() == before
    assert run(SMALL + ["-q", "--no-ground", "--overwrite", "--out", str(out)]).exit_code == 0


def test_links_bad_station_file_is_one_line_with_file_and_line(tmp_path):
    csv = tmp_path / "sites.csv"
    csv.write_text("name,latitude_deg,longitude_deg\nA,10,20\nB,100,20\n")
    out = tmp_path / "links.nc"
    result = run(SMALL + ["--stations", str(csv), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == \
        f"spacexnet: error: {csv}:3: latitude_deg 100.0 is outside [-90, 90]"
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("extra, code, message", [
    (["--topology", "ring"], 2, "'ring' is not one of"),
    (["--k", "0"], 2, "--k"),
    (["--max-range-km", "-1"], 2, "'--max-range-km': -1.0 is not in the range x>=0"),
    (["--max-range-km", "nan"], 2, "'--max-range-km': nan is not a finite number ('inf' means no range limit)"),
    (["--latitude-cutoff-deg", "95"], 2, "'--latitude-cutoff-deg': 95.0 is not in the range 0<=x<=90"),
    (["--min-elevation-deg", "91"], 2, "'--min-elevation-deg': 91.0 is not in the range -90<=x<=90"),
    (["--margin-km", "-7000"], 1, "--margin-km -7000.0 must be a number in"),
])
def test_links_bad_options(tmp_path, extra, code, message):
    result = run(SMALL + extra + ["--out", str(tmp_path / "x.nc")])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert not (tmp_path / "x.nc").exists()


def test_links_header_is_what_a_person_reads(tmp_path):
    result = run(SMALL + ["--no-ground", "--out", str(tmp_path / "links.nc")])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == ("66 satellites (walker 53:66/6/1 550 km delta), 11 steps of 60 s "
                                             "from 2026-01-01 00:00:00 UTC to 2026-01-01 00:10:00 UTC")
    assert "<Constellation" not in result.stderr and ".000000000" not in result.stderr
    with xr.open_dataset(tmp_path / "links.nc") as ds:
        up_at_start = int(ds["up"].isel(time=0).sum())
    assert f"over 11 steps; {up_at_start} up at the first step" in result.stderr
