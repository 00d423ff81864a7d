"""Time sweeps: placement policies following the constellation as it moves, into one NetCDF dataset.

Two stages (docs/model.md, "Sweeps"):

1. **Chunk tasks** (:func:`chunk_task`), independent per chunk of time
   steps: SGP4 propagation, ISL lengths and up flags, orbital phase
   (:func:`geometry_chunk`); with two or more workers, or on a cluster,
   also each step's routing graph and strategy placement — the expensive
   part of ``recompute`` and ``handover``, which does not depend on the
   past. Local chunk tasks run in processes (threads with one worker:
   geometry only) or on a Dask distributed cluster (``scheduler=``);
   constellations travel there as the call that built them, so tasks
   compute bit-identical geometry.
2. **Policies** (sequential, in time order, in this process): at every step
   the routing graph of the up links, the usable satellites, then each
   policy of :mod:`placement.policies` decides, and the latency layer
   measures the placement that serves (exact expectation and a replayed
   top-k routing trace, from one pass over the shortest paths). A task's
   placement is handed to that step's :class:`placement.Step`, which all
   the policies share, after checking that the task saw the same usable
   satellites (not when a satellite failed in an earlier chunk, which a
   task cannot know: the step then places itself). The shortest paths from
   a source are searched once per step whichever policy asks (the step
   keeps them), each search starts from
   the previous step's tree (:class:`latency.SearchMemory`), and none of
   this changes a number, so any worker count writes the same file.

On a constellation of several unlinked groups (shells, under +Grid) both
stages work on the group that holds the placement (:mod:`spacexnet.focus`);
the other groups only add their up links and failures.

Before either stage, a sweep refuses a model that cannot fit on the
satellites in orbit at its start (:func:`check_fits`, one instant
propagated), then runs one throw-away step through every kernel so that
Numba compiles them (a first run) or loads them from its cache here, once,
before the progress starts and before worker processes fork. Workers end
with the sweep that started them, even when it is killed.

Chunks are consumed in order with a bounded number in flight, and every
finished chunk is written at once to a part file beside the output, with
the policies' state as plain data (:mod:`spacexnet.parts`); so memory is
bounded by the chunk size, not the sweep length, and an interrupted sweep
resumes (``resume=True``) from its last finished chunk and ends with the
same file as an uninterrupted run. The
parts are joined into the final file (temporary name, then rename) only at
the end.

The ring partition runs in a frame that turns with the shell: the phase
given to the policies is the argument of latitude minus the shell's mean
motion times the time since the start, so a satellite keeps its subnet while
the constellation turns (the paper's partition at its epoch, carried
along), and what changes over time is what the links and drift change.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import latency
import orbits
import placement
from placement.policies import POLICIES

from . import dataset
from .exceptions import OutputError, SpaceXNetError, SweepWarning
from .focus import FocusLost, focus_of
from .io import command_line, provenance_attrs
from .parts import PartStore, join_parts
from .scenario import LargestComponent, ModelSetup

__all__ = ["SweepOptions", "SweepWarning", "SweepInterrupted", "sweep", "check_fits", "geometry_chunk",
           "chunk_task", "routing_trace", "POLICIES"]

#: Lowest geodetic altitude at which a satellite still counts as in orbit, km. Below it SGP4 may
#: still return status 0 for a decayed element set; such positions are not trusted.
MIN_ALTITUDE_KM = 100.0

#: Seconds between a worker process's checks that the sweep which started it is still alive.
PARENT_POLL_S = 1.0


def _in_orbit(status, altitude_km) -> np.ndarray:
    """Whether each state is trusted: SGP4 status 0 and at least :data:`MIN_ALTITUDE_KM` up (NaN is not)."""
    return (status == 0) & (altitude_km >= MIN_ALTITUDE_KM)

class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the message says where the finished chunks are kept and how to continue.

    A :class:`KeyboardInterrupt`, so whatever stops on Ctrl-C still stops.
    """


@dataclass
class SweepOptions:
    """Everything a sweep does besides the constellation and the model.

    Attributes
    ----------
    policies : tuple of str
        Names from :data:`placement.policies.POLICIES`.
    strategy : str
        Placement strategy the policies use (``space-xnet`` by default).
    step_s : float
        Time step, s.
    duration_s : float or None
        Span, s (default: one orbital period).
    start : str or numpy.datetime64 or None
        UTC start (default: the constellation's newest epoch, to the minute).
    chunk_steps : int
        Time steps per geometry chunk (and per part file).
    n_samples : int
        Tokens of the top-k routing trace replayed at every step and for
        every policy, for the p50/p99 columns (:func:`routing_trace`).
    horizon_s, migration_price, min_gain_ratio : float
        Handover rule (:mod:`placement.policies`).
    belt_planes : int or None
        Use only this many adjacent planes.
    topology : str
        ISL topology (``plus-grid`` or ``nearest``).
    link_rules : dict
        ``margin_km``, ``max_range_km``, ``latitude_cutoff_deg`` for :func:`orbits.isl_links`.
    workers : int
        Chunk tasks computed at once: local threads (1: geometry only, the
        policies place in this process) or processes (2 or more: the tasks
        also place), or Dask tasks in flight.
    time_budget_s : float or None
        Nominal seconds of search of a budgeted strategy (``anneal``) at the
        first step of each chunk; the warm steps after it make a share of
        those moves (:data:`placement.anneal.WARM_SHARE`). None: the
        strategy's own default.
    user : latency.GroundUser or None
        A user on the ground: the dataset also carries ``user_delivery_ms``,
        the delivery of each token to it from each policy's first gate (as
        ``spacexnet compare --user``), never added to the token latency.
    """

    policies: tuple = POLICIES
    strategy: str = "space-xnet"
    step_s: float = 10.0
    duration_s: float | None = None
    start: object = None
    chunk_steps: int = 60
    n_samples: int = 2000
    horizon_s: float = 600.0
    migration_price: float = 1.0
    min_gain_ratio: float = 0.01
    belt_planes: int | None = None
    topology: str = "plus-grid"
    link_rules: dict = field(default_factory=dict)
    workers: int = 2
    time_budget_s: float | None = None
    user: latency.GroundUser | None = None

    def validate(self) -> None:
        """Raise :class:`SpaceXNetError` naming the first bad option."""
        unknown = [p for p in self.policies if p not in POLICIES]
        if not self.policies or unknown:
            raise SpaceXNetError(f"unknown policy {unknown[0] if unknown else '(none)'!r}; "
                                 f"choose from {', '.join(POLICIES)}")
        if len(set(self.policies)) != len(self.policies):
            raise SpaceXNetError(f"policy listed twice in {','.join(self.policies)}")
        for name in ("step_s", "chunk_steps", "n_samples", "workers"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise SpaceXNetError(f"--{name.replace('_', '-')} = {value!r} must be a positive number")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise SpaceXNetError(f"--duration-s = {self.duration_s!r} must be a number >= 0")
        budget = self.time_budget_s
        if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget >= 0):
            raise SpaceXNetError(f"--time-budget-s = {budget!r} must be a number of seconds >= 0")


