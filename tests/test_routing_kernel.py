"""The routing kernel against its twin, scipy's Dijkstra: same latencies bit for bit, consistent hops."""

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

import latency
from latency.specs import LinkProfile


def _random_graph(rng, n_sat, n_link, integer_km=False):
    a = rng.integers(0, n_sat, n_link)
    b = rng.integers(0, n_sat, n_link)
    d = rng.integers(1, 4, n_link) * 1000.0 if integer_km else rng.uniform(100.0, 5000.0, n_link)
    up = rng.random(n_link) < 0.9
    return latency.RoutingGraph.from_links(a, b, d, up, n_sat, None, 8192)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threads", [1, 2])
def test_latencies_equal_scipy_bit_for_bit(seed, threads):
    rng = np.random.default_rng(seed)
    # Integer lengths make many exact ties between paths; sparse graphs leave some nodes unreachable.
    g = _random_graph(rng, 60 + 40 * seed, 90 + 70 * seed, integer_km=seed % 2 == 0)
    g.threads = threads
    src = rng.choice(g.n_sat, size=min(17, g.n_sat), replace=False)
    ours = g.latency_ms_from(src)
    theirs = dijkstra(g.adjacency_ms, directed=True, indices=src)
    np.testing.assert_array_equal(ours, theirs)
    hops = g.hops_from(src)
    np.testing.assert_array_equal(hops < 0, ~np.isfinite(theirs))


def test_hops_follow_the_returned_paths():
    rng = np.random.default_rng(7)
    g = _random_graph(rng, 80, 200)
    src = [0, 5, 9]
    hops = g.hops_from(src)
    lat = g.latency_ms_from(src)
    for i, s in enumerate(src):
        for t in rng.choice(g.n_sat, 25, replace=False):
            if not np.isfinite(lat[i, t]):
                assert hops[i, t] == -1
                continue
            nodes = g.path(s, int(t))
            assert len(nodes) - 1 == hops[i, t]
            # networkx's rule: the weights of the returned path add up to its reported length.
            assert g.path_latency_ms(nodes) == pytest.approx(lat[i, t], rel=1e-12)


def test_single_node_and_isolated_sources():
    free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    g = latency.RoutingGraph.from_links([0], [1], [3000.0], [True], 3, free, 0)
    np.testing.assert_array_equal(g.hops_from([2, 0]), [[-1, -1, 0], [0, 1, -1]])
    assert g.latency_ms_from([]).shape == (0, 3)


def test_a_graph_whose_tree_a_later_step_rewrote_still_gives_its_own_paths():
    """The memory rewrites a source's tree in place at the next step; the earlier graph's paths stay its own."""
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 40, 120), rng.integers(0, 40, 120)
    lengths = [rng.uniform(100.0, 3000.0, 120) for _ in range(2)]  # two unrelated steps: other trees
    memory = latency.SearchMemory()
    graphs = []
    for km in lengths:
        g = latency.RoutingGraph.from_links(a, b, km, np.ones(120, bool), 40, None, 8192)
        g.memory = memory
        g.latency_ms_from([0, 3])
        graphs.append(g)
        memory.next_step()
    first, fresh = graphs[0], latency.RoutingGraph.from_links(a, b, lengths[0], np.ones(120, bool), 40, None, 8192)
    np.testing.assert_array_equal(first.hops_from([0, 3]), fresh.hops_from([0, 3]))
    reachable = np.flatnonzero(np.isfinite(fresh.latency_ms_from([0])[0]))
    assert [first.path(0, int(t)) for t in reachable] == [fresh.path(0, int(t)) for t in reachable]
    assert first.hops_from([0]).tolist() != graphs[1].hops_from([0]).tolist()  # the trees did differ


def test_a_memory_hands_each_source_its_newest_tree_for_kept_steps():
    """A source searched at some steps and not others starts from its newest tree, until it is too old."""
    a, b = np.arange(9), np.arange(1, 10)  # a chain of 10 satellites
    memory = latency.SearchMemory()
    searched = {0: [0, 5, 9], 1: [0, 5], 2: [5]}  # step -> sources searched
    trees = {}
    for step in range(3 + memory.kept_steps):
        g = latency.RoutingGraph.from_links(a, b, 1000.0 + step + np.arange(9), np.ones(9, bool), 10, None, 0)
        g.memory = memory
        if step in searched:
            g.latency_ms_from(searched[step])  # one batch a step: a later gather spans several batches
            for s in searched[step]:
                store, rows = g._tree_rows([s])
                trees[s] = (step, store.pred[rows[0]].copy(), store.order[rows[0]].copy())
        memory.next_step()
        store, rows, warm, same = memory.rows(np.array([0, 5, 9]), 10, g.links_key)
        for i, s in enumerate((0, 5, 9)):
            age = step + 1 - trees[s][0]  # the tree's age at the next step
            assert warm[i] == (age <= memory.kept_steps), (step, s)
            if warm[i]:
                np.testing.assert_array_equal(store.pred[rows[i]], trees[s][1])
                np.testing.assert_array_equal(store.order[rows[i]], trees[s][2])
                assert same[i]
    assert len(memory) == 0  # every tree is older than kept_steps: none kept


@pytest.mark.parametrize("seed", range(8))
def test_searches_started_from_an_earlier_tree_equal_fresh_ones(seed):
    # The next timestep: every link a little longer or shorter, some links cut, some restored.
    rng = np.random.default_rng(100 + seed)
    n_sat, n_link = 50 + 30 * seed, 120 + 60 * seed
    a, b = rng.integers(0, n_sat, n_link), rng.integers(0, n_sat, n_link)
    ties = seed % 2 == 0  # integer lengths: many equal paths
    d0 = rng.integers(1, 4, n_link) * 1000.0 if ties else rng.uniform(100.0, 5000.0, n_link)
    up0 = rng.random(n_link) < 0.9
    memory = latency.SearchMemory()
    src = rng.choice(n_sat, size=min(20, n_sat), replace=False)
    d, up = d0, up0
    for step in range(4):
        g = latency.RoutingGraph.from_links(a, b, d, up, n_sat, None, 8192)
        g.memory = memory
        cold = latency.RoutingGraph.from_links(a, b, d, up, n_sat, None, 8192)
        if step:
            assert len(memory) == src.size  # every source starts warm
        np.testing.assert_array_equal(g.latency_ms_from(src), cold.latency_ms_from(src))
        np.testing.assert_array_equal(g.latency_ms_from(src), dijkstra(cold.adjacency_ms, directed=True, indices=src))
        np.testing.assert_array_equal(g.hops_from(src), cold.hops_from(src))
        store, rows = g._tree_rows(src.tolist())
        cold_store, cold_rows = cold._tree_rows(src.tolist())
        np.testing.assert_array_equal(store.pred[rows], cold_store.pred[cold_rows])  # the same predecessors
        memory.next_step()
        jitter = 1000.0 * rng.integers(-1, 2, n_link) if ties else rng.normal(0.0, 30.0, n_link)
        d = np.maximum(d + jitter, 100.0)
        if seed % 4 < 2:  # otherwise the same links: the trees' stored link positions are reused
            up = np.where(rng.random(n_link) < 0.1, ~up, up)
