"""The layering docs/model.md states, checked in the code: one-way imports, no private names, constants once."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("orbits", "latency", "placement", "spacexnet")


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _private_imports_across_packages():
    hits = []
    for package, path, tree in _modules():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] in PACKAGES and parts[0] != package:
                    names = [a.name for a in node.names]
                    if any(p.startswith("_") for p in parts[1:]) or any(n.startswith("_") for n in names):
                        hits.append(f"{where}:{node.lineno}: from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] in PACKAGES and parts[0] != package and any(p.startswith("_") for p in parts[1:]):
                        hits.append(f"{where}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                # graph._csr: a private attribute of another package's object (self._x is the module's own).
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    hits.append(f"{where}:{node.lineno}: .{node.attr}")
    return hits


def test_no_private_name_imported_across_packages():
    hits = [h for h in _private_imports_across_packages() if not h.split(": ", 1)[1].startswith(".")]
    assert hits == []


def test_no_private_attribute_of_another_packages_routing_graph():
    # The routing graph's sparse matrix is public as ``adjacency_ms``; nobody reaches for ``_csr``.
    hits = [h for h in _private_imports_across_packages() if h.endswith(": ._csr")]
    assert hits == []


@pytest.mark.parametrize("value, home", [
    (299_792.458, "latency/specs.py"),  # speed of light
    (6378.137, "orbits/constants.py"),  # WGS-84 a
    (298.257223563, "orbits/constants.py"),  # WGS-84 1/f
])
def test_each_physical_constant_is_written_once(value, home):
    found = [f"{path.relative_to(ROOT)}:{node.lineno}" for _, path, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and type(node.value) is float and node.value == value]
    assert [f.split(":")[0] for f in found] == [home], found


def test_defaults_shared_between_layers_agree():
    import latency
    from latency.specs import LinkProfile
    from orbits.links import DEFAULT_MIN_ELEVATION_DEG

    # latency cannot import orbits when it loads (placement would load numba), so the link
    # profile's default elevation is its own field; it must equal the link rule's.
    assert LinkProfile("x", 1.0, 0.0).gsl_min_elevation_deg == DEFAULT_MIN_ELEVATION_DEG
    data = json.loads((ROOT / "data" / "links.json").read_text(encoding="utf-8"))
    assert data["speed_of_light_km_per_s"] == latency.SPEED_OF_LIGHT_KM_S
    assert latency.load_link_profile().speed_of_light_km_per_s == latency.SPEED_OF_LIGHT_KM_S


def _loaded_after(code):
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {{'orbits', 'sgp4', 'numba'}}))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


def test_latency_loads_neither_orbits_nor_numba():
    assert _loaded_after("import latency") == "[]"


def test_placement_loads_numba_only_when_it_scores_gates():
    """docs/model.md: ``import placement`` loads no numba; the gate kernels load it on first use."""
    assert _loaded_after("import placement") == "[]"
    place = ("import numpy as np, placement\n"
             "phase = np.linspace(0, 360, 24, endpoint=False)\n"
             "placement.space_xnet(phase, lambda s: np.abs(np.subtract.outer(np.asarray(s), np.arange(24))) + 1.0,"
             " np.full((2, 4), 0.5))")
    assert _loaded_after(place) == "['numba']"
