"""``--scenario FILE.json`` on the CLI: the service's document gives the same run as the options it stands for."""

import json

import pytest
import xarray as xr
from click.testing import CliRunner

import orbits
from spacexnet.cli import main
from spacexnet.scenario import build_constellation

WALKER = ["--walker", "53:360/18/1", "--altitude-km", "550"]
DOCUMENT = {"constellation": {"walker": "53:360/18/1", "altitude_km": 550},
            "model": {"preset": "llama-moe-3.5b-2of8"}, "activation": "dirichlet:0.5", "seed": 4}
OPTIONS = [*WALKER, "--model", "llama-moe-3.5b-2of8", "--activation", "dirichlet:0.5", "--seed", "4"]


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(DOCUMENT))
    return str(path)


def test_compare_with_a_scenario_equals_compare_with_its_options(scenario):
    common = ["--seeds", "1", "--samples", "200", "--strategies", "space-xnet,random", "--format", "json", "-q"]
    by_file = run("compare", "--scenario", scenario, "--start", "2026-01-01T00:05:00Z", *common)
    by_options = run("compare", *OPTIONS, "--start", "2026-01-01T00:05:00Z", *common)
    assert by_file.exit_code == 0, by_file.output
    assert json.loads(by_file.stdout) == json.loads(by_options.stdout)


def test_place_propagate_and_links_take_a_scenario(scenario, tmp_path):
    placed = run("place", "--scenario", scenario, "--format", "json", "-q")
    assert json.loads(placed.stdout)["model"] == "llama-moe-3.5b-2of8"
    assert json.loads(placed.stdout) == json.loads(run("place", *OPTIONS, "--format", "json", "-q").stdout)
    for command in ("propagate", "links"):
        out = tmp_path / f"{command}.nc"
        done = run(command, "--scenario", scenario, "--duration-s", "60", "--out", str(out), "-q")
        assert done.exit_code == 0, done.output
        with xr.open_dataset(out) as ds:
            assert ds.sizes["sat"] == 360 if "sat" in ds.sizes else ds.sizes["link"] == 720


def test_element_text_in_the_document_is_named_by_the_document(tmp_path):
    text = orbits.to_tle(build_constellation(walker="53:40/4/1", altitude_km=550))
    path = tmp_path / "real.json"
    path.write_text(json.dumps({"constellation": {"tle": text}}))
    done = run("propagate", "--scenario", str(path), "--duration-s", "60", "--out", str(tmp_path / "p.nc"), "-q")
    assert done.exit_code == 0, done.output
    path.write_text(json.dumps({"constellation": {"tle": text.replace(" 53.0000 ", " 53.000x ", 1)}}))
    bad = run("propagate", "--scenario", str(path), "--out", str(tmp_path / "q.nc"), "-q")
    assert bad.exit_code == 1
    assert bad.stderr.startswith(f"spacexnet: error: {path}#constellation.tle:3: ")


@pytest.mark.parametrize("document, extra, message", [
    ({"seed": "4"}, [], "scenario.json: scenario: field 'seed' = '4': Input should be a valid integer"),
    ({"colour": 1}, [], "scenario.json: scenario: unknown field 'colour'"),
    ({"seed": 4}, ["--seed", "5"], "--seed is also set by --scenario"),
    (DOCUMENT, ["--walker", "53:66/6/1"], "--walker is also set by --scenario"),
    ({"margin_km": 70.0}, [], "no --margin-km, so the scenario's margin_km = 70.0 would be ignored"),
    ({"constellation": {"preset": "starlink-gen1"}, "shell": 9}, [], "--shell 9: "),
    ({"shell": 0}, ["--shell", "0"], "--shell is also set by --scenario"),
])
def test_bad_or_conflicting_scenarios_are_one_line(tmp_path, document, extra, message):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document))
    done = run("place", "--scenario", str(path), *extra, "-q")
    assert done.exit_code == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_missing_scenario_file_is_one_line(tmp_path):
    done = run("place", "--scenario", str(tmp_path / "none.json"))
    assert done.exit_code == 1 and "none.json: cannot read the scenario" in done.stderr
