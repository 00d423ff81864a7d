"""The sweep-side examples in examples/ run from a fresh clone and print what they promise."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"


def _run(name, args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_real_starlink_whatif(monkeypatch, capsys):
    if not SNAPSHOT.exists():
        pytest.skip("../shared/data/starlink_tle_snapshot.txt is not present")
    out = _run("real_starlink_whatif.py", [str(SNAPSHOT), "--minutes", "2", "--step-s", "60"], monkeypatch, capsys)
    assert "53.2°" in out and "handover" in out and "changed subnet" in out


def test_hardware_comparison(monkeypatch, capsys):
    out = _run("hardware_comparison.py", ["--walker", "53:720/36/1"], monkeypatch, capsys)
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(lines) == {"h100-sxm", "jetson-agx-orin-64gb"}
    # Same placement and network: only the compute column differs, and the H100 is faster.
    assert lines["h100-sxm"][3:6] == lines["jetson-agx-orin-64gb"][3:6]
    assert float(lines["h100-sxm"][6]) < float(lines["jetson-agx-orin-64gb"][6])


def test_open_dataset(monkeypatch, capsys, tmp_path):
    png = tmp_path / "layer.png"
    out = _run("open_dataset.py", ["--png", str(png)], monkeypatch, capsys)
    assert "slowest layer" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tle_age(monkeypatch, capsys):
    if not SNAPSHOT.exists():
        pytest.skip("../shared/data/starlink_tle_snapshot.txt is not present")
    out = _run("tle_age.py", [str(SNAPSHOT), "--days", "0,1"], monkeypatch, capsys)
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["0", "1"]
    assert rows[0][3] == rows[0][5]  # at day 0 the kept placement is the placement
