"""Speed-ups that must not change results: worker count, one step shared by the policies, one ring for both
latencies."""

import numpy as np
import pytest
import xarray as xr

import latency
from latency.specs import LinkProfile
from placement import Step, make_policy
from spacexnet.scenario import build_constellation, model_setup, snapshot
from spacexnet.sweep import SweepOptions, routing_trace, sweep


@pytest.fixture(scope="module")
def small():
    return build_constellation(walker="53:360/18/1", altitude_km=550), model_setup("llama-moe-3.5b-2of8", seed=2)


def _load(path):
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.attrs.pop("history", None)
    return ds


def test_worker_count_gives_the_same_file_and_stage_times(tmp_path, small):
    constellation, setup = small
    files, timings = [], []
    for workers in (1, 3):
        t = {}
        opts = SweepOptions(duration_s=150, step_s=30, n_samples=200, chunk_steps=2, workers=workers)
        files.append(sweep(constellation, setup, opts, tmp_path / f"{workers}.nc", timings=t))
        timings.append(t)
    xr.testing.assert_identical(_load(files[0]), _load(files[1]))
    for t in timings:
        stages = ("geometry_wait", "graph", "policies", "latency", "writing")
        assert set(stages) <= set(t) and t["geometry_compute"] > 0
        assert 0 < sum(t[s] for s in stages) <= t["total"]


@pytest.mark.parametrize("workers", [1, 2])
def test_stage_times_split_geometry_and_count_every_search(tmp_path, small, workers):
    """The parts bench/sweep.py prints: propagation and links inside the geometry, searches in every process."""
    constellation, setup = small
    t = {}
    opts = SweepOptions(duration_s=90, step_s=30, n_samples=200, chunk_steps=2, workers=workers)
    sweep(constellation, setup, opts, tmp_path / "s.nc", timings=t)
    assert t["propagation_compute"] > 0 and t["links_compute"] > 0
    assert t["propagation_compute"] + t["links_compute"] <= t["geometry_compute"]
    # With 2 workers the tasks place (and search); the searches are counted there too.
    assert 0 < t["searches"] <= t["policies"] + t["candidates_compute"]
    assert (t["candidates_graph"] > 0) == (workers > 1)
    assert t["candidates_graph"] <= t["candidates_compute"]


def test_a_search_memory_adds_up_the_time_its_searches_took():
    memory = latency.SearchMemory()
    assert memory.search_s == 0.0
    g = latency.RoutingGraph.from_links([0, 1], [1, 2], [1000.0, 1000.0], [True, True], 3, None, 0)
    g.memory = memory
    g.latency_ms_from([0])
    spent = memory.search_s
    g.latency_ms_from([0])  # known already: no search
    assert spent > 0 and memory.search_s == spent


def test_chunk_tasks_on_threads_of_one_process_keep_their_own_search_memory():
    """The kernel rewrites a memory's trees in place: two tasks at once (a Dask worker's threads) must not share one."""
    import threading

    from spacexnet.sweep import _task_memory

    mine = _task_memory(10)
    assert _task_memory(10) is mine  # kept between this thread's tasks
    other = []
    thread = threading.Thread(target=lambda: other.append(_task_memory(10)))
    thread.start()
    thread.join()
    assert other[0] is not mine
    assert _task_memory(11) is not mine  # other satellites: a new memory


def _ring_oracle(n):
    pos = np.arange(float(n))

    def ring(s):
        d = np.abs(pos - pos[np.asarray(s)][:, None])
        return np.minimum(d, n - d)

    return pos, ring


@pytest.mark.parametrize("price", [0.0, 1.0])
def test_a_shared_step_changes_no_record(price):
    """Policies sharing one Step (its rows, layer times and fresh placement) record what each records alone."""
    pos, ring = _ring_oracle(24)
    probs = [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]
    kw = dict(expert_bytes=1e8, isl_rate_bps=1e11, step_s=10.0, migration_price=price, min_gain_ratio=0.0)
    names = ("static", "recompute", "handover")
    alone = [make_policy(n, **kw) for n in names]
    shared = [make_policy(n, **kw) for n in names]
    usable = np.ones(24, dtype=bool)
    for t in range(8):
        phase = (pos * 15.0 + 7.0 * t) % 360.0
        usable[(3 * t) % 24] = t % 3 != 0
        step = Step(t, phase, ring, probs, usable=usable.copy())
        searched = 0
        for a, b in zip(alone, shared):
            own = Step(t, phase, ring, probs, usable=usable.copy())
            ra, rb = a.step(own), b.step(step)
            searched += own.oracle.sources
            for field in ra.__dataclass_fields__:
                np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field), err_msg=field)
        assert step.oracle.sources < searched  # each source once per step, not once per policy


