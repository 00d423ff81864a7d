"""The gate kernels (placement/_kernels.py) give the NumPy path's layer costs bit for bit, and its gate cycle."""

import numpy as np
import pytest

from placement import gates
from placement._kernels import PAIRWISE_BLOCK, gate_pair_costs, min_cycle
from placement.gates import _layer_costs_numpy, _min_cycle, choose_gates, subnet_members


def _instance(rng, seed):
    n_layers = int(rng.integers(1, 7))
    n_sat = int(rng.integers(n_layers, 90))
    subnet = rng.integers(0, n_layers, n_sat)
    subnet[rng.random(n_sat) < 0.1] = -1  # outside the ring
    subnet[:n_layers] = np.arange(n_layers)  # every subnet has a member
    members = subnet_members(subnet, n_layers, rng.uniform(0, 360, n_sat))
    size = (members >= 0).sum(axis=1)
    k = int(rng.integers(1, 13))  # more than LANES: two blocks of next gates
    cand = np.take_along_axis(members, rng.integers(0, size[:, None], (n_layers, k)), axis=1)
    sources, inverse = np.unique(cand, return_inverse=True)
    src = inverse.reshape(cand.shape)
    rows = rng.uniform(0, 20, (sources.size, n_sat))
    if seed % 3 == 0:
        rows = rows.round()  # ties between members, and between slots
    if seed % 3 == 1:
        rows = np.floor(rows / 5)  # many ties, and zero costs
    rows[rng.random(rows.shape) < (0.3 if seed % 5 == 0 else 0.05)] = np.inf
    rows[np.arange(sources.size), sources] = 0.0
    cap = np.ones(n_sat, dtype=np.int64) if seed % 2 else rng.integers(0, 4, n_sat)
    n_experts = int(rng.integers(1, 21))  # often more than a subnet's free slots
    p = rng.uniform(0, 1, (n_layers, n_experts)) ** 2
    p[rng.random(p.shape) < 0.2] = 0.0
    p[rng.random(p.shape) < 0.1] = 1.0
    if seed % 4 == 0:
        p = p.round(1)  # equal probabilities
    return rows, src, members, cand, cap, -np.sort(-p, axis=1)


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


@pytest.mark.parametrize("seed", range(400))
def test_kernel_matches_numpy_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    rows, src, members, cand, cap, p_desc = _instance(rng, seed)
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


@pytest.mark.parametrize("seed", range(20))
def test_choose_gates_same_with_and_without_the_kernel(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n_sat, n_layers = int(rng.integers(12, 80)), int(rng.integers(2, 6))
    pos = rng.uniform(0, 100, n_sat).round(0 if seed % 2 else 3)

    def path_ms(s):
        return np.abs(pos - pos[np.asarray(s)][:, None])

    phase = rng.uniform(0, 360, n_sat)
    n_experts = int(rng.integers(1, n_sat // n_layers))
    probs = rng.uniform(0, 1, (n_layers, n_experts)).round(1)
    subnet = np.sort(phase).searchsorted(phase) * n_layers // n_sat
    cap = 1 if seed % 3 else rng.integers(1, 3, n_sat)
    kw = dict(arg_lat_deg=phase, capacity=cap, n_candidates=int(rng.integers(1, 9)))
    fast = gates._choose_gates(subnet, path_ms, probs, **kw)
    monkeypatch.setattr(gates, "PAIRWISE_BLOCK", 0)  # every layer on the NumPy path
    slow = gates._choose_gates(subnet, path_ms, probs, **kw)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


@pytest.mark.parametrize("seed", range(200))
def test_min_cycle_kernel_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    n_layers, k = int(rng.integers(1, 9)), int(rng.integers(1, 10))
    f = rng.uniform(0, 10, (n_layers, k, k))
    if seed % 2:
        f = f.round()  # ties: the first choice wins, as with np.argmin
    f[rng.random(f.shape) < (0.6 if seed % 7 == 0 else 0.1)] = np.inf
    if seed % 11 == 0:
        f[rng.random(f.shape) < 0.05] = np.nan  # np.argmin takes the first NaN
    choice = np.full(n_layers, -1, dtype=np.int64)
    min_cycle(f, choice)
    with np.errstate(invalid="ignore"):
        assert choice.tolist() == _min_cycle(f).tolist()


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
