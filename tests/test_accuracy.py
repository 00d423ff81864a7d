"""Accuracy budget: the time-step check and the element-set age warning."""

import numpy as np
import pytest
from click.testing import CliRunner

import orbits
from spacexnet.accuracy import _interp_error, element_set_age_days, step_error
from spacexnet.cli import main
from spacexnet.scenario import build_constellation, model_setup


def test_interp_error_is_zero_for_linear_and_exact_for_a_parabola():
    t = np.arange(21.0)
    assert _interp_error(3 * t + 1, 5) == pytest.approx(0.0, abs=1e-12)
    # For t², the chord between samples h apart overshoots by at most h²/4 at the midpoint.
    assert _interp_error(t**2, 4) == pytest.approx(4.0)


@pytest.fixture(scope="module")
def small():
    return build_constellation(walker="53:360/18/1", altitude_km=550), model_setup("llama-moe-3.5b-2of8")


def test_step_error_shrinks_with_the_step(small):
    c, setup = small
    coarse = step_error(c, setup, 60.0, window_steps=4, refine=4)
    fine = step_error(c, setup, 6.0, window_steps=4, refine=4)
    assert coarse.fine_step_s == 15.0
    assert fine.link_interp_error_km < coarse.link_interp_error_km
    assert fine.link_change_per_step_km < coarse.link_change_per_step_km
    # Inter-plane ISLs of a 550 km shell change length by at most the satellites' relative speed
    # (< 2 × 7.6 km/s) times the step.
    assert coarse.link_change_per_step_km < 2 * 7.6 * 60.0
    assert all(np.isfinite(r["value"]) for r in coarse.rows())


def test_latitude_cutoff_switches_are_counted(small):
    c, setup = small
    e = step_error(c, setup, 60.0, window_steps=6, refine=4, link_rules={"latitude_cutoff_deg": 40.0})
    assert e.link_switches_fine > 0
    assert 0 <= e.link_switches_missed <= e.link_switches_fine


def test_element_set_age():
    c = orbits.walker("53:60/6/1", altitude_km=550)  # epoch 2026-01-01T00:00Z
    t = np.array(["2025-12-31T00:00:00", "2026-01-02T06:00:00"], dtype="datetime64[ns]")
    assert element_set_age_days(c, t) == pytest.approx(1.25)


def test_cli_check_step_and_age_warning(tmp_path):
    base = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8"]
    res = CliRunner().invoke(main, ["check-step", *base[1:], "--step-s", "30"])
    assert res.exit_code == 0, res.output
    assert "interpolation error vs 3 s steps" in res.stdout
    res = CliRunner().invoke(main, base + ["--start", "2026-01-06T00:00:00Z", "--duration-s", "30", "--step-s", "30",
                                           "--samples", "100", "--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0, res.output
    assert "warning: the sweep runs up to 5.0 days" in res.output
    res = CliRunner().invoke(main, base + ["--duration-s", "30"])
    assert res.exit_code == 2 and "--out" in res.output


def test_check_step_takes_only_the_options_that_matter():
    options = {p.name for p in main.commands["check-step"].params}
    assert {"walker", "shell", "start", "step_s", "model", "experts_per_sat", "topology", "margin_km",
            "max_range_km", "latitude_cutoff_deg", "scenario_file"} <= options
    # A window of steps from --start, one space-xnet placement: nothing of a sweep's span, policies or output.
    assert not options & {"duration_s", "policies", "strategy", "belt_planes", "out", "workers"}


def test_check_step_link_rules_reach_the_budget():
    base = ["check-step", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
            "--step-s", "60"]
    plain = CliRunner().invoke(main, base)
    cut = CliRunner().invoke(main, [*base, "--latitude-cutoff-deg", "40"])
    assert plain.exit_code == cut.exit_code == 0, (plain.output, cut.output)
    assert plain.stdout != cut.stdout


def test_sweep_check_step_is_a_deprecated_alias_with_the_same_table():
    args = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8", "--step-s", "30",
            "--latitude-cutoff-deg", "45"]
    new = CliRunner().invoke(main, ["check-step", *args])
    old = CliRunner().invoke(main, ["sweep", *args, "--check-step"])
    assert new.exit_code == old.exit_code == 0, old.output
    assert old.stdout == new.stdout
    warnings = [line for line in old.stderr.splitlines() if line.startswith("spacexnet: warning:")]
    assert warnings == ["spacexnet: warning: `sweep --check-step` is deprecated; use `spacexnet check-step` "
                        "(same options)"]
    assert "--check-step" not in CliRunner().invoke(main, ["sweep", "--help"]).stdout
