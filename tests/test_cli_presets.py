"""``spacexnet presets``: every named choice, from the registries the commands use."""

from __future__ import annotations

import json

from click.testing import CliRunner

import latency
import orbits
import placement
from spacexnet.cli import main


def run(args):
    return CliRunner().invoke(main, args)


def test_presets_lists_every_registry():
    result = run(["presets", "--format", "json"])
    assert result.exit_code == 0, result.output
    sections = json.loads(result.stdout)
    names = {section: [row["name"] for row in rows] for section, rows in sections.items()}
    assert names == {
        "constellations": orbits.preset_names(),
        "models": latency.model_names(),
        "hardware": latency.hardware_names(),
        "link profiles": latency.link_profile_names(),
        "strategies": list(placement.STRATEGIES),
        "policies": list(placement.POLICIES),
    }
    defaults = {section: [row["name"] for row in rows if row["default"]] for section, rows in sections.items()}
    assert defaults["constellations"] == ["starlink-shell1"] and defaults["models"] == [latency.DEFAULT_MODEL]
    assert defaults["hardware"] == [latency.load_hardware().name]
    assert defaults["link profiles"] == [latency.load_link_profile().name]
    gen1 = next(r for r in sections["constellations"] if r["name"] == "starlink-gen1")
    assert (gen1["satellites"], gen1["shells"]) == (4408, 5)
    llama = next(r for r in sections["models"] if r["name"] == "llama-moe-3.5b")
    assert (llama["layers"], llama["experts"], llama["top-k"], llama["satellites needed"]) == (32, 16, 4, 544)


def test_presets_table_and_help():
    result = run(["presets"])
    assert result.exit_code == 0, result.output
    for heading in ("constellations (--preset)", "models (--model)", "hardware (--hardware)",
                    "link profiles (--link-profile)", "strategies", "policies (--policy)"):
        assert heading in result.stdout
    for name in [*orbits.preset_names(), *latency.model_names(), *placement.POLICIES]:
        assert f"\n{name} " in result.stdout
    helped = run(["--help"]).stdout
    assert "presets" in helped and "shells" in helped
    # Named in the help of --preset: the command it points to exists.
    assert "spacexnet presets" in run(["sweep", "--help"]).stdout
