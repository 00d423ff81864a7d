"""Gate selection: one gate per subnet, chosen for the whole ring at once.

Rule. Each subnet offers K candidate gates (default 8), spread evenly over
its arc in ring order (phase, then plane): the first and last satellites of
the arc and evenly spaced ones between. A gate near the end of its arc can
sit next to the following arc's gate, so the spread lets the gate ring be
short; candidates bunched at the arcs' middles cannot (on Starlink shell 1
with llama-moe-3.5b, 4 middle candidates give 1,513 ms per token, 8 spread
candidates 950 ms, every satellite of the arc 948 ms). A layer's cost for a
pair of gates ``(a, b)`` — ``a`` gate of layer ``l``, ``b`` gate of layer
``l+1`` — is its exact expected time with its experts placed optimally by
the sorted rule inside subnet ``l`` (gate excluded). The gates minimise the
sum of these costs over the ring, which is the expected token latency of
the paper's two-level placement restricted to those candidates. The cost
already holds the gate ring: every expert of layer ``l`` sends its output
to ``g_{l+1}``, so ``d(g_l, s) + d(s, g_{l+1}) ≥ d(g_l, g_{l+1})`` and a long
hop between consecutive gates shows in the objective; nothing needs a
separate ring-length weight.

The ring makes it a shortest cycle through L stages of K nodes; dynamic
programming solves it exactly in O(L K³) (fix the first gate, run min-plus
products around the ring, close the cycle): no coordinate descent, no
local optimum. Oracle cost: one call with at most L·K sources.
"""

from __future__ import annotations

import numpy as np

from latency.expectation import expected_max
from latency.pairwise import PAIRWISE_BLOCK

from ._validate import as_capacity, as_phase_deg, as_probs, oracle_rows
from .capacity import check_capacity
from .exceptions import PlacementError
from .experts import cheapest_masked_slot_costs

__all__ = ["choose_gates", "DEFAULT_GATE_CANDIDATES"]

#: Candidate gates per subnet (K). Spread over the arc, 8 come within 0.3 % of trying every
#: satellite on Starlink shell 1 at zipf:1.0 activation, at 1/6 of the shortest-path searches;
#: with very skewed activation (dirichlet:0.1) trying every satellite is about 10 % faster.
DEFAULT_GATE_CANDIDATES = 8



def choose_gates(subnet, path_ms, probs, *, arg_lat_deg, plane=None, capacity=1, n_candidates: int = DEFAULT_GATE_CANDIDATES) -> np.ndarray:
    """Choose the gate satellite of every subnet (exact over the candidates).

    Parameters
    ----------
    subnet : array_like of int, shape (n_sat,)
        Layer of each satellite (from :func:`ring_partition`), −1 outside.
    path_ms : callable
        ``path_ms(sources) -> (len(sources), n_sat)`` latency in ms, ``inf``
        if unreachable. Called once with at most L·K sources.
    probs : array_like, shape (L, E)
        Activation probabilities of the experts of each layer.
    arg_lat_deg : array_like, shape (n_sat,)
        Phase of each satellite in degrees, to order each arc.
    plane : array_like of int, shape (n_sat,), optional
        Plane labels, breaking phase ties as in :func:`ring_partition`.
    capacity : int or array_like of int, shape (n_sat,)
        Experts per satellite.
    n_candidates : int
        K, candidate gates per subnet.

    Returns
    -------
    ndarray of int64, shape (L,)
        Gate satellite of each layer.

    Examples
    --------
    Two arcs of a 6-satellite ring 1 ms apart. On this symmetric ring every
    gate pair costs 6 ms per token; ties go to the first candidates, the
    first satellite of each arc:

    >>> import numpy as np
    >>> pos = np.arange(6.0)
    >>> ring = lambda s: np.minimum(np.abs(pos - pos[np.asarray(s)][:, None]),
    ...                             6 - np.abs(pos - pos[np.asarray(s)][:, None]))
    >>> phase = pos * 60.0
    >>> sub = np.array([0, 0, 0, 1, 1, 1])
    >>> choose_gates(sub, ring, [[1.0], [1.0]], arg_lat_deg=phase).tolist()
    [0, 3]
    """
    gate_sat, _ = _choose_gates(subnet, path_ms, probs, arg_lat_deg=arg_lat_deg, plane=plane,
                                capacity=capacity, n_candidates=n_candidates)
    return gate_sat


def subnet_members(subnet: np.ndarray, n_layers: int, arg_lat_deg, plane=None) -> np.ndarray:
    """Members of each subnet in ring order, shape (L, m_max), −1 padded."""
    phase = as_phase_deg(arg_lat_deg)
    inside = np.flatnonzero(subnet >= 0)
    keys = [inside, phase[inside]]
    if plane is not None:
        keys.insert(1, np.asarray(plane)[inside])
    keys.append(subnet[inside])
    order = inside[np.lexsort(keys)]
    counts = np.bincount(subnet[order], minlength=n_layers)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(order.size) - start[subnet[order]]
    members = np.full((n_layers, max(int(counts.max()), 1)), -1, dtype=np.int64)
    members[subnet[order], pos] = order
    return members


