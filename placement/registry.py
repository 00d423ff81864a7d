"""Strategy registry: every placement strategy by name.

Every entry of :data:`STRATEGIES` takes the same arguments,
``(arg_lat_deg, path_ms, probs, *, capacity, eligible, plane, belt_planes,
seed, gate_time_ms, expert_time_ms, n_gate_candidates)``, and returns a
:class:`Placement` — except ``lower-bound``, which returns the
:class:`Evaluation` of the bound directly. ``coactivation`` needs router
traces and is therefore not in the registry; call it directly. The CLI's
``spacexnet compare`` runs and measures them.
"""

from __future__ import annotations

from .baselines import random_layers_optimized_experts, random_layers_random_experts, ring_layers_random_experts
from .bound import certified_bound
from .anneal import anneal
from .joint import joint
from .two_level import space_xnet

__all__ = ["STRATEGIES", "PLACING", "RANDOMIZED", "BUDGETED", "WARM_STARTED"]

STRATEGIES = {
    "space-xnet": space_xnet,
    "joint": joint,
    "anneal": anneal,
    "random": random_layers_random_experts,
    "ring-random": ring_layers_random_experts,
    "random-optimized": random_layers_optimized_experts,
    "lower-bound": certified_bound,
}
"""Strategy name → function (see the module docstring for the signature)."""

PLACING = tuple(name for name in STRATEGIES if name != "lower-bound")
"""Strategies that return a :class:`Placement` (all but ``lower-bound``), in registry order."""

RANDOMIZED = frozenset({"random", "ring-random", "random-optimized"})
"""Strategies whose result depends on the seed; compared over several seeds."""

BUDGETED = frozenset({"anneal"})
"""Strategies that take a ``time_budget_s`` (nominal seconds of search, deterministic for a seed)."""

WARM_STARTED = frozenset({"joint", "anneal"})
"""Strategies that take a ``start`` placement to improve (a sweep hands them the previous step's)."""