def check_fits(constellation, setup: ModelSetup, start=None, belt_planes=None) -> None:
    """Refuse, in milliseconds, a model that no step of a sweep could place.

    The placement's own check (:func:`placement.ring_partition` then
    :func:`placement.check_capacity`, what ``spacexnet place`` and
    ``compare`` run into) on every satellite in orbit at ``start``: a
    satellite that failed then never serves again, so when they cannot hold
    the model no later step can. Only one instant is propagated. A step can
    still become infeasible later (failures, a constellation cut in two): the
    sweep flags it ``infeasible`` and goes on.

    Parameters
    ----------
    constellation : orbits.Constellation
    setup : ModelSetup
        Gives the layers, experts per layer and experts per satellite.
    start : str or numpy.datetime64, optional
        UTC instant (default: the constellation's reference epoch).
    belt_planes : int, optional
        Use only this many adjacent planes.

    Raises
    ------
    placement.InfeasiblePlacementError
        Naming the first subnet that cannot hold its gate and experts.

    Examples
    --------
    >>> from spacexnet.scenario import build_constellation, model_setup
    >>> check_fits(build_constellation(walker="53:360/18/1", altitude_km=550), model_setup("llama-moe-3.5b-2of8"))
    >>> try:
    ...     check_fits(build_constellation(preset="iridium"), model_setup())
    ... except placement.InfeasiblePlacementError as err:
    ...     print(str(err)[:46])
    subnet 0 has 3 satellites (1 gate + 2 for expe
    """
    start = constellation.reference_epoch if start is None else start
    instant = orbits.to_datetime64_utc(np.atleast_1d(np.asarray(start)))[:1]
    with warnings.catch_warnings():
        # A satellite whose state fails is left out here; the sweep reports failures per step.
        warnings.simplefilter("ignore", orbits.PropagationWarning)
        state = orbits.propagate(constellation, instant)
    in_orbit = _in_orbit(state["sgp4_status"].values[0], state["altitude_km"].values[0])
    phase = state["argument_of_latitude_deg"].values[0]
    n_layers, n_experts = setup.probs.shape
    subnet = placement.ring_partition(np.where(np.isfinite(phase), phase, 0.0), n_layers, eligible=in_orbit,
                                      plane=constellation.plane, belt_planes=belt_planes)
    placement.check_capacity(subnet, n_experts, setup.experts_per_sat, n_layers)


