"""Numba kernel of the exact solver: a Lagrangian bound of one gate ring's expert assignment.

With the ring fixed, layer ``l`` puts its E ranked slots (cheapest first,
rank weights ``W[l]``) on satellites of cost ``c_l(s)``; satellites hold at
most ``free[s]`` slots over all layers. Pricing each slot of ``s`` at
``λ_s ≥ 0`` separates the layers; each then picks its slots by a dynamic
program over the satellites in ascending cost (a satellite may take several
consecutive ranks, up to its room), so that the ranks stay in cost order
and the layer's value is its sorted value exactly. The dual value

    Σ_l min_S [Σ_k W_{l,k} c_(k)(S) + Σ_{s ∈ S} λ_s] − Σ_s λ_s free_s

is a lower bound of the ring for every ``λ ≥ 0`` (weak duality); a few
dozen subgradient steps raise it. Imported only by
:mod:`placement.exact` when it runs, so ``import placement`` loads no numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ring_dual_bound"]


@njit(cache=True, nogil=True)
def _layer_dp(order, cost, weight, free, price, n_experts, take, load, slots):
    """Cheapest ranked slots of one layer at the given prices.

    Adds their count per satellite to ``load`` and writes the satellite of
    each rank into ``slots``; returns the priced value.
    """
    big = np.inf
    dp = np.full(n_experts + 1, big)
    dp[0] = 0.0
    m = order.size
    for i in range(m):
        s = order[i]
        room = min(free[s], n_experts)
        c = cost[s]
        new = dp.copy()
        for k in range(n_experts + 1):
            take[i, k] = 0
        if room > 0 and np.isfinite(c):
            for k in range(1, n_experts + 1):
                acc = 0.0
                for t in range(1, min(room, k) + 1):
                    acc += weight[k - t] * c + price[s]
                    v = dp[k - t] + acc
                    if v < new[k]:
                        new[k] = v
                        take[i, k] = t
        dp = new
    # Walk back the choices.
    k = n_experts
    for i in range(m - 1, -1, -1):
        if k == 0:
            break
        t = take[i, k]
        for j in range(t):
            slots[k - 1 - j] = order[i]
        if t > 0:
            load[order[i]] += t
            k -= t
    return dp[n_experts]


@njit(cache=True, nogil=True)
def ring_dual_bound(costs, free, weights, target, n_iter):
    """Best Lagrangian bound found in ``n_iter`` subgradient steps (stops once it reaches ``target``).

    Parameters
    ----------
    costs : float64 (L, m)
        ``c_l(s)`` (``inf`` unreachable).
    free : int64 (m,)
        Slots of each satellite (0 on gates).
    weights : float64 (L, E)
        Rank weights.
    target : float
        Value above which the ring is of no interest (the best placement
        so far, without the gate times); drives the step size.
    n_iter : int

    Returns
    -------
    best : float
        Largest dual value seen (a lower bound of the ring's expert cost).
    primal : float
        Cheapest sum of sorted layer values among the steps whose choices
        respected capacity (``inf`` if none did): an upper bound.
    primal_slots : int64 (L, E)
        Those choices, each layer's ranks cheapest first.
    """
    n_layers, m = costs.shape
    n_experts = weights.shape[1]
    price = np.zeros(m)
    best = -np.inf
    theta = 1.0
    stall = 0
    orders = np.empty((n_layers, m), dtype=np.int64)
    for l in range(n_layers):
        orders[l] = np.argsort(costs[l], kind="mergesort")
    take = np.zeros((m, n_experts + 1), dtype=np.int64)
    slots = np.zeros((n_layers, n_experts), dtype=np.int64)
    primal = np.inf
    primal_slots = np.zeros((n_layers, n_experts), dtype=np.int64)
    for _ in range(n_iter):
        load = np.zeros(m, dtype=np.int64)
        value = 0.0
        for l in range(n_layers):
            value += _layer_dp(orders[l], costs[l], weights[l], free, price, n_experts, take, load, slots[l])
        slack = 0.0
        for s in range(m):
            value -= price[s] * free[s]
            slack += price[s] * (free[s] - load[s])
        if not np.isfinite(value):
            return value, primal, primal_slots
        if best == -np.inf or value > best + 1e-12 * abs(best):
            best = value
            stall = 0
        else:
            stall += 1
            if stall >= 4:
                theta *= 0.5
                stall = 0
        norm = 0.0
        over = False
        for s in range(m):
            g = load[s] - free[s]
            if g > 0:
                over = True
            if g > 0 or price[s] > 0:
                norm += g * g
        if not over and value + slack < primal:
            # Σ sorted values = priced value + Σ λ (free − load).
            primal = value + slack
            primal_slots[:, :] = slots
        if best >= primal - 1e-12 * abs(primal):
            break
        if best >= target or norm == 0.0:
            break
        step = theta * (target - value) / norm
        for s in range(m):
            g = load[s] - free[s]
            price[s] = max(0.0, price[s] + step * g)
    return best, primal, primal_slots
