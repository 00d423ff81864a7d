"""Exceptions of the latency layer."""


class LatencyError(ValueError):
    """Base class for user-facing errors of the latency layer."""


class SpecError(LatencyError):
    """A model, hardware or link spec is unknown, malformed or impossible."""


class ActivationError(LatencyError):
    """An activation profile is malformed (probabilities, counts, traces)."""


class NoRouteError(LatencyError):
    """A required route does not exist (a gate or expert is unreachable)."""
