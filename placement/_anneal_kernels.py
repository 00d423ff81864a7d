"""Numba kernel of :mod:`placement.anneal`: simulated annealing over gates and expert slots.

The state is the gate of every layer and the E slots of every layer (the
sorted rule inside a layer is applied by the value itself: a layer's value
sorts its slots' costs and weighs them by the rank weights). Moves, each
drawn near the layer's gates or the moved slot (``nbr``, nearest satellites
first):

* relocate one slot to a satellite with room;
* swap one slot with a slot of another layer;
* move a gate to a satellite without experts, or onto a satellite whose
  experts then take the gate's old satellite.

Metropolis acceptance at a geometric temperature schedule. Every random
draw comes from NumPy's generator inside the kernel, seeded by the caller,
so a seed gives the same result on every run and machine.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["anneal_chain"]


@njit(cache=True, nogil=True)
def _layer_value(l, gate, slots, dist, t_gate, t_exp, weights, buf):
    n_layers, n_experts = slots.shape
    a = gate[l]
    b = gate[(l + 1) % n_layers]
    for i in range(n_experts):
        s = slots[l, i]
        buf[i] = dist[a, s] + dist[s, b] + t_exp[l]
    buf[:n_experts].sort()
    v = t_gate[l]
    for i in range(n_experts):
        w = weights[l, i]
        if w > 0:
            v += w * buf[i]
    return v


@njit(cache=True, nogil=True)
def _rescore(affected, n_aff, val, new_val, gate, slots, dist, t_gate, t_exp, weights, buf):
    """New values of the affected layers into ``new_val``; returns their change of the total."""
    delta = 0.0
    for j in range(n_aff):
        new_val[j] = _layer_value(affected[j], gate, slots, dist, t_gate, t_exp, weights, buf)
        delta += new_val[j] - val[affected[j]]
    return delta


@njit(cache=True, nogil=True)
def _occ_remove(occ, occ_n, s, slot_id):
    for j in range(occ_n[s]):
        if occ[s, j] == slot_id:
            occ[s, j] = occ[s, occ_n[s] - 1]
            occ_n[s] -= 1
            return


@njit(cache=True, nogil=True)
def _occ_add(occ, occ_n, s, slot_id):
    occ[s, occ_n[s]] = slot_id
    occ_n[s] += 1


@njit(cache=True, nogil=True)
def anneal_chain(gate, slots, dist, cap, nbr, t_gate, t_exp, weights, n_iter, t_start, t_end, seed):
    """Anneal from ``(gate, slots)`` for ``n_iter`` moves; returns the best ``(value, gate, slots)`` seen.

    ``dist`` (m, m) ms between pool satellites, ``cap`` (m,) experts per
    satellite, ``nbr`` (m, K) nearest satellites of each, ``weights``
    (L, E) rank weights; ``gate`` (L,) and ``slots`` (L, E) index the pool.
    """
    np.random.seed(seed)
    n_layers, n_experts = slots.shape
    m = dist.shape[0]
    k_nbr = nbr.shape[1]
    gate = gate.copy()
    slots = slots.copy()
    q_max = 1
    for s in range(m):
        q_max = max(q_max, cap[s])
    occ = np.full((m, q_max), -1, dtype=np.int64)
    occ_n = np.zeros(m, dtype=np.int64)
    gate_of = np.full(m, -1, dtype=np.int64)
    for l in range(n_layers):
        gate_of[gate[l]] = l
        for i in range(n_experts):
            _occ_add(occ, occ_n, slots[l, i], l * n_experts + i)
    buf = np.empty(n_experts)
    val = np.empty(n_layers)
    for l in range(n_layers):
        val[l] = _layer_value(l, gate, slots, dist, t_gate, t_exp, weights, buf)
    total = val.sum()
    best = total
    best_gate = gate.copy()
    best_slots = slots.copy()
    affected = np.empty(n_layers + 3, dtype=np.int64)
    new_val = np.empty(n_layers + 3)
    moved = np.empty(q_max, dtype=np.int64)
    ratio = t_end / t_start
    for it in range(n_iter):
        temp = t_start * ratio ** (it / max(n_iter - 1, 1))
        l = np.random.randint(n_layers)
        kind = np.random.randint(4)
        n_aff = 0
        if kind < 3:
            # An expert move: relocate (0, 1) or swap (2).
            i = np.random.randint(n_experts)
            s = slots[l, i]
            pick = np.random.randint(3)
            centre = gate[l] if pick == 0 else (gate[(l + 1) % n_layers] if pick == 1 else s)
            t = nbr[centre, np.random.randint(k_nbr)]
            if t == s or gate_of[t] >= 0:
                continue
            if kind < 2:
                if occ_n[t] >= cap[t]:
                    continue
                slots[l, i] = t
                affected[0] = l
                n_aff = 1
            else:
                if occ_n[t] == 0:
                    continue
                other = occ[t, np.random.randint(occ_n[t])]
                lo, io = other // n_experts, other % n_experts
                if lo == l:
                    continue
                slots[l, i] = t
                slots[lo, io] = s
                affected[0] = l
                affected[1] = lo
                n_aff = 2
            delta = _rescore(affected, n_aff, val, new_val, gate, slots, dist, t_gate, t_exp, weights, buf)
            if delta <= 0 or np.random.random() < np.exp(-delta / temp):
                if kind < 2:
                    _occ_remove(occ, occ_n, s, l * n_experts + i)
                    _occ_add(occ, occ_n, t, l * n_experts + i)
                else:
                    _occ_remove(occ, occ_n, s, l * n_experts + i)
                    _occ_remove(occ, occ_n, t, lo * n_experts + io)
                    _occ_add(occ, occ_n, t, l * n_experts + i)
                    _occ_add(occ, occ_n, s, lo * n_experts + io)
                for j in range(n_aff):
                    val[affected[j]] = new_val[j]
                total += delta
            else:
                slots[l, i] = s
                if kind == 2:
                    slots[lo, io] = t
                continue
        else:
            # A gate move, onto a free satellite or trading places with its experts.
            a = gate[l]
            t = nbr[a, np.random.randint(k_nbr)]
            if gate_of[t] >= 0 or occ_n[t] > cap[a]:
                continue
            n_moved = occ_n[t]
            for j in range(n_moved):
                moved[j] = occ[t, j]
            prev = (l - 1) % n_layers
            affected[0] = l
            n_aff = 1
            if prev != l:
                affected[n_aff] = prev
                n_aff += 1
            for j in range(n_moved):
                lo = moved[j] // n_experts
                dup = False
                for k in range(n_aff):
                    if affected[k] == lo:
                        dup = True
                if not dup:
                    affected[n_aff] = lo
                    n_aff += 1
            gate[l] = t
            for j in range(n_moved):
                slots[moved[j] // n_experts, moved[j] % n_experts] = a
            delta = _rescore(affected, n_aff, val, new_val, gate, slots, dist, t_gate, t_exp, weights, buf)
            if delta <= 0 or np.random.random() < np.exp(-delta / temp):
                gate_of[a] = -1
                gate_of[t] = l
                occ_n[t] = 0
                for j in range(n_moved):
                    _occ_add(occ, occ_n, a, moved[j])
                for j in range(n_aff):
                    val[affected[j]] = new_val[j]
                total += delta
            else:
                gate[l] = a
                for j in range(n_moved):
                    slots[moved[j] // n_experts, moved[j] % n_experts] = t
                continue
        if total < best - 1e-9 * abs(best):
            # Recompute from scratch so that drift in the running sum never decides.
            exact = 0.0
            for k in range(n_layers):
                exact += val[k]
            total = exact
            if total < best:
                best = total
                best_gate[:] = gate
                best_slots[:, :] = slots
    return best, best_gate, best_slots
