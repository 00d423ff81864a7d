"""Network and model costs of Space-XNet: MoE and hardware specs, routing, token latency.

Works on link datasets and plain arrays; never on SGP4 element sets.

Examples
--------
>>> import latency
>>> model = latency.load_model("llama-moe-3.5b")
>>> probs = latency.activation_profile(model, "zipf:1.0", seed=0)
>>> times = latency.compute_times(model, latency.load_hardware())
>>> probs.shape, times.dispatch_ms.shape
((32, 16), (32,))
"""

from .activation import (
    activation_profile,
    cap_probabilities,
    check_profile,
    coactivation_from_trace,
    counts_from_trace,
    load_counts,
    load_trace,
    plackett_luce_inclusion,
    probabilities_from_counts,
    sample_active,
    topk_logits,
)
from .compute import (
    DEFAULT_CONTEXT_TOKENS,
    ComputeTimes,
    compute_times,
    expert_time_ms,
    gate_time_ms,
    head_time_ms,
    roofline_ms,
)
from .exactly_k import exactly_k_inclusion, exactly_k_weights
from .exceptions import ActivationError, LatencyError, NoRouteError, SpecError
from .expectation import critical_probabilities, expected_max
from .routing import PathBreakdown, RoutingGraph, SearchMemory
from .specs import (
    DEFAULT_MODEL,
    SPEED_OF_LIGHT_KM_S,
    HardwareSpec,
    LinkProfile,
    ModelSpec,
    hardware_names,
    link_profile_names,
    load_hardware,
    load_link_profile,
    load_model,
    model_names,
)
from .token import (
    Breakdown,
    GroundLatency,
    GroundRelay,
    GroundUser,
    TokenLatency,
    TokenSamples,
    TraceReplay,
    all_layer_costs_ms,
    ground_latency_ms,
    ground_relay_latency_ms,
    layer_costs_ms,
    sample_token_latency,
    token_latency,
)

__all__ = [
    # errors
    "LatencyError", "SpecError", "ActivationError", "NoRouteError",
    # specs
    "ModelSpec", "load_model", "model_names", "DEFAULT_MODEL",
    "HardwareSpec", "load_hardware", "hardware_names",
    "LinkProfile", "load_link_profile", "link_profile_names", "SPEED_OF_LIGHT_KM_S",
    # activation profiles
    "activation_profile", "cap_probabilities", "check_profile", "load_counts", "probabilities_from_counts",
    "load_trace", "counts_from_trace", "coactivation_from_trace", "plackett_luce_inclusion", "topk_logits",
    "sample_active", "exactly_k_weights", "exactly_k_inclusion",
    # compute
    "roofline_ms", "expert_time_ms", "gate_time_ms", "head_time_ms", "ComputeTimes", "compute_times",
    "DEFAULT_CONTEXT_TOKENS",
    # routing
    "RoutingGraph", "PathBreakdown", "SearchMemory",
    # token latency
    "expected_max", "critical_probabilities", "layer_costs_ms", "all_layer_costs_ms", "token_latency",
    "sample_token_latency", "TraceReplay", "ground_latency_ms", "ground_relay_latency_ms", "GroundUser", "GroundLatency", "GroundRelay", "Breakdown", "TokenLatency",
    "TokenSamples",
]
