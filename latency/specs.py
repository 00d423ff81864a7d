"""Specs as data: MoE model presets, satellite hardware profiles and link profiles.

Presets ship in the ``spacexnet_data`` package (the repository's ``data/``
folder): ``models/<name>.json``, ``hardware.json`` and ``links.json``. Every
number there carries a source. A user can pass a spec file of their own;
unknown fields and impossible values are refused with a message that names
the file, the field, the rule and the fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np

from .exceptions import SpecError

__all__ = [
    "ModelSpec",
    "HardwareSpec",
    "LinkProfile",
    "load_model",
    "model_names",
    "load_hardware",
    "hardware_names",
    "load_link_profile",
    "link_profile_names",
    "DEFAULT_MODEL",
    "SPEED_OF_LIGHT_KM_S",
]

#: Default model preset (CLI ``--model``): LLaMA-MoE-3.5B, 16 experts, top-4, as in the paper.
DEFAULT_MODEL = "llama-moe-3.5b"

_DATA = "spacexnet_data"


def _data_file(*parts):
    return files(_DATA).joinpath(*parts)


def _read_user_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read {what} file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: {what} file is not UTF-8 text (found byte 0x{exc.object[exc.start]:02x} "
                        f"at offset {exc.start}, expected UTF-8 JSON)") from None


def _read_json(text: str, origin: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{origin}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                        "fix the syntax (quotes around names, no trailing commas)") from None
    except RecursionError:
        raise SpecError(f"{origin}: JSON nested too deeply (expected one object of fields)") from None


# --------------------------------------------------------------------------- models

_MODEL_REQUIRED = (
    "name", "n_layers", "moe_layers", "n_routed_experts", "top_k", "hidden_size",
    "expert_intermediate_size", "attention", "n_heads", "n_kv_heads", "head_dim",
    "vocab_size", "bytes_per_param",
)
#: Upper bound of ``n_layers``: a sanity limit so that a typo cannot ask for a billion layers.
_MAX_LAYERS = 100_000
# Any size field (widths, heads, experts, vocabulary). Far above every published model, yet small
# enough that products like 3 × hidden × width stay exact in float64 arithmetic (< 2**53·…) and finite.
_MAX_SIZE = 10**9
_FLOAT_MAX = 1.7976931348623157e308
_MLA_FIELDS = ("q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
_MODEL_OPTIONAL = (
    "description", "source", "notes", "n_shared_experts", "shared_expert_intermediate_size",
    "dense_intermediate_size", "tie_word_embeddings", "activation_bytes",
    "published_total_params", "published_active_params",
) + _MLA_FIELDS


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of a mixture-of-experts decoder, as far as latency needs it.

    Layers are numbered from 0. Experts are SwiGLU FFNs (three matrices of
    ``hidden_size × expert_intermediate_size``). Attention is grouped-query
    (``"gqa"``, which includes multi-head when ``n_kv_heads == n_heads``) or
    DeepSeek's multi-head latent attention (``"mla"``).

    Attributes
    ----------
    name : str
        Preset name (``llama-moe-3.5b``) or the ``name`` field of a user file.
    n_layers : int
        Decoder layers, dense and MoE.
    moe_layers : tuple of int
        Indices (0-based) of the MoE layers; the others are dense.
    n_routed_experts, n_shared_experts, top_k : int
        Routed experts per MoE layer, shared experts (always active, run on
        the gate), experts selected per token.
    hidden_size, expert_intermediate_size : int
        Model width and routed-expert FFN width.
    shared_expert_intermediate_size, dense_intermediate_size : int
        Width of each shared expert and of the FFN of dense layers (0 if none).
    attention : str
        ``"gqa"`` or ``"mla"``.
    n_heads, n_kv_heads, head_dim : int
        Query heads, key/value heads and head width (GQA).
    q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim : int
        MLA shapes (0 for GQA).
    vocab_size : int
        Vocabulary (embedding and LM head).
    bytes_per_param : float
        Bytes per weight (2 for bf16, 1 for FP8).
    activation_bytes : float
        Bytes per element of hidden states and of the KV cache (2 for bf16).

    Examples
    --------
    >>> m = load_model("llama-moe-3.5b")
    >>> (m.n_moe_layers, m.n_routed_experts, m.top_k, m.hidden_state_bytes)
    (32, 16, 4, 8192)
    """

    name: str
    n_layers: int
    moe_layers: tuple
    n_routed_experts: int
    top_k: int
    hidden_size: int
    expert_intermediate_size: int
    attention: str
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab_size: int
    bytes_per_param: float
    n_shared_experts: int = 0
    shared_expert_intermediate_size: int = 0
    dense_intermediate_size: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    tie_word_embeddings: bool = False
    activation_bytes: float = 2.0
    published_total_params: float | None = None
    published_active_params: float | None = None
    description: str = ""
    source: str = ""
    notes: str = ""
    origin: str = field(default="", compare=False, repr=False)

    # ---- derived sizes

    @property
    def n_moe_layers(self) -> int:
        """Number of MoE layers."""
        return len(self.moe_layers)

    @property
    def is_moe_layer(self) -> np.ndarray:
        """Boolean mask over the ``n_layers`` layers, True for MoE layers."""
        mask = np.zeros(self.n_layers, dtype=bool)
        mask[list(self.moe_layers)] = True
        return mask

    @property
    def hidden_state_bytes(self) -> int:
        """Bytes of one token's hidden state: what an ISL carries between gate and experts."""
        return int(round(self.hidden_size * self.activation_bytes))

    @property
    def expert_params(self) -> int:
        """Parameters of one routed expert (SwiGLU: gate, up and down projections)."""
        return 3 * self.hidden_size * self.expert_intermediate_size

    @property
    def expert_bytes(self) -> float:
        """Bytes of one routed expert's weights."""
        return self.expert_params * self.bytes_per_param

    @property
    def attention_params(self) -> int:
        """Parameters of one layer's attention projections."""
        h = self.hidden_size
        if self.attention == "mla":
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            q = (h * self.q_lora_rank + self.q_lora_rank * self.n_heads * qk) if self.q_lora_rank \
                else h * self.n_heads * qk
            kv = h * (self.kv_lora_rank + self.qk_rope_head_dim) \
                + self.kv_lora_rank * self.n_heads * (self.qk_nope_head_dim + self.v_head_dim)
            o = self.n_heads * self.v_head_dim * h
            return q + kv + o
        q = h * self.n_heads * self.head_dim
        kv = 2 * h * self.n_kv_heads * self.head_dim
        o = self.n_heads * self.head_dim * h
        return q + kv + o

    @property
    def kv_cache_elements_per_token(self) -> int:
        """KV-cache elements one layer stores per context token."""
        if self.attention == "mla":
            # MLA caches the compressed latent and the shared RoPE key (DeepSeek-V2, §2.1).
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.n_kv_heads * self.head_dim

    def local_ffn_params(self, layer: int) -> int:
        """Parameters of the FFN that runs on the gate of ``layer``: dense FFN or shared experts."""
        if layer in self.moe_layers:
            return self.n_shared_experts * 3 * self.hidden_size * self.shared_expert_intermediate_size
        return 3 * self.hidden_size * self.dense_intermediate_size

    def router_params(self, layer: int) -> int:
        """Parameters of the router of ``layer`` (0 for a dense layer)."""
        return self.hidden_size * self.n_routed_experts if layer in self.moe_layers else 0

    def parameter_count(self) -> tuple[float, float]:
        """Total and active (per token) parameter counts, embeddings and LM head included.

        Norm weights are omitted (< 0.01 % of any preset).

        Examples
        --------
        >>> total, active = load_model("mixtral-8x7b").parameter_count()
        >>> round(total / 1e9, 1), round(active / 1e9, 1)
        (46.7, 12.9)
        """
        embed = self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)
        total = active = float(embed)
        for layer in range(self.n_layers):
            common = self.attention_params + self.local_ffn_params(layer) + self.router_params(layer)
            total += common
            active += common
            if layer in self.moe_layers:
                total += self.n_routed_experts * self.expert_params
                active += self.top_k * self.expert_params
        return total, active

    def layer_probs(self, moe_probs) -> np.ndarray:
        """Spread per-MoE-layer probabilities ``(n_moe_layers, E)`` over all ``n_layers`` rows.

        Dense layers get a row of zeros: no routed expert is ever active there,
        which is how :func:`latency.token_latency` recognises them.

        Examples
        --------
        >>> m = load_model("deepseek-v3")
        >>> p = m.layer_probs(np.full((58, 256), 8 / 256))
        >>> p.shape, float(p[:3].sum()), float(p[3].sum())
        ((61, 256), 0.0, 8.0)
        """
        moe_probs = np.asarray(moe_probs, dtype=np.float64)
        if moe_probs.shape != (self.n_moe_layers, self.n_routed_experts):
            raise SpecError(f"{self.name}: probabilities have shape {moe_probs.shape}, expected "
                            f"(n_moe_layers, n_routed_experts) = ({self.n_moe_layers}, {self.n_routed_experts})")
        out = np.zeros((self.n_layers, self.n_routed_experts))
        out[list(self.moe_layers)] = moe_probs
        return out

    @classmethod
    def from_dict(cls, data: dict, origin: str = "<dict>") -> "ModelSpec":
        """Build and validate a spec from a mapping (the JSON object of a spec file).

        Raises
        ------
        SpecError
            Unknown or missing field, wrong type, or an impossible value
            (``top_k > n_routed_experts``, a MoE layer index out of range, ...).
        """
        if not isinstance(data, dict):
            raise SpecError(f"{origin}: a model spec is a JSON object of fields, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_MODEL_REQUIRED) - set(_MODEL_OPTIONAL))
        if unknown:
            raise SpecError(f"{origin}: unknown field(s) {', '.join(map(repr, unknown))}; allowed fields are "
                            f"{', '.join(_MODEL_REQUIRED + _MODEL_OPTIONAL)}")
        missing = [key for key in _MODEL_REQUIRED if key not in data]
        if missing:
            raise SpecError(f"{origin}: missing field(s) {', '.join(map(repr, missing))}")

        def integer(key, minimum=1, default=None, maximum=_MAX_SIZE):
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise SpecError(f"{origin}: field {key!r} = {value!r} must be an integer >= {minimum}")
            if maximum is not None and value > maximum:
                raise SpecError(f"{origin}: field {key!r} = {value} must be at most {maximum:,} "
                                "(larger than any published model by orders of magnitude)")
            return value

        def number(key, default=None, low=0.0):
            value = data.get(key, default)
            # An int too large for a float (JSON allows 1e400 written out) is not a finite number either.
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not (abs(value) <= _FLOAT_MAX and math.isfinite(value)) or value <= low:
                raise SpecError(f"{origin}: field {key!r} = {value!r} must be a finite number > {low:g}")
            return float(value)

        name = data["name"]
        if not isinstance(name, str) or not name:
            raise SpecError(f"{origin}: field 'name' = {name!r} must be a non-empty string")
        n_layers = integer("n_layers", maximum=None)
        if n_layers > _MAX_LAYERS:
            raise SpecError(f"{origin}: field 'n_layers' = {n_layers} must be at most {_MAX_LAYERS:,} "
                            "(the largest published decoders have a few hundred)")
        n_experts = integer("n_routed_experts")
        top_k = integer("top_k")
        if top_k > n_experts:
            raise SpecError(f"{origin}: field 'top_k' = {top_k} exceeds 'n_routed_experts' = {n_experts}; "
                            "a token cannot select more experts than a layer has")
        moe_layers = _parse_moe_layers(data["moe_layers"], n_layers, origin)
        attention = data["attention"]
        if attention not in ("gqa", "mla"):
            raise SpecError(f"{origin}: field 'attention' = {attention!r} must be 'gqa' (grouped-query, "
                            "multi-head included) or 'mla' (multi-head latent attention)")
        n_heads = integer("n_heads")
        n_kv_heads = integer("n_kv_heads")
        if n_heads % n_kv_heads:
            raise SpecError(f"{origin}: field 'n_kv_heads' = {n_kv_heads} must divide 'n_heads' = {n_heads}")
        mla = {}
        if attention == "mla":
            for key in _MLA_FIELDS:
                mla[key] = integer(key, minimum=0 if key == "q_lora_rank" else 1)
        else:
            given = [key for key in _MLA_FIELDS if key in data]
            if given:
                raise SpecError(f"{origin}: field(s) {', '.join(given)} apply only with 'attention': 'mla'")
        n_shared = integer("n_shared_experts", minimum=0, default=0)
        shared_inter = integer("shared_expert_intermediate_size", minimum=0, default=0)
        if n_shared and not shared_inter:
            raise SpecError(f"{origin}: 'n_shared_experts' = {n_shared} needs "
                            "'shared_expert_intermediate_size' > 0")
        dense_inter = integer("dense_intermediate_size", minimum=0, default=0)
        if len(moe_layers) < n_layers and not dense_inter:
            raise SpecError(f"{origin}: {n_layers - len(moe_layers)} dense layer(s) need "
                            "'dense_intermediate_size' > 0 (the FFN width of the dense layers)")
        bytes_per_param = number("bytes_per_param")
        activation_bytes = number("activation_bytes", default=2.0)
        tie = data.get("tie_word_embeddings", False)
        if not isinstance(tie, bool):
            raise SpecError(f"{origin}: field 'tie_word_embeddings' = {tie!r} must be true or false")
        published = {}
        for key in ("published_total_params", "published_active_params"):
            published[key] = number(key) if key in data else None
        texts = {}
        for key in ("description", "source", "notes"):
            value = data.get(key, "")
            if not isinstance(value, str):
                raise SpecError(f"{origin}: field {key!r} must be a string")
            texts[key] = value
        return cls(
            name=name, n_layers=n_layers, moe_layers=moe_layers, n_routed_experts=n_experts, top_k=top_k,
            hidden_size=integer("hidden_size"), expert_intermediate_size=integer("expert_intermediate_size"),
            attention=attention, n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=integer("head_dim"),
            vocab_size=integer("vocab_size"), bytes_per_param=bytes_per_param, n_shared_experts=n_shared,
            shared_expert_intermediate_size=shared_inter, dense_intermediate_size=dense_inter,
            tie_word_embeddings=tie, activation_bytes=activation_bytes, origin=origin,
            **mla, **published, **texts,
        )


def _parse_moe_layers(value, n_layers: int, origin: str) -> tuple:
    rule = ('"all", a list of 0-based layer indices, or {"start": i, "stop": j} '
            '(a Python range; "step" optional)')
    if value == "all":
        return tuple(range(n_layers))
    if isinstance(value, dict):
        extra = set(value) - {"start", "stop", "step"}
        if extra or "stop" not in value:
            raise SpecError(f"{origin}: field 'moe_layers' = {value!r} must be {rule}")
        try:
            selected = range(value.get("start", 0), value["stop"], value.get("step", 1))
            too_many = len(selected) > n_layers
        except (TypeError, ValueError, OverflowError):
            raise SpecError(f"{origin}: field 'moe_layers' = {value!r} must be {rule}") from None
        if too_many:
            # Checked before building the list: {"stop": 10**15} would otherwise never finish.
            raise SpecError(f"{origin}: field 'moe_layers' = {value!r} selects more layers than "
                            f"n_layers = {n_layers}")
        layers = list(selected)
    elif isinstance(value, list):
        layers = value
    else:
        raise SpecError(f"{origin}: field 'moe_layers' = {value!r} must be {rule}")
    if not layers:
        raise SpecError(f"{origin}: field 'moe_layers' selects no layer; a MoE model needs at least one")
    for index in layers:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_layers:
            raise SpecError(f"{origin}: field 'moe_layers' has {index!r}; layer indices run from 0 to "
                            f"n_layers - 1 = {n_layers - 1}")
    if len(set(layers)) != len(layers):
        raise SpecError(f"{origin}: field 'moe_layers' lists a layer twice")
    return tuple(sorted(layers))


def model_names() -> list[str]:
    """Names of the shipped model presets, sorted.

    Examples
    --------
    >>> "llama-moe-3.5b" in model_names()
    True
    """
    return sorted(p.name[:-5] for p in _data_file("models").iterdir() if p.name.endswith(".json"))


def load_model(name_or_path=DEFAULT_MODEL) -> ModelSpec:
    """Load a model preset by name, or a user's JSON spec file by path.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A preset name from :func:`model_names` (CLI ``--model``) or the path
        of a JSON file with the same fields (CLI ``--model-file``).

    Raises
    ------
    SpecError
        Unknown preset, unreadable file, or an invalid spec (the message names
        the file and the field).

    Examples
    --------
    >>> load_model("mixtral-8x7b").expert_intermediate_size
    14336
    """
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = str(name_or_path)
    if text in model_names():
        resource = _data_file("models", text + ".json")
        return ModelSpec.from_dict(_read_json(resource.read_text(encoding="utf-8"), f"models/{text}.json"),
                                   origin=f"models/{text}.json")
    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        content = _read_user_file(path, "model spec")
        return ModelSpec.from_dict(_read_json(content, str(path)), origin=str(path))
    raise SpecError(f"unknown model {text!r}; choose one of {', '.join(model_names())} "
                    "or give the path of a JSON spec file (--model-file)")


# --------------------------------------------------------------------------- hardware and links

@dataclass(frozen=True)
class HardwareSpec:
    """Compute hardware on one satellite, for a roofline model.

    Attributes
    ----------
    name : str
        Profile name.
    peak_flops : float
        Peak dense 16-bit tensor throughput, FLOP/s.
    memory_bandwidth_bytes_per_s : float
        Peak memory bandwidth, bytes/s.
    memory_bytes : float
        Memory capacity, bytes.
    sources : dict
        Source of each figure.

    Examples
    --------
    >>> hw = load_hardware("h100-sxm")
    >>> hw.memory_bandwidth_bytes_per_s / 1e12
    3.35
    """

    name: str
    peak_flops: float
    memory_bandwidth_bytes_per_s: float
    memory_bytes: float
    description: str = ""
    sources: dict = field(default_factory=dict, compare=False)


#: Speed of light in vacuum, km/s (exact, SI definition of the metre): light time between satellites.
SPEED_OF_LIGHT_KM_S = 299_792.458


@dataclass(frozen=True)
class LinkProfile:
    """Inter-satellite link parameters.

    Attributes
    ----------
    name : str
        Profile name.
    isl_rate_bps : float
        Data rate of one ISL, bits/s.
    forwarding_delay_ms : float
        Store-and-forward delay added on every hop, ms.
    speed_of_light_km_per_s : float
        Propagation speed in vacuum, km/s.
    gsl_min_elevation_deg : float
        Minimum elevation of a ground-satellite link, degrees.
    sources : dict
        Source of each figure.

    Examples
    --------
    >>> link = load_link_profile()
    >>> link.transmission_ms(8192)  # 8 KiB hidden state at 100 Gb/s
    0.00065536
    """

    name: str
    isl_rate_bps: float
    forwarding_delay_ms: float
    speed_of_light_km_per_s: float = SPEED_OF_LIGHT_KM_S
    gsl_min_elevation_deg: float = 25.0
    description: str = ""
    sources: dict = field(default_factory=dict, compare=False)

    def transmission_ms(self, payload_bytes: float) -> float:
        """Time to put ``payload_bytes`` on one link, ms."""
        return payload_bytes * 8.0 / self.isl_rate_bps * 1e3

    def propagation_ms(self, distance_km):
        """Light time over ``distance_km``, ms."""
        return np.asarray(distance_km, dtype=np.float64) / self.speed_of_light_km_per_s * 1e3


_HW_FIELDS = {"peak_flops", "memory_bandwidth_bytes_per_s", "memory_bytes"}
_LINK_FIELDS = {"isl_rate_bps", "forwarding_delay_ms", "gsl_min_elevation_deg"}


def _check_profile(name, entry, numeric, origin, allow_zero=()):
    if not isinstance(entry, dict):
        raise SpecError(f"{origin}: profile {name!r} must be a JSON object")
    unknown = sorted(set(entry) - numeric - {"description", "sources"})
    if unknown:
        raise SpecError(f"{origin}: profile {name!r} has unknown field(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(sorted(numeric))}, description, sources")
    values = {}
    for key in sorted(numeric):
        if key not in entry:
            raise SpecError(f"{origin}: profile {name!r} misses field {key!r}")
        value = entry[key]
        low_ok = key in allow_zero
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0 or (value == 0 and not low_ok):
            rule = ">= 0" if low_ok else "> 0"
            raise SpecError(f"{origin}: profile {name!r} field {key!r} = {value!r} must be a finite number {rule}")
        values[key] = float(value)
    sources = entry.get("sources", {})
    if not isinstance(sources, dict):
        raise SpecError(f"{origin}: profile {name!r} field 'sources' must map field names to sources")
    return values, entry.get("description", ""), sources


def _profiles(filename):
    origin = filename
    data = _read_json(_data_file(filename).read_text(encoding="utf-8"), origin)
    return data, origin


def _profile_entry(filename: str, name, what: str):
    """``(name, entry, origin)`` of a shipped profile by name (default when None) or of a user's JSON file."""
    data, origin = _profiles(filename)
    name = name or data["default"]
    if name in data["profiles"]:
        return name, data["profiles"][name], origin
    path = Path(str(name))
    if not path.is_file():
        raise SpecError(f"unknown {what} {name!r}; choose one of {', '.join(sorted(data['profiles']))} "
                        "or give the path of a JSON profile file")
    return path.stem, _read_json(_read_user_file(path, "profile"), str(path)), str(path)


def hardware_names() -> list[str]:
    """Names of the shipped hardware profiles.

    Examples
    --------
    >>> hardware_names()
    ['h100-sxm', 'jetson-agx-orin-64gb']
    """
    return sorted(_profiles("hardware.json")[0]["profiles"])


def load_hardware(name: str | None = None) -> HardwareSpec:
    """Load a hardware profile by name (default: the embedded module), or from a JSON file.

    A user file holds one profile object with ``peak_flops``,
    ``memory_bandwidth_bytes_per_s``, ``memory_bytes`` and optionally
    ``description`` and ``sources``.

    Examples
    --------
    >>> load_hardware().name
    'jetson-agx-orin-64gb'
    """
    name, entry, origin = _profile_entry("hardware.json", name, "hardware profile")
    values, description, sources = _check_profile(name, entry, _HW_FIELDS, origin)
    return HardwareSpec(name=name, description=description, sources=sources, **values)


def link_profile_names() -> list[str]:
    """Names of the shipped link profiles.

    Examples
    --------
    >>> "laser-100g" in link_profile_names()
    True
    """
    return sorted(_profiles("links.json")[0]["profiles"])


def load_link_profile(name: str | None = None) -> LinkProfile:
    """Load a link profile by name (default ``laser-100g``), or from a JSON file.

    A user file holds one profile object with ``isl_rate_bps``,
    ``forwarding_delay_ms`` (0 allowed) and ``gsl_min_elevation_deg``.

    Examples
    --------
    >>> p = load_link_profile("laser-100g")
    >>> p.isl_rate_bps, p.forwarding_delay_ms
    (100000000000.0, 0.1)
    """
    name, entry, origin = _profile_entry("links.json", name, "link profile")
    values, description, sources = _check_profile(
        name, entry, _LINK_FIELDS, origin, allow_zero=("forwarding_delay_ms", "gsl_min_elevation_deg"))
    if values["gsl_min_elevation_deg"] >= 90:
        raise SpecError(f"{origin}: profile {name!r} field 'gsl_min_elevation_deg' = "
                        f"{values['gsl_min_elevation_deg']} must be below 90 degrees")
    return LinkProfile(name=name, description=description, sources=sources,
                       speed_of_light_km_per_s=float(_profiles("links.json")[0]["speed_of_light_km_per_s"]),
                       **values)
