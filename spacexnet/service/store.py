"""The scenarios a service holds: built once from their documents, kept by content id.

:func:`build` turns a :class:`~spacexnet.service.schema.Scenario` into the
objects the layers work on, through :mod:`spacexnet.scenario` (the CLI's own
path), inline element sets through :func:`orbits.parse_tle_text` and
:func:`orbits.parse_omm_text`. :class:`ScenarioStore` holds the built
scenarios under their ids, within the configured limits; a scenario is
added only once it is fully built, so a refused document leaves nothing
behind. With a data directory, each document is also written there
(atomically) and built again at the next start.

Examples
--------
>>> from spacexnet.service.config import ServiceConfig
>>> store = ScenarioStore(ServiceConfig())
>>> loaded = store.get("default")
>>> loaded.summary()["satellites"], loaded.setup.model.name
(1584, 'llama-moe-3.5b')
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pydantic import ValidationError

import latency
import orbits

from ..exceptions import user_errors
from ..io import atomic_write_text
from ..scenario import ModelSetup, build_constellation, model_setup, select_shell
from .config import ServiceConfig
from .problems import Problem
from .schema import (
    OMMConstellation,
    PresetConstellation,
    Scenario,
    SpecModel,
    TLEConstellation,
    WalkerConstellation,
    canonical_json,
    scenario_id,
    validation_detail,
)

__all__ = ["LoadedScenario", "ScenarioStore", "build", "parse_document", "document_with_elements", "DEFAULT_ID"]

log = logging.getLogger("spacexnet.service")

#: Name under which the built-in default scenario (the document ``{}``) is always there.
DEFAULT_ID = "default"

# The T of a Walker spec "i:T/P/F", to refuse a huge shell before building its element sets.
_WALKER_TOTAL_RE = re.compile(r":\s*(\d+)\s*/")


def _utc_iso(value) -> str:
    return f"{np.datetime_as_string(np.datetime64(value, 's'), unit='s')}Z"


@dataclass(frozen=True)
class LoadedScenario:
    """A built scenario: its document and the objects the layers work on."""

    id: str
    document: Scenario
    constellation: object
    setup: ModelSetup
    warnings: tuple = ()
    created_utc: str = ""
    norad_index: dict = field(default_factory=dict, repr=False, compare=False)
    #: Name that uploaded element text was read under (None: the document's own, ``constellation.tle``).
    source: str | None = None
    # Summaries once made (a scenario never changes): they are answered on the event loop.
    _summaries: dict = field(default_factory=dict, repr=False, compare=False)

    def satellite(self, norad_id: int, what: str = "satellite") -> int:
        """Index of the satellite with catalogue number ``norad_id`` (400 problem if there is none)."""
        try:
            return self.norad_index[int(norad_id)]
        except KeyError:
            raise Problem(400, "bad-parameter", f"{what}: no satellite with NORAD id {norad_id} in scenario "
                                                f"{self.id} (see /scenarios/{self.id}/satellites)") from None

    def summary(self, document: bool = False) -> dict:
        """``{id, satellites, shells, planes, epochs, warnings, ...}``: what ``POST /scenarios`` answers.

        With ``document``, also the scenario document with every default filled in.
        """
        if document not in self._summaries:
            self._summaries[document] = self._summary(document)
        return self._summaries[document]

    def _summary(self, document: bool) -> dict:
        c = self.constellation
        planes = c.plane[c.plane >= 0]
        shells = []
        for k, info in enumerate(c.shells):
            members = c.shell == k
            if not members.any():  # a shell left out by the scenario's shell selection
                continue
            shells.append({"shell": k, "label": info.label(), "inclination_deg": float(info.inclination_deg),
                           "altitude_km": float(info.altitude_km), "planes": int(info.planes),
                           "satellites": int(members.sum())})
        epochs = c.epochs
        out = {
            "id": self.id,
            "aliases": [DEFAULT_ID] if self.id == scenario_id(Scenario()) else [],
            "source": c.source,
            "satellites": len(c),
            "shells": shells,
            "planes": int(np.unique(c.shell[c.plane >= 0] * 1_000_000 + planes).size) if planes.size else 0,
            "satellites_without_plane": int((c.plane < 0).sum()),
            "epochs": {"first_utc": _utc_iso(epochs.min()), "last_utc": _utc_iso(epochs.max()),
                       "reference_utc": _utc_iso(c.reference_epoch)},
            "model": self.setup.model.name,
            "hardware": self.setup.hardware.name,
            "link_profile": self.setup.link_profile.name,
            "layers": self.setup.n_layers,
            "warnings": list(self.warnings),
            "created_utc": self.created_utc,
        }
        if document:
            out["document"] = self.document.model_dump(mode="json")
        return out


def _constellation(doc: Scenario, source: str | None):
    c = doc.constellation
    if isinstance(c, PresetConstellation):
        return build_constellation(preset=c.preset, epoch=c.epoch)
    if isinstance(c, WalkerConstellation):
        return build_constellation(walker=c.walker, altitude_km=c.altitude_km, star=c.star, epoch=c.epoch)
    if isinstance(c, TLEConstellation):
        return orbits.parse_tle_text(c.tle, source=source or "constellation.tle", skip_invalid=c.skip_invalid)
    if isinstance(c, OMMConstellation):
        return orbits.parse_omm_text(c.omm, source=source or "constellation.omm", skip_invalid=c.skip_invalid,
                                     fmt=c.omm_format)
    raise TypeError(f"unknown constellation kind {type(c).__name__}")  # the schema admits no other


def build(doc: Scenario, max_satellites: int, source: str | None = None) -> tuple:
    """Build the constellation and model setup of ``doc``.

    Parameters
    ----------
    doc : Scenario
    max_satellites : int
        Most satellites allowed after the shell selection.
    source : str, optional
        Name of uploaded element text in messages (``starlink.txt:12: ...``).

    Returns
    -------
    (constellation, setup, warnings)

    Raises
    ------
    Problem
        422 with the library's one-line message for anything that cannot be built.
    """
    c = doc.constellation
    if isinstance(c, WalkerConstellation):
        match = _WALKER_TOTAL_RE.search(c.walker)
        if match and int(match.group(1)) > max_satellites:
            raise Problem(422, "invalid-scenario", f"Walker spec {c.walker!r}: {int(match.group(1)):,} satellites "
                                                   f"is more than this service's limit of {max_satellites:,} "
                                                   "(--max-satellites)")
    warnings = []
    try:
        constellation = _constellation(doc, source)
        if constellation.skipped:
            warnings.append(f"skipped {len(constellation.skipped)} invalid record(s); first: "
                            f"{constellation.skipped[0]}")
        if doc.shell is not None:
            constellation = select_shell(constellation, doc.shell)
        elif len(constellation.shells) > 1:
            warnings.append(f"{len(constellation.shells)} shells, all used; choose one with \"shell\": "
                            + "; ".join(f"{i}: {s.label()} ({int((constellation.shell == i).sum())} satellites)"
                                        for i, s in enumerate(constellation.shells)))
        if len(constellation) > max_satellites:
            raise Problem(422, "invalid-scenario", f"{len(constellation):,} satellites is more than this "
                                                   f"service's limit of {max_satellites:,} (--max-satellites); "
                                                   "choose one shell with \"shell\"")
        without_plane = int((constellation.plane < 0).sum())
        if without_plane:
            warnings.append(f"{without_plane} satellite(s) fit no orbital plane (plane -1): they take part "
                            "in links only through the nearest-neighbour rules")
        model = doc.model
        spec = (latency.ModelSpec.from_dict(model.spec, origin="model.spec") if isinstance(model, SpecModel)
                else model.preset)
        setup = model_setup(spec, None, doc.hardware, doc.link_profile, doc.activation, doc.seed,
                            doc.context_tokens, doc.experts_per_sat)
    except user_errors() as exc:
        raise Problem(422, "invalid-scenario", str(exc)) from None
    return constellation, setup, tuple(warnings)


def _loaded(doc: Scenario, sid: str, max_satellites: int, source=None) -> LoadedScenario:
    constellation, setup, warnings = build(doc, max_satellites, source)
    index = {int(n): i for i, n in enumerate(constellation.norad_id)}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return LoadedScenario(sid, doc, constellation, setup, warnings, now, index, source)


class ScenarioStore:
    """The built scenarios of a service, by content id, within its limits.

    Thread-safe: scenarios are built in worker threads, outside the lock,
    and added under it only when complete.
    """

    def __init__(self, config: ServiceConfig):
        self.config = config
        self._lock = threading.Lock()
        self._scenarios: dict[str, LoadedScenario] = {}
        default = Scenario()
        self.default_id = scenario_id(default)
        # Built in: always there, whatever the limit on posted scenarios.
        self._scenarios[self.default_id] = _loaded(default, self.default_id, max_satellites=10**9)
        self._dir = Path(config.data_dir) / "scenarios" if config.data_dir else None
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)

    def resolve(self, sid: str) -> str:
        """The content id of ``sid`` (``default`` is an alias)."""
        return self.default_id if sid == DEFAULT_ID else sid

    def get(self, sid: str) -> LoadedScenario:
        """The scenario ``sid`` (404 problem if the service does not hold it)."""
        with self._lock:
            found = self._scenarios.get(self.resolve(sid))
        if found is None:
            raise Problem(404, "not-found", f"no scenario {sid!r} (GET /scenarios lists them; POST /scenarios "
                                            "adds one)")
        return found

    def all(self) -> list[LoadedScenario]:
        with self._lock:
            return list(self._scenarios.values())

    def add(self, doc: Scenario, source: str | None = None) -> tuple[LoadedScenario, bool]:
        """Build ``doc`` and hold it; return it and whether it is new (the same document twice: one scenario)."""
        sid = scenario_id(doc)
        with self._lock:
            if sid in self._scenarios:
                return self._scenarios[sid], False
            self._check_room()
        loaded = _loaded(doc, sid, self.config.max_satellites, source)
        with self._lock:
            if sid in self._scenarios:  # built meanwhile by another request
                return self._scenarios[sid], False
            self._check_room()
            if self._dir is not None:
                atomic_write_text(self._dir / f"{sid}.json", canonical_json(doc) + "\n", overwrite=True)
            self._scenarios[sid] = loaded
        return loaded, True

    def _check_room(self) -> None:
        if len(self._scenarios) >= self.config.max_scenarios:
            raise Problem(409, "conflict", f"the service holds {len(self._scenarios)} scenarios, its limit "
                                           "(--max-scenarios); delete one (DELETE /scenarios/ID) first")

    def delete(self, sid: str) -> str:
        """Forget scenario ``sid`` (and its saved document); the default one stays. Return its content id."""
        full = self.resolve(sid)
        if full == self.default_id:
            raise Problem(409, "conflict", "the default scenario is built in and cannot be deleted")
        with self._lock:
            if full not in self._scenarios:
                raise Problem(404, "not-found", f"no scenario {sid!r}")
            del self._scenarios[full]
            if self._dir is not None:
                (self._dir / f"{full}.json").unlink(missing_ok=True)
        return full

    def load_saved(self) -> int:
        """Build the documents saved in the data directory; a file that no longer builds is logged and kept.

        Returns the number of scenarios loaded.
        """
        if self._dir is None:
            return 0
        count = 0
        for path in sorted(self._dir.glob("*.json")):
            try:
                doc = Scenario.model_validate_json(path.read_text(encoding="utf-8"))
                if scenario_id(doc) != path.stem:
                    raise ValueError(f"its content hashes to {scenario_id(doc)}, not {path.stem}")
                self.add(doc)
                count += 1
            except Problem as exc:
                log.warning("%s: not loaded: %s", path, exc.detail)
            except ValidationError as exc:
                log.warning("%s: not loaded: %s", path, validation_detail(exc))
            except (OSError, ValueError) as exc:
                log.warning("%s: not loaded: %s", path, exc)
        return count


def parse_document(text: str | bytes) -> Scenario:
    """A scenario from JSON text (422 problem naming the first bad field)."""
    try:
        return Scenario.model_validate_json(text)
    except ValidationError as exc:
        raise Problem(422, "invalid-scenario", validation_detail(exc)) from None


def document_with_elements(text: str | bytes, kind: str, elements: str, omm_format=None) -> Scenario:
    """A scenario whose constellation is uploaded element text (``kind`` ``tle`` or ``omm``)."""
    try:
        data = json.loads(text or "{}")
    except ValueError as exc:
        raise Problem(422, "invalid-scenario", f"scenario: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Problem(422, "invalid-scenario", "scenario: must be a JSON object")
    if "constellation" in data:
        raise Problem(422, "invalid-scenario", f"scenario: give the constellation either in the document or as "
                                               f"an uploaded {kind} file, not both")
    data["constellation"] = {kind: elements} if kind == "tle" else {kind: elements, "omm_format": omm_format}
    return parse_document(json.dumps(data))
