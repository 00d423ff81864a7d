"""Compute time of one decode step on one satellite, by roofline.

A kernel takes ``max(FLOPs / peak_flops, bytes read / memory bandwidth)``
(Williams, Waterman and Patterson, "Roofline", CACM 52(4), 2009). Decoding
one token at batch size 1 reads every weight it uses once and does two FLOPs
(a multiply and an add) per weight, so it is memory-bound on every profile
we ship: time ≈ weight bytes / bandwidth. Attention also reads the KV cache
of the context. Peaks are vendor maxima, so these times are lower bounds.

What runs where (one layer, one token):

* on the **gate** satellite, before the hidden state leaves ("dispatch"):
  attention (projections and the pass over the KV cache) and the router;
* on the **gate**, while the routed experts work ("local"): the dense FFN of
  a dense layer, or the shared experts of a MoE layer;
* on each **expert** satellite: one routed SwiGLU expert
  (``2 × 3 × hidden × inter`` FLOPs, ``3 × hidden × inter × bytes_per_param`` bytes);
* on the gate of layer 0 after the last layer ("head"): final norm and LM
  head (``vocab × hidden`` weights), which produce the token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exceptions import SpecError
from .specs import HardwareSpec, ModelSpec, load_hardware, load_model

__all__ = [
    "DEFAULT_CONTEXT_TOKENS",
    "roofline_ms",
    "expert_time_ms",
    "gate_time_ms",
    "head_time_ms",
    "ComputeTimes",
    "compute_times",
]

#: Default context length for the KV-cache read, tokens: mid-way through LLaMA-MoE's
#: 4096-token window (max_position_embeddings 4096, docs/models.md §1). Pass your own.
DEFAULT_CONTEXT_TOKENS = 2048

_PARTS = ("total", "dispatch", "local")


def roofline_ms(flops, bytes_read, hardware: HardwareSpec):
    """Roofline time of a kernel, ms: ``max(flops / peak_flops, bytes_read / bandwidth)``.

    Examples
    --------
    >>> hw = load_hardware("jetson-agx-orin-64gb")
    >>> round(float(roofline_ms(2e9, 1e9, hw)), 4)  # 1 GB at 204.8 GB/s
    4.8828
    """
    flops = np.asarray(flops, dtype=np.float64)
    bytes_read = np.asarray(bytes_read, dtype=np.float64)
    return np.maximum(flops / hardware.peak_flops, bytes_read / hardware.memory_bandwidth_bytes_per_s) * 1e3


def _resolve(model, hardware):
    return load_model(model), (hardware if isinstance(hardware, HardwareSpec) else load_hardware(hardware))


def expert_time_ms(model, hardware, batch_tokens: int = 1) -> float:
    """Time for one routed expert to process ``batch_tokens`` tokens, ms.

    FLOPs = ``2 × 3 × hidden × inter × batch_tokens`` (gate, up and down
    projections of a SwiGLU expert); bytes = ``3 × hidden × inter ×
    bytes_per_param`` (the weights, read once per step) plus the hidden states
    in and out.

    Parameters
    ----------
    model : ModelSpec or str
        Model spec or preset name.
    hardware : HardwareSpec or str
        Hardware profile or name.
    batch_tokens : int
        Tokens processed together (1: single-stream decoding).

    Examples
    --------
    >>> round(expert_time_ms("llama-moe-3.5b", "jetson-agx-orin-64gb"), 5)
    0.08264
    """
    model, hardware = _resolve(model, hardware)
    if batch_tokens < 1:
        raise SpecError(f"batch_tokens = {batch_tokens} must be >= 1")
    flops = 2.0 * model.expert_params * batch_tokens
    bytes_read = model.expert_bytes + 2 * batch_tokens * model.hidden_state_bytes
    return float(roofline_ms(flops, bytes_read, hardware))


def _attention_work(model: ModelSpec, context_tokens: int):
    """FLOPs and bytes of one layer's attention for one new token over ``context_tokens``."""
    proj_flops = 2.0 * model.attention_params
    proj_bytes = model.attention_params * model.bytes_per_param
    if model.attention == "mla":
        # Absorbed MLA decoding (DeepSeek-V2 §2.1.3): scores over the latent (kv_lora + rope)
        # and values over the latent (kv_lora), per head.
        score_dim = model.kv_lora_rank + model.qk_rope_head_dim
        attn_flops = 2.0 * model.n_heads * (score_dim + model.kv_lora_rank) * context_tokens
    else:
        attn_flops = 2.0 * model.n_heads * model.head_dim * 2 * context_tokens
    kv_bytes = model.kv_cache_elements_per_token * model.activation_bytes * context_tokens
    return proj_flops + attn_flops, proj_bytes + kv_bytes


