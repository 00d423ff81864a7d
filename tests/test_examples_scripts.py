"""The sweep-side examples in examples/ run from a fresh clone and print what they promise.

A fresh clone has no ``../shared/data`` beside it: the examples that read
element sets fall back on the real excerpt in ``tests/data/``. These tests
copy ``examples/`` and ``tests/data/`` into a folder with nothing beside it
and run the scripts there, as a user would (``python examples/x.py``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SNAPSHOT = ROOT.parent / "shared" / "data" / "starlink_tle_snapshot.txt"
EXCERPT = ROOT / "tests" / "data" / "starlink_excerpt_2026-01-31.txt"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The examples and the excerpt in a folder with no ``shared/`` anywhere above it."""
    root = tmp_path_factory.mktemp("fresh") / "clone"
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("figures", "__pycache__"))
    shutil.copytree(ROOT / "tests" / "data", root / "tests" / "data", ignore=shutil.ignore_patterns("__pycache__"))
    assert not (root.parent / "shared").exists() and not (root.parent.parent / "shared").exists()
    return root


def _run(clone: Path, name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # The packages from this checkout; the scripts from the copy (their own folder goes first on sys.path).
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(clone / "examples" / name), *args], cwd=cwd or clone,
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": path})


def test_real_starlink_whatif_runs_on_the_excerpt(clone):
    done = _run(clone, "real_starlink_whatif.py", "--minutes", "2", "--step-s", "60")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "97 satellites in starlink_excerpt_2026-01-31.txt" in out and "53.2°" in out
    assert "16 expert(s) per satellite" in out  # 77 satellites / 32 layers: a gate and one host per subnet
    policies = [line.split()[0] for line in out.splitlines() if "reachable 3/3 steps" in line]
    assert policies == ["static", "recompute", "handover"]


def test_tle_age_runs_on_the_excerpt(clone):
    done = _run(clone, "tle_age.py", "--days", "0,1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("77 satellites of shell 53.2° 540 km")
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["0", "1"]
    assert rows[0][3] == rows[0][5]  # at day 0 the kept placement is the placement
    assert all(int(r[1]) == 77 for r in rows)


@pytest.mark.parametrize("name", ["tle_age.py", "real_starlink_whatif.py", "open_dataset.py"])
def test_missing_file_is_one_line(clone, name, tmp_path):
    missing = tmp_path / "no-such-file.txt"
    done = _run(clone, name, str(missing))
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip() == f"{name}: {missing}: no such file"


@pytest.mark.parametrize("name", ["tle_age.py", "real_starlink_whatif.py"])
def test_malformed_element_set_is_one_line(clone, name, tmp_path):
    bad = tmp_path / "bad.txt"
    lines = EXCERPT.read_text(encoding="ascii").splitlines()[:3]
    bad.write_text("\n".join([lines[0], lines[1][:20] + "X" + lines[1][21:], lines[2]]) + "\n", encoding="ascii")
    done = _run(clone, name, str(bad))
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"{name}: {bad}:2:")


def test_hardware_comparison(clone):
    done = _run(clone, "hardware_comparison.py", "--walker", "53:720/36/1")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert set(lines) == {"h100-sxm", "jetson-agx-orin-64gb"}
    # Same placement and network: only the compute column differs, and the H100 is faster.
    assert lines["h100-sxm"][3:6] == lines["jetson-agx-orin-64gb"][3:6]
    assert float(lines["h100-sxm"][6]) < float(lines["jetson-agx-orin-64gb"][6])


def test_open_dataset(clone, tmp_path):
    png = tmp_path / "layer.png"
    done = _run(clone, "open_dataset.py", "--png", str(png))
    assert done.returncode == 0, done.stderr
    assert "slowest layer" in done.stdout and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not SNAPSHOT.exists(), reason="the full snapshot (../shared/data) is not beside this checkout")
def test_tle_age_full_snapshot(clone):
    done = _run(clone, "tle_age.py", str(SNAPSHOT), "--days", "0,1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("1 expert(s) per satellite")  # 1,366 satellites: the paper's setting fits
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["0", "1"] and rows[0][3] == rows[0][5]


def test_excerpt_is_small_real_and_structured():
    """≤ 100 real records that still form the 53.2° shell (4 planes) and a 70° plane."""
    import hashlib

    import numpy as np

    from orbits import read_tle

    data = EXCERPT.read_bytes()
    note = (ROOT / "tests" / "data" / "README.md").read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() in note and f"{len(data):,} bytes" in note
    constellation = read_tle(EXCERPT)
    assert len(constellation) <= 100
    shells = {(round(s.inclination_deg, 1), round(s.altitude_km / 10) * 10): i
              for i, s in enumerate(constellation.shells)}
    assert set(shells) == {(53.2, 540), (70.0, 570)}
    planes = np.bincount(constellation.plane[constellation.shell == shells[(53.2, 540)]])
    assert planes.tolist() == [19, 19, 19, 20]


@pytest.mark.skipif(not SNAPSHOT.exists(), reason="the full snapshot (../shared/data) is not beside this checkout")
def test_excerpt_recut_from_the_snapshot(tmp_path):
    """The cut script, run on the full snapshot, gives the shipped excerpt byte for byte."""
    out = tmp_path / "excerpt.txt"
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "data" / "cut_starlink_excerpt.py"), str(SNAPSHOT),
                           str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == EXCERPT.read_bytes()
    snapshot_lines = set(SNAPSHOT.read_text(encoding="ascii").splitlines())
    assert set(EXCERPT.read_text(encoding="ascii").splitlines()) <= snapshot_lines


def test_placement_gap_writes_its_table(clone, tmp_path):
    out = tmp_path / "gap.md"
    res = _run(clone, "placement_gap.py", "--shells", "iridium,oneweb", "--models", "mixtral-8x7b",
               "--time-budget-s", "0.05", "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "# How far each placement is from optimal"
    assert "| iridium | mixtral-8x7b | does not fit: needs 288 satellites, has 66" in out.read_text()
    row = next(line for line in lines if line.startswith("| oneweb | mixtral-8x7b | "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    bound, sx, gap_sx, anneal_gap = float(cells[2]), float(cells[3].replace(",", "")), float(cells[5]), float(cells[11])
    assert 0 < bound <= sx and gap_sx == pytest.approx(sx / bound, rel=2e-3) and 1.0 <= anneal_gap <= gap_sx
