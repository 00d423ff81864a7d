"""The gate kernels (placement/_kernels.py) give the NumPy path's layer costs bit for bit, and its gate cycle.

Properties over instances hypothesis draws: the kernels against their NumPy
twins (``placement.gates``' NumPy path for the layer costs, which serves
layers of more experts than a pairwise block; :func:`min_cycle_numpy`
below, used by no code but this test, for the cycle), with ties, zero and
infinite costs, full satellites and experts of equal probability. And
``bench/gate_kernels.py`` runs, which checks both kernels against their
twins on the inputs of a real step of Starlink shell 1.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from placement import gates
from placement._kernels import PAIRWISE_BLOCK, gate_pair_costs, min_cycle
from placement.gates import _layer_costs_numpy, choose_gates, subnet_members

# Costs with ties, zeros and unreachable satellites besides arbitrary ones.
COSTS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 5.0, np.inf]), st.floats(0.0, 20.0))
PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.floats(0.0, 1.0))


def min_cycle_numpy(f: np.ndarray) -> np.ndarray:
    """Cheapest choice ``a_0 … a_{L−1}`` of ``sum_l f[l, a_l, a_{l+1}]`` with ``a_L = a_0``: the kernel's twin.

    ``f`` has shape (L, K, K). Exact dynamic programming: ``best[i, j]`` is
    the cheapest path from ``a_0 = i`` to the current stage's ``j``; ties
    and NaN go as ``np.argmin`` takes them.
    """
    n_layers, k, _ = f.shape
    best = f[0].copy()
    back = np.zeros((n_layers, k, k), dtype=np.int64)
    for l in range(1, n_layers):
        total = best[:, :, None] + f[l][None, :, :]  # (i, via, j)
        back[l] = np.argmin(total, axis=1)
        best = total.min(axis=1)  # the values at back[l]
    start = int(np.argmin(np.diagonal(best)))
    choice = np.empty(n_layers, dtype=np.int64)
    choice[0] = start
    j = start  # a_L = a_0 closes the cycle
    for l in range(n_layers - 1, 0, -1):
        j = int(back[l][start, j])
        choice[l] = j
    return choice


@st.composite
def gate_instances(draw):
    """Rows, candidate rows, members, candidates, capacities and descending probabilities of a ring."""
    n_layers = draw(st.integers(1, 6))
    n_sat = draw(st.integers(n_layers, 60))
    subnet = draw(arrays(np.int64, n_sat, elements=st.integers(-1, n_layers - 1)))  # -1: outside the ring
    subnet[:n_layers] = np.arange(n_layers)  # every subnet has a member
    phase = draw(arrays(np.float64, n_sat, elements=st.floats(0.0, 359.0)))
    members = subnet_members(subnet, n_layers, phase)
    size = (members >= 0).sum(axis=1)
    k = draw(st.integers(1, 12))  # more than LANES: two blocks of next gates
    picks = draw(arrays(np.int64, (n_layers, k), elements=st.integers(0, 1000))) % size[:, None]
    cand = np.take_along_axis(members, picks, axis=1)
    sources, inverse = np.unique(cand, return_inverse=True)
    rows = draw(arrays(np.float64, (sources.size, n_sat), elements=COSTS))
    rows[np.arange(sources.size), sources] = 0.0
    cap = draw(arrays(np.int64, n_sat, elements=st.integers(0, 3)))
    n_experts = draw(st.integers(1, 20))  # often more than a subnet's free slots
    p = draw(arrays(np.float64, (n_layers, n_experts), elements=PROBABILITIES))
    return rows, inverse.reshape(cand.shape), members, cand, cap, -np.sort(-p, axis=1)


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


@settings(max_examples=300, deadline=None)
@given(gate_instances())
def test_kernel_matches_numpy_bit_for_bit(instance):
    rows, src, members, cand, cap, p_desc = instance
    n_layers, k = cand.shape
    out = np.full((n_layers, k, k), np.nan)
    gate_pair_costs(rows, src, members, cand, cap, p_desc, out)
    with np.errstate(invalid="ignore"):
        ref = _layer_costs_numpy(rows, src, members, cand, cap, p_desc)
    assert np.array_equal(_bits(out), _bits(ref))


def test_sweep_sized_instance_matches_numpy():
    # The sweep's shape: 32 layers, 8 candidates, ~50 members, 16 experts, read-only rows.
    rng = np.random.default_rng(7)
    n_layers, n_sat, k, n_experts = 32, 1584, 8, 16
    subnet = np.repeat(np.arange(n_layers), n_sat // n_layers + 1)[:n_sat]
    members = subnet_members(subnet, n_layers, np.linspace(0, 360, n_sat, endpoint=False))
    cand = members[:, ::6][:, :k]
    sources, inverse = np.unique(cand, return_inverse=True)
    rows = rng.uniform(0, 80, (sources.size, n_sat)).round(1)
    rows.flags.writeable = False
    p = -np.sort(-rng.dirichlet(np.ones(n_experts), n_layers) * 2, axis=1)
    out = np.empty((n_layers, k, k))
    src = inverse.reshape(cand.shape)
    cap = np.ones(n_sat, dtype=np.int64)
    gate_pair_costs(rows, src, members, cand, cap, p, out)
    assert np.array_equal(_bits(out), _bits(_layer_costs_numpy(rows, src, members, cand, cap, p)))


@settings(max_examples=60, deadline=None)
@given(st.integers(12, 80), st.integers(2, 5), st.integers(1, 8), st.booleans(), st.booleans(), st.data())
def test_choose_gates_same_with_and_without_the_kernel(n_sat, n_layers, n_candidates, ties, uneven, data):
    pos = data.draw(arrays(np.float64, n_sat, elements=st.floats(0.0, 100.0)))
    if ties:
        pos = pos.round()  # equal distances between satellites

    def path_ms(s):
        return np.abs(pos - pos[np.asarray(s)][:, None])

    phase = data.draw(arrays(np.float64, n_sat, elements=st.floats(0.0, 359.0), unique=True))
    n_experts = data.draw(st.integers(1, n_sat // n_layers - 1))
    probs = data.draw(arrays(np.float64, (n_layers, n_experts), elements=st.sampled_from(np.arange(11) / 10)))
    subnet = np.sort(phase).searchsorted(phase) * n_layers // n_sat
    cap = data.draw(arrays(np.int64, n_sat, elements=st.integers(1, 2))) if uneven else 1
    kw = dict(arg_lat_deg=phase, capacity=cap, n_candidates=n_candidates)
    fast = gates._choose_gates(subnet, path_ms, probs, **kw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gates, "PAIRWISE_BLOCK", 0)  # every layer on the NumPy path
        slow = gates._choose_gates(subnet, path_ms, probs, **kw)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.integers(1, 9), st.data())
def test_min_cycle_kernel_matches_numpy(n_layers, k, data):
    # Ties (the first choice wins, as with np.argmin), unreachable pairs and NaN (np.argmin takes the first).
    elements = st.one_of(st.sampled_from([0.0, 1.0, 2.0, np.inf, np.nan]), st.floats(0.0, 10.0))
    f = data.draw(arrays(np.float64, (n_layers, k, k), elements=elements))
    choice = np.full(n_layers, -1, dtype=np.int64)
    min_cycle(f, choice)
    with np.errstate(invalid="ignore"):
        assert choice.tolist() == min_cycle_numpy(f).tolist()


def test_more_experts_than_a_pairwise_block_take_the_numpy_path():
    n_experts = PAIRWISE_BLOCK + 2
    pos = np.arange(2 * (n_experts + 1), dtype=float)
    ring = lambda s: np.abs(pos - pos[np.asarray(s)][:, None])
    sub = np.repeat([0, 1], n_experts + 1)
    gate = choose_gates(sub, ring, np.full((2, n_experts), 0.1), arg_lat_deg=pos / pos.size * 360)
    assert gate.shape == (2,)


def test_pairwise_block_is_numpys_sum_at_every_length():
    from latency.pairwise import pairwise_block

    rng = np.random.default_rng(3)
    for n in range(PAIRWISE_BLOCK + 1):
        a = rng.random(n) * 10.0 ** rng.integers(-3, 4, n)
        assert pairwise_block(a, n) == a.sum(), n
    assert gates.PAIRWISE_BLOCK is PAIRWISE_BLOCK


def test_the_gate_kernel_bench_runs_and_finds_the_twins_equal_on_a_real_step(capsys):
    spec = importlib.util.spec_from_file_location("_gate_kernels_bench",
                                                  Path(__file__).resolve().parents[1] / "bench" / "gate_kernels.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--repeat", "1"])
    out = capsys.readouterr().out
    assert "cheapest cycle through each candidate" in out and "same numbers from kernel and twin: yes" in out
