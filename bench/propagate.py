"""Benchmark: propagate() against a bare SatrecArray.sgp4 loop, Starlink shell 1 over one period at 1 s.

Both run over the same time chunks in the same process, so the ratio is
measured on the same machine state. ``iter_propagate`` streams the chunks
(TEME, ITRS, geodetic and argument of latitude, with status flags, as
xarray Datasets) and each chunk is dropped once reduced, as a sweep would.
Peak memory is tracemalloc's peak (NumPy allocations are traced) and the
process's maximum resident set size.

Run::

    python bench/propagate.py [--step-s 1] [--chunk-steps N] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from orbits import iter_propagate, orbital_period_s, time_grid, walker
from orbits.propagate import DEFAULT_CHUNK_SAT_STEPS
from orbits.timegrid import to_jd_utc


def bare_sgp4(constellation, times, chunk_steps) -> float:
    satrec_array = constellation.satrec_array
    jd_all, fr_all = to_jd_utc(times)
    checksum = 0.0
    for start in range(0, times.size, chunk_steps):
        jd = jd_all[start:start + chunk_steps]
        fr = fr_all[start:start + chunk_steps]
        _, r, _ = satrec_array.sgp4(jd, fr)
        checksum += float(r[0, -1, 0])
    return checksum


def full_propagate(constellation, times, chunk_steps) -> float:
    checksum = 0.0
    for chunk in iter_propagate(constellation, times, chunk_steps):
        checksum += float(chunk.altitude_km.values[-1, 0])
    return checksum


def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-s", type=float, default=1.0)
    parser.add_argument("--chunk-steps", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs of each")
    args = parser.parse_args()

    shell = walker("53:1584/72/1", altitude_km=550, epoch="2026-01-01T00:00:00Z")
    period_s = orbital_period_s(shell)
    times = time_grid("2026-01-01T00:00:00Z", period_s, args.step_s)
    chunk_steps = args.chunk_steps or max(1, DEFAULT_CHUNK_SAT_STEPS // len(shell))
    sat_steps = len(shell) * times.size
    print(f"Starlink shell 1: {len(shell)} satellites × {times.size} steps of {args.step_s:g} s "
          f"(one period, {period_s:.0f} s) = {sat_steps:,} satellite-steps; chunks of {chunk_steps} steps")

    # Warm up (Numba kernels load from cache or compile; SatrecArray is built).
    warm = times[: 2 * chunk_steps]
    bare_sgp4(shell, warm, chunk_steps)
    full_propagate(shell, warm, chunk_steps)

    bare_s = min(timed(bare_sgp4, shell, times, chunk_steps) for _ in range(args.repeat))
    full_s = min(timed(full_propagate, shell, times, chunk_steps) for _ in range(args.repeat))

    tracemalloc.start()
    full_propagate(shell, times, chunk_steps)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    bare_rate = sat_steps / bare_s
    full_rate = sat_steps / full_s
    print(f"bare SatrecArray.sgp4 : {bare_rate / 1e6:7.2f} M satellite-steps/s ({bare_s:.2f} s)")
    print(f"propagate (streamed)  : {full_rate / 1e6:7.2f} M satellite-steps/s ({full_s:.2f} s)")
    print(f"ratio propagate/bare  : {full_rate / bare_rate:.2f} (goal ≥ 0.5)")
    print(f"peak traced memory    : {peak_bytes / 2**20:.0f} MiB while streaming; max RSS {max_rss_mb:.0f} MiB")
    full_dataset_mib = sat_steps * (9 * 8 + 4 * 8 + 1) / 2**20
    print(f"(the whole result in memory would take {full_dataset_mib:.0f} MiB)")
    np.testing.assert_equal(np.isfinite(full_propagate(shell, times[:chunk_steps], chunk_steps)), True)


if __name__ == "__main__":
    main()
