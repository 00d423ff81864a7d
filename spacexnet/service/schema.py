"""The scenario document: one JSON schema for the service (and, later, the CLI's ``--scenario``).

A scenario names everything a question about the constellation depends on:
the constellation (a preset, a Walker shell, or TLE/OMM element sets given
inline), the shell used, the model, hardware, link profile, activation
profile and seed, the placement options and the link rules. Unknown fields
are refused, never ignored, and every number is checked here, before any
work starts.

Its id is a content hash: the SHA-256 of the canonical JSON (defaults
filled in, keys sorted, no spaces), cut to 16 hex digits, so the same
document is the same scenario wherever it is posted.

Examples
--------
>>> s = Scenario.model_validate({"constellation": {"walker": "53:360/18/1", "altitude_km": 550}})
>>> s.model.preset, s.activation, s.seed
('llama-moe-3.5b', 'zipf:1.0', 0)
>>> scenario_id(s) == scenario_id(Scenario.model_validate_json(canonical_json(s)))
True
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

import latency
import orbits
from orbits.links import DEFAULT_MARGIN_KM, DEFAULT_MAX_RANGE_KM

from ..scenario import DEFAULT_PRESET

__all__ = [
    "Scenario",
    "SweepRequest",
    "PresetConstellation",
    "WalkerConstellation",
    "TLEConstellation",
    "OMMConstellation",
    "PresetModel",
    "SpecModel",
    "canonical_json",
    "scenario_id",
    "validation_detail",
    "ID_HEX_DIGITS",
]

#: Hex digits of the SHA-256 kept in a scenario id (64 bits: no collision among any realistic set).
ID_HEX_DIGITS = 16

# Generated profiles only: ``file:PATH`` would read a path on the server's disk.
_ACTIVATION_RE = re.compile(r"^(uniform|zipf:[^:]+|dirichlet:[^:]+)$")


class _Document(BaseModel):
    # strict: "5" is not 5 and 1.0 is not True; forbid: a misspelt field is an error, not a default.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def _known(value: str, names, what: str) -> str:
    # Names only: the library would also take a path, and the service reads no files of its host.
    if value not in names:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(names)} (GET /presets)")
    return value


class PresetConstellation(_Document):
    """A shipped constellation preset (``GET /presets``), optionally at another epoch."""

    preset: str = Field(min_length=1, max_length=100)
    epoch: str | None = Field(default=None, max_length=64, description="UTC ISO 8601 epoch of the elements.")

    @field_validator("preset")
    @classmethod
    def _preset_name(cls, value: str) -> str:
        return _known(value, orbits.preset_names(), "constellation preset")


class WalkerConstellation(_Document):
    """A Walker shell ``inclination_deg:total/planes/phasing``."""

    walker: str = Field(min_length=1, max_length=100, examples=["53:1584/72/1"])
    altitude_km: float = Field(gt=0, le=1e6)
    star: bool = False
    epoch: str | None = Field(default=None, max_length=64, description="UTC ISO 8601 epoch of the elements.")


class TLEConstellation(_Document):
    """Element sets as 3LE/2LE text."""

    tle: str = Field(min_length=1, description="3LE or 2LE text.")
    skip_invalid: bool = False


class OMMConstellation(_Document):
    """Element sets as OMM text (CSV, JSON or XML; sniffed from the text when omm_format is null)."""

    omm: str = Field(min_length=1, description="OMM CSV, JSON or XML text.")
    omm_format: Literal["json", "csv", "xml"] | None = None
    skip_invalid: bool = False


_CONSTELLATION_KEYS = ("preset", "walker", "tle", "omm")


def _constellation_kind(value):
    """The kind of a constellation object: the one of ``preset``/``walker``/``tle``/``omm`` it names."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        return None
    named = [key for key in _CONSTELLATION_KEYS if key in value]
    return named[0] if len(named) == 1 else None


Constellation = Annotated[
    Union[
        Annotated[PresetConstellation, Tag("preset")],
        Annotated[WalkerConstellation, Tag("walker")],
        Annotated[TLEConstellation, Tag("tle")],
        Annotated[OMMConstellation, Tag("omm")],
    ],
    Discriminator(
        _constellation_kind,
        custom_error_type="constellation_kind",
        custom_error_message="must be an object with exactly one of 'preset', 'walker', 'tle' or 'omm'",
    ),
]


class PresetModel(_Document):
    """A shipped model preset (``GET /presets``)."""

    preset: str = Field(default=latency.DEFAULT_MODEL, min_length=1, max_length=100)

    @field_validator("preset")
    @classmethod
    def _model_name(cls, value: str) -> str:
        return _known(value, latency.model_names(), "model")


class SpecModel(_Document):
    """A model of your own, in the model-file format (the JSON of ``--model-file``)."""

    spec: dict


def _model_kind(value):
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        return None
    named = [key for key in ("preset", "spec") if key in value]
    return named[0] if len(named) == 1 else None


Model = Annotated[
    Union[Annotated[PresetModel, Tag("preset")], Annotated[SpecModel, Tag("spec")]],
    Discriminator(_model_kind, custom_error_type="model_kind",
                  custom_error_message="must be an object with exactly one of 'preset' or 'spec'"),
]


def _default_hardware() -> str:
    return latency.load_hardware().name


def _default_link_profile() -> str:
    return latency.load_link_profile().name