def gate_time_ms(model, hardware, layer: int, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 part: str = "total") -> float:
    """Compute time on the gate satellite of ``layer`` for one decoded token, ms.

    Each kernel gets its own roofline and the times add up, because the
    kernels run one after the other.

    Parameters
    ----------
    model, hardware : ModelSpec/str, HardwareSpec/str
        Model and hardware.
    layer : int
        Layer index, 0-based.
    context_tokens : int
        Tokens in the KV cache read by attention (default
        :data:`DEFAULT_CONTEXT_TOKENS`).
    part : {"total", "dispatch", "local"}
        ``"dispatch"``: attention + router (before the hidden state is sent
        to the experts); ``"local"``: dense FFN or shared experts (they run
        while the routed experts work); ``"total"``: both.

    Examples
    --------
    Attention of LLaMA-MoE on a Jetson reads 4 × 4096² bf16 weights
    (134 MB) and a 2048-token KV cache (33.6 MB):

    >>> round(gate_time_ms("llama-moe-3.5b", "jetson-agx-orin-64gb", 0), 4)
    0.8198
    """
    model, hardware = _resolve(model, hardware)
    if part not in _PARTS:
        raise SpecError(f"part = {part!r} must be one of {', '.join(_PARTS)}")
    if not 0 <= layer < model.n_layers:
        raise SpecError(f"layer = {layer} is outside 0..{model.n_layers - 1} of {model.name}")
    if context_tokens < 0:
        raise SpecError(f"context_tokens = {context_tokens} must be >= 0")
    dispatch = local = 0.0
    if part in ("total", "dispatch"):
        flops, bytes_read = _attention_work(model, context_tokens)
        dispatch += float(roofline_ms(flops, bytes_read, hardware))
        router = model.router_params(layer)
        if router:
            dispatch += float(roofline_ms(2.0 * router, router * model.bytes_per_param, hardware))
    if part in ("total", "local"):
        params = model.local_ffn_params(layer)
        if params:
            local += float(roofline_ms(2.0 * params, params * model.bytes_per_param, hardware))
    return dispatch + local


def head_time_ms(model, hardware) -> float:
    """Time of the LM head (``vocab × hidden`` weights) that turns the last hidden state into a token, ms.

    Examples
    --------
    >>> round(head_time_ms("llama-moe-3.5b", "jetson-agx-orin-64gb"), 4)  # 262 MB / 204.8 GB/s
    1.28
    """
    model, hardware = _resolve(model, hardware)
    params = model.vocab_size * model.hidden_size
    return float(roofline_ms(2.0 * params, params * model.bytes_per_param, hardware))