def geometry_chunk(constellation, times, topology, link_rules, timings=None, positions=False,
                   links_only=False) -> dict:
    """Positions and links of one chunk of steps: the parallel stage of a sweep.

    Parameters
    ----------
    constellation : orbits.Constellation
    times : ndarray of datetime64[ns]
        The chunk's UTC instants.
    topology : orbits.Topology
        Candidate links (fixed for the whole sweep).
    link_rules : dict
        Options of :func:`orbits.isl_links`.
    timings : dict, optional
        Seconds spent are added to its ``propagation_compute`` and ``links_compute``.
    positions : bool
        Also return the ITRS positions (only a ground user needs them; they
        are the largest array a chunk task would send back).
    links_only : bool
        Only what the links and the decay check need (``distance_km``,
        ``up``, ``altitude_km``, ``status``): the groups a sweep only links
        (:mod:`spacexnet.focus`), propagated without the rest.

    Returns
    -------
    dict of ndarray
        ``distance_km``, ``up`` (time, link); ``arg_lat_deg``, ``altitude_km``,
        ``status`` (time, sat); ``latitude_deg``, ``longitude_deg`` (time, sat);
        with ``positions``, ``position_itrs_km`` (time, sat, 3).

    Examples
    --------
    >>> c = orbits.walker("53:60/6/1", altitude_km=550)
    >>> t = orbits.time_grid(c.reference_epoch, 60, 30)
    >>> topo = orbits.isl_topology(c, orbits.propagate(c, t[:1]))
    >>> g = geometry_chunk(c, t, topo, {})
    >>> g["distance_km"].shape, g["arg_lat_deg"].shape
    ((3, 120), (3, 60))
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # Failures are reported per step by the sweep, not once per chunk.
        warnings.simplefilter("ignore", orbits.PropagationWarning)
        state = orbits.propagate(constellation, times, earth_fixed_only=links_only)
    t1 = time.perf_counter()
    links = orbits.isl_links(constellation, state, topology=topology, **link_rules)
    if timings is not None:
        timings["propagation_compute"] = timings.get("propagation_compute", 0.0) + t1 - t0
        timings["links_compute"] = timings.get("links_compute", 0.0) + time.perf_counter() - t1
    geo = {
        "distance_km": links["distance_km"].values,
        "up": links["up"].values,
        "altitude_km": state["altitude_km"].values,
        "status": state["sgp4_status"].values,
    }
    if links_only:
        return geo
    geo["arg_lat_deg"] = state["argument_of_latitude_deg"].values
    geo["latitude_deg"] = state["latitude_deg"].values.astype(np.float32)
    geo["longitude_deg"] = state["longitude_deg"].values.astype(np.float32)
    if positions:
        geo["position_itrs_km"] = state["position_itrs_km"].values
    return geo


@dataclass
class _StepPlan:
    """What a chunk task needs to make each step's strategy placement, as the sweep's own steps would."""

    setup: ModelSetup
    step_kwargs: dict
    faults: object
    sat_a: np.ndarray
    sat_b: np.ndarray
    n_sat: int
    t0: np.datetime64
    rate_deg_s: float

    def candidates(self, geo, times, first_step, timings) -> list:
        """Each step's fresh placement (None if infeasible) and the usable satellites it was made for.

        Adds the seconds spent on routing graphs and on searches to ``timings`` (``candidates_graph``,
        ``searches``).
        """
        # Failures of earlier chunks are unknown here; the sweep checks the usable satellites and
        # lets the step place itself where they differ.
        failed = np.zeros(self.n_sat, dtype=bool)
        memory = _task_memory(self.n_sat)
        searched_s = memory.search_s
        graph_s = 0.0
        out = []
        warm = None  # as in the sweep's own loop: the previous step's placement, within the chunk
        bound = _gate_bound(self.step_kwargs)
        parts = LargestComponent()
        for i in range(times.size):
            t0 = time.perf_counter()
            graph, usable, _, phase = _step_inputs(geo, i, times, failed, self.faults, self.sat_a, self.sat_b,
                                                   self.setup, self.t0, self.rate_deg_s, memory, parts)
            graph_s += time.perf_counter() - t0
            step = placement.Step(first_step + i, phase, graph.latency_ms_from, self.setup.probs, usable=usable,
                                  warm_start=warm, **_bounded(self.step_kwargs, bound, graph))
            out.append((step.candidate, usable, warm))
            warm = step.candidate
            memory.next_step()
        timings["candidates_graph"] = graph_s
        timings["searches"] = memory.search_s - searched_s
        return out


def _gate_bound(step_kwargs):
    """A :class:`placement.GateBound` for a sequence of steps of the ``space-xnet`` strategy, else None."""
    return placement.GateBound() if step_kwargs["strategy"] == "space-xnet" else None


def _bounded(step_kwargs, bound, graph) -> dict:
    """A step's strategy options: ``step_kwargs``, with ``bound`` (if any) told this step's links."""
    if bound is None:
        return step_kwargs
    bound.observe(graph.sat_a, graph.sat_b, graph.edge_ms)
    return {**step_kwargs, "gate_bound": bound}


_TASK_MEMORY = threading.local()


def _task_memory(n_sat: int):
    """A search memory kept between chunk tasks (trees of their last steps), one per thread.

    The kernel rewrites a memory's trees in place, so two tasks at once (a
    Dask worker of several threads) must not share one.
    """
    kept = getattr(_TASK_MEMORY, "kept", None)
    if kept is None or kept[0] != n_sat:
        kept = _TASK_MEMORY.kept = (n_sat, latency.SearchMemory())
    return kept[1]


def chunk_task(constellation, times, topology, link_rules, plan=None, first_step=0, positions=False,
               rest=None) -> dict:
    """:func:`geometry_chunk`, and with a plan each step's strategy placement (``candidates``).

    Also returns the seconds spent on each (``geometry_s``, ``candidates_s``)
    and on their parts (``spent_s``: a dict of stage → seconds, see
    :func:`sweep`'s ``timings``). The sweep builds the plan; without one
    (``plan=None``) ``candidates`` is None. With ``rest`` (the constellation
    and topology of :attr:`spacexnet.focus.Focus.rest`), also those
    satellites' failures (``rest_failed``, time × sat) and their links' up
    flags (``rest_up``, time × link): all a sweep needs of them.

    Examples
    --------
    >>> c = orbits.walker("53:60/6/1", altitude_km=550)
    >>> t = orbits.time_grid(c.reference_epoch, 60, 30)
    >>> topo = orbits.isl_topology(c, orbits.propagate(c, t[:1]))
    >>> out = chunk_task(c, t, topo, {})
    >>> out["candidates"] is None, out["distance_km"].shape
    (True, (3, 120))
    """
    spent = {}
    t0 = time.perf_counter()
    geo = geometry_chunk(constellation, times, topology, link_rules, spent, positions)
    if rest is not None:
        other = geometry_chunk(rest[0], times, rest[1], link_rules, spent, links_only=True)
        geo["rest_failed"] = ~_in_orbit(other["status"], other["altitude_km"])
        geo["rest_up"] = other["up"]
    t1 = time.perf_counter()
    geo["candidates"] = None if plan is None else plan.candidates(geo, times, first_step, spent)
    geo["geometry_s"], geo["candidates_s"] = t1 - t0, time.perf_counter() - t1
    geo["spent_s"] = spent
    return geo


def _rest_links_up(geo, i, failed, focus) -> int:
    """Up links of the groups outside ``focus`` at step ``i`` of a chunk; ``failed`` takes their new failures.

    As :func:`_step_inputs` counts a link: up, and neither end failed so far.
    """
    failed[focus.rest] |= geo["rest_failed"][i]
    down = failed[focus.rest]
    a, b = focus.rest_topology.sat_a, focus.rest_topology.sat_b
    return int(np.count_nonzero(geo["rest_up"][i] & ~down[a] & ~down[b]))


def _step_inputs(geo, i, times, failed, faults, sat_a, sat_b, setup, t0, rate_deg_s, memory, parts, usable=None):
    """Routing graph, usable satellites, up links and partition phase of step ``i`` of a chunk.

    ``failed`` (satellites whose SGP4 state failed at an earlier step) is
    updated in place, so steps must come in order. ``parts``: the
    :class:`spacexnet.scenario.LargestComponent` of the caller's steps.
    ``usable``: the usable satellites when the caller knows them already (a
    chunk task found them on the same graph), instead of the graph's
    largest component.
    """
    n_sat = failed.size
    failed |= ~_in_orbit(geo["status"][i], geo["altitude_km"][i])
    down = failed.copy()
    link_down = np.zeros(sat_a.size, dtype=bool)
    if faults is not None:
        down |= faults.sat_down(times[i:i + 1], n_sat)[0]
        link_down = faults.link_down(times[i:i + 1], sat_a, sat_b)[0]
    up = geo["up"][i] & ~link_down & ~down[sat_a] & ~down[sat_b]
    graph = latency.RoutingGraph.from_links(sat_a, sat_b, np.where(up, geo["distance_km"][i], 0.0), up, n_sat,
                                            setup.link_profile, setup.model.hidden_state_bytes,
                                            r_itrs_km=geo["position_itrs_km"][i] if "position_itrs_km" in geo else None)
    graph.memory = memory
    if usable is None:
        usable = parts(graph, ~down)
    elapsed_s = (times[i] - t0) / np.timedelta64(1, "s")
    phase = (geo["arg_lat_deg"][i] - rate_deg_s * elapsed_s) % 360.0
    phase = np.where(np.isfinite(phase), phase, 0.0)
    return graph, usable, up, phase


def _start_worker(parent_pid: int) -> None:
    """Worker initializer: leave Ctrl-C to the sweep, and end with it (even when it dies by ``kill -9``).

    Ctrl-C in a terminal reaches every process of the group; the sweep
    handles it (it says how to resume, and stops its workers), a worker
    would only print a traceback. A killed parent never shuts its pool down, and its workers would wait on
    their task queue forever. On Linux the kernel sends them SIGKILL as the
    parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread
    also checks every :data:`PARENT_POLL_S` seconds that the parent is still
    the one that started the worker (an orphan is adopted by another).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1  # <linux/prctl.h>
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - the thread below still watches
            pass

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    # The parent may have died before prctl took effect: the thread sees it at once.
    threading.Thread(target=watch, name="spacexnet-parent-watch", daemon=True).start()


class _Executor:
    """Runs chunk tasks on local threads or processes or a Dask cluster, in order, a bounded number at a time."""

    def __init__(self, scheduler, workers, processes=False):
        self.client = None
        self.pool = None
        if scheduler:
            try:
                from distributed import Client
            except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
                raise SpaceXNetError("--scheduler needs the 'distributed' package") from exc
            try:
                self.client = scheduler if hasattr(scheduler, "submit") else Client(scheduler, timeout=10)
            except OSError as exc:
                raise SpaceXNetError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        elif processes:
            # Placement is Python: it needs processes to share cores. Forked children start with
            # everything imported and compiled.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self.pool = ProcessPoolExecutor(max_workers=int(workers), mp_context=context,
                                            initializer=_start_worker, initargs=(os.getpid(),))
        else:
            self.pool = ThreadPoolExecutor(max_workers=int(workers))
        self.workers = int(workers)

    def map_ordered(self, fn, arg_lists):
        """Yield ``fn(*args)`` for each args, in order, with at most ``workers + 1`` in flight."""
        pending = deque()
        it = iter(arg_lists)
        submit = self.client.submit if self.client is not None else self.pool.submit
        limit = self.workers + 1
        for args in it:
            pending.append(submit(fn, *args, pure=False) if self.client is not None else submit(fn, *args))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self, now: bool = False):
        """Stop taking tasks; ``now`` (an error or Ctrl-C) also stops the running ones, whose results nobody wants."""
        if self.pool is None:
            return
        if now and isinstance(self.pool, ProcessPoolExecutor):
            terminate = getattr(self.pool, "terminate_workers", None)  # Python 3.14
            if terminate is not None:
                terminate()
            else:
                for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                    process.terminate()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _gate_bytes(model) -> float:
    """Bytes that move with a gate: the attention weights and the router (the KV cache is rebuilt)."""
    router = max((model.router_params(layer) for layer in range(model.n_layers)), default=0)
    return float((model.attention_params + router) * model.bytes_per_param)


