"""The roofline section of docs/model.md: the compute times of one model, with every step of the arithmetic.

Prints the derivation of the expert, gate and LM-head times of the default
model on every shipped hardware profile, from the model and hardware specs
in ``data/``, and checks each result against the functions the latency
model uses (:func:`latency.expert_time_ms`, :func:`latency.gate_time_ms`,
:func:`latency.head_time_ms`), so the page cannot show a number the code
does not compute. ``python docs/build.py`` pastes the output into docs/model.md.

Usage::

    python docs/compute_times.py [--model llama-moe-3.5b]
"""

from __future__ import annotations

import argparse
import math

import latency
import orbits
from orbits.constants import EARTH_RADIUS_KM


def _check(derived_ms: float, library_ms: float, what: str) -> float:
    """``library_ms``, after checking that the printed arithmetic gives it."""
    if not math.isclose(derived_ms, library_ms, rel_tol=1e-12):
        raise SystemExit(f"compute_times.py: {what}: derivation {derived_ms!r} ms != latency {library_ms!r} ms")
    return library_ms


def _rate(value: float, unit: str) -> str:
    """42.5e12 → '42.5 T' + unit (three significant digits at most, no trailing zeros)."""
    for scale, prefix in ((1e12, "T"), (1e9, "G")):
        if value >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def _sci(value: float) -> str:
    """3.35e12 → '3.35e12', 204.8e9 → '204.8e9' (the way data/hardware.json writes them)."""
    exponent = 12 if value >= 1e12 else 9
    return f"{value / 10 ** exponent:g}e{exponent}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=latency.DEFAULT_MODEL)
    args = ap.parse_args(argv)
    m = latency.load_model(args.model)
    if m.attention != "gqa" or m.n_kv_heads != m.n_heads or m.n_shared_experts or m.n_moe_layers != m.n_layers:
        raise SystemExit(f"compute_times.py: {m.name}: the derivation is written for multi-head attention and "
                         "MoE in every layer without shared experts")
    default = latency.load_hardware()  # the default profile first
    hws = [default] + [latency.load_hardware(n) for n in latency.hardware_names() if n != default.name]
    h, inter, e, b = m.hidden_size, m.expert_intermediate_size, m.n_routed_experts, m.bytes_per_param
    ctx, heads, hd, act = latency.DEFAULT_CONTEXT_TOKENS, m.n_heads, m.head_dim, m.activation_bytes
    expert_flops = 2 * 3 * h * inter
    expert_weights = int(3 * h * inter * b)
    expert_bytes = expert_weights + 2 * m.hidden_state_bytes
    attn_weights = 4 * h * h
    kv_bytes = int(2 * heads * hd * ctx * act)
    attn_bytes = int(attn_weights * b) + kv_bytes
    attn_flops = 2 * attn_weights + 2 * heads * hd * 2 * ctx
    router_bytes = int(h * e * b)
    head_bytes = int(m.vocab_size * h * b)

    print(f"### Roofline compute times of `{m.name}` ({e} experts, top-{m.top_k})\n")
    print("A kernel takes max(FLOPs / peak FLOP/s, bytes read / memory bandwidth).\n"
          "Decoding one token reads each weight once for two FLOPs (multiply and add),\n"
          "so at batch 1 everything is memory-bound. "
          f"Model: hidden {h}, expert width {inter}, {heads} heads × {hd}, {b:g} bytes per weight; "
          f"context {ctx} tokens (`DEFAULT_CONTEXT_TOKENS`). Hardware: "
          + " and ".join(f"`{hw.name}` ({_rate(hw.peak_flops, 'FLOP/s')} dense 16-bit, "
                         f"{_rate(hw.memory_bandwidth_bytes_per_s, 'B/s')})" for hw in hws)
          + "; sources in `data/hardware.json` and [models.md](models.md).\n")

    print("**One routed expert** (SwiGLU: gate, up, down = 3 matrices of "
          f"{h} × {inter}):\n")
    print(f"- FLOPs = 2 × 3 × {h} × {inter} = {expert_flops:,}")
    print(f"- bytes = 3 × {h} × {inter} × {b:g} = {expert_weights:,} weights + 2 × {m.hidden_state_bytes:,} "
          f"hidden state in/out = {expert_bytes:,}\n")
    print("| hardware | FLOPs / peak | bytes / bandwidth | expert time |")
    print("|---|---|---|---|")
    expert_ms = {}
    for hw in hws:
        t_flops, t_bytes = expert_flops / hw.peak_flops * 1e6, expert_bytes / hw.memory_bandwidth_bytes_per_s * 1e6
        expert_ms[hw.name] = _check(max(t_flops, t_bytes) / 1e3, latency.expert_time_ms(m, hw), "expert")
        print(f"| `{hw.name}` | {expert_flops:,} / {_sci(hw.peak_flops)} = {t_flops:.3g} µs | "
              f"{expert_bytes:,} / {_sci(hw.memory_bandwidth_bytes_per_s)} = {t_bytes:.4g} µs | "
              f"**{expert_ms[hw.name]:.3g} ms** |")

    print("\n**Gate of one layer** (attention + router, before the hidden state leaves):\n")
    print(f"- attention weights 4 × {h} × {h} = {attn_weights:,} → {int(attn_weights * b):,} bytes;\n"
          f"  KV cache 2 (K, V) × {heads} heads × {hd} × {ctx} tokens × {act:g} bytes = {kv_bytes:,} bytes;\n"
          f"  together {attn_bytes:,} bytes and 2 × {attn_weights:,} + 2 × {heads} × {hd} × 2 × {ctx} = "
          f"{attn_flops:,} FLOPs")
    print(f"- router {h} × {e} weights = {router_bytes:,} bytes (a separate kernel)\n")
    print("| hardware | attention | router | gate time |")
    print("|---|---|---|---|")
    gate_ms = {}
    for hw in hws:
        bw = hw.memory_bandwidth_bytes_per_s
        t_attn = max(attn_flops / hw.peak_flops, attn_bytes / bw) * 1e3
        t_router = max(2 * h * e / hw.peak_flops, router_bytes / bw) * 1e3
        gate_ms[hw.name] = _check(t_attn + t_router, latency.gate_time_ms(m, hw, 0), "gate")
        print(f"| `{hw.name}` | {attn_bytes:,} / {_sci(bw)} = {t_attn:.4g} ms | {router_bytes:,} / {_sci(bw)} = "
              f"{t_router:.5f} ms | **{gate_ms[hw.name]:.4g} ms** |")

    head_ms = {hw.name: _check(max(2 * m.vocab_size * h / hw.peak_flops, head_bytes / hw.memory_bandwidth_bytes_per_s)
                               * 1e3, latency.head_time_ms(m, hw), "LM head") for hw in hws}
    print(f"\n**LM head** ({m.vocab_size:,} × {h} × {b:g} = {head_bytes:,} bytes): "
          + ", ".join(f"{head_ms[hw.name]:.4g} ms on `{hw.name}`" for hw in hws) + ".\n")

    paths = []
    for hw in hws:
        n = hw.name
        total = m.n_layers * (gate_ms[n] + expert_ms[n]) + head_ms[n]
        times = latency.compute_times(m, hw)
        _check(total, m.n_layers * (float(times.dispatch_ms[0]) + float(times.expert_ms[0])) + times.head_ms,
               "critical path")
        paths.append(f"{m.n_layers} × ({gate_ms[n]:.4g} + {expert_ms[n]:.3g}) + {head_ms[n]:.4g} = "
                     f"**{total:.4g} ms** on `{n}`")
    shell = orbits.preset("starlink-shell1")
    per_plane = int((shell.plane == 0).sum())
    a_km = EARTH_RADIUS_KM + shell.shells[0].altitude_km
    hop_km = 2 * a_km * math.sin(math.pi / per_plane)
    hop_ms = latency.load_link_profile().propagation_ms(hop_km)
    print(f"**Compute on a token's critical path** ({m.n_layers} layers × (gate + one expert) + LM head): "
          + " and ".join(paths)
          + f". For scale, one intra-plane hop of Starlink shell 1 (2·a·sin(π/{per_plane}) ≈ {hop_km:,.0f} km) "
          f"takes {float(hop_ms):.1f} ms of light time, so on these profiles the network, not the compute, "
          "dominates a token. The peaks are vendor maxima, so these times are lower bounds.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
