"""What commands print when something goes wrong: flags, not Python names; warnings on one line."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import orbits
from spacexnet.cli import main
from spacexnet.cli._messages import FLAG_VALUES, PARAMETER_ALIASES, cli_wording, one_line_warnings

#: Python spellings a command must never print, and Python's own warning format.
LIBRARY_WORDS = ("check_checksum", "orbits.find_shells", "find_shells", "topology='nearest'", "belt_planes",
                 "capacity", "Constellation.skipped", "UserWarning", "warnings.warn")

ROOT = Path(__file__).resolve().parents[1]


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_cli_words(stderr):
    for word in LIBRARY_WORDS:
        assert word not in stderr, f"{word!r} in {stderr!r}"


@pytest.fixture(scope="module")
def tle_lines():
    text = orbits.to_tle(orbits.walker("53:60/6/1", altitude_km=550)).splitlines()
    return [line for line in text if line.strip()]


def test_checksum_error_names_the_flag_that_exists(tmp_path, tle_lines):
    lines = list(tle_lines[:3])
    lines[1] = lines[1][:68] + str((int(lines[1][68]) + 1) % 10)
    bad = tmp_path / "bad.tle"
    bad.write_text("\n".join(lines) + "\n")
    result = run(["propagate", "--tle", bad, "--duration-s", "0", "--out", tmp_path / "p.nc"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"spacexnet: error: {bad}:2: checksum mismatch in column 69")
    assert "or pass --no-checksum if the checksums are known to be wrong" in result.stderr
    assert_cli_words(result.stderr)
    # ... and the flag does what the message says.
    result = run(["propagate", "--tle", bad, "--no-checksum", "--duration-s", "0", "-q", "--out", tmp_path / "p.nc"])
    assert result.exit_code == 0, result.output
    result = run(["propagate", "--no-checksum", "--duration-s", "0", "-q", "--out", tmp_path / "q.nc"])
    assert result.exit_code == 1 and "--no-checksum applies only with --tle" in result.stderr


def test_duplicate_warning_is_one_line_in_cli_words(tmp_path, tle_lines):
    dup = tmp_path / "dup.tle"
    dup.write_text("\n".join(tle_lines + tle_lines[:3]) + "\n")
    result = run(["propagate", "--tle", dup, "--duration-s", "0", "--out", tmp_path / "p.nc"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if re.search(r"warning:|Warning", line)]
    assert warned == [f"spacexnet: warning: {dup}: 1 older duplicate element sets dropped (kept the newest epoch "
                      "of each catalogue number; the dropped ones are listed as skipped)"]
    assert "skipped 1 record(s):" in result.stderr
    assert_cli_words(result.stderr)


def test_plus_grid_without_planes_names_the_topology_flag(tmp_path, tle_lines):
    few = tmp_path / "few.tle"
    few.write_text("\n".join(tle_lines[:9]) + "\n")  # 3 satellites: too few to make a shell
    result = run(["links", "--tle", few, "--duration-s", "0", "--no-ground", "--out", tmp_path / "l.nc"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "spacexnet: error: +Grid needs orbital planes and slots, and no satellite has them (no shell with planes "
        "was found among these element sets); use --topology nearest")
    assert_cli_words(result.stderr)
    assert run(["links", "--tle", few, "--duration-s", "0", "--no-ground", "--topology", "nearest", "--k", "2",
                "-q", "--out", tmp_path / "l.nc"]).exit_code == 0


def test_infeasible_placement_names_the_placement_flags():
    result = run(["place", "--walker", "53:320/16/1", "--altitude-km", "550"])
    assert result.exit_code == 1
    assert "a wider belt (--belt-planes)" in result.stderr
    assert "more memory per satellite (--experts-per-sat)" in result.stderr
    assert "9 for experts × --experts-per-sat 1 = 9 expert slots" in result.stderr
    assert_cli_words(result.stderr)
    result = run(["place", "--belt-planes", "100"])
    assert result.exit_code == 1 and "use --belt-planes ≤ the number of planes" in result.stderr
    assert_cli_words(result.stderr)


def test_cli_wording_maps_parameters_to_the_running_commands_flags():
    @click.command()
    @click.option("--duration-s", type=float)
    @click.option("--min-gain", "min_gain_ratio", type=float)
    @click.option("--experts-per-sat", type=int)
    @click.option("--topology")
    def cmd(**kw):
        pass

    assert cli_wording("duration_s=inf must be finite", cmd) == "--duration-s inf must be finite"
    assert cli_wording("min_gain_ratio must be ≥ 0; see --min-gain", cmd) == "--min-gain must be ≥ 0; see --min-gain"
    assert cli_wording("more memory (capacity); capacities as given; check_capacity()", cmd) == \
        "more memory (--experts-per-sat); capacities as given; check_capacity()"
    assert cli_wording('use topology="nearest"', cmd) == "use --topology nearest"
    # Plain words stay words; a multi-line message becomes one line; unknown parameters are left alone.
    assert cli_wording("the topology has\n  two parts; belt_planes", cmd) == "the topology has two parts; belt_planes"


def test_the_mapped_library_spellings_still_exist():
    # A mapping whose library words vanished would silently stop translating.
    source = "\n".join(p.read_text(encoding="utf-8") for package in ("orbits", "placement", "latency")
                       for p in (ROOT / package).glob("*.py"))
    for spelling in [*FLAG_VALUES, *PARAMETER_ALIASES]:
        assert re.search(rf"(?<![\w.]){re.escape(spelling)}(?!\w)", source), spelling


def test_warnings_become_one_line_with_the_category_of_foreign_ones():
    @click.command()
    @click.option("--belt-planes", type=int)
    def cmd(belt_planes):
        warnings.warn("belt_planes is wide\nsecond line")
        warnings.warn("invalid value encountered in divide", RuntimeWarning)
        warnings.warn(orbits.PropagationWarning("3 satellites failed"))

    @click.group()
    def group():
        pass

    group.add_command(cmd, "cmd")

    @click.command()
    def wrapped():
        with one_line_warnings():
            group.main(["cmd"], standalone_mode=False)

    result = CliRunner().invoke(wrapped, [])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "spacexnet: warning: --belt-planes is wide second line",
        "spacexnet: warning: RuntimeWarning: invalid value encountered in divide",
        "spacexnet: warning: 3 satellites failed",
    ]


def test_too_few_satellites_for_the_layers_names_flags_not_api(tmp_path):
    """A shell with fewer satellites than layers: the message says what to change in command-line words."""
    from click.testing import CliRunner

    from spacexnet.cli import main

    res = CliRunner().invoke(main, ["place", "--walker", "53:20/4/1", "--altitude-km", "550", "-q"])
    assert res.exit_code == 1
    (line,) = res.stderr.strip().splitlines()
    assert "usable satellites for 32 layers" in line and "--belt-planes" in line
    assert "eligibility mask" not in line and "belt_planes" not in line
