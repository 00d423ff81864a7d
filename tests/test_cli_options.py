"""Options every command shares (spacexnet.cli._options): numbers, outputs, --shell, times, one-line messages."""

from __future__ import annotations

import click
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import orbits
from spacexnet.cli import _options, main
from spacexnet.cli._options import FiniteFloat

WALKER = ["--walker", "53:66/6/1", "--altitude-km", "550", "--start", "2026-01-01T00:00:00Z"]


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _float_options():
    for name, command in sorted(main.commands.items()):
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType):
                yield name, param


FLOAT_OPTIONS = list(_float_options())


def test_the_walk_finds_the_numeric_options():
    found = {(name, param.opts[0]) for name, param in FLOAT_OPTIONS}
    for expected in [("sweep", "--duration-s"), ("sweep", "--step-s"), ("sweep", "--margin-km"),
                     ("sweep", "--max-range-km"), ("sweep", "--latitude-cutoff-deg"), ("sweep", "--horizon-s"),
                     ("sweep", "--migration-price"), ("sweep", "--min-gain"), ("sweep", "--max-tle-age-days"),
                     ("sweep", "--altitude-km"), ("links", "--min-elevation-deg"), ("propagate", "--step-s"),
                     ("compare", "--altitude-km"), ("place", "--altitude-km"), ("shells", "--altitude-km")]:
        assert expected in found


@pytest.mark.parametrize("name, param", FLOAT_OPTIONS, ids=[f"{n} {p.opts[0]}" for n, p in FLOAT_OPTIONS])
def test_every_float_option_refuses_nan_and_inf_in_one_line(name, param):
    assert isinstance(param.type, FiniteFloat), f"{name} {param.opts[0]} takes click's float, which lets nan in"
    flag = param.opts[0]
    for value in ("nan", "-inf", "inf"):
        if value == "inf" and param.type.inf_means:
            # Documented meaning (a range without limit): accepted as a value, and said so in --help.
            assert param.type.convert("inf", param, None) == float("inf")
            assert "'inf'" in param.help
            continue
        result = run([name, flag, value])
        assert result.exit_code == 2, (name, flag, value, result.output)
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                           SystemExit)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert errors == [f"Error: Invalid value for '{flag}': {value} is not a finite number"
                          + (f" ('inf' means {param.type.inf_means})." if param.type.inf_means else ".")]


def test_sweep_duration_inf_and_nan_no_longer_reach_the_work(monkeypatch):
    monkeypatch.setattr(_options, "build_constellation", _must_not_run)
    for value in ("inf", "nan"):
        result = run(["sweep", "--duration-s", value, "--out", "never.nc"])
        assert result.exit_code == 2 and "not a finite number" in result.stderr


def _must_not_run(*args, **kwargs):
    raise AssertionError("the command started working before checking its outputs")


# Every command that writes a file, with the options that make it write: refused before any work.
OUTPUT_COMMANDS = [
    (["sweep", "--duration-s", "0"], "--out"),
    (["propagate", *WALKER, "--duration-s", "0"], "--out"),
    (["links", *WALKER, "--duration-s", "0", "--no-ground"], "--out"),
    (["place", *WALKER], "--out"),
    (["compare", *WALKER], "--out"),
    (["compare", *WALKER], "--map"),
    (["compare", *WALKER], "--cdf"),
]


@pytest.mark.parametrize("args, flag", OUTPUT_COMMANDS, ids=[f"{a[0]} {f}" for a, f in OUTPUT_COMMANDS])
def test_outputs_are_checked_before_any_work(tmp_path, monkeypatch, args, flag):
    monkeypatch.setattr(_options, "build_constellation", _must_not_run)
    existing = tmp_path / "existing.out"
    existing.write_text("mine")
    result = run([*args, flag, existing])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (f"spacexnet: error: {existing} ({flag}): file exists; "
                                     "pass --overwrite to replace it")
    assert existing.read_text() == "mine"

    missing = tmp_path / "no-such-folder" / "x.out"
    result = run([*args, flag, missing])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (f"spacexnet: error: {missing} ({flag}): directory "
                                     f"{missing.parent} does not exist")

    result = run([*args, flag, tmp_path])
    assert result.exit_code in (1, 2) and "Traceback" not in result.output


def test_plot_checks_its_figures_before_reading(tmp_path, monkeypatch):
    from spacexnet.cli import plot

    monkeypatch.setattr(plot, "_open_sweep", _must_not_run)
    (tmp_path / "s_latency.png").write_bytes(b"mine")
    result = run(["plot", tmp_path / "s.nc", "--out-dir", tmp_path])
    assert result.exit_code == 1 and "file(s) exist; pass --overwrite" in result.stderr
    result = run(["plot", tmp_path / "s.nc", "--out-dir", tmp_path / "nope"])
    assert result.exit_code == 1 and "output directory does not exist" in result.stderr


