"""``spacexnet --help`` and ``--version`` load no heavy layer; the listed summaries are the commands' own."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.utils import make_default_short_help

from spacexnet.cli import COMMANDS, main

HEAVY = ("numba", "xarray", "scipy", "netCDF4", "fastapi", "matplotlib", "pandas")

# Runs the command line's entry point as the console script does, then lists what got imported.
PROBE = """
import json, sys
from spacexnet.cli import main
try:
    main(sys.argv[1:], prog_name="spacexnet")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("flag", ["--help", "-h", "--version"])
def test_help_and_version_import_no_heavy_layer(flag):
    done = subprocess.run([sys.executable, "-c", PROBE, flag], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stderr.strip().splitlines()[-1])}
    assert done.stdout.strip()  # it did answer
    assert sorted(loaded & set(HEAVY)) == []


def test_a_subcommand_still_loads_its_layers():
    # The probe can see imports at all: running a command pulls in what it needs.
    done = subprocess.run([sys.executable, "-c", PROBE, "presets", "--help"], capture_output=True, text=True,
                          check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stderr.strip().splitlines()[-1])}
    assert "Named constellations" in done.stdout
    assert {"numba", "placement"} <= loaded


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_summary_is_the_commands_first_sentence(name):
    assert COMMANDS[name][1] == make_default_short_help(main.commands[name].help, 10_000)


def test_every_command_module_is_listed():
    cli = Path(main.callback.__code__.co_filename).parent
    modules = {f"spacexnet.cli.{p.stem}" for p in cli.glob("*.py") if not p.stem.startswith("_")}
    assert modules == {module for module, _ in COMMANDS.values()}
    assert all(main.commands[name].name == name for name in COMMANDS)