@dataclass(frozen=True)
class ComputeTimes:
    """Per-layer compute times of one token, ms, as :func:`latency.token_latency` uses them.

    Arrays have one entry per layer of the ring (``L`` = ``n_layers``); a
    scalar broadcasts to every layer.

    Attributes
    ----------
    dispatch_ms : array, shape (L,)
        Attention + router on the gate, before the hidden state leaves.
    local_ms : array, shape (L,)
        Dense FFN or shared experts on the gate, overlapping the routed experts.
    expert_ms : array, shape (L,) or (L, E)
        One routed expert.
    head_ms : float
        LM head on the gate of layer 0 after the last layer (0 to leave it out).

    Examples
    --------
    >>> t = ComputeTimes(dispatch_ms=0.5, local_ms=0.0, expert_ms=0.1, head_ms=0.0)
    >>> t.broadcast(3).dispatch_ms
    array([0.5, 0.5, 0.5])
    """

    dispatch_ms: object
    local_ms: object = 0.0
    expert_ms: object = 0.0
    head_ms: float = 0.0

    def broadcast(self, n_layers: int, n_experts: int | None = None) -> "ComputeTimes":
        """Arrays of shape ``(n_layers,)`` (expert times ``(n_layers, 1)`` or ``(n_layers, E)``)."""
        quick = self._broadcast_valid(n_layers, n_experts)
        if quick is not None:
            return quick

        def per_layer(value, what):
            arr = np.asarray(value, dtype=np.float64)
            try:
                arr = np.broadcast_to(arr, (n_layers,)).copy()
            except ValueError:
                raise SpecError(f"{what} has shape {arr.shape}; expected a scalar or ({n_layers},)") from None
            if np.any(~np.isfinite(arr)) or np.any(arr < 0):
                raise SpecError(f"{what} must be finite and >= 0")
            return arr

        expert = np.asarray(self.expert_ms, dtype=np.float64)
        if expert.ndim == 2:
            if expert.shape[0] != n_layers or (n_experts is not None and expert.shape[1] not in (1, n_experts)):
                raise SpecError(f"expert_ms has shape {expert.shape}; expected ({n_layers},) or "
                                f"({n_layers}, {n_experts})")
        else:
            expert = per_layer(expert, "expert_ms")
        if np.any(~np.isfinite(expert)) or np.any(expert < 0):
            raise SpecError("expert_ms must be finite and >= 0")
        head = float(self.head_ms)
        if not np.isfinite(head) or head < 0:
            raise SpecError(f"head_ms = {head} must be finite and >= 0")
        return ComputeTimes(per_layer(self.dispatch_ms, "dispatch_ms"), per_layer(self.local_ms, "local_ms"),
                            expert, head)

    def _broadcast_valid(self, n_layers, n_experts):
        """:meth:`broadcast` of valid times, with one check for all of them (token_latency calls
        it at every step); None when anything is off, for :meth:`broadcast` to say what."""
        try:
            expert = np.asarray(self.expert_ms, dtype=np.float64)
            rows = [np.asarray(value, dtype=np.float64) for value in (self.dispatch_ms, self.local_ms)]
            head = float(self.head_ms)
        except (TypeError, ValueError):
            return None
        if expert.ndim == 2:
            if expert.shape[0] != n_layers or (n_experts is not None and expert.shape[1] not in (1, n_experts)):
                return None
        elif expert.shape not in ((), (n_layers,)):
            return None
        if any(arr.shape not in ((), (n_layers,)) for arr in rows):
            return None
        values = np.concatenate([rows[0].ravel(), rows[1].ravel(), expert.ravel(), [head]])
        # min and max are NaN when any value is: one test for finite and non-negative.
        if not (values.min() >= 0 and values.max() < np.inf):
            return None
        dispatch, local = (np.full(n_layers, arr) if arr.ndim == 0 else arr.copy() for arr in rows)
        if expert.ndim < 2:
            expert = np.full(n_layers, expert) if expert.ndim == 0 else expert.copy()
        return ComputeTimes(dispatch, local, expert, head)

def compute_times(model, hardware, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                  lm_head: bool = True) -> ComputeTimes:
    """Roofline compute times of every layer of ``model`` on ``hardware`` (one token, batch 1).

    Every satellite carries the same hardware.

    Examples
    --------
    >>> t = compute_times("llama-moe-3.5b", "h100-sxm")
    >>> t.dispatch_ms.shape, round(float(t.expert_ms[0]) * 1e3, 2)  # microseconds
    ((32,), 5.05)
    """
    model, hardware = _resolve(model, hardware)
    dispatch = np.array([gate_time_ms(model, hardware, layer, context_tokens, part="dispatch")
                         for layer in range(model.n_layers)])
    local = np.array([gate_time_ms(model, hardware, layer, context_tokens, part="local")
                      for layer in range(model.n_layers)])
    expert = np.where(model.is_moe_layer, expert_time_ms(model, hardware), 0.0)
    head = head_time_ms(model, hardware) if lm_head else 0.0
    return ComputeTimes(dispatch, local, expert, head)
