"""Benchmark: per-timestep routing cost of RoutingGraph against networkx (and plain csgraph), in one run.

Starlink shell 1 (Walker 53:1584/72/1 at 550 km, +Grid ISLs from
``orbits.isl_links``: 3,168 candidate links), 32 gates spread over the
constellation. For every timestep, both sides do the same work from the
same link arrays:

* **ours**: :meth:`latency.RoutingGraph.from_links` (weights = distance / c +
  hidden-state bytes / rate + forwarding) and shortest paths with
  predecessors from the 32 gates (:meth:`~latency.RoutingGraph.latency_ms_from`, a Numba
  Dijkstra kernel whose test twin is ``scipy.sparse.csgraph.dijkstra``);
* **csgraph**: ``scipy.sparse.csgraph.dijkstra`` with predecessors from the same gates on the
  same CSR matrix, for reference;
* **networkx**: an ``nx.Graph`` with the same edge weights and
  ``nx.dijkstra_predecessor_and_distance`` from each gate.

The distances of both are checked equal (to 1e-9 ms) at every step. Printed:
mean time per timestep of each and the ratio. Goal: ≥ 20×.

Run::

    python bench/routing.py                  # 20 timesteps, 30 s apart
    python bench/routing.py --steps 60 --step-s 10
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from latency import RoutingGraph, load_link_profile, load_model
from orbits import isl_links, propagate, time_grid, walker


def ours(sat_a, sat_b, distance_km, up, n_sat, link, payload_bytes, gates):
    graph = RoutingGraph.from_links(sat_a, sat_b, distance_km, up, n_sat, link, payload_bytes)
    return graph.latency_ms_from(gates)


def with_csgraph(sat_a, sat_b, distance_km, up, n_sat, link, payload_bytes, gates):
    graph = RoutingGraph.from_links(sat_a, sat_b, distance_km, up, n_sat, link, payload_bytes)
    dist, _ = dijkstra(graph.adjacency_ms, directed=True, indices=gates, return_predecessors=True)
    return dist


def with_networkx(sat_a, sat_b, distance_km, up, n_sat, link, payload_bytes, gates):
    hop_ms = link.transmission_ms(payload_bytes) + link.forwarding_delay_ms
    weight_ms = distance_km[up] / link.speed_of_light_km_per_s * 1e3 + hop_ms
    graph = nx.Graph()
    graph.add_nodes_from(range(n_sat))
    graph.add_weighted_edges_from(zip(sat_a[up].tolist(), sat_b[up].tolist(), weight_ms.tolist()))
    out = np.full((len(gates), n_sat), np.inf)
    for i, gate in enumerate(gates):
        _, dist = nx.dijkstra_predecessor_and_distance(graph, int(gate), weight="weight")
        out[i, list(dist)] = list(dist.values())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timesteps to time (default 20)")
    parser.add_argument("--step-s", type=float, default=30.0, help="time between steps, s (default 30)")
    parser.add_argument("--gates", type=int, default=32, help="gate satellites (default 32)")
    args = parser.parse_args(argv)

    constellation = walker("53:1584/72/1", altitude_km=550)
    times = time_grid(constellation.reference_epoch, args.step_s * (args.steps - 1), args.step_s)
    state = propagate(constellation, times)
    isl = isl_links(constellation, state)
    sat_a, sat_b = isl["sat_a"].values, isl["sat_b"].values
    distance_km, up = isl["distance_km"].values, isl["up"].values
    n_sat = state.sizes["sat"]
    link = load_link_profile()
    payload_bytes = load_model("llama-moe-3.5b").hidden_state_bytes
    gates = np.linspace(0, n_sat, args.gates, endpoint=False).astype(np.int64)

    # Warm-up (imports, first-call allocations) outside the timing.
    ours(sat_a, sat_b, distance_km[0], up[0], n_sat, link, payload_bytes, gates)
    t_ours = t_nx = t_cs = 0.0
    n = distance_km.shape[0]
    for step in range(n):
        start = time.perf_counter()
        a = ours(sat_a, sat_b, distance_km[step], up[step], n_sat, link, payload_bytes, gates)
        t_ours += time.perf_counter() - start
        start = time.perf_counter()
        c = with_csgraph(sat_a, sat_b, distance_km[step], up[step], n_sat, link, payload_bytes, gates)
        t_cs += time.perf_counter() - start
        if not np.array_equal(a, c):
            raise SystemExit(f"step {step}: RoutingGraph and csgraph distances differ")
        start = time.perf_counter()
        b = with_networkx(sat_a, sat_b, distance_km[step], up[step], n_sat, link, payload_bytes, gates)
        t_nx += time.perf_counter() - start
        if not np.allclose(a, b, rtol=0, atol=1e-9):
            raise SystemExit(f"step {step}: csgraph and networkx distances differ "
                             f"(max {np.nanmax(np.abs(a - b)):.3g} ms)")
    per_ours_ms, per_nx_ms, per_cs_ms = t_ours / n * 1e3, t_nx / n * 1e3, t_cs / n * 1e3
    print(f"Starlink shell 1: {n_sat} satellites, {int(up[0].sum())} up links at step 0, "
          f"{len(gates)} gates, {n} timesteps {args.step_s:g} s apart (distances checked equal)")
    print(f"  ours (RoutingGraph): {per_ours_ms:8.2f} ms per timestep")
    print(f"  scipy csgraph:       {per_cs_ms:8.2f} ms per timestep (graph + dijkstra, reference)")
    print(f"  networkx:            {per_nx_ms:8.2f} ms per timestep")
    print(f"  ratio:               {per_nx_ms / per_ours_ms:8.1f}x faster than networkx (goal >= 20x)")


if __name__ == "__main__":
    main()
