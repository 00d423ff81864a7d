"""What a sweep refuses or warns about before working: a model that cannot fit, a step longer than the span.

And, when a step becomes infeasible during the sweep, the summary says so apart from unreachable steps.
"""

import importlib

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import orbits
import placement
from spacexnet.cli import main
from spacexnet.cli.sweep import summary_rows
from spacexnet.scenario import build_constellation, model_setup
from spacexnet.sweep import SweepOptions, check_fits, sweep

sweep_module = importlib.import_module("spacexnet.sweep")  # the package's ``sweep`` is the function
MODEL = "llama-moe-3.5b-2of8"  # 32 layers of 8 experts: 32 subnets of at least 9 satellites, 288 in all


@pytest.fixture
def no_heavy_work(monkeypatch):
    """Fail if anything propagates more than one instant or starts the chunk tasks."""
    spans = []
    propagate = orbits.propagate

    def one_instant_only(constellation, times, *args, **kwargs):
        spans.append(np.size(times))
        assert np.size(times) == 1, f"propagated {np.size(times)} instants before refusing"
        return propagate(constellation, times, *args, **kwargs)

    def no_executor(*args, **kwargs):
        raise AssertionError("started the chunk tasks before refusing")

    monkeypatch.setattr(orbits, "propagate", one_instant_only)
    monkeypatch.setattr(sweep_module, "_Executor", no_executor)
    return spans


def _error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    return lines[-1]


def test_an_infeasible_walker_is_refused_with_the_message_place_gives(tmp_path, no_heavy_work):
    walker = ["--walker", "53:320/16/1", "--altitude-km", "550"]
    placed = CliRunner().invoke(main, ["place", *walker, "-q"])
    assert placed.exit_code == 1
    reason = _error_line(placed).removeprefix("spacexnet: error: ")
    res = CliRunner().invoke(main, ["sweep", *walker, "--duration-s", "600", "--out", str(tmp_path / "w.nc"), "-q"])
    assert res.exit_code == 1
    line = _error_line(res)
    assert line.startswith(f"spacexnet: error: {reason}; what fits: ")
    # 320 satellites in 32 subnets of 10: two experts a satellite give 18 slots for 16 experts.
    assert "--experts-per-sat 2 " in line and MODEL in line
    assert no_heavy_work  # the check propagated (one instant) ...
    assert list(tmp_path.iterdir()) == []  # ... and wrote nothing, not even parts


def test_the_suggestions_fit_and_are_the_smallest(tmp_path):
    res = CliRunner().invoke(main, ["sweep", "--preset", "iridium", "--duration-s", "600",
                                    "--out", str(tmp_path / "i.nc"), "-q"])
    assert res.exit_code == 1
    line = _error_line(res)
    assert "--experts-per-sat 16 " in line and "--model" not in line  # no preset fits 66 satellites
    iridium = build_constellation(preset="iridium")
    check_fits(iridium, model_setup(experts_per_sat=16))
    with pytest.raises(placement.InfeasiblePlacementError):
        check_fits(iridium, model_setup(experts_per_sat=15))


def test_an_infeasible_shell_of_a_tle_file_is_refused_and_the_shell_that_fits_named(tmp_path, no_heavy_work):
    tle = tmp_path / "two-shells.tle"
    orbits.write_tle(orbits.combine(orbits.walker("53:360/18/1", 550), orbits.walker("70:120/6/1", 570, shell=1)),
                     tle)
    out = tmp_path / "s.nc"
    res = CliRunner().invoke(main, ["sweep", "--tle", str(tle), "--shell", "1", "--model", MODEL, "--out", str(out)])
    assert res.exit_code == 1
    line = _error_line(res)
    assert line.startswith("spacexnet: error: subnet 0 has 4 satellites")
    assert "it needs at least 9 satellites" in line
    assert "what fits: --shell 0 (360 satellites)" in line and "--experts-per-sat 4 " in line  # subnets of 3: 2 x 4 slots
    assert not out.exists() and not (tmp_path / ".s.nc.parts").exists()
    res = CliRunner().invoke(main, ["check-step", "--tle", str(tle), "--shell", "1", "--model", MODEL])
    assert res.exit_code == 1 and "what fits: --shell 0" in _error_line(res)


def test_the_api_refuses_before_any_part_is_written(tmp_path, no_heavy_work):
    constellation = build_constellation(walker="53:120/6/1", altitude_km=550)
    with pytest.raises(placement.InfeasiblePlacementError, match="subnet 0 has 4 satellites"):
        sweep(constellation, model_setup(MODEL), SweepOptions(duration_s=600), tmp_path / "a.nc")
    assert list(tmp_path.iterdir()) == []


def test_a_step_that_becomes_infeasible_is_counted_apart_from_unreachable_ones(tmp_path):
    # 80 of 360 satellites fail after the first step: 280 cannot hold the 288 the model needs.
    failures = tmp_path / "sats.csv"
    failures.write_text("norad_id,start,end\n" + "".join(f"{80000 + i},2026-01-01T00:00:30Z,\n" for i in range(80)))
    out = tmp_path / "f.nc"
    res = CliRunner().invoke(main, ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", MODEL,
                                    "--duration-s", "60", "--step-s", "30", "--samples", "100",
                                    "--fail-sats", str(failures), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    header = res.stdout.splitlines()[0]
    assert "infeasible steps" in header and "unreachable steps" in header
    with xr.open_dataset(out) as ds:
        rows = summary_rows(ds)
    for row in rows:
        assert row["infeasible steps"] == 2 and row["unreachable steps"] == 0, row


def test_unreachable_steps_are_not_called_infeasible():
    """Placed but cut off (expected latency inf, no infeasible flag): unreachable."""
    flags = np.array([[placement.FLAG_PLACED, placement.FLAG_UNREACHABLE, placement.FLAG_INFEASIBLE]], np.int8)
    ds = xr.Dataset({
        "token_latency_expected_ms": (("policy", "time"), [[10.0, np.inf, np.nan]]),
        "token_latency_p99_ms": (("policy", "time"), [[12.0, np.inf, np.nan]]),
        "migrations": (("policy", "time"), [[0, 0, 0]]),
        "bytes_moved": (("policy", "time"), [[0.0, 0.0, 0.0]]),
        "policy_flags": (("policy", "time"), flags),
    }, coords={"policy": ["static"]})
    (row,) = summary_rows(ds)
    assert (row["infeasible steps"], row["unreachable steps"], row["mean expected ms"]) == (1, 1, 10.0)


def test_a_step_longer_than_the_span_warns_in_one_line(tmp_path):
    res = CliRunner().invoke(main, ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", MODEL,
                                    "--duration-s", "60", "--step-s", "100", "--samples", "100",
                                    "--out", str(tmp_path / "one.nc"), "-q"])
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == ["spacexnet: warning: --step-s 100 is longer than the 60 s span (--duration-s): "
                        "the sweep has one step, at the start"]
    with xr.open_dataset(tmp_path / "one.nc") as ds:
        assert ds.sizes["time"] == 1
