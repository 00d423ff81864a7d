"""``spacexnet shells``: the shells of a constellation and which models each holds."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import latency
import orbits
from spacexnet.cli import main


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_shells_of_a_preset_with_the_models_each_holds():
    result = run(["shells", "--preset", "starlink-gen1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["shell"], r["planes"], r["satellites_per_plane"], r["satellites"]) for r in rows] == [
        (0, 72, "22", 1584), (1, 72, "22", 1584), (2, 36, "20", 720), (3, 6, "58", 348), (4, 4, "43", 172)]
    assert [round(r["inclination_deg"], 1) for r in rows] == [53.0, 53.2, 70.0, 97.6, 97.6]
    # llama-moe-3.5b needs 32 × (1 + 16) = 544 satellites with one expert per satellite.
    assert [r["fits llama-moe-3.5b"] for r in rows] == [True, True, True, False, False]
    assert {f"fits {name}" for name in latency.model_names()} <= set(rows[0])
    assert "llama-moe-3.5b: 32 × (1 + ⌈16 / 1⌉) = 544" in result.stderr


def test_experts_per_sat_changes_what_fits():
    result = run(["shells", "--preset", "starlink-gen1", "--model", "llama-moe-3.5b", "--experts-per-sat", "2",
                  "--format", "json"])
    rows = json.loads(result.stdout)
    # 32 × (1 + 8) = 288: shell 3 (348) now holds it, shell 4 (172) still not.
    assert [r["fits llama-moe-3.5b"] for r in rows] == [True, True, True, True, False]
    assert [k for k in rows[0] if k.startswith("fits")] == ["fits llama-moe-3.5b"]


def test_table_explains_planes_and_the_needed_count():
    result = run(["shells", "--preset", "iridium", "--model", "mixtral-8x7b"])
    assert result.exit_code == 0, result.output
    header, rule, row = result.stdout.splitlines()
    assert header.split() == ["shell", "inclination", "°", "altitude", "km", "kind", "planes", "per", "plane",
                              "satellites", "in", "planes", "mixtral-8x7b", "(288)"]
    assert row.split() == ["0", "86.40", "780.0", "star", "6", "11", "66", "66", "no"]


def test_shells_of_a_file_given_as_argument(tmp_path):
    path = tmp_path / "two-shells.tle"
    c = orbits.combine([orbits.walker("53:600/20/1", 550), orbits.walker("70:360/12/1", 570, shell=1)])
    orbits.write_tle(c, path)
    result = run(["shells", path, "--model", "llama-moe-3.5b-2of8", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].split(",")[4:] == ["20", "30", "600", "600", "True"]
    assert lines[2].split(",")[4:] == ["12", "30", "360", "360", "True"]
    assert f"960 satellites (tle {path}): 2 shell(s), 0 satellite(s) in no shell" in result.stderr
    result = run(["shells", path, "--preset", "iridium"])
    assert result.exit_code == 1
    assert result.stderr == "spacexnet: error: give the constellation either as FILE or with --tle/--omm/--preset/--walker\n"
    result = run(["shells", tmp_path / "missing.tle"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "missing.tle" in result.stderr


def test_shells_with_shell_keeps_that_row():
    result = run(["shells", "--preset", "starlink-gen1", "--shell", "2", "--format", "json", "-q"])
    assert [r["shell"] for r in json.loads(result.stdout)] == [2]
    assert result.stderr == ""
