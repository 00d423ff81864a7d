"""Optimization of Space-XNet placements on plain cost arrays: ring partition, gates, expert mapping, baselines,
and placement over time (static, recompute in :mod:`placement.policies`, handover in :mod:`placement.handover`;
each timestep one :class:`placement.Step` that all the policies share).

Works on arrays (orbital phase per satellite, activation probabilities)
and a distance oracle ``path_ms(sources) -> (len(sources), n_sat)``; never
imports ``orbits``, ``sgp4`` or ``numba``. The cost model is documented in
:mod:`placement.model`.
"""

from .baselines import random_layers_optimized_experts, random_layers_random_experts, ring_layers_random_experts
from .bound import Bound, certified_bound
from .bounds import lower_bound
from .capacity import check_capacity, experts_per_satellite, satellites_needed
from .exact import exact_placement
from .coactivation import coactivation, trace_latency_ms
from .exceptions import InfeasiblePlacementError, PlacementError
from .experts import assign_experts
from .gates import choose_gates
from .gate_bound import GateBound
from .anneal import anneal
from .joint import joint
from .model import Evaluation, Placement, evaluate
from .handover import HandoverPolicy
from .policies import (
    FLAG_FORCED,
    FLAG_INFEASIBLE,
    FLAG_MEANINGS,
    FLAG_MIGRATING,
    FLAG_PLACED,
    FLAG_UNREACHABLE,
    POLICIES,
    Move,
    Policy,
    RecomputePolicy,
    StaticPolicy,
    StepRecord,
    make_policy,
)
from .registry import BUDGETED, PLACING, RANDOMIZED, STRATEGIES, WARM_STARTED
from .ring import belt_mask, ring_partition
from .step import Step
from .two_level import space_xnet

__all__ = [
    "PlacementError",
    "InfeasiblePlacementError",
    "Placement",
    "Evaluation",
    "evaluate",
    "trace_latency_ms",
    "ring_partition",
    "belt_mask",
    "choose_gates",
    "GateBound",
    "assign_experts",
    "check_capacity",
    "experts_per_satellite",
    "satellites_needed",
    "space_xnet",
    "joint",
    "anneal",
    "coactivation",
    "random_layers_random_experts",
    "ring_layers_random_experts",
    "random_layers_optimized_experts",
    "lower_bound",
    "certified_bound",
    "Bound",
    "exact_placement",
    "STRATEGIES",
    "PLACING",
    "RANDOMIZED",
    "BUDGETED",
    "WARM_STARTED",
    "POLICIES",
    "Policy",
    "StaticPolicy",
    "RecomputePolicy",
    "HandoverPolicy",
    "Step",
    "StepRecord",
    "Move",
    "make_policy",
    "FLAG_PLACED",
    "FLAG_FORCED",
    "FLAG_INFEASIBLE",
    "FLAG_UNREACHABLE",
    "FLAG_MIGRATING",
    "FLAG_MEANINGS",
]
