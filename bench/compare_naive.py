"""Benchmark: one hour of Starlink shell 1 at 1 s, the way users do it today against Space-XNet's pipeline.

The job: for every second of one hour, where is every satellite of Starlink
shell 1 (Walker 53:1584/72/1 at 550 km, built in, 3,600 steps), which
+Grid inter-satellite links exist and how long they are, and the network
latency from the 32 layer gates of a Space-XNet placement to every
satellite (what token latency needs at each step).

**Naive** (the usual scripts, e.g. Hypatia's satellite-network state
generation), per step:

* Skyfield: for every satellite an ``EarthSatellite`` built from its TLE
  lines, ``sat.at(t).frame_xyz(itrs)`` at that step (ITRS km, no polar
  motion);
* ISLs: Hypatia's +Grid rule (slot ``s`` of plane ``p`` to slot ``s+1`` of
  the same plane and to slot ``s`` of plane ``p+1``), a Python loop over the
  3,168 pairs for the length, an ``nx.Graph`` weighted by light time;
* routing: ``nx.floyd_warshall_numpy`` all-pairs shortest paths, as Hypatia
  computes its forwarding state per step.

It is far too slow for 3,600 steps, so it runs on ``--naive-steps`` steps
spread over the hour and its time is scaled linearly to 3,600 steps (each
step costs the same: same graph size, same satellites); the output says so.

**Space-XNet**, on all 3,600 steps: ``orbits.iter_propagate`` (SGP4 over a
``SatrecArray``, TEME → ITRS with polar motion, geodetic, in chunks),
``orbits.isl_links`` per chunk (+Grid with Earth-occlusion, range and
phasing rules, Numba), and per step ``latency.RoutingGraph.from_links``
(weights: light time + hidden-state transmission + per-hop forwarding) with
``latency_ms_from`` the 32 gates (``scipy.sparse.csgraph`` Dijkstra). The
gates come from one ``space-xnet`` placement at the first step
(``spacexnet.scenario.snapshot`` + ``spacexnet.compare.place``), timed apart.

The two sides do not compute the same thing: the naive side computes all
1,584 sources because that is what those scripts do, Space-XNet only the 32
that token latency needs. So a third line times ``csgraph`` all-pairs on
Space-XNet's graph for the naive steps, for a like-for-like routing figure.
Both positions are compared at the naive steps (they differ by polar
motion, about 10 m).

Each side runs in its own child process (one after the other), so the peak
resident memory (``ru_maxrss``) printed for each is its own.

Run::

    python bench/compare_naive.py                    # 3 naive steps
    python bench/compare_naive.py --naive-steps 5 --duration-s 3600 --step-s 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import timezone

import numpy as np

N_GATES = 32


def _scenario(duration_s, step_s):
    import orbits

    constellation = orbits.walker("53:1584/72/1", altitude_km=550)
    times = orbits.time_grid(constellation.reference_epoch, duration_s, step_s)
    return constellation, times


def _naive_indices(n_times, n_naive):
    return np.unique(np.linspace(0, n_times - 1, n_naive).round().astype(int))


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_naive(duration_s, step_s, n_naive):
    import networkx as nx
    from skyfield.api import EarthSatellite, load
    from skyfield.framelib import itrs

    import latency
    import orbits

    constellation, times = _scenario(duration_s, step_s)
    steps = _naive_indices(times.size, n_naive)
    c_km_s = latency.SPEED_OF_LIGHT_KM_S
    t0 = time.perf_counter()
    ts = load.timescale(builtin=True)
    lines = orbits.to_tle(constellation).splitlines()
    sats = [EarthSatellite(lines[i + 1], lines[i + 2], lines[i], ts) for i in range(0, len(lines), 3)]
    setup_s = time.perf_counter() - t0

    planes, per_plane = 72, 22
    pairs = []
    for p in range(planes):
        for s in range(per_plane):
            i = p * per_plane + s
            pairs.append((i, p * per_plane + (s + 1) % per_plane))
            pairs.append((i, ((p + 1) % planes) * per_plane + s))

    propagate_s = routing_s = 0.0
    positions = {}
    for k in steps:
        t = ts.from_datetime(times[k].astype("datetime64[us]").item().replace(tzinfo=timezone.utc))
        a = time.perf_counter()
        r_km = np.array([sat.at(t).frame_xyz(itrs).km for sat in sats])
        b = time.perf_counter()
        graph = nx.Graph()
        graph.add_nodes_from(range(len(sats)))
        for i, j in pairs:
            graph.add_edge(i, j, weight=float(np.linalg.norm(r_km[i] - r_km[j])) / c_km_s * 1e3)
        dist_ms = nx.floyd_warshall_numpy(graph, weight="weight")
        c = time.perf_counter()
        propagate_s += b - a
        routing_s += c - b
        positions[int(k)] = r_km.tolist()
        assert np.isfinite(dist_ms).all()
    return dict(steps=[int(k) for k in steps], n_times=int(times.size), setup_s=setup_s,
                propagate_s=propagate_s, routing_s=routing_s, peak_mib=_peak_mib(), positions=positions)


def run_ours(duration_s, step_s, n_naive):
    from scipy.sparse.csgraph import dijkstra

    import latency
    import orbits
    from spacexnet.compare import place
    from spacexnet.scenario import model_setup, snapshot

    constellation, times = _scenario(duration_s, step_s)
    steps = set(_naive_indices(times.size, n_naive).tolist())
    t0 = time.perf_counter()
    setup = model_setup()
    snap = snapshot(constellation, times[0], setup)
    gates = np.asarray(place(snap, setup).gate_sat)
    place_s = time.perf_counter() - t0
    assert gates.size == N_GATES

    link, payload = setup.link_profile, setup.model.hidden_state_bytes
    n_sat = len(constellation)
    propagate_s = links_s = routing_s = allpairs_s = 0.0
    positions, reachable, offset = {}, [], 0
    t_start = time.perf_counter()
    chunks = orbits.iter_propagate(constellation, times)
    while True:
        a = time.perf_counter()
        state = next(chunks, None)
        b = time.perf_counter()
        propagate_s += b - a
        if state is None:
            break
        isl = orbits.isl_links(constellation, state)
        c = time.perf_counter()
        links_s += c - b
        sat_a, sat_b = isl["sat_a"].values, isl["sat_b"].values
        distance_km, up = isl["distance_km"].values, isl["up"].values
        for t in range(state.sizes["time"]):
            d = time.perf_counter()
            graph = latency.RoutingGraph.from_links(sat_a, sat_b, distance_km[t], up[t], n_sat, link, payload)
            dist_ms = graph.latency_ms_from(gates)
            routing_s += time.perf_counter() - d
            reachable.append(float(np.isfinite(dist_ms).mean()))
            if offset + t in steps:
                positions[offset + t] = state["position_itrs_km"].values[t].tolist()
                e = time.perf_counter()
                dijkstra(graph.adjacency_ms, directed=False)
                allpairs_s += time.perf_counter() - e
        offset += state.sizes["time"]
    total_s = time.perf_counter() - t_start - allpairs_s
    return dict(n_times=offset, place_s=place_s, propagate_s=propagate_s, links_s=links_s, routing_s=routing_s,
                total_s=total_s, allpairs_s=allpairs_s, n_allpairs=len(steps), peak_mib=_peak_mib(),
                reachable_min=min(reachable), positions={str(k): v for k, v in positions.items()})


def _child(side, args):
    cmd = [sys.executable, __file__, "--side", side, "--duration-s", str(args.duration_s), "--step-s",
           str(args.step_s), "--naive-steps", str(args.naive_steps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=float, default=3600.0, help="span, s (default one hour)")
    parser.add_argument("--step-s", type=float, default=1.0, help="step, s (default 1)")
    parser.add_argument("--naive-steps", type=int, default=3, help="steps the naive side runs (default 3)")
    parser.add_argument("--side", choices=["naive", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        run = run_naive if args.side == "naive" else run_ours
        print(json.dumps(run(args.duration_s, args.step_s, args.naive_steps)))
        return

    naive = _child("naive", args)
    ours = _child("ours", args)
    n_times, n_naive = ours["n_times"], len(naive["steps"])
    scale = n_times / n_naive
    naive_step_s = (naive["propagate_s"] + naive["routing_s"]) / n_naive
    naive_total_s = naive_step_s * n_times
    diffs = [np.linalg.norm(np.array(naive["positions"][str(k)]) - np.array(ours["positions"][str(k)]), axis=1).max()
             for k in naive["steps"]]

    print(f"Starlink shell 1 (1,584 satellites, +Grid), {n_times} steps of {args.step_s:g} s, 32 gates")
    print(f"naive (Skyfield per satellite + networkx Floyd-Warshall all pairs), measured on {n_naive} of "
          f"{n_times} steps {naive['steps']} and scaled x{scale:.0f}:")
    print(f"  Skyfield positions  {naive['propagate_s'] / n_naive:9.3f} s/step")
    print(f"  ISL graph + routing {naive['routing_s'] / n_naive:9.3f} s/step")
    print(f"  total               {naive_step_s:9.3f} s/step -> {naive_total_s:10.1f} s for {n_times} steps "
          f"(estimate; + {naive['setup_s']:.2f} s to build the EarthSatellites)")
    print(f"  peak RSS            {naive['peak_mib']:9.0f} MiB (measured on the subsample)")
    print(f"space-xnet (iter_propagate + isl_links + csgraph from 32 gates), all {n_times} steps measured:")
    print(f"  propagate           {ours['propagate_s']:9.2f} s")
    print(f"  ISL links           {ours['links_s']:9.2f} s")
    print(f"  routing (32 gates)  {ours['routing_s']:9.2f} s ({1e3 * ours['routing_s'] / n_times:.2f} ms/step)")
    print(f"  total               {ours['total_s']:9.2f} s  (+ {ours['place_s']:.2f} s for the placement "
          f"that chose the gates; min reachable fraction {ours['reachable_min']:.3f})")
    print(f"  peak RSS            {ours['peak_mib']:9.0f} MiB")
    print(f"ratio naive / space-xnet for the job: {naive_total_s / ours['total_s']:.0f}x "
          f"(naive estimated from {n_naive} steps)")
    skyfield_total_s = naive["propagate_s"] / n_naive * n_times
    print(f"propagation alone: Skyfield {skyfield_total_s:.0f} s (scaled) vs iter_propagate {ours['propagate_s']:.1f} s "
          f"({skyfield_total_s / ours['propagate_s']:.0f}x)")
    allpairs_step_s = ours["allpairs_s"] / ours["n_allpairs"]
    print(f"like-for-like routing, all 1,584 sources per step: networkx Floyd-Warshall "
          f"{naive['routing_s'] / n_naive:.3f} s vs csgraph Dijkstra {allpairs_step_s:.3f} s "
          f"({naive['routing_s'] / n_naive / allpairs_step_s:.0f}x)")
    print(f"max ITRS position difference Skyfield vs space-xnet at the sampled steps: {1e3 * max(diffs):.1f} m "
          "(polar motion, applied by space-xnet only)")


if __name__ == "__main__":
    main()
