"""The real snapshot sweep on a Dask cluster on loopback against the same sweep run locally.

Starts a real Dask cluster on this machine, each part in its own
subprocess: ``dask scheduler --host 127.0.0.1 --port PORT`` (a free port)
and two ``dask worker tcp://127.0.0.1:PORT --nthreads 1`` processes, and
waits until both workers are registered. Then runs the same command twice,
as a user would, in a child process:

a. **local**: ``spacexnet sweep --tle SNAPSHOT --workers 2`` (chunk tasks
   in two local processes);
b. **cluster**: the same with ``--scheduler tcp://127.0.0.1:PORT``.

Scenario (the defaults): the full real Starlink snapshot
(``../shared/data/starlink_tle_snapshot.txt``, 9,489 satellites), the
three policies, llama-moe-3.5b, one orbital period at 1 s steps
(``--duration-s`` for a shorter run). The two files must be identical
(values and attributes, except ``history``, which records the command);
the bench exits with status 1 when they are not.

Printed: both wall times, their ratio, and the scheduler's overhead per
chunk task, measured two ways:

- **end to end**: (cluster wall − local wall) ÷ chunks. Both runs do the
  same work on the same two cores, so the difference is what the cluster
  adds per chunk: serialising the task and its result through the
  scheduler, the TCP hops, and any idle time between tasks;
- **on the workers**: from the scheduler's task stream (recorded during
  run b), the mean per chunk task of the time a worker spent on it outside
  its compute (receiving and deserialising its inputs), beside the mean
  compute time.

The cluster is always stopped: on success, on an error and on Ctrl-C.
Exits with a message when the snapshot is absent.

Usage::

    python bench/dask_cluster.py                          # one orbit at 1 s (long)
    python bench/dask_cluster.py --duration-s 300         # 301 steps
    python bench/dask_cluster.py --tle other.txt --duration-s 20 --step-s 10 --experts-per-sat 8

Options it does not know are passed on to both ``spacexnet sweep`` runs.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "starlink_tle_snapshot.txt"
N_WORKERS = 2
#: Seconds to wait for the scheduler to listen and for the workers to register.
START_TIMEOUT_S = 60.0
#: Seconds a cluster process gets to end after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
#: The sweep's chunk length (its ``--chunk-steps`` default, passed explicitly so the chunk count is known).
CHUNK_STEPS = 60


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it).

    Examples
    --------
    >>> 1024 <= free_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackCluster:
    """A Dask scheduler and ``n_workers`` single-thread workers on 127.0.0.1, each its own process group.

    Use as a context manager: the processes are stopped on leaving it,
    whatever the reason (an error, Ctrl-C): ``with LoopbackCluster(2, tmp) as
    cluster:`` then ``--scheduler cluster.address``. Logs go to ``log_dir``.
    """

    def __init__(self, n_workers: int, log_dir: Path):
        self.n_workers = int(n_workers)
        self.log_dir = Path(log_dir)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")
        # Own session: Ctrl-C in the terminal reaches only this bench, which then stops them in order.
        self.processes.append(subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    def __enter__(self) -> "LoopbackCluster":
        try:
            self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--no-dashboard"])
            for k in range(self.n_workers):
                self._spawn(f"worker{k}", ["worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard", "--memory-limit", "0",
                                           "--local-directory", str(self.log_dir / f"worker{k}")])
            self._wait_for_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_workers(self) -> None:
        from distributed import Client

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self._check_alive()
            try:
                with Client(self.address, timeout=2) as client:
                    client.wait_for_workers(self.n_workers, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask cluster at {self.address} did not start with {self.n_workers} "
                                       f"workers in {START_TIMEOUT_S:.0f} s; logs in {self.log_dir}") from None
                time.sleep(0.5)

    def _check_alive(self) -> None:
        for proc in self.processes:
            if proc.poll() is not None:
                raise RuntimeError(f"a Dask process ({proc.args[3]}) ended with status "
                                   f"{proc.returncode}; logs in {self.log_dir}")

    def stop(self) -> None:
        """SIGTERM to each process group (workers first), then SIGKILL to any still running."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        self.processes = []

    def __exit__(self, *exc) -> None:
        self.stop()


def run_sweep(sweep_args: list[str], out: Path, scheduler: str | None = None) -> float:
    """Run ``spacexnet sweep`` in a child process; its wall time, s."""
    cmd = [sys.executable, "-m", "spacexnet", "sweep", *sweep_args, "--out", str(out), "--overwrite", "-q"]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall_s = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall_s


def _strip(ds):
    ds = ds.load()
    ds.attrs.pop("history", None)
    return ds


def identical(path_a: Path, path_b: Path) -> bool:
    """Whether two sweep files hold the same values and attributes, ``history`` aside."""
    with xr.open_dataset(path_a) as a, xr.open_dataset(path_b) as b:
        return _strip(a).identical(_strip(b))


