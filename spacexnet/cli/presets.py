"""``spacexnet presets``: every named choice the other commands take, read from the registries.

Constellations (``--preset``), models (``--model``), hardware
(``--hardware``), link profiles (``--link-profile``), placement strategies
(``--strategy``/``--strategies``) and sweep policies (``--policy``), each
listed from where the commands look them up, so the list cannot drift from
what they accept.

Example::

    spacexnet presets
    spacexnet presets --format json
"""

from __future__ import annotations

import json

import click

import latency
import orbits
import placement

from ..scenario import DEFAULT_PRESET
from ..shells import satellites_needed
from .place import command as place_command
from ._tables import render

__all__ = ["command", "catalogue"]

_WIDTH = 72


def _first_line(obj) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _short(text: str) -> str:
    return text if len(text) <= _WIDTH else text[:_WIDTH - 1].rstrip() + "…"


def _default_of(command, name):
    return next(param.default for param in command.params if param.name == name)


def _policies() -> dict:
    # Each policy class carries its registry name; the registry is placement.POLICIES.
    classes = {cls.name: cls for cls in placement.Policy.__subclasses__()}
    return {name: classes[name] for name in placement.POLICIES}


def catalogue() -> dict[str, list[dict]]:
    """Section → rows (``name``, ``default``, facts, ``description``), from the registries.

    Examples
    --------
    >>> sections = catalogue()
    >>> sorted(sections)
    ['constellations', 'hardware', 'link profiles', 'models', 'policies', 'strategies']
    >>> [row["name"] for row in sections["models"] if row["default"]]
    ['llama-moe-3.5b']
    """
    constellations = []
    for name in orbits.preset_names():
        c = orbits.preset(name)
        constellations.append({"name": name, "default": name == DEFAULT_PRESET, "satellites": len(c),
                               "shells": len(c.shells), "description": orbits.preset_info(name)["description"]})
    models = []
    for name in latency.model_names():
        spec = latency.load_model(name)
        models.append({"name": name, "default": name == latency.DEFAULT_MODEL, "layers": spec.n_layers,
                       "experts": spec.n_routed_experts, "top-k": spec.top_k,
                       "satellites needed": satellites_needed(spec), "description": spec.description})
    default_hw = latency.load_hardware().name
    hardware = []
    for name in latency.hardware_names():
        hw = latency.load_hardware(name)
        hardware.append({"name": name, "default": name == default_hw, "memory GB": hw.memory_bytes / 1e9,
                         "TFLOP/s": hw.peak_flops / 1e12, "description": hw.description})
    default_link = latency.load_link_profile().name
    links = []
    for name in latency.link_profile_names():
        link = latency.load_link_profile(name)
        links.append({"name": name, "default": name == default_link, "Gb/s": link.isl_rate_bps / 1e9,
                      "forwarding ms": link.forwarding_delay_ms, "description": link.description})
    strategies = [{"name": name, "default": name == _default_of(place_command, "strategy"),
                   "description": _first_line(fn)}
                  for name, fn in placement.STRATEGIES.items()]
    policies = [{"name": name, "default": True, "description": _first_line(cls)}
                for name, cls in _policies().items()]
    return {"constellations": constellations, "models": models, "hardware": hardware,
            "link profiles": links, "strategies": strategies, "policies": policies}


#: Section → the option that takes its names.
OPTIONS = {"constellations": "--preset", "models": "--model", "hardware": "--hardware",
           "link profiles": "--link-profile", "strategies": "--strategy / --strategies", "policies": "--policy"}


@click.command("presets")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def command(fmt):
    """Named constellations, models, hardware, link profiles, strategies and policies.

    "default" marks what a command uses when the option is not given (every
    policy runs by default; the satellites a model needs assume one expert
    per satellite).
    """
    sections = catalogue()
    if fmt == "json":
        click.echo(json.dumps(sections, indent=2))
        return
    blocks = []
    for section, rows in sections.items():
        shown = [{**row, "default": "default" if row["default"] else "",
                  "description": _short(row["description"])} for row in rows]
        blocks.append(f"{section} ({OPTIONS[section]})\n" + render(shown, "table"))
    click.echo("\n".join(blocks), nl=False)
