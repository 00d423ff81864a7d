"""A dataset's ``history`` is a command line that runs and makes the same file."""

import shlex
import subprocess
import sys

import pytest
import xarray as xr

from spacexnet.cli import main
from spacexnet.io import command_line
from spacexnet.scenario import build_constellation, model_setup
from spacexnet.sweep import SweepOptions, sweep


def _command(ds) -> list[str]:
    stamp, line = ds.attrs["history"].split(" ", 1)
    assert stamp.endswith("Z")
    return shlex.split(line)


def _run(words, cwd):
    assert words[0] == "spacexnet"
    done = subprocess.run([sys.executable, "-m", "spacexnet", *words[1:]], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_the_history_of_a_sweep_reruns_to_the_same_values(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _run(["spacexnet", "sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
          "--duration-s", "60", "--step-s", "30", "--policy", "static,handover", "--min-gain", "0.02",
          "--samples", "150", "--horizon-s", "300", "--workers", "1", "--out", "s.nc", "-q"], first)
    with xr.open_dataset(first / "s.nc") as ds:
        reference = ds.load()
    words = _command(reference)
    assert "--policy" in words and "--min-gain" in words and "--samples" in words
    assert not {"--policies", "--min-gain-ratio", "--n-samples"} & set(words)
    _run(words, second)  # the same relative --out, in another folder
    with xr.open_dataset(second / "s.nc") as ds:
        again = ds.load()
    assert list(again["policy"].values) == ["static", "handover"]
    assert again.attrs["min_gain_ratio"] == 0.02 and again.attrs["monte_carlo_samples"] == 150
    assert _command(again) == words
    for ds in (reference, again):
        del ds.attrs["history"]
    xr.testing.assert_identical(again, reference)


@pytest.mark.parametrize("args", [
    ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--star", "--policy", "static",
     "--duration-s", "1e-3", "--step-s", "0.1", "--out", "has space's.nc", "-q", "--resume"],
    ["compare", "--preset", "kuiper-630", "--strategies", "space-xnet,joint", "--seed", "-3"],
    ["propagate", "--omm", "a b.json", "--out", "p.nc", "--step-s", "60"],
    ["plot", "--", "-odd name.nc"],
])
def test_the_line_parses_back_to_the_same_options(args):
    command = main.commands[args[0]]
    with command.make_context(args[0], list(args[1:]), parent=main.make_context("spacexnet", [args[0]])) as ctx:
        line = command_line()
    words = shlex.split(line)
    assert words[:2] == ["spacexnet", args[0]]
    again = command.make_context(args[0], words[2:])
    assert again.params == ctx.params


def test_a_python_call_says_it_is_one(tmp_path):
    c = build_constellation(walker="53:360/18/1", altitude_km=550)
    path = sweep(c, model_setup("llama-moe-3.5b-2of8"), SweepOptions(duration_s=30, step_s=30, n_samples=100,
                                                                      policies=("static",)), tmp_path / "api.nc")
    with xr.open_dataset(path) as ds:
        history = ds.attrs["history"]
    assert "Python call spacexnet.sweep.sweep('walker 53:360/18/1" in history
    assert "policies=('static',)" in history and "not a spacexnet command" in history
