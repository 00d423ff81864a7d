"""``--scenario FILE.json``: the service's scenario document in place of the constellation and model options.

The same document that ``POST /scenarios`` takes (see
:mod:`spacexnet.service.schema`) sets the options a command has —
constellation, ``--shell``, model, hardware, link profile, activation,
seed, placement options and link rules — so a scenario is the same
everywhere. An option given on the command line as well is refused (one
or the other, never a silent winner); a field the command has no option
for is refused unless it holds its default. Element sets given as text in
the document are read from a temporary file, and messages name them as
``FILE.json#constellation.tle``.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import click
from click.core import ParameterSource

from ..exceptions import SpaceXNetError, user_errors

__all__ = ["scenario_option"]

# Scenario field -> the command's keyword (click parameter name).
_FIELDS = {
    "hardware": "hardware", "link_profile": "link_profile", "activation": "activation", "seed": "seed",
    "context_tokens": "context_tokens", "experts_per_sat": "experts_per_sat", "belt_planes": "belt_planes",
    "topology": "topology", "margin_km": "margin_km", "max_range_km": "max_range_km",
    "latitude_cutoff_deg": "latitude_cutoff_deg", "shell": "shell",
}
_CONSTELLATION = ("preset", "walker", "altitude_km", "star", "epoch", "tle", "omm", "skip_invalid")
# Options that matter only to commands with the group's first option: a command without a model
# (propagate, links) ignores the model part of a scenario, one without ISL topology its link rules.
_GROUPS = {
    "model": ("model", "model_file", "hardware", "link_profile", "activation", "seed", "context_tokens",
              "experts_per_sat", "belt_planes"),
    "topology": ("topology", "margin_km", "max_range_km", "latitude_cutoff_deg"),
}


def _given(ctx, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _settings(doc, folder: Path) -> dict:
    """The command keywords that the fields written in ``doc`` set (element text written into ``folder``).

    Fields the document leaves out are not set: their defaults are the CLI's.
    """
    import latency
    from ..service.schema import OMMConstellation, PresetConstellation, SpecModel, TLEConstellation

    written = doc.model_fields_set
    out = {}
    if "constellation" in written:
        c = doc.constellation
        out = dict.fromkeys(_CONSTELLATION)
        out["star"] = out["skip_invalid"] = False
        if isinstance(c, PresetConstellation):
            out.update(preset=c.preset, epoch=c.epoch)
        elif isinstance(c, (TLEConstellation, OMMConstellation)):
            kind = "tle" if isinstance(c, TLEConstellation) else "omm"
            suffix = {"json": ".json", "csv": ".csv", "xml": ".xml"}.get(getattr(c, "omm_format", None), "")
            path = folder / f"constellation.{kind}{suffix}"
            path.write_text(getattr(c, kind), encoding="utf-8")
            out.update({kind: str(path), "skip_invalid": c.skip_invalid})
        else:
            out.update(walker=c.walker, altitude_km=c.altitude_km, star=c.star, epoch=c.epoch)
    if "model" in written:
        model = doc.model
        out["model"] = (latency.ModelSpec.from_dict(model.spec, origin="model.spec")
                        if isinstance(model, SpecModel) else model.preset)
        out["model_file"] = None
    out.update({name: getattr(doc, field) for field, name in _FIELDS.items() if field in written})
    return out


def _apply(path: str, kw: dict, folder: Path) -> None:
    from pydantic import ValidationError

    from ..service.schema import Scenario, validation_detail

    try:
        doc = Scenario.model_validate_json(Path(path).read_bytes())
    except OSError as exc:
        raise SpaceXNetError(f"{path}: cannot read the scenario ({exc.strerror})") from None
    except ValidationError as exc:
        raise SpaceXNetError(f"{path}: {validation_detail(exc)}") from None
    ctx = click.get_current_context()
    try:
        settings = _settings(doc, folder)
    except user_errors() as exc:
        raise SpaceXNetError(f"{path}: {exc}") from None
    for name, value in settings.items():
        if name not in kw:
            group = next((g for g, members in _GROUPS.items() if name in members), None)
            if group is not None and group not in kw:
                continue  # the command takes none of this group (propagate has no model): not its concern
            if value is None or value is False:
                continue
            raise SpaceXNetError(f"{path}: this command has no {_flag(name)}, so the scenario's "
                                 f"{name} = {value!r} would be ignored")
        if _given(ctx, name):
            raise SpaceXNetError(f"{_flag(name)} is also set by --scenario {path}; give one or the other")
        kw[name] = value


def scenario_option(command):
    """Decorator (under ``@click.command``) adding ``--scenario FILE.json`` to a command.

    Examples
    --------
    >>> @click.command()
    ... @scenario_option
    ... @click.option("--seed", type=int, default=0)
    ... def show(seed):
    ...     click.echo(seed)
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(show, ["--seed", "3"]).output
    '3\\n'
    """

    @click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False), default=None,
                  metavar="FILE.json",
                  help="A scenario document (as POST /scenarios takes) instead of the constellation and model "
                       "options.")
    @functools.wraps(command)
    def run(*args, scenario_file=None, **kw):
        if scenario_file is None:
            return command(*args, **kw)
        with tempfile.TemporaryDirectory(prefix="spacexnet-scenario-") as folder:
            _apply(scenario_file, kw, Path(folder))
            try:
                return command(*args, **kw)
            except user_errors() as exc:
                # Element text of the document was read from a temporary file: name it by the document.
                text = str(exc)
                if folder in text:
                    exc.args = (text.replace(f"{folder}/", f"{scenario_file}#"),)
                raise

    return run
