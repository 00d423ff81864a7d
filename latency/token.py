"""Token latency of a MoE model mapped onto a constellation, in expectation and in the tail.

One decoded token visits the layers as a ring: the gate ``g_l`` of layer l
runs attention and the router ("dispatch"), sends the hidden state to the
satellites ``s_e`` of its active experts, each expert computes and sends its
output on to the next gate ``g_{l+1}``, which combines them (layer L hands
on to layer 1, whose gate also runs the LM head that emits the token). The
gate also sends the residual stream, and the result of its dense FFN or
shared experts ("local"), straight to ``g_{l+1}``. So

    layer_l = dispatch_l + max( local_l + path(g_l → g_{l+1}),
                                max over active e of [path(g_l → s_e) + expert_l + path(s_e → g_{l+1})] )

    token = sum over layers of layer_l + head.

For shortest paths, path(g_l → s) + path(s → g_{l+1}) ≥ path(g_l → g_{l+1}),
so the first term only matters for dense layers and shared experts (and,
in the paper's independent approximation, for the draws with no active
expert). An expert on its gate costs compute only (a path from a satellite
to itself is 0).

Expectation. :func:`token_latency` gives ``E[token]`` exactly under
exactly-k routing: each MoE layer activates exactly k experts, under the
conditional-Bernoulli law with the profile's inclusion probabilities
(:mod:`latency.exactly_k`, :func:`latency.expectation.expected_max`). It
also reports the paper's approximation, experts active independently
(``expected_independent_ms``), which is never above it.
:func:`sample_token_latency` draws tokens from the same exactly-k law (or
a Gumbel top-k router, the independent law, a router trace) for
p50/p95/p99; its mean agrees with ``expected_ms`` within the Monte Carlo
error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .activation import _check_trace, sample_gumbel_topk, topk_logits
from .compute import ComputeTimes
from .exactly_k import exactly_k_weights, sample_exactly_k_max
from .exceptions import ActivationError, SpecError
from .expectation import _by_decreasing_cost_exactly_k, by_decreasing_cost
from .routing import RoutingGraph

__all__ = [
    "GroundUser",
    "GroundLatency",
    "GroundRelay",
    "Breakdown",
    "TokenLatency",
    "TokenSamples",
    "layer_costs_ms",
    "all_layer_costs_ms",
    "token_latency",
    "sample_token_latency",
    "TraceReplay",
    "ground_latency_ms",
    "ground_relay_latency_ms",
]

#: Bytes of the token id sent down to the user (a 32-bit integer).
TOKEN_BYTES = 4


@dataclass(frozen=True)
class GroundUser:
    """A user on the ground who receives the generated tokens.

    Attributes
    ----------
    lat_deg, lon_deg : float
        Geodetic latitude and longitude (WGS-84), degrees.
    alt_km : float
        Height above the ellipsoid, km.
    serving : {"fastest", "nearest"}
        Serving satellite: the visible one with the lowest total latency from
        the token's origin, or the one highest in the sky.
    """

    lat_deg: float
    lon_deg: float
    alt_km: float = 0.0
    serving: str = "fastest"

    def r_itrs_km(self) -> np.ndarray:
        """Earth-fixed position, km (geodetic to Cartesian on WGS-84)."""
        # Imported here: the orbits layer (and its numba) loads only when a ground user is placed.
        from orbits.constants import WGS84_A_KM, WGS84_F

        lat, lon = math.radians(self.lat_deg), math.radians(self.lon_deg)
        e2 = WGS84_F * (2.0 - WGS84_F)
        n = WGS84_A_KM / math.sqrt(1.0 - e2 * math.sin(lat) ** 2)
        return np.array([(n + self.alt_km) * math.cos(lat) * math.cos(lon),
                         (n + self.alt_km) * math.cos(lat) * math.sin(lon),
                         (n * (1.0 - e2) + self.alt_km) * math.sin(lat)])


@dataclass(frozen=True)
class Breakdown:
    """Where the time of a token goes, ms (expected values along the critical path)."""

    propagation_ms: float
    transmission_ms: float
    forwarding_ms: float
    compute_ms: float

    @property
    def total_ms(self) -> float:
        return self.propagation_ms + self.transmission_ms + self.forwarding_ms + self.compute_ms

    def as_dict(self) -> dict:
        return {"propagation_ms": self.propagation_ms, "transmission_ms": self.transmission_ms,
                "forwarding_ms": self.forwarding_ms, "compute_ms": self.compute_ms}


@dataclass(frozen=True)
class GroundLatency:
    """Delivery of the token from its origin satellite to a ground user.

    ``latency_ms`` is ``inf`` and ``serving_sat`` -1 when no satellite is
    visible from the user or none that is visible can be reached.
    """

    latency_ms: float
    serving_sat: int
    elevation_deg: float
    slant_km: float
    breakdown: Breakdown

    @property
    def reachable(self) -> bool:
        return bool(np.isfinite(self.latency_ms))


@dataclass(frozen=True)
class GroundRelay:
    """Ground point to ground point through the constellation: up link, ISLs, down link.

    ``latency_ms`` is ``inf`` and both satellites -1 when no satellite in
    view of one point can reach one in view of the other.
    """

    latency_ms: float
    up_sat: int
    down_sat: int
    up_elevation_deg: float
    down_elevation_deg: float
    up_slant_km: float
    down_slant_km: float
    breakdown: Breakdown

    @property
    def reachable(self) -> bool:
        return bool(np.isfinite(self.latency_ms))


@dataclass(frozen=True)
class TokenLatency:
    """Expected latency of one token under exactly-k routing (and the paper's independent approximation).

    Attributes
    ----------
    expected_ms : float
        In-orbit time of one token: sum of the layers plus the LM head, ms;
        exactly k active experts per MoE layer.
    layer_ms : numpy.ndarray, shape (L,)
        Expected time of each layer, ms (exactly-k).
    head_ms : float
        LM head, ms.
    breakdown : Breakdown
        ``expected_ms`` split into propagation, transmission, forwarding, compute.
    reachable : bool
        False when some needed path does not exist (``expected_ms`` is then inf).
    unreachable_layers : tuple of int
        Layers whose expected time is infinite.
    ground : GroundLatency or None
        Delivery to the ground user, reported apart from the in-orbit time.
    samples : TokenSamples or None
        The replayed router trace (``token_latency(..., trace=...)``), from
        the same shortest paths; None without a trace or when unreachable.
    expected_independent_ms : float
        The paper's approximation of ``expected_ms``: every expert active on
        its own with its probability, so that a layer may have no active
        expert. Never above ``expected_ms`` (see :mod:`latency.expectation`).
    """

    expected_ms: float
    layer_ms: np.ndarray
    head_ms: float
    breakdown: Breakdown
    reachable: bool
    unreachable_layers: tuple = ()
    ground: GroundLatency | None = None
    samples: TokenSamples | None = None
    expected_independent_ms: float = math.nan


@dataclass(frozen=True)
class TokenSamples:
    """Monte Carlo token latencies.

    Attributes
    ----------
    samples_ms : numpy.ndarray, shape (n,)
        In-orbit latency of each sampled token, ms.
    mean_ms, sem_ms : float
        Sample mean and its standard error, ms.
    p50_ms, p95_ms, p99_ms : float
        Quantiles, ms.
    layer_mean_ms : numpy.ndarray, shape (L,)
        Mean time of each layer, ms.
    reachable : bool
        False if any sampled token needed a missing path.
    method : str
        ``"exactly-k"``, ``"gumbel-topk"``, ``"independent"`` or ``"trace"``.
    ground : GroundLatency or None
        Delivery to the ground user (the same for every token).
    """

    samples_ms: np.ndarray
    mean_ms: float
    sem_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    layer_mean_ms: np.ndarray
    reachable: bool
    method: str
    ground: GroundLatency | None = field(default=None)


# --------------------------------------------------------------------------- costs

def layer_costs_ms(graph: RoutingGraph, gate_l: int, gate_next: int, expert_time_ms: float) -> np.ndarray:
    """Cost of an expert of layer l on each satellite: path(g_l → s) + compute + path(s → g_{l+1}), ms.

    Returns ``(n_sat,)``; ``inf`` where a path is missing.

    Examples
    --------
    >>> from latency.specs import LinkProfile
    >>> free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    >>> g = RoutingGraph.from_links([0, 1], [1, 2], [299.792458] * 2, [True] * 2, 3, free, 0)
    >>> layer_costs_ms(g, 0, 2, 0.5).tolist()  # 1 ms per link
    [2.5, 2.5, 2.5]
    """
    d = graph.latency_ms_from([gate_l, gate_next])
    return d[0] + float(expert_time_ms) + d[1]


def all_layer_costs_ms(graph: RoutingGraph, gates, expert_time_ms) -> np.ndarray:
    """:func:`layer_costs_ms` for every layer of the ring at once, ``(L, n_sat)``.

    ``gates`` is ``(L,)``; layer L-1 hands on to ``gates[0]``; ``expert_time_ms``
    is a scalar or ``(L,)``.
    """
    gates = _check_sats(graph, gates, "gates").ravel()
    uniq, inv = np.unique(gates, return_inverse=True)
    d = graph.latency_ms_from(uniq)
    t = np.broadcast_to(np.asarray(expert_time_ms, dtype=np.float64), gates.shape)
    return d[inv] + t[:, None] + d[np.roll(inv, -1)]


def _check_sats(graph, sats, what):
    arr = np.asarray(sats)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.any(arr != np.round(arr)):
            raise SpecError(f"{what} must be satellite indices (integers)")
        arr = arr.astype(np.int64)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= graph.n_sat):
        bad = int(arr[(arr < 0) | (arr >= graph.n_sat)][0])
        raise SpecError(f"{what} holds satellite {bad}, outside 0..{graph.n_sat - 1}")
    return arr


#: The parts of an item's time, in the order of :class:`Breakdown` (and of ``_Ring.stack``).
_PARTS = ("propagation_ms", "transmission_ms", "forwarding_ms", "compute_ms")


@dataclass
class _Ring:
    """Per-layer costs of every item: experts 0..E-1 and the gate's direct path as item E."""

    cost: np.ndarray        # (L, E+1) ms, layer time minus dispatch when the item is the maximum
    prob: np.ndarray        # (L, E+1) activation probability (1 for the direct path)
    stack: np.ndarray       # (4, L, E+1) the cost split into _PARTS
    dispatch: np.ndarray    # (L,)
    head_ms: float


def _ring(graph, gates, expert_sats, probs, times) -> _Ring:
    if not isinstance(graph, RoutingGraph):
        raise SpecError(f"graph must be a RoutingGraph, got {type(graph).__name__}")
    gates = _check_sats(graph, gates, "gates")
    if gates.ndim != 1 or gates.size == 0:
        raise SpecError(f"gates must be a non-empty 1-D array (one gate per layer), got shape {gates.shape}")
    n_layers = gates.size
    expert_sats = _check_sats(graph, expert_sats, "expert_sats")
    probs = np.asarray(probs, dtype=np.float64)
    if expert_sats.ndim != 2 or expert_sats.shape[0] != n_layers:
        raise SpecError(f"expert_sats has shape {expert_sats.shape}; expected (L, E) with L = {n_layers} "
                        "layers (the length of gates)")
    if probs.shape != expert_sats.shape:
        raise SpecError(f"probs has shape {probs.shape}, expert_sats {expert_sats.shape}; they must match "
                        "(for a model with dense layers use ModelSpec.layer_probs)")
    # min and max are NaN when any entry is, so two reductions also catch non-finite values.
    if probs.size and not (probs.min() >= 0 and probs.max() <= 1 + 1e-9):
        raise ActivationError("probs must lie in [0, 1]")
    if not isinstance(times, ComputeTimes):
        raise SpecError("times must be a ComputeTimes (see latency.compute_times)")
    n_experts = probs.shape[1]
    times = times.broadcast(n_layers, n_experts)

    # One row per layer, a repeated gate's row twice: for a few dozen gates a second copy of a
    # row costs less than np.unique. Each item needs two path ends (out of g_l into the expert or
    # straight to g_{l+1}, and from the expert into g_{l+1}, the row of g_{l+1} since links are
    # undirected); one gather of their flat positions fetches all (L, 2E+1) of them.
    latency = graph.latency_ms_from(gates)
    hops = graph.hops_from(gates)
    nxt = np.arange(1, n_layers + 1) % n_layers
    row = np.arange(n_layers) * graph.n_sat
    at = np.empty((n_layers, 2 * n_experts + 1), dtype=np.intp)
    at[:, :n_experts] = expert_sats + row[:, None]
    at[:, n_experts] = gates[nxt] + row
    at[:, n_experts + 1:] = expert_sats + row[nxt, None]
    lat = latency.ravel()[at]
    h_int = hops.ravel()[at]

    # The split of :meth:`RoutingGraph.breakdown_from`, on the entries used only; ends[0] is
    # the latency, ends[1:] the three network parts.
    ends = np.empty((4,) + at.shape)
    ends[0] = lat
    reach = h_int >= 0
    if reach.all():
        h = h_int.astype(np.float64)
        np.maximum(lat - h * graph.hop_ms, 0.0, out=ends[1])
        np.multiply(h, graph.transmission_ms, out=ends[2])
        np.multiply(h, graph.forwarding_ms, out=ends[3])
    else:
        h = np.where(reach, h_int, 0).astype(np.float64)
        ends[1] = np.where(reach, np.maximum(lat - h * graph.hop_ms, 0.0), np.inf)
        ends[2] = np.where(reach, h * graph.transmission_ms, np.inf)
        ends[3] = np.where(reach, h * graph.forwarding_ms, np.inf)

    # items[0]: network latency; items[1:]: _PARTS.
    items = np.empty((5, n_layers, n_experts + 1))
    np.add(ends[:, :, :n_experts], ends[:, :, n_experts + 1:], out=items[:4, :, :n_experts])
    items[:4, :, n_experts] = ends[:, :, n_experts]
    items[4, :, :n_experts] = times.expert_ms.reshape(n_layers, -1)
    items[4, :, n_experts] = times.local_ms
    cost = items[0] + items[4]
    prob = np.empty((n_layers, n_experts + 1))
    np.minimum(probs, 1.0, out=prob[:, :n_experts])
    prob[:, n_experts] = 1.0
    return _Ring(cost, prob, items[1:], times.dispatch_ms, times.head_ms)


# --------------------------------------------------------------------------- expectation

def token_latency(graph: RoutingGraph, gates, expert_sats, probs, times: ComputeTimes,
                  user: GroundUser | None = None, trace=None) -> TokenLatency:
    """Expected latency of one token, exact under exactly-k routing.

    Parameters
    ----------
    graph : RoutingGraph
        Links of this timestep.
    gates : array_like of int, shape (L,)
        Gate satellite of each layer, in ring order (layer L-1 hands on to ``gates[0]``).
    expert_sats : array_like of int, shape (L, E)
        Satellite of each routed expert of each layer.
    probs : array_like, shape (L, E)
        Activation probability of each expert (a row of zeros: a dense layer;
        see :meth:`latency.ModelSpec.layer_probs`); each row sums to its
        layer's k.
    times : ComputeTimes
        Compute times (:func:`latency.compute_times` for a model on hardware).
    user : GroundUser, optional
        Ground user; the token then travels from ``gates[0]`` (where the LM
        head runs) to the user's serving satellite and down. Needs
        ``graph.r_itrs_km``.
    trace : TraceReplay or array_like, optional
        A router trace to replay on the same paths (see
        :func:`sample_token_latency`): the result's ``samples`` then holds
        its p50/p99, at the cost of one gather instead of a second pass
        over the routing graph. Skipped (``samples`` None) when a path is
        missing.

    Returns
    -------
    TokenLatency
        ``expected_ms``, ``layer_ms`` and ``breakdown`` under exactly-k
        routing; ``expected_independent_ms`` under the paper's independent
        activations.

    Examples
    --------
    Three satellites in a chain, 1 ms per link, gates on both ends, one
    layer-pair; each layer has one expert on the middle satellite:

    >>> from latency.specs import LinkProfile
    >>> free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    >>> g = RoutingGraph.from_links([0, 1], [1, 2], [299.792458] * 2, [True] * 2, 3, free, 0)
    >>> t = ComputeTimes(dispatch_ms=0.0, local_ms=0.0, expert_ms=0.5)
    >>> r = token_latency(g, [0, 2], [[1], [1]], [[1.0], [1.0]], t)
    >>> r.expected_ms, r.layer_ms.tolist()
    (5.0, [2.5, 2.5])
    """
    ring = _ring(graph, gates, expert_sats, probs, times)
    weights, ks = _cached_weights(ring.prob)
    # expected_max and critical_probabilities from one sort (the same sums, term by term).
    cost, weight, order = _by_decreasing_cost_exactly_k(ring.cost, weights, ks)
    cost_ind, weight_ind, _ = by_decreasing_cost(ring.cost, ring.prob)
    with np.errstate(invalid="ignore"):  # 0 · inf for never-critical experts on unreachable satellites
        layer = ring.dispatch + np.where(weight > 0, cost * weight, 0.0).sum(axis=-1)
        layer_ind = ring.dispatch + np.where(weight_ind > 0, cost_ind * weight_ind, 0.0).sum(axis=-1)
        critical = np.empty(weight.size)
        critical[order] = weight
        critical = critical.reshape(weight.shape)
        # Each part's weighted sum is one row of a (4, L·(E+1)) reduction: the same pairwise
        # sum as a separate .sum() of that part.
        totals = np.where(critical > 0, critical * ring.stack, 0.0).reshape(len(_PARTS), -1).sum(axis=1)
    sums = dict(zip(_PARTS, totals.tolist()))
    expected = float(layer.sum() + ring.head_ms)
    sums["compute_ms"] += float(ring.dispatch.sum() + ring.head_ms)
    # A finite total needs every layer finite.
    unreachable = () if math.isfinite(expected) else tuple(int(i) for i in np.flatnonzero(~np.isfinite(layer)))
    ground = ground_latency_ms(graph, int(np.asarray(gates).ravel()[0]), user) if user is not None else None
    samples = None
    if trace is not None and not unreachable:
        samples = _samples_from_ring(ring, trace, 2, None, ground)
    return TokenLatency(expected, layer, ring.head_ms, Breakdown(**sums), not unreachable, unreachable, ground,
                        samples, float(layer_ind.sum() + ring.head_ms))


# --------------------------------------------------------------------------- Monte Carlo

_LOGIT_CACHE: dict = {}
_WEIGHT_CACHE: dict = {}


def _cached(cache, fn, probs):
    """``fn(probs)``, kept for the next call with the same probabilities (a sweep asks at every step)."""
    key = (probs.shape, probs.tobytes())
    if key not in cache:
        if len(cache) > 32:
            cache.clear()
        cache[key] = fn(probs)
    return cache[key]


def _cached_logits(probs):
    return _cached(_LOGIT_CACHE, topk_logits, probs)


def _cached_weights(probs):
    """Exactly-k weights and k of ``(L, E+1)`` ring probabilities (the direct path, item E, is always in)."""
    return _cached(_WEIGHT_CACHE, exactly_k_weights, probs)


def sample_token_latency(graph: RoutingGraph, gates, expert_sats, probs, times: ComputeTimes, *,
                         n_samples: int = 100_000, seed=0, method="exactly-k",
                         user: GroundUser | None = None) -> TokenSamples:
    """Monte Carlo token latencies: mean with standard error, p50, p95, p99.

    Parameters
    ----------
    graph, gates, expert_sats, probs, times
        As for :func:`token_latency`.
    n_samples : int
        Tokens to sample (ignored for a trace, which is replayed token by token).
    seed : int or numpy.random.Generator
        Random source.
    method : {"exactly-k", "gumbel-topk", "independent"} or array_like
        ``"exactly-k"``: exactly k experts per layer (k = row sum of
        ``probs``) under the conditional-Bernoulli law whose mean
        :func:`token_latency` computes exactly (``expected_ms``);
        ``"gumbel-topk"``: exactly k experts drawn by a Gumbel-perturbed
        router (Plackett-Luce), another law with the same inclusion
        probabilities; ``"independent"``: each expert active on its own
        (the paper's approximation, ``expected_independent_ms``); an int array
        ``(tokens, layers, slots)`` of expert ids: a router trace, replayed
        (-1 marks an empty slot; ``layers`` is L or the number of rows of
        ``probs`` with a non-zero sum, i.e. the MoE layers), or the same
        checked once as a :class:`TraceReplay`.
    user : GroundUser, optional
        Ground user (see :func:`token_latency`).

    Examples
    --------
    >>> from latency.specs import LinkProfile
    >>> free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    >>> g = RoutingGraph.from_links([0, 1], [1, 2], [299.792458] * 2, [True] * 2, 3, free, 0)
    >>> t = ComputeTimes(dispatch_ms=0.0, local_ms=0.0, expert_ms=0.0)
    >>> s = sample_token_latency(g, [0], [[1, 2]], [[0.5, 0.5]], t, n_samples=1000, seed=1)
    >>> sorted(set(s.samples_ms.tolist()))  # expert on 1: 2 ms round trip; on 2: 4 ms
    [2.0, 4.0]
    """
    ring = _ring(graph, gates, expert_sats, probs, times)
    ground = ground_latency_ms(graph, int(np.asarray(gates).ravel()[0]), user) if user is not None else None
    return _samples_from_ring(ring, method, n_samples, np.random.default_rng(seed), ground)


class TraceReplay:
    """A router trace checked once against a model's ``(L, E)`` probabilities, to replay many times.

    :func:`sample_token_latency` and :func:`token_latency` accept it where
    they accept a trace array; it saves the checks and the expansion of the
    trace to all L layers at every call (a sweep replays one trace at every
    step and for every policy). Its first replay also finds the distinct
    (layer, experts) rows of the trace (a few ms for 2,000 tokens of 32
    layers); later replays then work out one time per distinct row, in one
    compiled pass (Numba) for rings of up to 128 layers, with the same
    numbers as the replay of the bare array.

    Parameters
    ----------
    trace : array_like of int, shape (tokens, layers, slots)
        Expert ids, -1 for an empty slot; ``layers`` is L or the number of
        rows of ``probs`` with a non-zero sum (the MoE layers).
    probs : array_like, shape (L, E)
        The activation probabilities the trace will be replayed with.

    Examples
    --------
    >>> r = TraceReplay([[[1]], [[0]]], [[0.5, 0.5]])
    >>> r.ids.shape
    (2, 1, 1)
    """

    def __init__(self, trace, probs):
        p = np.minimum(np.asarray(probs, dtype=np.float64), 1.0)
        if p.ndim != 2:
            raise ActivationError(f"probs must be (L, E), got shape {p.shape}")
        n_layers, n_experts = p.shape
        ids = _check_trace(trace, "trace", n_experts)
        if ids.shape[1] != n_layers:
            moe_rows = np.flatnonzero(p.sum(axis=1) > 0)
            if ids.shape[1] != moe_rows.size:
                raise ActivationError(f"trace has {ids.shape[1]} layers; expected L = {n_layers} or the "
                                      f"{moe_rows.size} layers with non-zero probabilities")
            full = np.full((ids.shape[0], n_layers, ids.shape[2]), -1, dtype=np.int64)
            full[:, moe_rows] = ids
            ids = full
        self.shape = (n_layers, n_experts)
        self.ids = ids
        self.ids.flags.writeable = False
        # Flat (layer, expert) position of every slot, for one gather per replay; an empty
        # slot points one past the last expert, where the replay puts -inf.
        flat = np.where(ids >= 0, np.arange(n_layers)[None, :, None] * n_experts + ids, n_layers * n_experts)
        # Slots first: the maximum over slots is then an elementwise maximum of contiguous planes.
        self._flat = np.ascontiguousarray(np.moveaxis(flat, 2, 0))
        self._rows = None

    def _distinct(self):
        """The distinct (layer, slots) rows of the trace, found on the first replay and kept.

        Returns ``(slots, layer, token_row)``: ``slots`` ``(slots, U)`` flat
        positions of each distinct row, ``layer`` ``(U,)`` its layer and
        ``token_row`` ``(tokens, L)`` the distinct row of every token and
        layer, all int32 (int64 for a huge trace). A layer's time depends on
        its row only and a trace repeats rows (popular experts, dense layers):
        a replay works out U layer times and gathers them, instead of a
        maximum over the slots of every token.
        """
        # getattr: a TraceReplay pickled before this cache existed has no attribute.
        if getattr(self, "_rows", None) is None:
            n_slots, n_tokens, n_layers = self._flat.shape
            rows = self._flat.reshape(n_slots, n_tokens * n_layers)
            layer = np.broadcast_to(np.arange(n_layers), (n_tokens, n_layers)).ravel()
            base = n_layers * self.shape[1] + 1  # flat positions lie in 0..L·E (empty slot)
            if n_layers * base ** n_slots < 2 ** 62:
                # Layer and slots as the digits of one integer: a 1-D unique is much faster.
                key = layer.astype(np.int64)
                for plane in rows:
                    key = key * base + plane
                _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            else:
                _, first, inverse = np.unique(np.vstack([layer, rows]).T, axis=0, return_index=True,
                                              return_inverse=True)
            index = np.int32 if max(base, layer.size) < 2 ** 31 else np.int64
            # Assigned once, whole: a concurrent first replay computes the same arrays.
            self._rows = (rows[:, first].astype(index), layer[first].astype(index),
                          inverse.reshape(n_tokens, n_layers).astype(index))
        return self._rows


def _samples_from_ring(ring, method, n_samples, rng, ground) -> TokenSamples:
    """Monte Carlo or trace replay on the item costs of one ring (shared by the public functions).

    ``rng`` is the generator of the random methods (unused, may be None, for a trace).
    """
    n_layers, n_items = ring.cost.shape
    n_experts = n_items - 1
    cost_e = ring.cost[:, :n_experts]
    floor = ring.cost[:, n_experts]
    p = ring.prob[:, :n_experts]

    replay = None
    if isinstance(method, str):
        if method not in ("exactly-k", "gumbel-topk", "independent"):
            raise ActivationError(f"method {method!r} must be 'exactly-k', 'gumbel-topk', 'independent' "
                                  "or a trace array")
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
            raise ActivationError(f"n_samples = {n_samples!r} must be an integer >= 2")
        total = int(n_samples)
        name = method
        logits = _cached_logits(p) if method == "gumbel-topk" else None
        ks = np.round(p.sum(axis=1)).astype(int)
        if method == "exactly-k":
            # The law of token_latency's expectation: the ring's weights without the direct path.
            weights, ring_k = _cached_weights(ring.prob)
            weights, ks = weights[:, :n_experts], ring_k - 1
    else:
        # A TraceReplay is replayed again and again: worth finding its distinct rows once. A
        # bare array is checked and replayed once, slot by slot.
        reused = isinstance(method, TraceReplay)
        replay = method if reused else TraceReplay(method, p)
        if replay.shape != (n_layers, n_experts):
            raise ActivationError(f"the trace was prepared for (layers, experts) = {replay.shape}, "
                                  f"not {(n_layers, n_experts)}")
        total = replay.ids.shape[0]
        name = "trace"

    chunk = max(1, 2_000_000 // (n_layers * max(n_experts, 1)))
    samples = np.empty(total)
    layer_sum = np.zeros(n_layers)
    neg_inf = -np.inf
    flat_cost = np.append(cost_e.ravel(), neg_inf)
    blocks = range(0, total, chunk)
    if name == "trace" and reused:
        # Imported here, as routing imports its kernels: numba loads only when it is needed.
        from ._token_kernels import PAIRWISE_BLOCK, replay_rows

        if n_layers <= PAIRWISE_BLOCK:
            # The NumPy blocks below in one pass, number for number.
            replay_rows(flat_cost, np.ascontiguousarray(floor), ring.dispatch, float(ring.head_ms),
                        *replay._distinct(), chunk, samples, layer_sum)
            blocks = ()
    for start in blocks:
        size = min(chunk, total - start)
        if name == "trace":
            worst = flat_cost[replay._flat[:, start:start + size]].max(axis=0, initial=neg_inf)   # (n, L)
        else:
            if name == "exactly-k":  # the largest item cost of each draw, without the draws' masks
                worst = sample_exactly_k_max(weights, ks, size, rng, cost_e)
            elif name == "independent":
                active = rng.random((size, n_layers, n_experts)) < p
            else:
                active = sample_gumbel_topk(logits, ks, size, rng)
            if name != "exactly-k":
                worst = np.where(active, cost_e[None], neg_inf).max(axis=2, initial=neg_inf)
        layer_time = ring.dispatch[None] + np.maximum(worst, floor[None])
        layer_sum += layer_time.sum(axis=0)
        samples[start:start + size] = layer_time.sum(axis=1) + ring.head_ms

    finite = bool(np.all(np.isfinite(samples)))
    mean, sem = _mean_sem(samples, finite)
    p50, p95, p99 = _percentiles(samples, finite)
    return TokenSamples(samples, mean, sem, p50, p95, p99, layer_sum / total, finite, name, ground)


def _mean_sem(samples, finite):
    """``samples.mean()`` and ``samples.std(ddof=1) / sqrt(n)`` (NaN unless ``finite`` and n > 1), as floats.

    The operations of NumPy's mean and std, without their generic wrapper:
    the sum divided by n; the deviations from that mean, squared, summed and
    divided by n - 1. ``tests/test_token_replay.py`` compares them.
    """
    n = samples.size
    mean = float(np.add.reduce(samples)) / n
    if not (finite and n > 1):
        return mean, math.nan
    deviation = samples - mean
    np.square(deviation, out=deviation)
    return mean, math.sqrt(float(np.add.reduce(deviation)) / (n - 1)) / math.sqrt(n)


#: The quantiles of :class:`TokenSamples`, as np.percentile turns its percents into fractions.
_QUANTILES = tuple(percent / 100 for percent in (50, 95, 99))


def _percentiles(samples, finite):
    """``np.percentile(samples, [50, 95, 99])`` of a 1-D float64 array, as floats, bit for bit.

    NumPy's default ('linear') method step by step, without its generic
    machinery (most of its cost on 2,000 samples): the virtual index
    (n - 1)·q, its two neighbouring order statistics from one partition (an
    index past the last sample takes the last one twice), and NumPy's
    interpolation, which counts back from the upper neighbour when the
    weight is 1/2 or more. Any NaN makes every quantile NaN. ``finite``
    says that no sample is inf or NaN. ``tests/test_token_replay.py``
    compares this with np.percentile.
    """
    n = samples.size
    if not finite and np.isnan(samples).any():
        return (math.nan,) * len(_QUANTILES)
    ends = []
    for q in _QUANTILES:
        virtual = (n - 1) * q
        below = -1 if virtual >= n - 1 else math.floor(virtual)
        ends.append((below, -1 if below == -1 else below + 1, virtual - below))
    part = np.partition(samples, sorted({i % n for lo, hi, _ in ends for i in (lo, hi)}))
    out = []
    for lo, hi, weight in ends:
        a, b = float(part[lo]), float(part[hi])
        diff = b - a
        out.append(a + diff * weight if weight < 0.5 else b - diff * (1 - weight))
    return tuple(out)


# --------------------------------------------------------------------------- ground user

def ground_latency_ms(graph: RoutingGraph, origin_sat: int, user: GroundUser) -> GroundLatency:
    """Time for a token to go from ``origin_sat`` to a ground user, ms.

    The token (``TOKEN_BYTES`` bytes) follows the shortest ISL path to the
    serving satellite, then the down link (propagation over the slant range
    plus one forwarding delay). Satellites below the link profile's minimum
    elevation cannot serve.

    Examples
    --------
    >>> from latency.specs import load_link_profile
    >>> r = np.array([[6378.137 + 550.0, 0.0, 0.0]])  # above (0°N, 0°E)
    >>> g = RoutingGraph(1, [], [], [], load_link_profile(), 8192, r_itrs_km=r)
    >>> gl = ground_latency_ms(g, 0, GroundUser(0.0, 0.0))
    >>> gl.serving_sat, round(gl.slant_km, 3), round(gl.latency_ms, 4)
    (0, 550.0, 1.9346)
    """
    link = graph.link_profile
    slant, elevation, visible = _in_view(graph, user)
    bd = graph.breakdown_from([origin_sat])
    hops = np.where(bd.reachable[0], bd.hops[0], 0)
    token_tx_ms = link.transmission_ms(TOKEN_BYTES)
    isl_ms = bd.propagation_ms[0] + hops * (token_tx_ms + link.forwarding_delay_ms)
    down_ms = link.propagation_ms(slant) + link.forwarding_delay_ms
    total = np.where(visible & bd.reachable[0], isl_ms + down_ms, np.inf)
    if not np.isfinite(total).any():
        nan = float("nan")
        return GroundLatency(float("inf"), -1, nan, nan, Breakdown(float("inf"), float("inf"),
                                                                   float("inf"), 0.0))
    if user.serving == "fastest":
        sat = int(np.argmin(total))
    else:
        sat = int(np.argmax(np.where(np.isfinite(total), elevation, -np.inf)))
    breakdown = Breakdown(
        propagation_ms=float(bd.propagation_ms[0, sat] + link.propagation_ms(slant[sat])),
        transmission_ms=float(hops[sat] * token_tx_ms),
        forwarding_ms=float((hops[sat] + 1) * link.forwarding_delay_ms),
        compute_ms=0.0,
    )
    return GroundLatency(float(total[sat]), sat, float(elevation[sat]), float(slant[sat]), breakdown)


def _in_view(graph: RoutingGraph, user: GroundUser):
    """Slant range (km), elevation (deg) of every satellite seen from ``user``, and which may link to it."""
    if graph.r_itrs_km is None:
        raise SpecError("a ground user needs satellite positions: build the RoutingGraph with r_itrs_km "
                        "(or from a dataset with r_itrs_km)")
    if user.serving not in ("fastest", "nearest"):
        raise SpecError(f"serving = {user.serving!r} must be 'fastest' or 'nearest'")
    if not (-90.0 <= user.lat_deg <= 90.0):
        raise SpecError(f"lat_deg = {user.lat_deg} must lie in [-90, 90]")
    r_user = user.r_itrs_km()
    lat, lon = math.radians(user.lat_deg), math.radians(user.lon_deg)
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    rel = graph.r_itrs_km - r_user
    slant = np.linalg.norm(rel, axis=1)
    elevation = np.degrees(np.arcsin(np.clip(rel @ up / slant, -1.0, 1.0)))
    return slant, elevation, elevation >= graph.link_profile.gsl_min_elevation_deg


def ground_relay_latency_ms(graph: RoutingGraph, origin: GroundUser, destination: GroundUser) -> GroundRelay:
    """Fastest way for a token from one ground point to another: up link, ISLs, down link, ms.

    Each link the token crosses costs what :func:`ground_latency_ms` charges
    one: an ISL hop its propagation, the token's transmission and one
    forwarding delay; a ground link its propagation and one forwarding
    delay. Among the satellites in view of ``origin`` (up) and of
    ``destination`` (down), the pair with the least total wins; the
    ``serving`` rule of the points is not used (always the fastest).

    Examples
    --------
    >>> from latency.specs import load_link_profile
    >>> r = np.array([[6378.137 + 550.0, 0.0, 0.0]])  # above (0°N, 0°E)
    >>> g = RoutingGraph(1, [], [], [], load_link_profile(), 8192, r_itrs_km=r)
    >>> relay = ground_relay_latency_ms(g, GroundUser(0.0, 0.0), GroundUser(0.0, 0.0))
    >>> relay.up_sat, relay.down_sat, round(relay.latency_ms, 4)  # up 550 km and down again
    (0, 0, 3.8692)
    """
    link = graph.link_profile
    up_km, up_deg, up_seen = _in_view(graph, origin)
    down_km, down_deg, down_seen = _in_view(graph, destination)
    ups = np.flatnonzero(up_seen)
    nan = float("nan")
    unreachable = GroundRelay(float("inf"), -1, -1, nan, nan, nan, nan,
                              Breakdown(float("inf"), float("inf"), float("inf"), 0.0))
    if ups.size == 0 or not down_seen.any():
        return unreachable
    bd = graph.breakdown_from(ups)
    hops = np.where(bd.reachable, bd.hops, 0)
    token_tx_ms = link.transmission_ms(TOKEN_BYTES)
    isl_ms = bd.propagation_ms + hops * (token_tx_ms + link.forwarding_delay_ms)
    up_ms = link.propagation_ms(up_km[ups]) + link.forwarding_delay_ms
    down_ms = link.propagation_ms(down_km) + link.forwarding_delay_ms
    total = np.where(bd.reachable & down_seen, up_ms[:, None] + isl_ms + down_ms, np.inf)
    i, down = np.unravel_index(int(np.argmin(total)), total.shape)
    if not np.isfinite(total[i, down]):
        return unreachable
    up = int(ups[i])
    breakdown = Breakdown(
        propagation_ms=float(link.propagation_ms(up_km[up]) + bd.propagation_ms[i, down]
                             + link.propagation_ms(down_km[down])),
        transmission_ms=float(hops[i, down] * token_tx_ms),
        forwarding_ms=float((hops[i, down] + 2) * link.forwarding_delay_ms),
        compute_ms=0.0,
    )
    return GroundRelay(float(total[i, down]), up, int(down), float(up_deg[up]), float(down_deg[down]),
                       float(up_km[up]), float(down_km[down]), breakdown)
