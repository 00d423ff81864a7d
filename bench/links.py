"""Benchmark: ISL and GSL kernels against their NumPy twins and against SGP4 propagation, in one run.

One orbital period of Starlink shell 1 (Walker 53:1584/72/1 at 550 km) at 1 s
steps, +Grid ISLs (3,168 links: distance and up flag) and ground-station
visibility for 50 stations. Propagation runs chunk by chunk
(:func:`orbits.iter_propagate`); on every chunk the Numba kernels and their
plain-NumPy twins (``tests/test_kernels_links.py``) run on the same arrays,
their results are checked equal, and each is timed. Printed: the three
times and their ratios.

Goals: ISL+GSL kernels ≤ 25 % of the propagation time, and ≥ 5×
faster than the NumPy twins.

Run::

    python bench/links.py                 # full period at 1 s (about a minute or two)
    python bench/links.py --duration-s 600
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np

from orbits import _kernels
from orbits.constants import EARTH_RADIUS_KM
from orbits.links import DEFAULT_MARGIN_KM, DEFAULT_MAX_RANGE_KM, DEFAULT_MIN_ELEVATION_DEG, isl_topology
from orbits.propagate import iter_propagate, orbital_period_s
from orbits.stations import load_stations
from orbits.timegrid import time_grid
from orbits.walker import walker

ROOT = Path(__file__).resolve().parents[1]


def _twins():
    spec = importlib.util.spec_from_file_location("_link_twins", ROOT / "tests" / "test_kernels_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gsl_kernel(position_km, status, station_km, enu, sin_min, offset, capacity):
    while True:
        bufs = (np.empty(capacity, np.int32), np.empty(capacity, np.int32), np.empty(capacity, np.int32),
                np.empty(capacity), np.empty(capacity), np.empty(capacity))
        count = np.empty((position_km.shape[0], station_km.shape[0]), np.int32)
        n = _kernels.gsl_kernel(position_km, status, station_km, enu, sin_min, offset, *bufs, count)
        if n <= capacity:
            return n, bufs, count, capacity
        capacity = int(1.25 * n)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=None, help="default: one orbital period")
    parser.add_argument("--step-s", type=float, default=1.0)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--chunk-steps", type=int, default=60,
                        help="steps per propagation chunk (the twins' GSL temporaries grow with it)")
    args = parser.parse_args(argv)

    twins = _twins()
    c = walker("53:1584/72/1", altitude_km=550)
    duration_s = orbital_period_s(c) if args.duration_s is None else args.duration_s
    times = time_grid(c.reference_epoch, duration_s, args.step_s)
    all_stations = load_stations()
    pick = np.unique(np.linspace(0, len(all_stations) - 1, args.stations).round().astype(int))
    stations = all_stations.subset(pick)
    station_km, enu = (np.ascontiguousarray(a) for a in stations.itrs_km())
    sin_min = math.sin(math.radians(DEFAULT_MIN_ELEVATION_DEG))
    clear_radius_km = EARTH_RADIUS_KM + DEFAULT_MARGIN_KM

    t_prop = t_isl = t_gsl = t_isl_twin = t_gsl_twin = 0.0
    topo = None
    capacity = 1024
    n_pairs = 0
    n_up = 0
    offset = 0
    chunks = iter_propagate(c, times, args.chunk_steps)
    while True:
        t0 = time.perf_counter()
        chunk = next(chunks, None)
        t_prop += time.perf_counter() - t0
        if chunk is None:
            break
        if topo is None:
            topo = isl_topology(c, chunk)          # chosen once, not part of the per-step work
            zeros_lat = None
        position_km = np.ascontiguousarray(chunk["position_itrs_km"].values)
        status = np.ascontiguousarray(chunk["sgp4_status"].values)
        n_time = position_km.shape[0]
        if zeros_lat is None or zeros_lat.shape[0] != n_time:
            zeros_lat = np.zeros((n_time, position_km.shape[1]))  # latitude cut-off off (default)

        t0 = time.perf_counter()
        distance_km = np.empty((n_time, len(topo)))
        up = np.empty((n_time, len(topo)), dtype=np.bool_)
        _kernels.isl_kernel(position_km, status, zeros_lat, topo.sat_a, topo.sat_b, topo.inter_plane,
                            clear_radius_km, DEFAULT_MAX_RANGE_KM, math.inf, distance_km, up)
        t_isl += time.perf_counter() - t0

        t0 = time.perf_counter()
        n, bufs, count, capacity = _gsl_kernel(position_km, status, station_km, enu, sin_min, offset, capacity)
        t_gsl += time.perf_counter() - t0

        t0 = time.perf_counter()
        twin_distance_km, twin_up = twins.isl_twin(position_km, status, zeros_lat, topo.sat_a, topo.sat_b,
                                                   topo.inter_plane, clear_radius_km, DEFAULT_MAX_RANGE_KM,
                                                   math.inf)
        t_isl_twin += time.perf_counter() - t0

        t0 = time.perf_counter()
        twin = twins.gsl_twin(position_km, status, station_km, enu, DEFAULT_MIN_ELEVATION_DEG, offset)
        t_gsl_twin += time.perf_counter() - t0

        # Same answers, or the timings mean nothing.
        assert np.array_equal(up, twin_up) and np.allclose(distance_km, twin_distance_km, rtol=0, atol=1e-6)
        assert n == len(twin["sat"]) and np.array_equal(bufs[2][:n], twin["sat"])
        assert np.array_equal(count, twin["count"])
        n_pairs += n
        n_up += int(up.sum())
        offset += n_time

    n_time = len(times)
    kernels = t_isl + t_gsl
    twin_total = t_isl_twin + t_gsl_twin
    print(f"Starlink shell 1 ({c.source}): {n_time} steps of {args.step_s:g} s ({duration_s:.0f} s), "
          f"{len(c)} satellites")
    print(f"  ISL: {len(topo)} +Grid links, {100.0 * n_up / (n_time * len(topo)):.2f}% of link-steps up")
    print(f"  GSL: {len(stations)} stations, min elevation {DEFAULT_MIN_ELEVATION_DEG:g}°, "
          f"{n_pairs} visible station-satellite-steps ({n_pairs / (n_time * len(stations)):.1f} per station-step)")
    print(f"{'':24s}{'kernel s':>10s}{'twin s':>10s}{'twin/kernel':>13s}{'kernel/prop':>13s}")
    for label, k, tw in (("ISL distance + up", t_isl, t_isl_twin), ("GSL visibility", t_gsl, t_gsl_twin),
                         ("ISL + GSL", kernels, twin_total)):
        print(f"{label:24s}{k:10.3f}{tw:10.3f}{tw / k:12.1f}×{100.0 * k / t_prop:12.1f}%")
    print(f"{'propagation (SGP4+ITRS)':24s}{t_prop:10.3f}")
    ok_share = kernels <= 0.25 * t_prop
    ok_speed = twin_total >= 5.0 * kernels
    print(f"goal kernels ≤ 25% of propagation: {'met' if ok_share else 'NOT met'} ({100 * kernels / t_prop:.1f}%)")
    print(f"goal kernels ≥ 5× faster than twins: {'met' if ok_speed else 'NOT met'} ({twin_total / kernels:.1f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
