"""Network and model costs of Space-XNet: MoE and hardware specs, routing, token latency.

Works on link datasets and plain arrays; never on SGP4 element sets.
"""

from .exceptions import ActivationError, LatencyError, NoRouteError, SpecError

__all__ = ["LatencyError", "SpecError", "ActivationError", "NoRouteError"]
