"""Benchmark: the full real Starlink catalogue through propagation, links and routing for one orbit at 60 s.

Input: the CelesTrak Starlink snapshot shipped for tests and benchmarks
(``/work/shared/data/starlink_tle_snapshot.txt``, 9,489 satellites; the
benchmark says so and exits when it is absent). Stages, each timed on its
own and run in this order:

1. **read**: :func:`orbits.read_tle` with the shell finder (shells, planes,
   in-plane slots; satellites that fit no plane keep ``-1``);
2. **gates**: one ``space-xnet`` placement of the default model at the first
   step (:func:`spacexnet.scenario.snapshot` + :func:`spacexnet.compare.place`),
   whose 32 layer gates are the routing sources below;
3. **propagate**: :func:`orbits.iter_propagate` over one orbital period
   (:func:`orbits.orbital_period_s`, the longest shell's) at ``--step-s``
   (default 60 s), chunk by chunk;
4. **links**: candidate ISLs chosen once on the first chunk
   (:func:`orbits.isl_topology`: ``plus-grid`` on the found shells, or
   ``nearest`` k = 4), then length and up flag per chunk
   (:func:`orbits.isl_links`);
5. **routing**: per step, :meth:`latency.RoutingGraph.from_links` over the up
   links and shortest-path latency from the 32 gates.

Printed: wall time per stage, per step and in total, and the peak resident
memory of the process (``ru_maxrss``), with the satellite, link and
reachability counts that say what was computed.

Run::

    python bench/scale_real.py                       # +Grid, 60 s steps
    python bench/scale_real.py --topology nearest --step-s 30
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tle", type=Path, default=SNAPSHOT, help="3LE file (default: the shared snapshot)")
    parser.add_argument("--step-s", type=float, default=60.0, help="time step, s (default 60)")
    parser.add_argument("--topology", choices=["plus-grid", "nearest"], default="plus-grid")
    parser.add_argument("--chunk-steps", type=int, default=None, help="steps per propagation chunk")
    args = parser.parse_args(argv)
    if not args.tle.is_file():
        print(f"skipped: {args.tle} is absent (the real Starlink snapshot is not shipped with the package)")
        return 0

    import latency
    import orbits
    from spacexnet.compare import place
    from spacexnet.scenario import model_setup, snapshot

    wall = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate element sets are reported in constellation.skipped
        constellation = orbits.read_tle(args.tle)
    wall["read + shell finder"] = time.perf_counter() - t0
    n_sat = len(constellation)
    period_s = orbits.orbital_period_s(constellation)
    times = orbits.time_grid(constellation.reference_epoch, period_s, args.step_s)

    t0 = time.perf_counter()
    setup = model_setup()
    snap = snapshot(constellation, times[0], setup, topology=args.topology)
    gates = np.asarray(place(snap, setup).gate_sat)
    wall["placement (gates at step 0)"] = time.perf_counter() - t0

    link, payload = setup.link_profile, setup.model.hidden_state_bytes
    propagate_s = links_s = routing_s = 0.0
    topology, n_links, up_fraction, reachable = None, 0, [], []
    chunks = orbits.iter_propagate(constellation, times, args.chunk_steps)
    while True:
        a = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SGP4 failures are flagged in sgp4_status
            state = next(chunks, None)
        b = time.perf_counter()
        propagate_s += b - a
        if state is None:
            break
        if topology is None:
            topology = orbits.isl_topology(constellation, state, args.topology)
        isl = orbits.isl_links(constellation, state, topology)
        c = time.perf_counter()
        links_s += c - b
        sat_a, sat_b = isl["sat_a"].values, isl["sat_b"].values
        distance_km, up = isl["distance_km"].values, isl["up"].values
        n_links = sat_a.size
        for t in range(state.sizes["time"]):
            d = time.perf_counter()
            graph = latency.RoutingGraph.from_links(sat_a, sat_b, distance_km[t], up[t], n_sat, link, payload)
            dist_ms = graph.latency_ms_from(gates)
            routing_s += time.perf_counter() - d
            up_fraction.append(float(up[t].mean()))
            reachable.append(float(np.isfinite(dist_ms).all(axis=0).mean()))
    wall["propagate"] = propagate_s
    wall["ISL links"] = links_s
    wall["routing (32 gates)"] = routing_s

    unassigned = int((constellation.plane < 0).sum())
    print(f"{n_sat} satellites from {args.tle.name} ({len(constellation.shells)} shells found, {unassigned} "
          f"in no plane), {len(constellation.skipped)} records skipped")
    print(f"{times.size} steps of {args.step_s:g} s = one orbital period ({period_s:.0f} s); topology "
          f"{args.topology}: {n_links} candidate ISLs, {100 * np.mean(up_fraction):.1f}% up on average; "
          f"{100 * np.mean(reachable):.1f}% of satellites reachable from all 32 gates on average")
    for stage, seconds in wall.items():
        per_step = "" if stage.startswith(("read", "placement")) else f"  ({1e3 * seconds / times.size:8.2f} ms/step)"
        print(f"  {stage:28s} {seconds:8.2f} s{per_step}")
    total = sum(wall.values())
    print(f"  {'total':28s} {total:8.2f} s")
    print(f"peak RSS {_peak_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
