"""Every docstring example runs as written: the four packages (their ``__init__`` included) and the scripts.

This is the one place doctests run. A module or script whose source holds an
example (``>>>``) and is missing from the lists below fails
:func:`test_every_example_is_collected`.
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("orbits", "latency", "placement", "spacexnet")
SCRIPT_FOLDERS = ("docs", "examples", "bench", "tests/data")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield name
        for info in pkgutil.walk_packages(package.__path__, prefix=name + "."):
            yield info.name


def _scripts():
    for folder in SCRIPT_FOLDERS:
        for path in sorted((ROOT / folder).glob("*.py")):
            if ">>>" in path.read_text(encoding="utf-8"):
                yield str(path.relative_to(ROOT))


MODULES = sorted(_modules())
SCRIPTS = list(_scripts())


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("path", SCRIPTS)
def test_script_docstring_examples_run(path, tmp_path, monkeypatch):
    module = load_script(ROOT / path, "doctest_" + Path(path).stem)
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} failed in {path}"


def test_every_example_is_collected():
    finder = doctest.DocTestFinder()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ">>>" not in path.read_text(encoding="utf-8"):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            assert name in MODULES, name
            assert any(t.examples for t in finder.find(importlib.import_module(name))), name
    assert "docs/build.py" in SCRIPTS and "examples/real_data.py" in SCRIPTS
