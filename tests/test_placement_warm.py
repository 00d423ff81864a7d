"""Warm starts: ``joint`` and ``anneal`` improving the previous step's placement, in a Step and in a sweep."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import placement.step as step_module
from placement import PlacementError, Step, anneal, evaluate, joint
from placement.anneal import nearest
from placement.migration import StepOracle
from placement.model import objective_from_rows
from placement.warm import repaired_start
from spacexnet.exceptions import SpaceXNetError
from spacexnet.sweep import SweepOptions, sweep
from test_placement_graphs import TorusScenario, random_probs
from test_sweep_invariance import _load, _ring_oracle, small  # noqa: F401  (small: a fixture)

T_GATE, T_EXP = 0.7, 1.3


def two_steps(seed, n_layers, n_experts, cap, n_down):
    """The same torus at two steps (other link lengths), and the satellites that fail at the second."""
    before = TorusScenario(6, 8, seed=seed)
    now = TorusScenario(6, 8, seed=seed + 1000)
    probs = random_probs(n_layers, n_experts, 2, seed)
    usable = np.ones(now.n_sat, dtype=bool)
    usable[np.random.default_rng(seed).choice(now.n_sat, n_down, replace=False)] = False
    kw = dict(capacity=cap, plane=now.plane, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    return before, now, probs, usable, kw


def total_ms(gate, expert, sc, probs):
    n_layers = gate.size
    return float(objective_from_rows(sc.path_ms(gate), expert, probs, np.full(n_layers, T_GATE),
                                     np.full(n_layers, T_EXP)).sum())


def repaired_ms(prev, now, probs, usable, cap):
    fixed = repaired_start(prev, usable, np.full(now.n_sat, cap), probs, StepOracle(now.path_ms, now.n_sat))
    assert fixed is not None
    return total_ms(*fixed, now, probs)


instances = st.tuples(st.integers(0, 10_000), st.integers(2, 4), st.integers(2, 6), st.integers(1, 2),
                      st.integers(0, 6))


@settings(max_examples=25, deadline=None)
@given(instances)
def test_warm_joint_is_valid_deterministic_and_never_worse_than_its_repaired_start(case):
    seed, n_layers, n_experts, cap, n_down = case
    before, now, probs, usable, kw = two_steps(seed, n_layers, n_experts, cap, n_down)
    prev = joint(before.arg_lat_deg, before.path_ms, probs, **kw)
    pl = joint(now.arg_lat_deg, now.path_ms, probs, eligible=usable, start=prev, **kw)
    again = joint(now.arg_lat_deg, now.path_ms, probs, eligible=usable, start=prev, **kw)
    pl.check(capacity=cap, eligible=usable)
    assert usable[pl.gate_sat].all()
    np.testing.assert_array_equal(pl.gate_sat, again.gate_sat)
    np.testing.assert_array_equal(pl.expert_sat, again.expert_sat)
    got = evaluate(pl, now.path_ms, probs, T_GATE, T_EXP).total_ms
    assert got == pytest.approx(pl.info["objective_ms"], rel=1e-12)
    assert pl.info["warm_start_ms"] == pytest.approx(repaired_ms(prev, now, probs, usable, cap), rel=1e-12)
    assert got <= pl.info["warm_start_ms"] * (1 + 1e-9)


@settings(max_examples=15, deadline=None)
@given(instances, st.integers(0, 3))
def test_warm_anneal_is_valid_deterministic_for_a_seed_and_never_worse_than_its_start(case, seed):
    n_sat_seed, n_layers, n_experts, cap, n_down = case
    before, now, probs, usable, kw = two_steps(n_sat_seed, n_layers, n_experts, cap, n_down)
    prev = anneal(before.arg_lat_deg, before.path_ms, probs, seed=seed, time_budget_s=0.01, **kw)
    runs = [anneal(now.arg_lat_deg, now.path_ms, probs, eligible=usable, seed=seed, time_budget_s=0.5,
                   start=prev, **kw) for _ in range(2)]
    pl = runs[0]
    pl.check(capacity=cap, eligible=usable)
    assert usable[pl.gate_sat].all()
    np.testing.assert_array_equal(pl.gate_sat, runs[1].gate_sat)
    np.testing.assert_array_equal(pl.expert_sat, runs[1].expert_sat)
    assert 0 < pl.info["moves"] <= 2 * round(0.5 * 2_000_000 * 0.01)  # the warm share of the budget
    got = evaluate(pl, now.path_ms, probs, T_GATE, T_EXP).total_ms
    assert got <= repaired_ms(prev, now, probs, usable, cap) * (1 + 1e-9)
    assert got <= pl.info["warm_start_ms"] * (1 + 1e-9)


def test_a_start_that_already_fits_is_kept_when_nothing_beats_it():
    """On unchanged inputs a warm joint returns its own placement (a local optimum) untouched."""
    sc = TorusScenario(6, 8, seed=5)
    probs = random_probs(3, 4, 2, 5)
    kw = dict(plane=sc.plane, gate_time_ms=T_GATE, expert_time_ms=T_EXP)
    first = joint(sc.arg_lat_deg, sc.path_ms, probs, **kw)
    second = joint(sc.arg_lat_deg, sc.path_ms, probs, start=first, **kw)
    assert second.info["warm_start_ms"] == pytest.approx(first.info["objective_ms"], rel=1e-12)
    np.testing.assert_array_equal(second.gate_sat, first.gate_sat)
    np.testing.assert_array_equal(second.expert_sat, first.expert_sat)


def test_repaired_start_moves_parts_off_failed_satellites_or_gives_up():
    sc = TorusScenario(6, 8, seed=1)
    probs = random_probs(3, 4, 2, 1)
    prev = joint(sc.arg_lat_deg, sc.path_ms, probs, plane=sc.plane)
    oracle = StepOracle(sc.path_ms, sc.n_sat)
    cap = np.ones(sc.n_sat, dtype=np.int64)
    usable = np.ones(sc.n_sat, dtype=bool)
    usable[[prev.gate_sat[0], prev.expert_sat[1, 2]]] = False
    gate, expert = repaired_start(prev, usable, cap, probs, oracle)
    assert usable[gate].all() and usable[expert].all()
    assert np.unique(gate).size == 3 and np.bincount(expert.ravel()).max() == 1 and not np.isin(gate, expert).any()
    kept = usable[prev.expert_sat]
    np.testing.assert_array_equal(expert[kept], prev.expert_sat[kept])  # what may stay, stays
    few = np.zeros(sc.n_sat, dtype=bool)
    few[:10] = True  # 3 gates + 12 experts cannot fit on 10 satellites
    assert repaired_start(prev, few, cap, probs, oracle) is None
    assert repaired_start(prev, usable, np.zeros(sc.n_sat, dtype=np.int64), probs, oracle) is None  # overloaded
    with pytest.raises(PlacementError, match=r"start must be a Placement of 2 gates and \(2, 4\) experts, got gate_sat shape \(3,\)"):
        repaired_start(prev, usable, cap, probs[:2], oracle)


def test_nearest_is_the_stable_argsort_of_each_row():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 6, size=(40, 40)).astype(float)  # many ties
    d[rng.random(d.shape) < 0.1] = np.inf
    np.fill_diagonal(d, np.inf)
    for k in (1, 5, 39):
        np.testing.assert_array_equal(nearest(d, k), np.argsort(d, axis=1, kind="stable")[:, :k])


def test_a_step_hands_its_warm_start_to_the_strategy_and_refuses_a_candidate_made_from_another():
    pos, ring = _ring_oracle(24)
    probs = [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]
    first = Step(0, pos * 15.0, ring, probs, strategy="joint").candidate
    other = Step(0, pos * 15.0 + 40.0, ring, probs, strategy="joint").candidate
    warm = Step(1, pos * 15.0 + 7.0, ring, probs, strategy="joint", warm_start=first)
    assert "warm_start_ms" in warm.candidate.info
    cold = Step(1, pos * 15.0 + 7.0, ring, probs, strategy="joint")
    assert "warm_start_ms" not in cold.candidate.info
    usable = np.ones(24, dtype=bool)
    fresh = Step(1, pos * 15.0 + 7.0, ring, probs, strategy="joint", warm_start=first)
    assert not fresh.use_candidate(cold.candidate, usable)  # made cold: this step starts warm
    assert not fresh.use_candidate(cold.candidate, usable, other)
    assert fresh.use_candidate(warm.candidate, usable, first) and fresh.candidate is warm.candidate
    # space-xnet takes no start: the warm start is ignored, as before.
    sx = Step(1, pos * 15.0, ring, probs, warm_start=first)
    assert sx.warm_start is None and sx.use_candidate(cold.candidate, usable, first)


def test_a_joint_sweep_starts_each_chunk_cold_then_warm(tmp_path, small, monkeypatch):
    constellation, setup = small
    strategy = step_module.STRATEGIES["joint"]
    warm = []

    def watched(*args, start=None, **kwargs):
        warm.append(start is not None)
        return strategy(*args, start=start, **kwargs)

    monkeypatch.setitem(step_module.STRATEGIES, "joint", watched)
    opts = SweepOptions(duration_s=180, step_s=30, n_samples=100, chunk_steps=3, workers=1, strategy="joint",
                        policies=("recompute",))
    sweep(constellation, setup, opts, tmp_path / "joint.nc")
    # The kernels' warm-up step, then 7 steps in chunks of 3: cold at 0, 3 and 6.
    assert warm == [False, False, True, True, False, True, True, False]


@pytest.mark.parametrize("strategy", ["joint", "anneal"])
def test_a_warm_started_sweep_writes_the_same_file_with_any_worker_count(tmp_path, small, strategy):
    constellation, setup = small
    files = []
    for workers in (1, 2):
        opts = SweepOptions(duration_s=150, step_s=30, n_samples=100, chunk_steps=3, workers=workers,
                            strategy=strategy, time_budget_s=0.05)
        files.append(sweep(constellation, setup, opts, tmp_path / f"{workers}.nc"))
    xr.testing.assert_identical(_load(files[0]), _load(files[1]))


def test_with_two_workers_the_tasks_warm_chain_is_the_one_the_sweep_takes(tmp_path, small, monkeypatch):
    """The chunk tasks start each step from the placement this process would: it never places itself."""
    import os

    constellation, setup = small
    main_pid = os.getpid()
    strategy = step_module.STRATEGIES["joint"]
    steps_started = []

    def watched(*args, **kwargs):
        if os.getpid() == main_pid and steps_started:
            raise AssertionError("the main process placed with the strategy itself")
        return strategy(*args, **kwargs)

    monkeypatch.setitem(step_module.STRATEGIES, "joint", watched)
    opts = SweepOptions(duration_s=150, step_s=30, n_samples=100, chunk_steps=3, workers=2, strategy="joint")
    sweep(constellation, setup, opts, tmp_path / "two.nc", progress=lambda done, total: steps_started.append(1))
    assert len(steps_started) == 7  # the first call (0 of 6) and each of the 6 steps


def test_a_sweep_hands_its_time_budget_to_anneal_only(tmp_path, small, monkeypatch):
    constellation, setup = small
    budgets = []
    strategy = step_module.STRATEGIES["anneal"]

    def watched(*args, **kwargs):
        budgets.append(kwargs.get("time_budget_s"))
        return strategy(*args, **kwargs)

    monkeypatch.setitem(step_module.STRATEGIES, "anneal", watched)
    opts = SweepOptions(duration_s=30, step_s=30, n_samples=100, workers=1, strategy="anneal", time_budget_s=0.02,
                        policies=("recompute",))
    sweep(constellation, setup, opts, tmp_path / "a.nc")
    assert budgets and set(budgets) == {0.02}
    joint_opts = SweepOptions(duration_s=30, step_s=30, n_samples=100, workers=1, strategy="joint",
                              time_budget_s=0.02, policies=("recompute",))
    sweep(constellation, setup, joint_opts, tmp_path / "j.nc")  # joint takes no budget: not handed one
    with pytest.raises(SpaceXNetError, match=r"--time-budget-s = -1 must be a number of seconds >= 0"):
        SweepOptions(time_budget_s=-1).validate()


def test_the_sweep_command_takes_a_time_budget(tmp_path, monkeypatch):
    import importlib

    from click.testing import CliRunner

    from spacexnet.cli import main

    cli_sweep = importlib.import_module("spacexnet.cli.sweep")
    seen = []

    def capture(constellation, setup, options, out, **kwargs):
        seen.append(options)
        raise KeyboardInterrupt  # stop before any work: only the options are wanted

    monkeypatch.setattr(cli_sweep, "sweep", capture)
    args = ["sweep", "--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
            "--strategy", "anneal", "--time-budget-s", "0.5", "--out", str(tmp_path / "s.nc")]
    CliRunner().invoke(main, args)
    assert seen and seen[0].time_budget_s == 0.5 and seen[0].strategy == "anneal"