CONSTELLATION_COMMANDS = [name for name, command in main.commands.items()
                          if any(p.name == "preset" for p in command.params)]


def test_every_constellation_command_takes_shell():
    assert set(CONSTELLATION_COMMANDS) >= {"sweep", "compare", "place", "propagate", "links", "shells"}
    for name in CONSTELLATION_COMMANDS:
        assert any(p.name == "shell" for p in main.commands[name].params), name


def _shell_listing(stderr, chosen):
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("shell ")]
    assert [line.split(":")[0] for line in lines] == [f"shell {k}" for k in range(5)], stderr
    assert [line for line in lines if line.endswith("<- --shell %d" % chosen)] == [lines[chosen]]
    return lines


def test_propagate_and_links_use_one_shell_and_list_them_all(tmp_path):
    gen1 = ["--preset", "starlink-gen1", "--shell", "3", "--duration-s", "0"]
    out = tmp_path / "p.nc"
    result = run(["propagate", *gen1, "--out", out])
    assert result.exit_code == 0, result.output
    lines = _shell_listing(result.stderr, 3)
    assert lines[3].startswith("shell 3: 97.60° 560 km delta, 6 planes × 58 satellites, 348 satellites")
    with xr.open_dataset(out) as ds:
        assert ds.sizes["sat"] == 348
        assert np.allclose(ds["latitude_deg"].max(), 82.4, atol=1.0)  # 97.6° inclination reaches 82.4° latitude
    out = tmp_path / "l.nc"
    result = run(["links", *gen1, "--no-ground", "--out", out])
    assert result.exit_code == 0, result.output
    _shell_listing(result.stderr, 3)
    with xr.open_dataset(out) as ds:
        assert ds.sizes["link"] == 2 * 348
    # Quiet keeps stderr empty; a shell that does not exist is one line naming the valid ones.
    assert run(["propagate", *gen1, "-q", "--overwrite", "--out", tmp_path / "p.nc"]).stderr == ""
    result = run(["propagate", "--preset", "starlink-gen1", "--shell", "5", "--out", tmp_path / "q.nc", "-q"])
    assert result.exit_code == 1
    assert result.stderr == ("spacexnet: error: --shell 5: preset starlink-gen1: walker 53:1584/72/1 550 km delta "
                             "+ walker 53.2:1584/72/1 540 km delta + walker 70:720/36/1 570 km delta + "
                             "walker 97.6:348/6/1 560 km delta + walker 97.6:172/4/1 560 km delta has 5 shell(s) "
                             "(indices 0 to 4); `spacexnet shells` lists them\n")


@pytest.mark.parametrize("shell, fits", [(3, True), (4, False)])
def test_place_with_shell_follows_the_capacity_rule_shells_prints(shell, fits):
    # llama-moe-3.5b-2of8 needs 32 × (1 + 8) = 288 satellites: shell 3 has 348, shell 4 has 172.
    result = run(["place", "--preset", "starlink-gen1", "--shell", shell, "--model", "llama-moe-3.5b-2of8",
                  "--format", "json"])
    assert (result.exit_code == 0) is fits, result.output
    _shell_listing(result.stderr, shell)
    if not fits:
        assert "it needs at least 9 satellites" in result.stderr  # 1 gate + 8 experts, per layer
    shells = run(["shells", "--preset", "starlink-gen1", "--model", "llama-moe-3.5b-2of8", "--format", "csv"])
    row = shells.stdout.splitlines()[1 + shell].split(",")
    assert row[0] == str(shell) and row[-1] == str(fits)


