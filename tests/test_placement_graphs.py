"""Small synthetic constellations for the placement tests, and checks of them.

A +Grid torus of ``n_planes × n_slots`` satellites with random per-edge
latencies, shortest paths by ``scipy.sparse.csgraph.dijkstra``; phases like
a Walker-delta shell (slot spacing 360/n_slots, a small offset per plane).
The oracle counts its calls and sources so tests can bound them.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, shortest_path


class TorusScenario:
    def __init__(self, n_planes=6, n_slots=8, seed=0, intra_ms=(3.0, 4.0), inter_ms=(1.0, 2.0), phasing=1):
        rng = np.random.default_rng(seed)
        n = n_planes * n_slots
        idx = lambda p, s: (p % n_planes) * n_slots + (s % n_slots)
        a, b, w = [], [], []
        for p in range(n_planes):
            for s in range(n_slots):
                a += [idx(p, s), idx(p, s)]
                b += [idx(p, s + 1), idx(p + 1, s)]
                w += [rng.uniform(*intra_ms), rng.uniform(*inter_ms)]
        self.graph = coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
        self.n_sat = n
        self.plane = np.repeat(np.arange(n_planes), n_slots)
        slot = np.tile(np.arange(n_slots), n_planes)
        self.arg_lat_deg = (slot * 360.0 / n_slots + self.plane * phasing * 360.0 / n) % 360.0
        self.calls = 0
        self.sources = 0

    def path_ms(self, sources):
        sources = np.asarray(sources)
        self.calls += 1
        self.sources += sources.size
        return dijkstra(self.graph, directed=False, indices=sources)

    def all_pairs_ms(self):
        return shortest_path(self.graph, directed=False)

    def nearest_ms(self):
        """Cheapest incident link of each satellite: r(s) of the lower bound."""
        g = self.graph + self.graph.T
        g = g.tocsr()
        return np.array([g.data[g.indptr[i]:g.indptr[i + 1]].min() for i in range(self.n_sat)])


def random_probs(n_layers, n_experts, top_k, seed):
    """Per-layer activation probabilities summing to top_k (Zipf-like, shuffled)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_experts, 0.7), size=n_layers) * top_k
    # Push mass over 1 onto the others so every row stays a valid profile.
    for _ in range(n_experts):
        over = np.clip(p - 1.0, 0, None)
        p = np.minimum(p, 1.0) + over.sum(axis=1, keepdims=True) * (p < 1.0) / np.maximum((p < 1.0).sum(axis=1, keepdims=True), 1)
    return np.clip(p, 0, 1)


def test_oracle_is_symmetric_and_counts_calls():
    sc = TorusScenario(seed=3)
    d = sc.path_ms(np.arange(sc.n_sat))
    np.testing.assert_allclose(d, d.T)
    assert sc.calls == 1 and sc.sources == sc.n_sat


def test_nearest_ms_is_the_closest_other_satellite():
    sc = TorusScenario(seed=4)
    d = sc.all_pairs_ms()
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(sc.nearest_ms(), d.min(axis=0))


def test_random_probs_sum_to_top_k():
    p = random_probs(5, 8, 2, seed=1)
    np.testing.assert_allclose(p.sum(axis=1), 2.0)
    assert p.min() >= 0 and p.max() <= 1