class Scenario(_Document):
    """A scenario: the constellation and everything that runs on it.

    Defaults are those of the CLI, so ``{}`` is the built-in default
    scenario (Starlink shell 1, llama-moe-3.5b on Jetson-class hardware,
    100 Gb/s laser links, zipf:1.0, seed 0).
    """

    constellation: Constellation = Field(default_factory=lambda: PresetConstellation(preset=DEFAULT_PRESET))
    shell: int | None = Field(default=None, ge=0, description="Use only this shell (index from 0).")
    model: Model = Field(default_factory=PresetModel)
    hardware: str = Field(default_factory=_default_hardware, min_length=1, max_length=100)
    link_profile: str = Field(default_factory=_default_link_profile, min_length=1, max_length=100)
    activation: str = Field(default="zipf:1.0", max_length=100,
                            description="zipf:S, dirichlet:A or uniform (expert activation per MoE layer).")
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    context_tokens: int = Field(default=latency.DEFAULT_CONTEXT_TOKENS, ge=0, le=10**9)
    experts_per_sat: int = Field(default=1, ge=1, le=10**6)
    belt_planes: int | None = Field(default=None, ge=1, le=10**6)
    topology: Literal["plus-grid", "nearest"] = "plus-grid"
    margin_km: float = Field(default=DEFAULT_MARGIN_KM, ge=0, le=1e5)
    max_range_km: float = Field(default=DEFAULT_MAX_RANGE_KM, gt=0, le=1e6)
    latitude_cutoff_deg: float | None = Field(default=None, ge=0, le=90)

    @field_validator("hardware")
    @classmethod
    def _hardware_name(cls, value: str) -> str:
        return _known(value, latency.hardware_names(), "hardware profile")

    @field_validator("link_profile")
    @classmethod
    def _link_profile_name(cls, value: str) -> str:
        return _known(value, latency.link_profile_names(), "link profile")

    @field_validator("activation")
    @classmethod
    def _generated_profile(cls, value: str) -> str:
        if not _ACTIVATION_RE.match(value.strip().lower()):
            raise ValueError(f"{value!r} is not zipf:S, dirichlet:A or uniform (the service reads no files)")
        return value

    def link_rules(self) -> dict:
        """Keyword arguments of :func:`orbits.isl_links` (and :func:`spacexnet.scenario.snapshot`)."""
        return {"margin_km": self.margin_km, "max_range_km": self.max_range_km,
                "latitude_cutoff_deg": self.latitude_cutoff_deg}


class SweepRequest(_Document):
    """A sweep of a scenario (``POST /scenarios/{id}/sweeps``): the options of ``spacexnet sweep``.

    ``start`` and ``duration_s`` default as in the CLI: the newest
    element-set epoch and one orbital period.
    """

    start: str | None = Field(default=None, max_length=64, description="UTC ISO 8601 start, with a zone.")
    duration_s: float | None = Field(default=None, ge=0, le=366 * 86_400)
    step_s: float = Field(default=10.0, gt=0, le=86_400)
    policies: list[Literal["static", "recompute", "handover"]] = Field(
        default_factory=lambda: ["static", "recompute", "handover"], min_length=1, max_length=3)
    strategy: Literal["space-xnet", "joint", "random", "ring-random", "random-optimized"] = "space-xnet"
    samples: int = Field(default=2000, ge=2, le=100_000, description="Monte Carlo tokens per step and policy.")
    horizon_s: float = Field(default=600.0, ge=0, le=1e7)
    migration_price: float = Field(default=1.0, ge=0, le=1e6)
    min_gain_ratio: float = Field(default=0.01, ge=0, le=1e3)
    user: str | None = Field(default=None, max_length=64,
                             description="A ground user LAT,LON (degrees): the dataset also carries the delivery of "
                                         "each token to them (user_delivery_ms), as spacexnet sweep --user.")

    @field_validator("user")
    @classmethod
    def _ground_point(cls, value: str | None) -> str | None:
        if value is not None:
            from ..compare import ground_user

            ground_user(value, "user")  # its ValueError names the field and the expected LAT,LON
        return value

    @field_validator("policies")
    @classmethod
    def _distinct(cls, value: list) -> list:
        if len(set(value)) != len(value):
            raise ValueError(f"policy listed twice in {','.join(value)}")
        return value


def canonical_json(document: BaseModel) -> str:
    """A document (scenario or sweep) as canonical JSON: every default filled in, keys sorted, no spaces."""
    return json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def scenario_id(document: BaseModel, prefix: str = "") -> str:
    """Content hash of ``prefix`` and :func:`canonical_json`: the same document gives the same id."""
    return hashlib.sha256((prefix + canonical_json(document)).encode("utf-8")).hexdigest()[:ID_HEX_DIGITS]


def _where(loc) -> str:
    # Union members add their tag to the location ("constellation.walker.altitude_km"); drop the tag
    # when it repeats the field it stands for, and the ``function-after`` wrappers of validators.
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    out = []
    for i, part in enumerate(parts):
        tag = i > 0 and parts[i - 1] in ("constellation", "model") and part in _CONSTELLATION_KEYS + ("spec",)
        if tag and i + 1 < len(parts):
            continue
        out.append(part)
    return ".".join(out) or "scenario"


def validation_detail(exc: ValidationError, what: str = "scenario") -> str:
    """One line naming the first bad field of ``exc`` and what it must be (``+N more`` if there are others)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = _where(first["loc"])
    if first["type"] == "extra_forbidden":
        text = f"{what}: unknown field {where!r}"
    elif first["type"] == "missing":
        text = f"{what}: field {where!r} is required"
    elif first["type"] in ("json_invalid",):
        text = f"{what}: not valid JSON ({first['msg']})"
    else:
        message = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        shown = "" if isinstance(value, (dict, list)) or value is None or repr(value) in message else f" = {value!r}"
        text = f"{what}: field {where!r}{shown[:80]}: {message}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text