def _config_digest(constellation, setup, options, times, faults=None, focus=None) -> str:
    """Fingerprint of everything that determines the result, so --resume refuses a different sweep."""
    parts = {
        "constellation": constellation.source,
        "norad": hashlib.sha256(constellation.norad_id.tobytes()).hexdigest(),
        "epochs": hashlib.sha256(np.asarray(constellation.epoch_jd).tobytes()).hexdigest(),
        "setup": setup.attrs(),
        "probs": hashlib.sha256(setup.probs.tobytes()).hexdigest(),
        "options": {k: v for k, v in asdict(options).items() if k != "workers"},
        "times": [str(times[0]), str(times[-1]), int(times.size)],
        "faults": faults.describe() if faults is not None else "none",
        # The policies' saved states are in the focus group's indices.
        "focus": None if focus is None else hashlib.sha256(focus.index.tobytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class _Carry:
    """State handed from one chunk to the next (and saved as plain data for --resume)."""

    policies: dict
    failed: np.ndarray  # satellites whose SGP4 state failed at an earlier step (never trusted again)
    steps_done: int

    def state(self) -> dict:
        """Plain data: each policy's :meth:`placement.Policy.state`, the failed satellites, the steps done."""
        return {"policies": {name: policy.state() for name, policy in self.policies.items()},
                "failed": np.flatnonzero(self.failed).tolist(), "steps_done": self.steps_done}

    @classmethod
    def restore(cls, state: dict, policies: dict, n_sat: int) -> "_Carry":
        """The carry :meth:`state` described, into fresh ``policies``."""
        for name, policy in policies.items():
            policy.restore(state["policies"][name])
        failed = np.zeros(n_sat, dtype=bool)
        failed[state["failed"]] = True
        return cls(policies, failed, int(state["steps_done"]))


def routing_trace(probs, n_samples: int, seed: int) -> np.ndarray:
    """Expert ids ``(n_samples, layers, k_max)`` of tokens routed by exactly-k routing, −1 padded.

    Which experts a token activates does not depend on where they sit, so the
    sweep draws these tokens once and replays them at every step and for
    every policy: common random numbers make steps and policies comparable
    without Monte Carlo noise between them, and a step costs a gather instead
    of a fresh draw.

    Examples
    --------
    >>> ids = routing_trace([[0.5, 0.5, 1.0]], 3, seed=0)
    >>> ids.shape, sorted(ids[0, 0].tolist())[-1]
    ((3, 1, 2), 2)
    """
    mask = latency.sample_active(probs, n_samples, rng=seed, method="exactly-k")
    k_max = max(int(mask.sum(axis=2).max()), 1)
    # Stable sort puts each token's active experts first, in id order.
    order = np.argsort(~mask, axis=2, kind="stable")[:, :, :k_max]
    active = np.take_along_axis(mask, order, axis=2)
    return np.where(active, order, -1).astype(np.int64)


def _measure(graph, rec, setup, trace, user=None):
    """Exact expectation and Monte Carlo tail (replayed ``trace``) of the placement in ``rec``, on one ring.

    With a ground ``user``, also the delivery of a token to it from the first
    gate (:func:`latency.ground_latency_ms`, as ``compare --user``).
    """
    n_layers = setup.n_layers
    out = {"expected": math.inf, "expected_independent": math.inf, "p50": math.inf, "p99": math.inf, "layer": np.full(n_layers, math.inf),
           "breakdown": dict.fromkeys(dataset.BREAKDOWN, math.nan), "user": math.nan}
    if np.any(rec.gate_sat < 0) or np.any(rec.expert_sat < 0):
        return out
    if user is not None:
        out["user"] = latency.ground_latency_ms(graph, int(rec.gate_sat[0]), user).latency_ms
    exact = latency.token_latency(graph, rec.gate_sat, rec.expert_sat, setup.probs, setup.times, trace=trace)
    out["expected"] = exact.expected_ms
    out["expected_independent"] = exact.expected_independent_ms
    out["layer"] = exact.layer_ms
    out["breakdown"] = exact.breakdown.as_dict()
    if exact.samples is not None:
        out["p50"], out["p99"] = exact.samples.p50_ms, exact.samples.p99_ms
    return out


def _chunk_values(records, measures, usable, up_used, with_user: bool = False) -> dict:
    """The values of every variable of :data:`spacexnet.dataset.VARIABLES` for one chunk, by name."""
    def stack(fn):
        return [[fn(rec, m) for rec, m in zip(recs, meas)] for recs, meas in zip(records, measures)]

    values = {
        "token_latency_expected_ms": stack(lambda r, m: m["expected"]),
        "token_latency_expected_independent_ms": stack(lambda r, m: m["expected_independent"]),
        "token_latency_p50_ms": stack(lambda r, m: m["p50"]),
        "token_latency_p99_ms": stack(lambda r, m: m["p99"]),
        "layer_latency_expected_ms": stack(lambda r, m: m["layer"]),
        "gate_sat": stack(lambda r, m: r.gate_sat),
        "expert_sat": stack(lambda r, m: r.expert_sat),
        "subnet": stack(lambda r, m: r.subnet),
        "migrations": stack(lambda r, m: r.migrations),
        "forced_migrations": stack(lambda r, m: r.forced_migrations),
        "bytes_moved": stack(lambda r, m: r.bytes_moved),
        "migration_time_s": stack(lambda r, m: r.migration_time_s),
        "policy_flags": stack(lambda r, m: r.flags),
        "reachable": stack(lambda r, m: math.isfinite(m["expected"])),
        "satellites_usable": usable.sum(axis=1),
        "links_up": up_used.sum(axis=1),
    }
    for part in dataset.BREAKDOWN:
        values[part] = stack(lambda r, m, part=part: m["breakdown"].get(part, math.nan))
    if with_user:
        values["user_delivery_ms"] = stack(lambda r, m: m["user"])
    return values


def sweep(constellation, setup: ModelSetup, options: SweepOptions, out, *, overwrite=False, resume=False,
          scheduler=None, faults=None, progress=None, status=None, command=None, timings=None,
          on_chunk=None, focus=True) -> Path:
    """Run a sweep and write its dataset to ``out``.

    Parameters
    ----------
    constellation : orbits.Constellation
    setup : ModelSetup
        Model, hardware, links, activation probabilities (:func:`spacexnet.scenario.model_setup`).
    options : SweepOptions
    out : path
        NetCDF file to write (atomically, at the end).
    overwrite : bool
        Replace ``out`` if it exists.
    resume : bool
        Continue an interrupted sweep with the same options from its finished chunks.
    scheduler : str or distributed.Client, optional
        Dask scheduler address (or client) for the geometry chunks.
    faults : spacexnet.faults.Faults, optional
        User-given satellite and link outages.
    progress : callable, optional
        ``progress(steps_done, steps_total)`` before the first step and after every step.
    status : callable, optional
        ``status(message)`` for a slow stage the progress does not count:
        Numba compiling the kernels (a first run, an empty cache), said when
        it starts and with its duration when it ends; a sweep that starts
        over with every satellite (:mod:`spacexnet.focus`) says so too.
    on_chunk : callable, optional
        ``on_chunk(dataset, moves)`` with each chunk's steps (dims ``policy``,
        ``time``, ...: the variables of the output) once they are saved as a
        part, in time order, and ``moves[policy][i]``: the
        :class:`placement.Move` records of that policy's migrations started
        at the chunk's step ``i`` (satellite indices; the dataset counts them
        in ``migrations``); chunks continued from by ``resume`` are not
        given again.
    command : str, optional
        Command line for the ``history`` attribute (default: the running
        ``spacexnet`` command, or a description of this Python call).
    timings : dict, optional
        Filled with the wall time of each stage, s: ``warm_up`` (the
        capacity check, the links' topology and one throw-away step that
        compiles or loads the kernels), ``geometry_wait``
        (this process waiting for chunk tasks), ``geometry_compute`` and
        ``candidates_compute`` (time inside the tasks, summed over
        workers; the first split into ``propagation_compute`` and
        ``links_compute``, the second holds ``candidates_graph``, the
        tasks' routing graphs), ``graph`` (routing graphs and usable masks),
        ``policies`` (placement, with the shortest paths it asks for),
        ``searches`` (time inside shortest-path searches, in this process
        and the tasks: part of ``policies`` and ``candidates_compute``),
        ``latency`` (exact expectation and trace tail), ``writing`` (part
        files and the final join) and ``total``; for ``bench/sweep.py``. Also
        ``dijkstra_sources``: the shortest-path searches the steps ran in
        this process (each source once per step, whichever policy asked).
    focus : bool
        Give the steps only the satellites of the linked group that holds
        the first step's placement (:mod:`spacexnet.focus`): the other
        groups are propagated for their up links and failures only. Used
        while provably the same numbers (no faults, no ``belt_planes``, the
        placed part larger than any other group at every step); should a
        step lose that, the sweep starts over with every satellite (without
        giving ``on_chunk`` a chunk twice or ``progress`` a step again).
        False: every satellite at every step.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    placement.InfeasiblePlacementError
        Before any other work, when the model cannot fit (:func:`check_fits`).
    SweepInterrupted
        On Ctrl-C, saying where the finished chunks are kept for ``resume``.

    Warns
    -----
    SweepWarning
        When the step is longer than the span (one step), or when a sweep
        without ``resume`` discards the chunks an interrupted one left.

    Examples
    --------
    >>> import tempfile, os, xarray as xr
    >>> from spacexnet.scenario import build_constellation, model_setup
    >>> c = build_constellation(walker="53:360/18/1", altitude_km=550)
    >>> opts = SweepOptions(duration_s=60, step_s=30, n_samples=200)
    >>> p = sweep(c, model_setup("llama-moe-3.5b-2of8"), opts, os.path.join(tempfile.mkdtemp(), "s.nc"))
    >>> xr.open_dataset(p)["token_latency_expected_ms"].dims
    ('policy', 'time')
    """
    options.validate()
    clock = _Clock(timings)
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: file exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise OutputError(f"{out}: directory {out.parent} does not exist")
    period_s = orbits.orbital_period_s(constellation)
    duration_s = period_s if options.duration_s is None else options.duration_s
    if options.step_s > duration_s > 0:
        span = "--duration-s" if options.duration_s is not None else "one orbital period, the default --duration-s"
        warnings.warn(SweepWarning(f"--step-s {options.step_s:g} is longer than the {duration_s:g} s span ({span}):"
                                   " the sweep has one step, at the start"), stacklevel=2)
    start = options.start if options.start is not None else constellation.reference_epoch
    times = orbits.time_grid(start, duration_s, options.step_s)
    n_steps, n_sat = times.size, len(constellation)
    chunks = [times[i:i + int(options.chunk_steps)] for i in range(0, n_steps, int(options.chunk_steps))]
    rate_deg_s = 360.0 / period_s
    model = setup.model
    policy_kwargs = dict(expert_bytes=float(model.expert_bytes), gate_bytes=_gate_bytes(model),
                         isl_rate_bps=float(setup.link_profile.isl_rate_bps), step_s=float(options.step_s),
                         horizon_s=options.horizon_s, migration_price=options.migration_price,
                         min_gain_ratio=options.min_gain_ratio)
    user_run_attrs = ({} if options.user is None else
                      {"user_delivery_ms": dataset.user_attrs(options.user, setup.link_profile.gsl_min_elevation_deg)})
    step_kwargs = dict(strategy=options.strategy, seed=setup.seed,
                       **setup.strategy_kwargs(constellation.plane, options.belt_planes))
    if options.time_budget_s is not None and options.strategy in placement.BUDGETED:
        step_kwargs["time_budget_s"] = float(options.time_budget_s)
    trace = (latency.TraceReplay(routing_trace(setup.probs, int(options.n_samples), setup.seed), setup.probs)
             if options.n_samples >= 2 else None)
    with clock("warm_up"), _compile_watch(status):
        # Refuse an impossible model before anything heavy (one instant propagated).
        check_fits(constellation, setup, times[0], options.belt_planes)
        state0 = orbits.propagate(constellation, times[:1])
        topology = orbits.isl_topology(constellation, state0, options.topology)
        usable0 = _warm_up(constellation, times, topology, options.link_rules, setup, policy_kwargs, step_kwargs,
                           trace, rate_deg_s)
    # The steps work on the placed group's satellites only, in its own indices; records are widened back.
    chosen = focus_of(topology, n_sat, usable0) if focus and faults is None and options.belt_planes is None else None
    work, work_topology, rest = constellation, topology, None
    if chosen is not None:
        work, work_topology = constellation.subset(chosen.index), chosen.topology
        step_kwargs = {**step_kwargs, "plane": work.plane}
        if chosen.rest.size:
            rest = (constellation.subset(chosen.rest), chosen.rest_topology)
    store = PartStore(out, _config_digest(constellation, setup, options, times, faults, chosen), resume)
    with _saying_how_to_resume(store, len(chunks)):
        done = store.finished() if resume else 0
        policies = {name: placement.make_policy(name, **policy_kwargs) for name in options.policies}
        if done:
            try:
                carry = _Carry.restore(store.load_state(done - 1), policies, n_sat)
            except (ValueError, KeyError, TypeError, IndexError, placement.PlacementError) as exc:
                raise SpaceXNetError(
                    f"{store.state(done - 1)}: not a sweep state this version can resume from ({exc!r}); "
                    "rerun without --resume to start over") from None
        else:
            carry = _Carry(policies, np.zeros(n_sat, dtype=bool), 0)
        if progress is not None:
            progress(carry.steps_done, n_steps)
        sat_a, sat_b = work_topology.sat_a, work_topology.sat_b
        t0 = times[0]
        # With two or more workers (or a cluster) the chunk tasks also make each step's strategy
        # placement, the expensive part of recompute and handover, and this process only checks that
        # the task saw the step's usable satellites (it did unless a satellite failed in an earlier
        # chunk: the step then places itself). Either way the same numbers.
        planned = (scheduler or options.workers > 1) and any(p in options.policies for p in ("recompute", "handover"))
        plan = _StepPlan(setup, step_kwargs, faults, sat_a, sat_b, len(work), t0, rate_deg_s) if planned else None
        executor = _Executor(scheduler, options.workers, processes=planned)
        # Each step's searches start from the previous step's trees: the same rows, found faster; a step
        # that places itself skips the gate candidates the previous steps prove worse: the same gates.
        memory = latency.SearchMemory()
        parts = LargestComponent()
        bound = _gate_bound(step_kwargs)
        lost = False
        try:
            jobs = ((work, chunks[k], work_topology, options.link_rules, plan, k * int(options.chunk_steps),
                     options.user is not None, rest) for k in range(done, len(chunks)))
            geo_iter = executor.map_ordered(chunk_task, jobs)
            for k in range(done, len(chunks)):
                with clock("geometry_wait"):
                    geo = next(geo_iter)
                clock.add("geometry_compute", geo.pop("geometry_s"))
                clock.add("candidates_compute", geo.pop("candidates_s"))
                for stage, seconds in geo.pop("spent_s").items():
                    clock.add(stage, seconds)
                candidates = geo.pop("candidates")
                chunk = chunks[k]
                n_t = chunk.size
                records = {name: [] for name in options.policies}
                measures = {name: [] for name in options.policies}
                usable_all = np.zeros((n_t, len(work)), dtype=bool)
                up_all = np.zeros((n_t, sat_a.size), dtype=bool)
                rest_up = np.zeros(n_t, dtype=np.int64)  # up links of the other groups
                # A warm-started strategy (joint, anneal) improves the previous step's placement of the same
                # chunk; each chunk starts cold, so the chunks stay independent tasks of any worker count.
                warm = None
                # No satellite failed before this chunk: the task's failed satellites, and so its graphs and
                # usable satellites, are this process's at every step of it (the task started from none).
                task_usable = candidates is not None and not (
                    carry.failed if chosen is None else carry.failed[chosen.index]).any()
                for i in range(n_t):
                    step = carry.steps_done
                    with clock("graph"):
                        # In step order: carry.failed accumulates over the steps.
                        failed = carry.failed if chosen is None else carry.failed[chosen.index]
                        graph, usable, up, phase = _step_inputs(geo, i, chunk, failed, faults, sat_a, sat_b,
                                                                setup, t0, rate_deg_s, memory, parts,
                                                                candidates[i][1] if task_usable else None)
                        if chosen is not None:
                            carry.failed[chosen.index] = failed
                            chosen.check(int(np.count_nonzero(usable)))
                            if rest is not None:
                                rest_up[i] = _rest_links_up(geo, i, carry.failed, chosen)
                    usable_all[i], up_all[i] = usable, up
                    with clock("policies"):
                        # One step for every policy: the rows searched and the fresh placement are its.
                        now = placement.Step(step, phase, graph.latency_ms_from, setup.probs, usable=usable,
                                             warm_start=warm, **_bounded(step_kwargs, bound, graph))
                        if candidates is not None:
                            now.use_candidate(*candidates[i])
                    measured = {}  # policies serving the same placement (static and handover, often) share one
                    for name, policy in carry.policies.items():
                        with clock("policies"), np.errstate(invalid="ignore"):
                            rec = policy.step(now)
                        records[name].append(rec if chosen is None else chosen.widen(rec))
                        with clock("latency"):
                            key = (rec.gate_sat.tobytes(), rec.expert_sat.tobytes())
                            if key not in measured:
                                measured[key] = _measure(graph, rec, setup, trace, options.user)
                            measures[name].append(measured[key])
                    warm = now.made_candidate
                    clock.add("dijkstra_sources", now.oracle.sources)
                    memory.next_step()
                    carry.steps_done += 1
                    if progress is not None:
                        progress(carry.steps_done, n_steps)
                with clock("writing"):
                    values = _chunk_values(
                        [records[n] for n in options.policies], [measures[n] for n in options.policies],
                        usable_all, up_all, options.user is not None)
                    values["links_up"] = values["links_up"] + rest_up
                    ds = dataset.chunk_dataset(chunk, list(options.policies), values, user_run_attrs)
                    store.save(k, ds, carry.state())
                if on_chunk is not None:
                    on_chunk(ds, {name: [rec.moves for rec in records[name]] for name in options.policies})
        except FocusLost:
            lost = True
        finally:
            # Without waiting for running chunk tasks when leaving on an error or Ctrl-C.
            # Not on a lost focus: a worker stopped while it sends a result would leave the pool's reader
            # waiting for the rest of it, and this process could not exit.
            executor.close(now=sys.exc_info()[0] is not None)
            clock.add("searches", memory.search_s)
        if lost:
            # A step's largest part may lie in another group: every satellite, from the start. The focus
            # changes no number, so the chunks before this one come out as the caller had them (or, resumed,
            # continued from them): none is given twice, and the progress does not go back.
            store.remove()
            if status is not None:
                status(f"step {carry.steps_done + 1}: the placed part may no longer be the largest; "
                       "starting over with every satellite")
            return sweep(constellation, setup, options, out, overwrite=overwrite, scheduler=scheduler, faults=faults,
                         progress=_beyond(progress, carry.steps_done), status=status, command=command,
                         timings=timings, on_chunk=_after(on_chunk, k), focus=False)
        attrs = provenance_attrs(
            source=constellation.source,
            command=command if command is not None else command_line(_python_call(constellation, setup, options, out)),
            title="Space-XNet sweep: token latency of a MoE model on a moving constellation",
            element_set_epochs=f"{np.datetime_as_string(constellation.epochs.min(), unit='s')}Z to "
                               f"{np.datetime_as_string(constellation.epochs.max(), unit='s')}Z",
            policies=",".join(options.policies), strategy=options.strategy, step_s=float(options.step_s),
            horizon_s=float(options.horizon_s), migration_price=float(options.migration_price),
            min_gain_ratio=float(options.min_gain_ratio), belt_planes=options.belt_planes or "off",
            isl_topology=topology.name, monte_carlo_samples=int(options.n_samples),
            partition_frame=f"argument of latitude minus {rate_deg_s:.9g} deg/s times time since start",
            faults=faults.describe() if faults is not None else "none",
            **setup.attrs(),
            **({} if options.user is None
               else {"ground_user": f"{float(options.user.lat_deg)},{float(options.user.lon_deg)}"}),
        )
        with clock("writing"):
            join_parts(store, len(chunks), out, attrs,
                       dataset.coordinates(setup.probs, constellation.norad_id))
            store.remove()
    clock.finish()
    return out


def _after(on_chunk, given: int):
    """``on_chunk``, silent for the first ``given`` chunks (a restarted sweep's, given before it restarted)."""
    if on_chunk is None or given == 0:
        return on_chunk
    seen = 0

    def call(ds, moves):
        nonlocal seen
        seen += 1
        if seen > given:
            on_chunk(ds, moves)

    return call


def _beyond(progress, reported: int):
    """``progress``, silent until the steps done pass ``reported`` (a restarted sweep's, reported before)."""
    if progress is None:
        return None
    return lambda done, total: progress(done, total) if done > reported else None


@contextmanager
def _compile_watch(status):
    """Tell ``status`` when Numba starts compiling a kernel (an empty cache: a first run) and how long it took.

    Loading a kernel from Numba's cache is no compilation and says nothing.
    """
    if status is None:
        yield
        return
    from numba.core import event

    class Listener(event.Listener):
        started = None

        def on_start(self, ev):
            if self.started is None:
                self.started = time.perf_counter()
                status("compiling kernels (first run only) ...")

        def on_end(self, ev):
            pass

    listener = Listener()
    with event.install_listener("numba:compile", listener):
        yield
    if listener.started is not None:
        status(f"kernels compiled in {time.perf_counter() - listener.started:.1f} s (cached for later runs)")


def _warm_up(constellation, times, topology, link_rules, setup, policy_kwargs, step_kwargs, trace,
             rate_deg_s) -> np.ndarray:
    """One throw-away step through every kernel a step runs, so they compile (or load) here, once.

    Returns that step's usable satellites (the largest connected part).

    Before the progress starts (a first run's compilation is no step) and
    before worker processes fork from this one (each would compile its own
    copies otherwise).
    """
    instant = times[:1]
    geo = geometry_chunk(constellation, instant, topology, link_rules)
    graph, usable, _, phase = _step_inputs(geo, 0, instant, np.zeros(len(constellation), dtype=bool), None,
                                           topology.sat_a, topology.sat_b, setup, instant[0], rate_deg_s,
                                           latency.SearchMemory(), LargestComponent())
    with np.errstate(invalid="ignore"):
        step = placement.Step(0, phase, graph.latency_ms_from, setup.probs, usable=usable, **step_kwargs)
        rec = placement.make_policy("recompute", **policy_kwargs).step(step)
    _measure(graph, rec, setup, trace)
    return usable


@contextmanager
def _saying_how_to_resume(store, n_chunks: int):
    """Turn Ctrl-C into :class:`SweepInterrupted`: how many chunks are kept, where, and how to continue."""
    try:
        yield
    except KeyboardInterrupt as exc:
        if isinstance(exc, SweepInterrupted):
            raise
        done = store.finished()
        if done == 0:
            hint = "no chunk had finished; run the same command again to start over"
        else:
            hint = (f"{done} of {n_chunks} chunks are saved in {os.path.abspath(store.dir)}; run the same command "
                    "again with --resume to continue from there")
        raise SweepInterrupted(hint) from exc


def _python_call(constellation, setup, options, out) -> str:
    """What a Python program asked of :func:`sweep`, for ``history`` (there is no command line to record)."""
    model = ", ".join(f"{k}={v!r}" for k, v in setup.attrs().items())
    return f"spacexnet.sweep.sweep({constellation.source!r}, <setup {model}>, {options!r}, {str(out)!r})"


class _Clock:
    """Adds up wall time per stage into a caller's dict (a no-op without one)."""

    def __init__(self, timings):
        self.timings = timings
        self.start = time.perf_counter()
        self.stage = None
        if timings is not None:
            timings.clear()
            timings.update(dict.fromkeys(("warm_up", "geometry_wait", "geometry_compute", "propagation_compute",
                                          "links_compute", "candidates_compute", "candidates_graph", "graph",
                                          "policies", "searches", "latency", "writing", "total"), 0.0))
            timings["dijkstra_sources"] = 0

    @contextmanager
    def __call__(self, stage):
        if self.timings is None:
            yield
            return
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - t0

    def add(self, stage, seconds):
        if self.timings is not None:
            self.timings[stage] += seconds

    def finish(self):
        if self.timings is not None:
            self.timings["total"] = time.perf_counter() - self.start