def task_stream_split(records: list[dict]) -> tuple[int, float, float]:
    """Chunk tasks in a Dask task stream: (count, mean compute s, mean other s on the worker).

    Examples
    --------
    >>> task_stream_split([{"key": "chunk_task-1f", "startstops": [
    ...     {"action": "deserialize", "start": 0.0, "stop": 0.5}, {"action": "compute", "start": 0.5, "stop": 2.5}]},
    ...     {"key": "other-2", "startstops": [{"action": "compute", "start": 0.0, "stop": 9.0}]}])
    (1, 2.0, 0.5)
    """
    chunks = [r for r in records if str(r.get("key", "")).startswith("chunk_task")]
    if not chunks:
        return 0, math.nan, math.nan
    compute = other = 0.0
    for r in chunks:
        for part in r.get("startstops", ()):
            seconds = part["stop"] - part["start"]
            if part["action"] == "compute":
                compute += seconds
            else:
                other += seconds
    return len(chunks), compute / len(chunks), other / len(chunks)


def compare(sweep_args: list[str], n_chunks: int, work_dir: Path) -> dict:
    """Run the sweep locally, then on a loopback cluster; wall times, identity and the cluster's overheads."""
    from distributed import Client

    local = work_dir / "local.nc"
    remote = work_dir / "cluster.nc"
    result = {"local_s": run_sweep([*sweep_args, "--workers", str(N_WORKERS)], local)}
    with LoopbackCluster(N_WORKERS, work_dir) as cluster, Client(cluster.address, timeout=10) as client:
        client.get_task_stream()  # installs the scheduler's task-stream plugin before the run
        t0 = time.time()
        result["cluster_s"] = run_sweep([*sweep_args, "--workers", str(N_WORKERS)], remote, cluster.address)
        records = client.get_task_stream(start=t0)
    result["identical"] = identical(local, remote)
    result["tasks"], result["compute_s"], result["worker_other_s"] = task_stream_split(records)
    result["chunks"] = n_chunks
    result["overhead_s"] = (result["cluster_s"] - result["local_s"]) / n_chunks
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tle", type=Path, default=SNAPSHOT, help="element sets (default: the real snapshot)")
    parser.add_argument("--duration-s", type=float, default=None, help="span, s (default: one orbital period)")
    parser.add_argument("--step-s", type=float, default=1.0, help="time step, s")
    parser.add_argument("--policies", default="static,recompute,handover")
    parser.add_argument("--samples", type=int, default=2000, help="Monte Carlo tokens per step and policy")
    args, passed_on = parser.parse_known_args(argv)
    if not args.tle.is_file():
        print(f"dask_cluster: {args.tle} is absent; it is the full Starlink snapshot this bench sweeps "
              "(or pass --tle FILE)", file=sys.stderr)
        return 2

    import orbits

    constellation = orbits.read_tle(args.tle)
    duration_s = orbits.orbital_period_s(constellation) if args.duration_s is None else args.duration_s
    n_steps = orbits.time_grid(constellation.reference_epoch, duration_s, args.step_s).size
    n_chunks = math.ceil(n_steps / CHUNK_STEPS)
    sweep_args = ["--tle", str(args.tle), "--duration-s", repr(duration_s), "--step-s", repr(args.step_s),
                  "--policy", args.policies, "--samples", str(args.samples), "--chunk-steps", str(CHUNK_STEPS), *passed_on]
    print(f"{len(constellation):,} satellites ({args.tle.name}), {n_steps:,} steps of {args.step_s:g} s, "
          f"{n_chunks} chunks of up to {CHUNK_STEPS} steps; policies {args.policies}; "
          f"{' '.join(passed_on) + '; ' if passed_on else ''}{N_WORKERS} workers of 1 thread, {os.cpu_count()} cores", flush=True)

    # SIGTERM (e.g. `timeout`) leaves through the same finally blocks as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
            r = compare(sweep_args, n_chunks, Path(tmp))
    except KeyboardInterrupt:
        print("dask_cluster: interrupted; the cluster and the sweep were stopped", file=sys.stderr)
        return 130

    print(f"local   (--workers {N_WORKERS}):              {r['local_s']:8.1f} s")
    print(f"cluster (--scheduler, {N_WORKERS} Dask workers):  {r['cluster_s']:8.1f} s"
          f"  ({r['cluster_s'] / r['local_s']:.2f}× local)")
    print(f"scheduler overhead per chunk, end to end ((cluster − local) ÷ {r['chunks']} chunks): "
          f"{1e3 * r['overhead_s']:.0f} ms")
    print(f"on the workers, per chunk task ({r['tasks']} in the task stream): compute "
          f"{1e3 * r['compute_s']:.0f} ms (the overhead above is {100 * r['overhead_s'] / r['compute_s']:.0f}% "
          f"of it), receiving/deserialising inputs {1e3 * r['worker_other_s']:.1f} ms")
    print("files identical (values and attributes but history)" if r["identical"]
          else "FILES DIFFER between the local and the cluster run")
    return 0 if r["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
