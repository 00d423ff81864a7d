"""Routing over ISLs: hand-computable chain and grid, unreachable pairs, networkx as reference."""

import networkx as nx
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from latency import LinkProfile, NoRouteError, RoutingGraph, SpecError, load_link_profile

C_KM_S = 299_792.458
LINK = load_link_profile("laser-100g")
PAYLOAD = 8192
HOP_MS = PAYLOAD * 8 / 100e9 * 1e3 + 0.1  # transmission at 100 Gb/s + forwarding


def test_three_satellite_chain_by_hand():
    g = RoutingGraph.from_links([0, 1], [1, 2], [1000.0, 2000.0], [True, True], 3, LINK, PAYLOAD)
    d = g.latency_ms_from([0, 2])
    leg1 = 1000 / C_KM_S * 1e3 + HOP_MS
    leg2 = 2000 / C_KM_S * 1e3 + HOP_MS
    np.testing.assert_allclose(d, [[0, leg1, leg1 + leg2], [leg1 + leg2, leg2, 0]], rtol=1e-12)
    b = g.breakdown_from([0])
    assert b.hops.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(b.propagation_ms[0, 2], 3000 / C_KM_S * 1e3, rtol=1e-12)
    np.testing.assert_allclose(b.transmission_ms[0, 2], 2 * PAYLOAD * 8 / 100e9 * 1e3, rtol=1e-12)
    np.testing.assert_allclose(b.forwarding_ms[0, 2], 0.2, rtol=1e-12)
    assert g.path(0, 2) == [0, 1, 2] and g.path(2, 0) == [2, 1, 0]


def _grid(n, spacing_km=1000.0):
    a, b = [], []
    for r in range(n):
        for c in range(n):
            if c + 1 < n:
                a.append(r * n + c), b.append(r * n + c + 1)
            if r + 1 < n:
                a.append(r * n + c), b.append((r + 1) * n + c)
    return np.array(a), np.array(b), np.full(len(a), spacing_km)


def test_four_by_four_grid_manhattan_paths():
    a, b, d = _grid(4)
    g = RoutingGraph.from_links(a, b, d, np.ones(len(a), bool), 16, LINK, PAYLOAD)
    edge_ms = 1000 / C_KM_S * 1e3 + HOP_MS
    sources = [0, 5, 15]
    dist = g.latency_ms_from(sources)
    hops = g.hops_from(sources)
    for i, s in enumerate(sources):
        for t in range(16):
            manhattan = abs(s // 4 - t // 4) + abs(s % 4 - t % 4)
            assert hops[i, t] == manhattan
            assert dist[i, t] == pytest.approx(manhattan * edge_ms, rel=1e-12)
            path = g.path(s, t)
            assert len(path) == manhattan + 1
            # The path re-adds its weights to its reported length.
            assert g.path_latency_ms(path) == pytest.approx(dist[i, t], rel=1e-12)


def test_grid_with_a_slow_row_detours():
    # Make the link 0-1 long: the route 0 -> 1 then goes 0-4-5-1 (3 hops).
    a, b, d = _grid(4)
    d = d.copy()
    d[(a == 0) & (b == 1)] = 5000.0
    g = RoutingGraph.from_links(a, b, d, np.ones(len(a), bool), 16, LINK, PAYLOAD)
    assert g.path(0, 1) == [0, 4, 5, 1]
    assert g.latency_ms_from([0])[0, 1] == pytest.approx(3 * (1000 / C_KM_S * 1e3 + HOP_MS))


def test_unreachable_is_infinite_and_flagged():
    # Two components {0,1} and {2,3}; the link 1-2 exists but is down.
    g = RoutingGraph.from_links([0, 1, 2], [1, 2, 3], [500.0, np.nan, 500.0], [True, False, True], 5, LINK, 0)
    d = g.latency_ms_from([0])
    assert np.isinf(d[0, 2:]).all() and np.isfinite(d[0, :2]).all()
    assert g.reachable_from([0]).tolist() == [[True, True, False, False, False]]
    b = g.breakdown_from([0])
    assert b.hops[0].tolist() == [0, 1, -1, -1, -1]
    assert np.isinf(b.propagation_ms[0, 2])
    with pytest.raises(NoRouteError, match="satellite 3 is unreachable from satellite 0"):
        g.path(0, 3)


def test_parallel_links_keep_the_shortest_and_self_loops_vanish():
    g = RoutingGraph.from_links([0, 1, 0, 1], [1, 0, 0, 1], [900.0, 300.0, 1.0, 1.0], [True] * 4, 2, LINK, 0)
    assert g.latency_ms_from([0])[0, 1] == pytest.approx(300 / C_KM_S * 1e3 + 0.1)


def test_bad_inputs():
    with pytest.raises(SpecError, match="outside|lie in"):
        RoutingGraph.from_links([0], [7], [1.0], [True], 3, LINK, 0)
    with pytest.raises(SpecError, match="finite"):
        RoutingGraph.from_links([0], [1], [np.nan], [True], 3, LINK, 0)
    g = RoutingGraph.from_links([0], [1], [1.0], [True], 3, LINK, 0)
    with pytest.raises(SpecError, match="source satellite 9"):
        g.latency_ms_from([9])


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.floats(0.05, 0.5), st.integers(0, 2**31 - 1))
def test_matches_networkx_on_random_graphs(n_sat, density, seed):
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n_sat) for j in range(i + 1, n_sat) if rng.random() < density]
    a = np.array([p[0] for p in pairs], dtype=int)
    b = np.array([p[1] for p in pairs], dtype=int)
    dist_km = rng.uniform(100, 5000, len(pairs))
    up = rng.random(len(pairs)) < 0.8
    g = RoutingGraph.from_links(a, b, dist_km, up, n_sat, LINK, PAYLOAD)
    G = g.to_networkx()
    assert G.number_of_edges() == int(up.sum())
    sources = rng.choice(n_sat, size=min(3, n_sat), replace=False)
    ours = g.latency_ms_from(sources)
    bd = g.breakdown_from(sources)
    for i, s in enumerate(sources):
        ref = nx.single_source_dijkstra_path_length(G, int(s), weight="weight")
        for t in range(n_sat):
            if t in ref:
                assert ours[i, t] == pytest.approx(ref[t], rel=1e-12, abs=1e-12)
                path = g.path(int(s), t)
                assert g.path_latency_ms(path) == pytest.approx(ours[i, t], rel=1e-12, abs=1e-12)
                assert bd.hops[i, t] == len(path) - 1
            else:
                assert np.isinf(ours[i, t]) and bd.hops[i, t] == -1
    finite = np.isfinite(ours)
    total = bd.propagation_ms + bd.transmission_ms + bd.forwarding_ms
    np.testing.assert_allclose(total[finite], ours[finite], rtol=1e-12, atol=1e-9)