def test_sweep_and_compare_take_shell(tmp_path):
    out = tmp_path / "s.nc"
    base = ["--preset", "starlink-gen1", "--shell", "3", "--model", "llama-moe-3.5b-2of8"]
    result = run(["sweep", *base, "--duration-s", "10", "--policy", "static", "--samples", "2", "--workers", "1",
                  "--out", out])
    assert result.exit_code == 0, result.output
    _shell_listing(result.stderr, 3)
    with xr.open_dataset(out) as ds:
        assert ds.sizes["sat"] == 348 and ds.sizes["time"] == 2
    result = run(["compare", *base, "--strategies", "space-xnet", "--samples", "100", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    _shell_listing(result.stderr, 3)
    assert "348 satellites" in result.stderr


def test_time_without_zone_is_refused_everywhere_with_the_fix(tmp_path):
    fix = "write 2026-01-01T00:10:00Z for UTC"
    for args in (["propagate", "--walker", "53:66/6/1", "--altitude-km", "550", "--out", tmp_path / "p.nc"],
                 ["place", "--walker", "53:66/6/1", "--altitude-km", "550"]):
        result = run([*args, "--start", "2026-01-01T00:10:00"])
        assert result.exit_code == 1 and result.stderr.count("\n") == 1 and fix in result.stderr, result.output
    result = run(["place", "--walker", "53:66/6/1", "--altitude-km", "550", "--epoch", "2026-01-01T00:10:00"])
    assert result.exit_code == 1 and fix in result.stderr
    assert run(["place", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
                "--start", "2026-01-01T00:10:00Z", "-q"]).exit_code == 0


def test_snapshot_refuses_a_time_without_zone():
    from spacexnet.scenario import build_constellation, model_setup, snapshot

    c = build_constellation(walker="53:60/6/1", altitude_km=550)
    with pytest.raises(orbits.TimeGridError, match="write 2026-01-01T00:00:00Z for UTC"):
        snapshot(c, "2026-01-01T00:00:00", model_setup())


def test_finite_float_bounds_and_meaning():
    assert FiniteFloat(min=0, max=90).convert("45", None, None) == 45.0
    with pytest.raises(click.BadParameter, match="not in the range"):
        FiniteFloat(min=0, min_open=True).convert("0", None, None)
    with pytest.raises(click.BadParameter, match="not a finite number"):
        FiniteFloat(inf_means="no limit").convert("-inf", None, None)
    assert FiniteFloat(inf_means="no limit").convert("inf", None, None) == float("inf")


def test_readme_command_table_lists_every_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    listed = [row.split("`")[1].split()[1] for row in table.splitlines() if row.startswith("| `spacexnet ")]
    assert sorted(listed) == sorted(main.commands)


@pytest.mark.parametrize("command", ["sweep", "propagate", "links"])
def test_a_duration_past_what_times_hold_is_one_line_naming_the_flag(tmp_path, command):
    result = run([command, "--duration-s", "1e300", "--out", tmp_path / "x.nc"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == ("spacexnet: error: --duration-s 1e+300 s is longer than datetime64[ns] "
                                              "can span (about ±292 years)")
    assert not (tmp_path / "x.nc").exists()


def test_help_describes_each_number_range_readably():
    for name, command in main.commands.items():
        helped = run([name, "--help"]).stdout
        assert "None]" not in helped and "FLOAT RANGE" not in helped, name


def test_strategy_choices_are_the_registrys():
    import placement

    placing = [name for name in placement.STRATEGIES if name != "lower-bound"]
    for name in ("sweep", "place"):
        option = next(p for p in main.commands[name].params if p.name == "strategy")
        assert list(option.type.choices) == placing, name
    assert "anneal" in placing  # a registry strategy the sweep's typed list had left out


SMALL = ["--walker", "53:360/18/1", "--altitude-km", "550", "--start", "2026-01-01T00:00:00Z",
         "--model", "llama-moe-3.5b-2of8"]


def test_verbose_sweep_ends_with_its_stage_times(tmp_path):
    args = ["sweep", *SMALL, "--duration-s", "60", "--step-s", "30", "--samples", "100", "--workers", "1",
            "--policy", "static"]
    verbose = run([*args, "-v", "--out", tmp_path / "v.nc"])
    plain = run([*args, "--out", tmp_path / "p.nc"])
    assert verbose.exit_code == plain.exit_code == 0, verbose.output
    assert verbose.stdout == plain.stdout
    last = verbose.stderr.strip().splitlines()[-1]
    assert last.startswith("stage times: warm_up ") and " total " in last and last.endswith("shortest-path searches")
    assert "stage times" not in plain.stderr


def test_verbose_compare_times_each_strategy():
    res = run(["compare", *SMALL, "--strategies", "space-xnet,random", "--seeds", "2", "--samples", "100", "-v"])
    assert res.exit_code == 0, res.output
    line = next(line for line in res.stderr.splitlines() if line.startswith("time per strategy"))
    timed = dict(item.rsplit(" ", 2)[:2] for item in line.split(": ", 1)[1].split(", "))
    assert list(timed) == ["space-xnet", "random"] and all(float(s) >= 0 for s in timed.values())
    assert "time per strategy" not in run(["compare", *SMALL, "--strategies", "random", "--seeds", "1",
                                           "--samples", "100"]).stderr


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_quiet_and_verbose_together_are_refused(tmp_path, command):
    res = run([command, *SMALL, "-q", "-v", "--out", tmp_path / "x.nc"])
    assert res.exit_code == 2
    assert "-q/--quiet and -v/--verbose exclude each other; give one." in res.stderr
    assert not (tmp_path / "x.nc").exists()