@pytest.mark.parametrize("price", [0.0, 1.0])
def test_a_candidate_made_elsewhere_changes_no_record(price):
    """Placements made ahead (as a sweep's chunk tasks do) give the records the policies make alone."""
    pos, ring = _ring_oracle(24)
    probs = [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]
    kw = dict(expert_bytes=1e8, isl_rate_bps=1e11, step_s=10.0, migration_price=price, min_gain_ratio=0.0)
    alone = [make_policy(n, **kw) for n in ("recompute", "handover")]
    fed = [make_policy(n, **kw) for n in ("recompute", "handover")]
    usable = np.ones(24, dtype=bool)
    for t in range(8):
        phase = (pos * 15.0 + 7.0 * t) % 360.0
        usable[(3 * t) % 24] = t % 3 != 0
        made = Step(t, phase, ring, probs, usable=usable.copy()).candidate
        everyone = np.ones(24, dtype=bool)
        stale = Step(t, phase, ring, probs, usable=everyone).candidate
        step = Step(t, phase, ring, probs, usable=usable.copy())
        # A placement made for other usable satellites is refused (when they differ), the right one taken.
        assert step.use_candidate(stale, everyone) == bool(usable.all())
        assert step.use_candidate(made, usable.copy()) and step.candidate is made
        for a, b in zip(alone, fed):
            ra = a.step(Step(t, phase, ring, probs, usable=usable.copy()))
            rb = b.step(step)
            for field in ra.__dataclass_fields__:
                np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field), err_msg=field)


def test_one_ring_gives_both_latencies(small):
    constellation, setup = small
    snap = snapshot(constellation, constellation.reference_epoch, setup)
    rng = np.random.default_rng(0)
    n_layers, n_experts = setup.probs.shape
    gates = rng.choice(np.flatnonzero(snap.eligible), n_layers, replace=False)
    experts = rng.choice(np.flatnonzero(snap.eligible), (n_layers, n_experts))
    ids = routing_trace(setup.probs, 300, seed=1)
    both = latency.token_latency(snap.graph, gates, experts, setup.probs, setup.times,
                                 trace=latency.TraceReplay(ids, setup.probs))
    exact = latency.token_latency(snap.graph, gates, experts, setup.probs, setup.times)
    tail = latency.sample_token_latency(snap.graph, gates, experts, setup.probs, setup.times, method=ids)
    assert both.expected_ms == exact.expected_ms and both.breakdown == exact.breakdown
    np.testing.assert_array_equal(both.samples.samples_ms, tail.samples_ms)
    assert (both.samples.p50_ms, both.samples.p99_ms) == (tail.p50_ms, tail.p99_ms)


def test_no_samples_when_unreachable():
    free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    g = latency.RoutingGraph.from_links([0], [1], [300.0], [True], 3, free, 0)
    t = latency.ComputeTimes(dispatch_ms=0.0, local_ms=0.0, expert_ms=0.0)
    with np.errstate(all="raise"):  # an idle expert on an unreachable satellite: 0 * inf, no warning
        idle = latency.token_latency(g, [0], [[2, 1]], [[0.0, 1.0]], t, trace=[[[1]]])
        cut = latency.token_latency(g, [0], [[1, 2]], [[0.0, 1.0]], t, trace=[[[1]]])
    assert idle.reachable and idle.samples.p99_ms == idle.expected_ms
    assert not cut.reachable and cut.samples is None
    with pytest.raises(latency.ActivationError, match="layers"):
        latency.TraceReplay(np.zeros((2, 3, 1), dtype=int), [[0.5, 0.5]])


def test_with_two_workers_the_main_process_never_runs_the_strategy(tmp_path, small, monkeypatch):
    """The chunk tasks' placements are used: the steps in this process take them instead of placing.

    The one placement this process makes is the kernels' warm-up, before the first step.
    """
    import os

    import placement.step as step_module

    constellation, setup = small
    main_pid = os.getpid()
    strategy = step_module.STRATEGIES["space-xnet"]
    steps_started = []
    warm_ups = []

    def watched(*args, **kwargs):
        if os.getpid() == main_pid:
            if steps_started:
                raise AssertionError("the main process placed with the strategy itself")
            warm_ups.append(1)
        return strategy(*args, **kwargs)

    monkeypatch.setitem(step_module.STRATEGIES, "space-xnet", watched)
    opts = SweepOptions(duration_s=120, step_s=30, n_samples=200, chunk_steps=2, workers=2)
    out = sweep(constellation, setup, opts, tmp_path / "two.nc", progress=lambda done, total: steps_started.append(1))
    assert warm_ups == [1]
    monkeypatch.setitem(step_module.STRATEGIES, "space-xnet", strategy)
    ref = sweep(constellation, setup, SweepOptions(duration_s=120, step_s=30, n_samples=200, chunk_steps=2,
                                                   workers=1), tmp_path / "one.nc")
    xr.testing.assert_identical(_load(out), _load(ref))
