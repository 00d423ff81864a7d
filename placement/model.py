"""The placement record and the cost model every strategy optimises.

Cost model (Space-XNet, arXiv 2605.00515; docs/model.md, "Latency model").
A token enters MoE layer ``l`` at its gate satellite ``g_l`` (attention and
router), which sends the hidden state to the active experts; each expert
sends its output to the next gate ``g_{l+1}`` (layer L hands on to layer 1:
the gates form a ring). Expert ``e`` of layer ``l`` on satellite ``s`` costs

    c_l(s) = d(g_l, s) + t_expert_l + d(s, g_{l+1}),

with ``d`` the shortest-path latency (symmetric), and the layer costs

    T_l = t_gate_l + E[max over active experts e of c_l(s_e)],

the expectation taken over independent activations with probabilities
``p_{l,e}`` (:func:`latency.expectation.expected_max`, exact). The token
latency is the sum over the ring.

Shared satellites. A satellite may hold several experts (memory permitting);
experts that share a satellite run *concurrently*: each active expert costs
its own ``c_l(s)`` whatever else is active on that satellite. This is the
latency layer's formula (max over active experts, no co-location term), so
placement optimises exactly what is measured, and the objective stays a
function of each expert's satellite alone, for which the sorted rule is
provably optimal (:mod:`placement.experts`). If hardware serialises experts,
the caller should pass the serial expert time for the memory-bound case
(capacity × single-expert time) as ``expert_time_ms``; this keeps the
objective an upper bound and the solvers unchanged.

Gates are exclusive: a gate satellite hosts the attention and router of its
layer (weights and KV cache) and no expert, and no two layers share a gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from latency.expectation import by_decreasing_cost, expected_max

from ._validate import as_capacity, as_layer_times, as_probs, oracle_rows
from .exceptions import PlacementError

__all__ = ["Placement", "Evaluation", "evaluate", "layer_costs_ms"]


@dataclass(frozen=True)
class Placement:
    """Where every gate and expert of an MoE model sits.

    Attributes
    ----------
    subnet : ndarray of int64, shape (n_sat,)
        Layer index of each satellite's subnet, −1 outside every subnet.
        For strategies that confine experts to their subnet (all but
        ``joint``) this is the layer partition; for ``joint`` it is the
        partition it started from.
    gate_sat : ndarray of int64, shape (L,)
        Gate (attention + router) satellite of each layer.
    expert_sat : ndarray of int64, shape (L, E)
        Satellite of each routed expert of each layer.
    strategy : str
        Name in :data:`placement.STRATEGIES`.
    experts_confined : bool
        Whether every expert of layer ``l`` sits in subnet ``l``.
    seed : int or None
        Seed of a randomized strategy, for provenance.

    Examples
    --------
    >>> import numpy as np
    >>> p = Placement(subnet=np.array([0, 0, 1, 1]), gate_sat=np.array([0, 2]),
    ...               expert_sat=np.array([[1], [3]]), strategy="space-xnet")
    >>> p.n_layers, p.n_experts, p.expert_load().tolist()
    (2, 1, [0, 1, 0, 1])
    """

    subnet: np.ndarray
    gate_sat: np.ndarray
    expert_sat: np.ndarray
    strategy: str
    experts_confined: bool = True
    seed: int | None = None
    info: dict = field(default_factory=dict, compare=False)

    @property
    def n_layers(self) -> int:
        return int(self.gate_sat.shape[0])

    @property
    def n_experts(self) -> int:
        return int(self.expert_sat.shape[1])

    @property
    def n_sat(self) -> int:
        return int(self.subnet.shape[0])

    def expert_load(self) -> np.ndarray:
        """Number of experts (all layers) on each satellite, shape (n_sat,)."""
        return np.bincount(self.expert_sat.ravel(), minlength=self.n_sat)

    def check(self, capacity=1, eligible=None) -> None:
        """Raise :class:`PlacementError` if a constraint is violated.

        Checks: gates distinct and gate satellites free of experts; experts
        only on eligible satellites; at most ``capacity`` experts per
        satellite; experts of layer ``l`` in subnet ``l`` when confined;
        each gate in its own subnet when confined.
        """
        cap = as_capacity(capacity, self.n_sat)
        if np.unique(self.gate_sat).size != self.n_layers:
            raise PlacementError(f"{self.strategy}: two layers share a gate: {self.gate_sat.tolist()}")
        load = self.expert_load()
        if load[self.gate_sat].any():
            l = int(np.flatnonzero(load[self.gate_sat])[0])
            raise PlacementError(f"{self.strategy}: gate satellite {self.gate_sat[l]} of layer {l} also hosts experts")
        over = np.flatnonzero(load > cap)
        if over.size:
            s = int(over[0])
            raise PlacementError(f"{self.strategy}: satellite {s} hosts {load[s]} experts, capacity {cap[s]}")
        if eligible is not None:
            bad = ~np.asarray(eligible)[self.expert_sat]
            if bad.any():
                l, e = np.argwhere(bad)[0]
                raise PlacementError(f"{self.strategy}: expert {e} of layer {l} is on ineligible satellite {self.expert_sat[l, e]}")
        if self.experts_confined:
            layers = np.arange(self.n_layers)
            if (self.subnet[self.expert_sat] != layers[:, None]).any():
                l, e = np.argwhere(self.subnet[self.expert_sat] != layers[:, None])[0]
                raise PlacementError(f"{self.strategy}: expert {e} of layer {l} lies outside subnet {l}")
            if (self.subnet[self.gate_sat] != layers).any():
                l = int(np.flatnonzero(self.subnet[self.gate_sat] != layers)[0])
                raise PlacementError(f"{self.strategy}: gate of layer {l} lies outside subnet {l}")

    def to_dict(self) -> dict:
        """Plain lists and scalars, for JSON output."""
        return {
            "strategy": self.strategy,
            "seed": self.seed,
            "experts_confined": self.experts_confined,
            "subnet": self.subnet.tolist(),
            "gate_sat": self.gate_sat.tolist(),
            "expert_sat": self.expert_sat.tolist(),
        }


@dataclass(frozen=True)
class Evaluation:
    """Expected latency of a placement.

    Attributes
    ----------
    per_layer_ms : ndarray, shape (L,)
        Expected time of each MoE layer, gate time included.
    total_ms : float
        Expected token latency: the sum over the ring of layers.
    """

    per_layer_ms: np.ndarray
    total_ms: float


def layer_costs_ms(gate_rows_ms: np.ndarray, expert_time_ms: np.ndarray) -> np.ndarray:
    """Cost ``c_l(s)`` of an expert of each layer on each satellite.

    Parameters
    ----------
    gate_rows_ms : ndarray, shape (L, n_sat)
        ``d(g_l, s)``, shortest-path latency from each gate.
    expert_time_ms : ndarray, shape (L,)

    Returns
    -------
    ndarray, shape (L, n_sat)
        ``d(g_l, s) + t_expert_l + d(s, g_{l+1})`` (ring: layer L−1's next is 0).
    """
    return gate_rows_ms + np.roll(gate_rows_ms, -1, axis=0) + expert_time_ms[:, None]


def objective_from_rows(gate_rows_ms, expert_sat, probs, gate_time_ms, expert_time_ms) -> np.ndarray:
    """Per-layer expected ms from the gates' distance rows (no oracle call)."""
    rows = np.asarray(gate_rows_ms)
    expert_sat = np.asarray(expert_sat)
    if rows.ndim == 2 and expert_sat.ndim == 2 and expert_sat.shape[0] == rows.shape[0]:
        # The experts' columns of layer_costs_ms, with the same additions in the same order,
        # without building the whole (L, n_sat) table.
        layer = np.arange(rows.shape[0])[:, None]
        c = rows[layer, expert_sat] + rows[(layer + 1) % rows.shape[0], expert_sat] + expert_time_ms[:, None]
    else:
        c = np.take_along_axis(layer_costs_ms(rows, expert_time_ms), expert_sat, axis=1)
    return gate_time_ms + _expected_max_rows(c, probs)


def _expected_max_rows(costs, probs):
    """:func:`latency.expectation.expected_max` along the last axis, the same numbers with less wrapping.

    For ``(L, E)`` float64 costs and probabilities of the same shape (what
    a placement's layers give) it skips the generic broadcasting and axis
    handling and makes the same sort, products and sum; other inputs go
    to ``expected_max`` itself.
    """
    if not (isinstance(costs, np.ndarray) and isinstance(probs, np.ndarray) and costs.ndim == 2
            and costs.shape == probs.shape and costs.dtype == np.float64 and probs.dtype == np.float64):
        return expected_max(costs, probs, method="independent")
    c, weight, _ = by_decreasing_cost(costs, probs)
    # 0 * inf must stay 0 for items that are never active (np.where evaluates both sides).
    with np.errstate(invalid="ignore"):
        term = np.where(weight > 0, c * weight, 0.0)
    return term.sum(axis=-1)


def evaluate(placement: Placement, path_ms, probs, gate_time_ms=0.0, expert_time_ms=0.0) -> Evaluation:
    """Exact expected token latency of a placement under independent activations.

    Parameters
    ----------
    placement : Placement
    path_ms : callable
        ``path_ms(sources) -> (len(sources), n_sat)`` shortest-path latency
        in ms, ``inf`` if unreachable. Called once, with the L gates.
    probs : array_like, shape (L, E)
        Activation probability of each expert of each layer.
    gate_time_ms, expert_time_ms : float or array_like, shape (L,)
        Attention + router time at the gate, and expert compute time.

    Returns
    -------
    Evaluation

    Examples
    --------
    Four satellites on a line 1 ms apart, gates at both ends, one expert per
    layer always active:

    >>> import numpy as np
    >>> x = np.arange(4.0)
    >>> oracle = lambda src: np.abs(x[None, :] - x[np.asarray(src)][:, None])
    >>> p = Placement(np.array([0, 0, 1, 1]), np.array([0, 3]), np.array([[1], [2]]), "demo")
    >>> ev = evaluate(p, oracle, [[1.0], [1.0]], gate_time_ms=0.5, expert_time_ms=2.0)
    >>> ev.per_layer_ms.tolist(), ev.total_ms
    ([5.5, 5.5], 11.0)
    """
    p = as_probs(probs)
    if p.shape != placement.expert_sat.shape:
        raise PlacementError(
            f"probs has shape {p.shape} but the placement has {placement.expert_sat.shape} (layers, experts)"
        )
    n_layers = placement.n_layers
    t_gate = as_layer_times(gate_time_ms, n_layers, "gate_time_ms")
    t_exp = as_layer_times(expert_time_ms, n_layers, "expert_time_ms")
    rows = oracle_rows(path_ms, placement.gate_sat, placement.n_sat)
    per_layer = objective_from_rows(rows, placement.expert_sat, p, t_gate, t_exp)
    return Evaluation(per_layer_ms=per_layer, total_ms=float(per_layer.sum()))