def test_from_dataset_picks_the_timestep():
    ds = xr.Dataset(
        {"distance_km": (("time", "link"), [[1000.0, 1000.0], [1000.0, 1000.0]]),
         "up": (("time", "link"), [[True, True], [True, False]])},
        coords={"sat_a": ("link", [0, 1]), "sat_b": ("link", [1, 2]), "kind": ("link", ["intra", "intra"])})
    g0 = RoutingGraph.from_dataset(ds, time=0, payload_bytes=PAYLOAD)
    g1 = RoutingGraph.from_dataset(ds, time=1, payload_bytes=PAYLOAD)
    assert np.isfinite(g0.latency_ms_from([0])[0, 2]) and np.isinf(g1.latency_ms_from([0])[0, 2])
    with pytest.raises(SpecError, match="2 timesteps"):
        RoutingGraph.from_dataset(ds, payload_bytes=PAYLOAD)


def test_ideal_link_costs_pure_light_time():
    ideal = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    g = RoutingGraph.from_links([0], [1], [C_KM_S], [True], 2, ideal, PAYLOAD)
    assert g.latency_ms_from([0])[0, 1] == pytest.approx(1000.0)


def _layout_by_scipy(sat_a, sat_b, distance_km, n_sat):
    """The graph's arrays as the plain NumPy/SciPy construction makes them: sorted links, shortest of parallels, CSR."""
    from scipy.sparse import csr_matrix

    a, b, d = (np.asarray(x) for x in (sat_a, sat_b, distance_km))
    keep = a != b
    a, b, d = a[keep], b[keep], d[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(lo.size, dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, d = lo[first], hi[first], d[first]
    w = LINK.propagation_ms(d) + HOP_MS
    csr = csr_matrix((np.concatenate([w, w]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))),
                     shape=(n_sat, n_sat))
    return lo, hi, d, csr


@settings(max_examples=40, deadline=None)
@given(n_sat=st.integers(2, 30), n_link=st.integers(0, 60), parallel=st.booleans(), seed=st.integers(0, 10_000))
def test_graphs_sharing_links_share_their_layout_and_match_scipys(n_sat, n_link, parallel, seed):
    """Twin of the layout reused between graphs with the same links (a sweep's steps): SciPy's CSR, bit for bit."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_sat, n_link)
    b = rng.integers(0, n_sat, n_link)
    if not parallel:  # distinct pairs, the shape a sweep's +Grid links have
        pairs = {}
        for x, y in zip(a.tolist(), b.tolist()):
            pairs.setdefault((min(x, y), max(x, y)), (x, y))
        a = np.array([p[0] for p in pairs.values()], dtype=np.int64)
        b = np.array([p[1] for p in pairs.values()], dtype=np.int64)
    for _ in range(3):  # the same links, new lengths: the second and third reuse the first's layout
        d = rng.uniform(500.0, 5000.0, a.size)
        g = RoutingGraph.from_links(a, b, d, np.ones(a.size, dtype=bool), n_sat, LINK, PAYLOAD)
        lo, hi, dist, csr = _layout_by_scipy(a, b, d, n_sat)
        np.testing.assert_array_equal(g.sat_a, lo)
        np.testing.assert_array_equal(g.sat_b, hi)
        np.testing.assert_array_equal(g.distance_km, dist)
        m = g.adjacency_ms
        np.testing.assert_array_equal(m.indptr, csr.indptr)
        np.testing.assert_array_equal(m.indices, csr.indices)
        np.testing.assert_array_equal(m.data, csr.data)
        if n_sat:
            from scipy.sparse.csgraph import dijkstra

            np.testing.assert_array_equal(g.latency_ms_from(np.arange(n_sat)), dijkstra(csr, directed=False))


def test_the_links_key_names_the_links_not_their_lengths():
    one = RoutingGraph.from_links([0, 1], [1, 2], [1000.0, 2000.0], [True, True], 3, LINK, PAYLOAD)
    longer = RoutingGraph.from_links([0, 1], [1, 2], [1500.0, 2500.0], [True, True], 3, LINK, PAYLOAD)
    other = RoutingGraph.from_links([0, 0], [1, 2], [1000.0, 2000.0], [True, True], 3, LINK, PAYLOAD)
    assert one.links_key == longer.links_key != other.links_key
    assert not longer.sat_a.flags.writeable  # shared by every graph with these links
