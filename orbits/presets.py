"""Named constellations shipped with Space-XNet (``data/constellations.json``).

Each preset is a list of Walker shells with a ``source`` note that says
where the numbers come from and which are our choice (phasing factors are
rarely published). Shells are built with :func:`orbits.walker.walker`
(shell ``k`` gets catalogue numbers from ``80000 + 5000·k``; a preset with
``"norad_ids": "consecutive"``, whose shells may exceed 5,000 satellites,
numbers its shells one after another from 80000 instead) and joined with
:func:`orbits.walker.combine`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

from .constellation import Constellation, recorded
from .exceptions import ConstellationError
from .walker import FIRST_SYNTHETIC_NORAD_ID, combine, walker

__all__ = ["preset", "preset_names", "preset_info", "DEFAULT_PRESET"]

_DATA_FILE = "constellations.json"


@lru_cache(maxsize=1)
def _catalogue() -> dict:
    text = files("spacexnet_data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    catalogue = json.loads(text)
    for name, entry in catalogue["presets"].items():
        if not entry.get("shells") or not entry.get("source"):
            raise ConstellationError(  # pragma: no cover - guards the shipped file
                f"spacexnet_data/{_DATA_FILE}: preset {name!r} needs 'shells' and 'source'")
    return catalogue


#: Name of the preset used when none is given.
DEFAULT_PRESET = "starlink-shell1"


def preset_names() -> list[str]:
    """Names of the shipped constellation presets, sorted.

    Examples
    --------
    >>> "starlink-shell1" in preset_names()
    True
    """
    return sorted(_catalogue()["presets"])


def preset_info(name: str) -> dict:
    """The JSON entry of preset ``name``: ``description``, ``source`` and ``shells``.

    Examples
    --------
    >>> preset_info("iridium")["shells"][0]["walker"]
    '86.4:66/6/2'
    """
    presets = _catalogue()["presets"]
    key = str(name).strip().lower()
    if key not in presets:
        raise ConstellationError(
            f"unknown constellation preset {name!r}; valid names: {', '.join(preset_names())}")
    return json.loads(json.dumps(presets[key]))  # a copy the caller may change


@recorded
def preset(name: str | None = None, epoch=None) -> Constellation:
    """Build the named constellation preset.

    Parameters
    ----------
    name : str, optional
        One of :func:`preset_names` (case-insensitive); default
        ``"starlink-shell1"`` (53:1584/72/1 at 550 km, Walker-delta).
    epoch : datetime, str, numpy.datetime64 or None
        Element-set epoch (UTC), as in :func:`orbits.walker.walker`;
        default 2026-01-01T00:00:00Z.

    Returns
    -------
    Constellation
        Its ``source`` is ``"preset <name>: <shell sources>"``.

    Raises
    ------
    ConstellationError
        For an unknown name (the message lists the valid ones).

    Examples
    --------
    >>> c = preset("iridium")
    >>> len(c), c.shells[0].label()
    (66, '86.4° 780 km 6×11 star F=2')
    """
    key = (name or DEFAULT_PRESET)
    entry = preset_info(key)
    numbering = entry.get("norad_ids", "per-shell")
    if numbering not in ("per-shell", "consecutive"):
        raise ConstellationError(  # pragma: no cover - guards the shipped file
            f"preset {key!r}: norad_ids {numbering!r} is not 'per-shell' or 'consecutive'")
    next_norad_id = FIRST_SYNTHETIC_NORAD_ID
    shells = []
    for index, shell in enumerate(entry["shells"]):
        kind = shell.get("kind", "delta")
        if kind not in ("delta", "star"):
            raise ConstellationError(  # pragma: no cover - guards the shipped file
                f"preset {key!r} shell {index}: kind {kind!r} is not 'delta' or 'star'")
        first = next_norad_id if numbering == "consecutive" else None
        shells.append(walker(shell["walker"], shell["altitude_km"], star=(kind == "star"),
                             epoch=epoch, shell=index, first_norad_id=first))
        next_norad_id += len(shells[-1])
    constellation = combine(*shells)
    return Constellation(
        satrecs=constellation.satrecs, norad_id=constellation.norad_id, name=constellation.name,
        shell=constellation.shell, plane=constellation.plane, slot=constellation.slot,
        shells=constellation.shells, source=f"preset {key.strip().lower()}: {constellation.source}",
    )
