"""Time the placement strategies on a Starlink-like +Grid shell (72 × 22, 1,584 satellites).

Prints, measured in one run: time per call with the oracle's Dijkstras
separated out, oracle calls and sources, and the expected token latency of
every strategy relative to space-xnet. The shell is synthetic (a torus of
ISLs with jittered latencies: ~6.6 ms in-plane, ~2 ms across planes), so
the ratios say how the algorithms behave, not what Starlink would measure.

Run: ``python bench/placement_bench.py [--layers 32] [--experts 16] [--top-k 4]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

import placement


class TimedOracle:
    def __init__(self, graph):
        self.graph, self.calls, self.sources, self.seconds = graph, 0, 0, 0.0

    def __call__(self, sources):
        t0 = time.perf_counter()
        out = dijkstra(self.graph, directed=False, indices=np.asarray(sources))
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.sources += len(sources)
        return out

    def reset(self):
        self.calls, self.sources, self.seconds = 0, 0, 0.0


def shell(n_planes=72, n_slots=22, phasing=1, seed=0):
    rng = np.random.default_rng(seed)
    n = n_planes * n_slots
    idx = lambda p, s: (p % n_planes) * n_slots + (s % n_slots)
    a, b, w = [], [], []
    for p in range(n_planes):
        for s in range(n_slots):
            a += [idx(p, s), idx(p, s)]
            b += [idx(p, s + 1), idx(p + 1, s)]
            w += [6.6 * rng.uniform(0.97, 1.03), 2.0 * rng.uniform(0.7, 1.3)]
    graph = coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
    plane = np.repeat(np.arange(n_planes), n_slots)
    slot = np.tile(np.arange(n_slots), n_planes)
    phase = (slot * 360.0 / n_slots + plane * phasing * 360.0 / n) % 360.0
    return graph, phase, plane


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--experts", type=int, default=16)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--capacity", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    graph, phase, plane = shell()
    oracle = TimedOracle(graph)
    rng = np.random.default_rng(0)
    probs = np.clip(rng.dirichlet(np.full(args.experts, 0.5), size=args.layers) * args.top_k, 0, 1)
    kw = dict(capacity=args.capacity, plane=plane, gate_time_ms=0.5, expert_time_ms=1.0)
    g = graph + graph.T
    nearest = np.array([g.data[g.indptr[i]:g.indptr[i + 1]].min() for i in range(g.shape[0])])
    print(f"{phase.size} satellites, {args.layers} layers × {args.experts} experts, top-{args.top_k}, "
          f"capacity {args.capacity}")
    print(f"{'strategy':18s} {'ms/call':>9s} {'w/o oracle':>10s} {'calls':>6s} {'sources':>8s} {'E[token] ms':>12s} {'÷ space-xnet':>12s}")
    results = {}
    for name in ["space-xnet", "joint", "random", "ring-random", "random-optimized", "lower-bound"]:
        fn = placement.STRATEGIES[name]
        times, inner = [], []
        repeat = 1 if name in ("joint", "lower-bound") else args.repeat
        for i in range(repeat):
            oracle.reset()
            t0 = time.perf_counter()
            extra = {"nearest_ms": nearest} if name == "lower-bound" else {}
            out = fn(phase, oracle, probs, seed=i, **kw, **extra)
            times.append(time.perf_counter() - t0)
            inner.append(times[-1] - oracle.seconds)
        calls, sources = oracle.calls, oracle.sources
        if isinstance(out, placement.Placement):
            out.check(capacity=args.capacity)
            out = placement.evaluate(out, oracle, probs, 0.5, 1.0)
        results[name] = out.total_ms
        print(f"{name:18s} {1e3 * np.median(times):9.1f} {1e3 * np.median(inner):10.1f} {calls:6d} {sources:8d} "
              f"{out.total_ms:12.1f} {out.total_ms / results.get('space-xnet', out.total_ms):12.2f}")
    for belt in (26, 36):
        oracle.reset()
        t0 = time.perf_counter()
        pl = placement.space_xnet(phase, oracle, probs, belt_planes=belt, **kw)
        dt = time.perf_counter() - t0
        ev = placement.evaluate(pl, oracle, probs, 0.5, 1.0).total_ms
        print(f"{'space-xnet belt ' + str(belt):18s} {1e3 * dt:9.1f} {'':10s} {'':6s} {'':8s} {ev:12.1f} "
              f"{ev / results['space-xnet']:12.2f}")


if __name__ == "__main__":
    main()
