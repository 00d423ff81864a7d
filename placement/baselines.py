"""The paper's ablation baselines (Space-XNet, arXiv 2605.00515).

Definitions, as faithful to the paper's ablation as its text allows:

- *Random layers*: the satellites of the pool (eligible, belt if given — the
  same pool as the ring partition, so capacity is the same) are shuffled
  and cut into L groups of equal count (±1); group ``l`` hosts layer ``l``
  and its gate is a member drawn at random. Layer placement is thus
  ignorant of geography, which is exactly what the ablation removes.
- *Random experts*: the E experts of layer ``l`` take E slots drawn at
  random, without replacement, among the free slots of subnet ``l`` (every
  member but the gate offers ``capacity`` slots).
- *Ring layers*: the paper's ring partition and the gate rule of
  :mod:`placement.gates` (the same layer placement as ``space-xnet``).
- *Optimized experts*: the sorted rule inside each subnet.

A random baseline depends on its seed; ``spacexnet compare`` averages over
several seeds and reports the spread.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_capacity, as_eligible, as_phase_deg, as_probs, oracle_rows
from .capacity import check_capacity
from .gates import DEFAULT_GATE_CANDIDATES, _choose_gates, subnet_members
from .model import Placement
from .ring import belt_mask, ring_partition
from .two_level import place_experts_in_subnets

__all__ = [
    "random_layers_random_experts",
    "ring_layers_random_experts",
    "random_layers_optimized_experts",
    "random_partition",
]


def random_partition(pool_mask, n_layers: int, rng) -> np.ndarray:
    """Shuffle the pool and cut it into L equal groups (±1).

    Parameters
    ----------
    pool_mask : ndarray of bool, shape (n_sat,)
    n_layers : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (n_sat,)
        Layer of each satellite, −1 outside the pool.

    Examples
    --------
    >>> import numpy as np
    >>> sub = random_partition(np.ones(7, bool), 3, np.random.default_rng(1))
    >>> sorted(np.bincount(sub).tolist())
    [2, 2, 3]
    """
    pool = np.flatnonzero(pool_mask)
    shuffled = rng.permutation(pool)
    subnet = np.full(pool_mask.size, -1, dtype=np.int64)
    subnet[shuffled] = (np.arange(pool.size) * n_layers) // pool.size
    return subnet


def _random_gates(subnet, n_layers, rng) -> np.ndarray:
    members = subnet_members(subnet, n_layers, np.zeros(subnet.size))
    size = (members >= 0).sum(axis=1)
    pick = (rng.random(n_layers) * size).astype(np.int64)
    return members[np.arange(n_layers), pick]


def _random_experts(subnet, gate_sat, probs, capacity, rng) -> np.ndarray:
    n_layers, n_experts = probs.shape
    members = subnet_members(subnet, n_layers, np.zeros(subnet.size))
    safe = np.maximum(members, 0)
    free = np.where((members < 0) | (members == gate_sat[:, None]), 0, capacity[safe])
    # Uniform E-subset of the free slots: give each slot a random key and keep
    # the E smallest; slots of one satellite are interchangeable.
    slot_owner = [np.repeat(members[l], free[l]) for l in range(n_layers)]
    out = np.empty((n_layers, n_experts), dtype=np.int64)
    for l, owners in enumerate(slot_owner):
        out[l] = owners[rng.permutation(owners.size)[:n_experts]]
    return out


def _pool(phase, eligible, plane, belt_planes):
    use = as_eligible(eligible, phase.size).copy()
    if belt_planes is not None:
        use &= belt_mask(plane, belt_planes, use)
    return use


def random_layers_random_experts(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None,
                                 belt_planes=None, seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                                 n_gate_candidates: int = DEFAULT_GATE_CANDIDATES) -> Placement:
    """Baseline "random": random layers, random gates, random experts.

    Parameters
    ----------
    Same as :func:`placement.space_xnet`; ``seed`` (int, Generator or None)
    drives every random draw. ``path_ms`` is not called.

    Returns
    -------
    Placement
        ``strategy == "random"``.

    Examples
    --------
    >>> import numpy as np
    >>> pl = random_layers_random_experts(np.zeros(6), None, [[0.5], [0.5]], seed=3)
    >>> pl.check(); pl.strategy
    'random'
    """
    p = as_probs(probs)
    phase = as_phase_deg(arg_lat_deg)
    cap = as_capacity(capacity, phase.size)
    rng = np.random.default_rng(seed)
    subnet = random_partition(_pool(phase, eligible, plane, belt_planes), p.shape[0], rng)
    check_capacity(subnet, p.shape[1], cap, p.shape[0])
    gate_sat = _random_gates(subnet, p.shape[0], rng)
    expert_sat = _random_experts(subnet, gate_sat, p, cap, rng)
    return Placement(subnet, gate_sat, expert_sat, "random", seed=_seed_label(seed))


def ring_layers_random_experts(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None,
                               belt_planes=None, seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                               n_gate_candidates: int = DEFAULT_GATE_CANDIDATES) -> Placement:
    """Baseline "ring-random": the paper's layer placement, random experts.

    Layers and gates exactly as :func:`placement.space_xnet` (one oracle
    call); experts drawn at random inside their subnet.

    Returns
    -------
    Placement
        ``strategy == "ring-random"``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(6.0)
    >>> line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    >>> pl = ring_layers_random_experts(x * 60, line, [[0.5], [0.5]], seed=0)
    >>> pl.subnet.tolist()
    [0, 0, 0, 1, 1, 1]
    """
    p = as_probs(probs)
    phase = as_phase_deg(arg_lat_deg)
    cap = as_capacity(capacity, phase.size)
    rng = np.random.default_rng(seed)
    subnet = ring_partition(phase, p.shape[0], eligible=eligible, plane=plane, belt_planes=belt_planes)
    check_capacity(subnet, p.shape[1], cap, p.shape[0])
    gate_sat, _ = _choose_gates(subnet, path_ms, p, arg_lat_deg=phase, plane=plane, capacity=cap,
                                n_candidates=n_gate_candidates)
    expert_sat = _random_experts(subnet, gate_sat, p, cap, rng)
    return Placement(subnet, gate_sat, expert_sat, "ring-random", seed=_seed_label(seed))


def random_layers_optimized_experts(arg_lat_deg, path_ms, probs, *, capacity=1, eligible=None, plane=None,
                                    belt_planes=None, seed=None, gate_time_ms=0.0, expert_time_ms=0.0,
                                    n_gate_candidates: int = DEFAULT_GATE_CANDIDATES) -> Placement:
    """Baseline "random-optimized": random layers and gates, sorted experts.

    One oracle call with the L random gates, then the sorted rule inside
    each random group.

    Returns
    -------
    Placement
        ``strategy == "random-optimized"``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(6.0)
    >>> line = lambda s: np.abs(x - x[np.asarray(s)][:, None])
    >>> pl = random_layers_optimized_experts(x * 60, line, [[0.5], [0.5]], seed=0)
    >>> pl.check(); pl.strategy
    'random-optimized'
    """
    p = as_probs(probs)
    phase = as_phase_deg(arg_lat_deg)
    cap = as_capacity(capacity, phase.size)
    rng = np.random.default_rng(seed)
    subnet = random_partition(_pool(phase, eligible, plane, belt_planes), p.shape[0], rng)
    check_capacity(subnet, p.shape[1], cap, p.shape[0])
    gate_sat = _random_gates(subnet, p.shape[0], rng)
    rows = oracle_rows(path_ms, gate_sat, phase.size)
    expert_sat = place_experts_in_subnets(subnet, gate_sat, rows, p, cap)
    return Placement(subnet, gate_sat, expert_sat, "random-optimized", seed=_seed_label(seed))


def _seed_label(seed):
    return int(seed) if isinstance(seed, (int, np.integer)) else None
