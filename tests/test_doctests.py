"""Every docstring example of orbits/, placement/ and spacexnet/ runs as written (latency/ has its own)."""

import doctest
import importlib
import pkgutil

import pytest

import orbits
import placement
import spacexnet


def _modules():
    for package in (orbits, placement, spacexnet):
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