def _choose_gates(subnet, path_ms, probs, *, arg_lat_deg, plane=None, capacity=1,
                  n_candidates=DEFAULT_GATE_CANDIDATES, gate_bound=None):
    """:func:`choose_gates`, also returning the gates' rows ``d(g_l, ·)`` (L, n_sat).

    With a :class:`placement.gate_bound.GateBound`, only the candidates it
    cannot rule out are searched (the others' costs are ``inf``): the same
    gates, fewer searches.
    """
    subnet = np.asarray(subnet, dtype=np.int64)
    p = as_probs(probs)
    n_layers, n_experts = p.shape
    n_sat = subnet.size
    if int(subnet.max(initial=-1)) >= n_layers:
        raise PlacementError(f"subnet labels go up to {subnet.max()} but probs has {n_layers} layers")
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, (int, np.integer)) or n_candidates < 1:
        raise PlacementError(f"n_candidates must be a positive integer, got {n_candidates!r}")
    cap = as_capacity(capacity, n_sat)
    check_capacity(subnet, n_experts, cap, n_layers)

    members = subnet_members(subnet, n_layers, arg_lat_deg, plane)  # (L, m)
    m_max = members.shape[1]
    size = (members >= 0).sum(axis=1)
    k = int(min(n_candidates, m_max))
    # Evenly spread positions from the first to the last member of each arc; a subnet smaller
    # than K repeats positions, which the DP handles as ties.
    spread = np.linspace(0.0, 1.0, k) if k > 1 else np.array([0.5])
    cand_pos = np.round(spread[None, :] * (size[:, None] - 1)).astype(np.int64)
    cand = np.take_along_axis(members, cand_pos, axis=1)  # (L, K)

    p_desc = -np.sort(-p, axis=1)
    layers = np.arange(n_layers)

    def ring_costs(ring):
        # The exact cost now of one gate ring: its own L searches (rows the step asks for anyway, as a
        # chosen ring's gates often stay chosen) and its L pairs.
        ring_cand = cand[layers, ring][:, None]
        ring_sources, ring_inverse = np.unique(ring_cand, return_inverse=True)
        ring_rows = oracle_rows(path_ms, ring_sources, n_sat)
        return _layer_costs(ring_rows, ring_inverse.reshape(ring_cand.shape), members, ring_cand, cap, p_desc)[:, 0, 0]

    needed = None if gate_bound is None else gate_bound.needed(cand, members, ring_costs, cap, p_desc)
    if needed is None:
        sources, inverse = np.unique(cand, return_inverse=True)
        rows = oracle_rows(path_ms, sources, n_sat)
        src = inverse.reshape(cand.shape)  # (L, K): row of each candidate in ``rows``
    else:
        # The candidates ruled out point at a last row of inf: their pairs cost inf.
        sources = np.unique(cand[needed])
        rows = np.vstack([oracle_rows(path_ms, sources, n_sat), np.full((1, n_sat), np.inf)])
        src = np.where(needed, np.searchsorted(sources, cand), sources.size)

    layer_cost = _layer_costs(rows, src, members, cand, cap, p_desc)
    choice = _cheapest_cycle(layer_cost)
    if gate_bound is not None:
        gate_bound.remember(cand, members, layer_cost, cap, p_desc, choice=choice, searched=needed)
    gate_sat = cand[layers, choice]
    gate_rows = rows[src[layers, choice]]
    return gate_sat, gate_rows


def _layer_costs(rows, src, members, cand, cap, p_desc):
    """Cost ``f[l, a, b]`` of layer ``l`` for gate ``cand[l, a]`` and next gate ``cand[l + 1, b]``, shape (L, K, K).

    The Numba kernel :func:`placement._kernels.gate_pair_costs`, which gives
    :func:`_layer_costs_numpy`'s numbers bit for bit, for up to NumPy's
    pairwise block of experts; NumPy beyond.
    """
    n_layers, k = cand.shape
    if p_desc.shape[1] <= PAIRWISE_BLOCK:
        # Imported on first use, as latency's kernels are: ``import placement`` loads no numba.
        from ._kernels import gate_pair_costs

        out = np.empty((n_layers, k, k))
        gate_pair_costs(rows, src, members, cand, cap, p_desc, out)
        return out
    return _layer_costs_numpy(rows, src, members, cand, cap, p_desc)


def _layer_costs_numpy(rows, src, members, cand, cap, p_desc):
    """:func:`_layer_costs` in NumPy, the kernel's twin: one (L, K_a, K_b, m) array of member costs."""
    n_experts = p_desc.shape[1]
    # Gather only the members' columns: c[l, a, b, s] = d(a, s) + d(s, b) for member s of subnet l,
    # a candidate of layer l, b candidate of layer l + 1.
    safe = np.maximum(members, 0)
    here = rows[src[:, :, None], safe[:, None, :]]  # (L, K_a, m)
    there = rows[np.roll(src, -1, axis=0)[:, :, None], safe[:, None, :]]  # (L, K_b, m)
    free = np.where(members < 0, 0, cap[safe])  # (L, m)
    # The gate hosts no expert.
    free = np.where(members[:, None, :] == cand[:, :, None], 0, free[:, None, :])  # (L, K_a, m)
    # A satellite without room is never used: inf there keeps it out of the cheapest slots.
    cost = np.where(free > 0, here, np.inf)[:, :, None, :] + there[:, None, :, :]  # (L, K_a, K_b, m)
    slot_cost = cheapest_masked_slot_costs(cost, free[:, :, None, :], n_experts)  # (L, K_a, K_b, E)
    value = expected_max(slot_cost, p_desc[:, None, None, :], method="independent")
    feasible = free.sum(axis=2) >= n_experts  # (L, K_a)
    return np.where(feasible[:, :, None], value, np.inf)


def _cheapest_cycle(f: np.ndarray) -> np.ndarray:
    """Cheapest cycle of gate candidates through ``f`` (L, K, K): the kernel :func:`placement._kernels.min_cycle`.

    Its NumPy twin (``tests/test_gate_kernel.py``) makes the same choice.
    """
    from ._kernels import min_cycle

    choice = np.empty(f.shape[0], dtype=np.int64)
    min_cycle(f, choice)
    return choice
