"""Turn user options into the objects the layers work on.

``build_constellation`` picks the constellation (preset, Walker shell, TLE or
OMM file); ``model_setup`` gathers what runs on it (model, hardware, links,
activation profile, compute times); ``snapshot`` wires ``orbits`` →
``latency`` at one instant: positions, links, the routing graph, and the
orbital phase and eligibility arrays that ``placement`` works on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components

import latency
import orbits
from orbits.presets import DEFAULT_PRESET  # the built-in default: Starlink-like 72×22 shell, 550 km, 53°

from .exceptions import SpaceXNetError

__all__ = ["build_constellation", "select_shell", "DEFAULT_PRESET", "ModelSetup", "model_setup", "Snapshot", "snapshot"]



def build_constellation(preset=None, walker=None, altitude_km=None, star=False, epoch=None,
                        tle=None, omm=None, skip_invalid=False, check_checksum=True, shell=None):
    """Build a constellation from exactly one of ``preset``, ``walker``, ``tle`` or ``omm``.

    With none given, the default preset (Starlink shell 1) is used; with
    ``shell``, only that shell is kept (see :func:`select_shell`).

    Examples
    --------
    >>> len(build_constellation())
    1584
    >>> len(build_constellation(walker="86.4:66/6/2", altitude_km=780, star=True))
    66
    >>> len(build_constellation(preset="starlink-gen1", shell=2))
    720
    """
    chosen = [name for name, value in (("--preset", preset), ("--walker", walker), ("--tle", tle),
                                       ("--omm", omm)) if value]
    if len(chosen) > 1:
        raise SpaceXNetError(f"give only one of {', '.join(chosen)}")
    if walker is None and (altitude_km is not None or star):
        raise SpaceXNetError("--altitude-km and --star apply only with --walker")
    if epoch is not None and (tle or omm):
        raise SpaceXNetError("--epoch applies to presets and --walker; element sets carry their own epochs")
    if not check_checksum and not tle:
        raise SpaceXNetError("--no-checksum applies only with --tle (TLE lines carry checksums)")
    if tle:
        constellation = orbits.read_tle(tle, skip_invalid=skip_invalid, check_checksum=check_checksum)
    elif omm:
        constellation = orbits.read_omm(omm, skip_invalid=skip_invalid)
    elif walker:
        if altitude_km is None:
            raise SpaceXNetError("--walker needs --altitude-km (for example --altitude-km 550)")
        constellation = orbits.walker(walker, altitude_km=altitude_km, star=star, epoch=epoch)
    else:
        constellation = orbits.preset(preset or DEFAULT_PRESET, epoch=epoch)
    return select_shell(constellation, shell)


def select_shell(constellation, shell=None):
    """The satellites of shell ``shell`` of ``constellation`` (all of them for None).

    Shell indices are those of ``constellation.shells`` (as ``spacexnet shells``
    lists them); satellites keep their plane and slot labels.

    Examples
    --------
    >>> c = build_constellation(preset="starlink-gen1")
    >>> len(select_shell(c, 3)), len(select_shell(c))
    (348, 4408)
    """
    if shell is None:
        return constellation
    n_shells = len(constellation.shells)
    if isinstance(shell, bool) or not isinstance(shell, (int, np.integer)) or not 0 <= shell < n_shells:
        listing = f"indices 0 to {n_shells - 1}" if n_shells else "no shell was found in it"
        raise SpaceXNetError(f"--shell {shell!r}: {constellation.source} has {n_shells} shell(s) ({listing}); "
                             "`spacexnet shells` lists them")
    return constellation.subset(constellation.shell == shell)


@dataclass(frozen=True)
class ModelSetup:
    """What runs on the constellation and what it costs.

    Attributes
    ----------
    model : latency.ModelSpec
    hardware : latency.HardwareSpec
    link_profile : latency.LinkProfile
    probs : ndarray, shape (n_layers, n_experts)
        Activation probability of each routed expert of every layer of the
        ring (rows of zeros for dense layers).
    times : latency.ComputeTimes
        Roofline compute times per layer.
    activation : str
        The activation spec the probabilities came from.
    seed : int
        Seed of the activation generator and the random baselines.
    experts_per_sat : int
        Experts one satellite may host (1 in the paper's setting).
    """

    model: object
    hardware: object
    link_profile: object
    probs: np.ndarray
    times: object
    activation: str
    seed: int
    experts_per_sat: int

    @property
    def n_layers(self) -> int:
        return int(self.probs.shape[0])

    def strategy_kwargs(self, plane, belt_planes=None, eligible=None) -> dict:
        """The keyword arguments a strategy of :data:`placement.STRATEGIES` takes besides the instant.

        One place for what every caller (``place``, ``compare``, the sweep's
        steps, the service) hands the placement: the experts a satellite
        may host, the planes, the compute time of each layer's gate
        (dispatch) and of one of its experts, and the satellites that may
        host one (``eligible``, left out when None: a sweep's step gives
        its usable satellites itself).

        Parameters
        ----------
        plane : ndarray of int
            Orbital plane of every satellite.
        belt_planes : int, optional
            Use only this many adjacent planes.
        eligible : ndarray of bool, optional
            Satellites that may host a gate or expert.

        Examples
        --------
        >>> kw = model_setup("llama-moe-3.5b-2of8").strategy_kwargs(np.zeros(4, dtype=int))
        >>> sorted(kw), kw["gate_time_ms"].shape
        (['belt_planes', 'capacity', 'expert_time_ms', 'gate_time_ms', 'plane'], (32,))
        """
        times = self.times.broadcast(self.n_layers)
        out = dict(capacity=self.experts_per_sat, plane=plane, belt_planes=belt_planes,
                   gate_time_ms=np.asarray(times.dispatch_ms),
                   expert_time_ms=np.asarray(times.expert_ms).reshape(self.n_layers, -1)[:, 0])
        if eligible is not None:
            out["eligible"] = eligible
        return out

    def attrs(self) -> dict:
        """Provenance attributes for datasets."""
        return {
            "model": self.model.name,
            "hardware_profile": self.hardware.name,
            "link_profile": self.link_profile.name,
            "isl_rate_bps": float(self.link_profile.isl_rate_bps),
            "forwarding_delay_ms": float(self.link_profile.forwarding_delay_ms),
            "activation": self.activation,
            "seed": int(self.seed),
            "experts_per_sat": int(self.experts_per_sat),
        }


def model_setup(model=None, model_file=None, hardware=None, link_profile=None, activation="zipf:1.0",
                seed=0, context_tokens=None, experts_per_sat=1) -> ModelSetup:
    """Load the model, hardware and link profiles and derive probabilities and compute times.

    Parameters
    ----------
    model : str, optional
        Model preset name (default ``llama-moe-3.5b``).
    model_file : path, optional
        A user's JSON model spec instead of ``model``.
    hardware, link_profile : str, optional
        Profile names (defaults from ``data/``).
    activation : str
        ``zipf:S``, ``dirichlet:A``, ``uniform`` or ``file:PATH``.
    seed : int
        Seed of generated profiles.
    context_tokens : int, optional
        KV-cache length for attention (default: the latency layer's).
    experts_per_sat : int
        Experts one satellite may host.

    Examples
    --------
    >>> s = model_setup()
    >>> s.model.name, s.probs.shape
    ('llama-moe-3.5b', (32, 16))
    """
    if model and model_file:
        raise SpaceXNetError("give only one of --model and --model-file")
    if isinstance(experts_per_sat, bool) or int(experts_per_sat) != experts_per_sat or experts_per_sat < 1:
        raise SpaceXNetError(f"--experts-per-sat = {experts_per_sat!r} must be a whole number >= 1")
    spec = latency.load_model(model_file or model or latency.DEFAULT_MODEL)
    hw = latency.load_hardware(hardware)
    link = latency.load_link_profile(link_profile)
    moe_probs = latency.activation_profile(spec, activation, seed=seed)
    probs = spec.layer_probs(moe_probs)
    kwargs = {} if context_tokens is None else {"context_tokens": int(context_tokens)}
    times = latency.compute_times(spec, hw, **kwargs)
    return ModelSetup(spec, hw, link, probs, times, activation, int(seed), int(experts_per_sat))


@dataclass
class Snapshot:
    """The constellation at one instant, ready for placement and latency.

    Attributes
    ----------
    time : numpy.datetime64
    state : xarray.Dataset
        ``orbits.propagate`` output with one time.
    links : xarray.Dataset
        ``orbits.isl_links`` output with one time.
    graph : latency.RoutingGraph
        Weighted graph of the up links.
    arg_lat_deg : ndarray, shape (n_sat,)
        Argument of latitude, degrees (the ring partition's orbital phase).
    plane : ndarray of int, shape (n_sat,)
        Orbital plane (−1 unknown).
    eligible : ndarray of bool, shape (n_sat,)
        Satellites that may host a gate or an expert: valid SGP4 state and in
        the largest connected part of the ISL graph (a satellite cut off from
        it could never be reached by the rest of the model).
    """

    time: np.datetime64
    state: object
    links: object
    graph: object
    arg_lat_deg: np.ndarray
    plane: np.ndarray
    eligible: np.ndarray

    def path_ms(self, sources) -> np.ndarray:
        """Distance oracle for ``placement``: shortest-path latency from each source, ms."""
        return self.graph.latency_ms_from(sources)


def largest_component(graph, valid) -> np.ndarray:
    """Mask of the satellites in the largest connected part of ``graph`` among ``valid`` ones."""
    n_comp, label = connected_components(graph.adjacency_ms, directed=False)
    counts = np.bincount(label[valid], minlength=n_comp)
    return valid & (label == int(np.argmax(counts)))


class LargestComponent:
    """:func:`largest_component` along a sequence of graphs, found again only when the links or the valid satellites change.

    The parts depend only on which satellites are joined (the graph's
    ``links_key``), not on the links' lengths, and a sweep's steps mostly
    keep the same links.

    Examples
    --------
    >>> import latency
    >>> parts = LargestComponent()
    >>> g = latency.RoutingGraph.from_links([0, 2], [1, 3], [1000.0, 1000.0], [True, True], 5, None, 0)
    >>> parts(g, np.ones(5, bool)).tolist(), parts(g, np.ones(5, bool)).tolist()
    ([True, True, False, False, False], [True, True, False, False, False])
    """

    def __init__(self):
        self._key = None
        self._mask = None

    def __call__(self, graph, valid) -> np.ndarray:
        valid = np.asarray(valid, dtype=bool)
        key = (graph.links_key, valid.tobytes())
        if key != self._key:
            self._key, self._mask = key, largest_component(graph, valid)
        return self._mask.copy()


def snapshot(constellation, time, setup: ModelSetup, topology: str = "plus-grid", **link_rules) -> Snapshot:
    """Propagate ``constellation`` to ``time`` and build its links and routing graph.

    Parameters
    ----------
    constellation : orbits.Constellation
    time : str, aware datetime or numpy.datetime64
        The instant: an ISO 8601 string with its zone (``"2026-01-01T00:00:00Z"``;
        one without a zone is refused), or a ``datetime64`` taken as UTC.
    setup : ModelSetup
        Gives the link profile and the payload (the model's hidden state).
    topology : str
        ISL topology (``plus-grid`` or ``nearest``).
    **link_rules
        Passed to :func:`orbits.isl_links` (``margin_km``, ``max_range_km``, …).

    Examples
    --------
    >>> c = build_constellation(walker="53:120/10/1", altitude_km=550)
    >>> snap = snapshot(c, "2026-01-01T00:00:00Z", model_setup())
    >>> int(snap.eligible.sum())
    120
    """
    times = orbits.to_datetime64_utc(np.atleast_1d(np.asarray(time)))
    state = orbits.propagate(constellation, times)
    links = orbits.isl_links(constellation, state, topology=topology, **link_rules)
    graph = latency.RoutingGraph.from_dataset(links, time=0, link_profile=setup.link_profile,
                                              payload_bytes=setup.model.hidden_state_bytes, state=state)
    valid = np.asarray(state["sgp4_status"].isel(time=0) == 0)
    eligible = largest_component(graph, valid)
    if not eligible.any():
        raise SpaceXNetError(f"no satellite has a valid state and a link at {times[0]}")
    return Snapshot(
        time=times[0],
        state=state,
        links=links,
        graph=graph,
        arg_lat_deg=np.asarray(state["argument_of_latitude_deg"].isel(time=0), dtype=np.float64),
        plane=np.asarray(state["plane"], dtype=np.int64),
        eligible=eligible,
    )
