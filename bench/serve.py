"""Speed and memory of ``spacexnet serve`` against a real server on loopback.

Starts ``spacexnet serve`` on 127.0.0.1 and a free port in a subprocess
(with a fresh data directory), then measures:

1. **start**: seconds from starting the process to the first ``/health``
   that answers 200;
2. **cold latency**: ``GET /scenarios/default/latency?time=T`` at times the
   server has not seen (one new minute each), p50/p99 over ``--cold``
   requests (goal p50 ≤ 150 ms);
3. **cached latency**: the same request again, ``--cached`` times (goal
   p50 ≤ 5 ms);
4. **load**: ``--clients`` concurrent clients (32) for ``--duration-s``
   seconds (60), each at most ``--max-requests`` requests, on a mix of the
   GET endpoints (health, presets, scenarios, satellites, GeoJSON, links,
   route, placement, latency, compare with 2,000 samples and without
   ``anneal``, the job's status) at a few instants, while one sweep job runs (all three
   policies, 10 s steps). Printed: requests, errors (any status but 2xx,
   or no answer), p99 of all requests (goal ≤ 1 s), ``/health`` p99
   (goal ≤ 50 ms) both among the clients' requests and from a probe in
   a process of its own (one request every 50 ms: it does not wait for
   the clients' interpreter lock), and the server's resident memory (with its child
   processes: the sweep's) at start and end.

Every request is timed by the client, end to end over loopback; the
load phase's clients run in this process (threads, each one keep-alive
connection of the standard library's ``http.client``, which costs a
fraction of httpx's CPU per request), on the same two cores as the server.
The server is stopped at the end.

Usage::

    python bench/serve.py                      # the full run (about 2 minutes)
    python bench/serve.py --duration-s 10      # a shorter load phase
    python bench/serve.py --readme             # only the markdown table (for the README)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]

#: Goals of the service (seconds or ms as named).
GOALS = {"start_s": 5.0, "cold_p50_ms": 150.0, "cached_p50_ms": 5.0, "load_p99_ms": 1000.0, "health_p99_ms": 50.0}
#: Satellites of the default scenario the route requests join (NORAD ids, as in the README's curl call).
ROUTE_ENDS = (80000, 80500)
#: Strategies of the load phase's compare: the default table but anneal. Anneal searches for a nominal
#: budget (10 s by default, about 40 s of two busy cores), which no answer within a second can include;
#: the service runs it in its heavy lane, as joint, whose comparisons the load does ask for.
COMPARE_STRATEGIES = "space-xnet,joint,random,ring-random,random-optimized,lower-bound"
#: Instants of the load phase: this many minutes after the scenario's epoch.
LOAD_MINUTES = (0, 1, 2, 3)
#: The sweep job that runs during the load phase.
#: (12 h at 10 s: 4,321 steps, about twice what a 60 s load phase gets through, so it runs throughout.)
SWEEP = {"duration_s": 12 * 3600, "step_s": 10, "policies": ["static", "recompute", "handover"]}
#: Seconds between two requests of the separate /health probe.
PROBE_INTERVAL_S = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, log_path: Path, timeout_s: float = 120.0):
    """``(process, base URL, seconds to the first /health 200)``."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "spacexnet", "serve", "--port", str(port), "--data-dir", str(data_dir),
               "--log-level", "warning"]
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=5) as client:
        while time.perf_counter() - started < timeout_s and proc.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if client.get("/health").status_code == 200:
                    return proc, url, time.perf_counter() - started
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"bench/serve.py: the server did not answer /health within {timeout_s:g} s:\n"
                     f"{log_path.read_text(errors='replace')[-2000:]}")


def rss_mib(pid: int) -> tuple[float, float]:
    """Resident memory of the process and of it with its children, MiB."""
    proc = psutil.Process(pid)
    own = proc.memory_info().rss
    children = 0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += child.memory_info().rss
    return own / 2**20, (own + children) / 2**20


def timed_get(client: httpx.Client, path: str) -> tuple[float, bool]:
    """(ms, ok) of one GET; ok means a 2xx answer."""
    t0 = time.perf_counter()
    try:
        ok = client.get(path).is_success
    except httpx.HTTPError:
        ok = False
    return (time.perf_counter() - t0) * 1e3, ok


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (the standard library's ``http.client``), as a load client.

    The load phase's 32 clients share this process's interpreter lock and
    the machine's two cores with the server; httpx spends several times the
    CPU of ``http.client`` per request, and that time would be counted as the
    server's. A connection that fails is opened again for the next request.
    """

    def __init__(self, url: str, timeout_s: float):
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port, self.timeout_s = host, int(port), timeout_s
        self.conn = None

    def get_ok(self, path: str) -> bool:
        """Whether GET ``path`` answered 2xx (the body is read whole)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            response.read()
            return 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            self.close()
            return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def timed_get_light(client: KeepAliveClient, path: str) -> tuple[float, bool]:
    """(ms, ok) of one GET on a :class:`KeepAliveClient`."""
    t0 = time.perf_counter()
    ok = client.get_ok(path)
    return (time.perf_counter() - t0) * 1e3, ok


def percentiles(ms) -> tuple[float, float]:
    ms = np.asarray(ms, dtype=float)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def latency_phase(url: str, epoch: datetime, n_cold: int, n_cached: int) -> dict:
    cold, cached, failures = [], [], 0
    with httpx.Client(base_url=url, timeout=120) as client:
        # Far from the load phase's instants, one new minute each: nothing of it is cached.
        paths = [f"/scenarios/default/latency?time={iso(epoch + timedelta(hours=2, minutes=i))}"
                 for i in range(n_cold)]
        for path in paths:
            ms, ok = timed_get(client, path)
            cold.append(ms)
            failures += not ok
        for _ in range(n_cached):
            ms, ok = timed_get(client, paths[0])
            cached.append(ms)
            failures += not ok
    return {"cold": percentiles(cold), "cached": percentiles(cached), "failures": failures}


def load_paths(epoch: datetime, job_id: str) -> list[str]:
    paths = ["/health", "/presets", "/scenarios", "/scenarios/default", f"/jobs/{job_id}"]
    for minute in LOAD_MINUTES:
        t = iso(epoch + timedelta(minutes=minute))
        paths += [f"/scenarios/default/satellites?time={t}", f"/scenarios/default/satellites?time={t}&format=geojson",
                  f"/scenarios/default/links?time={t}",
                  f"/scenarios/default/route?from={ROUTE_ENDS[0]}&to={ROUTE_ENDS[1]}&time={t}",
                  f"/scenarios/default/placement?time={t}", f"/scenarios/default/latency?time={t}",
                  f"/scenarios/default/compare?time={t}&samples=2000&strategies={COMPARE_STRATEGIES}"]
    return paths


def probe_health(url: str, duration_s: float, conn) -> None:
    """In a process of its own: ``/health`` every PROBE_INTERVAL_S for ``duration_s``; sends back the ms."""
    found = []
    deadline = time.perf_counter() + duration_s
    with httpx.Client(base_url=url, timeout=max(duration_s, 30.0)) as client:
        while time.perf_counter() < deadline:
            found.append(timed_get(client, "/health"))
            time.sleep(PROBE_INTERVAL_S)
    conn.send(found)
    conn.close()


def load_phase(url: str, epoch: datetime, job_id: str, clients: int, duration_s: float, max_requests: int) -> dict:
    paths = load_paths(epoch, job_id)
    results = [[] for _ in range(clients)]  # per client: (path, ms, ok)
    deadline = time.perf_counter() + duration_s

    def client_loop(i: int) -> None:
        rng = np.random.default_rng(i)
        client = KeepAliveClient(url, timeout_s=max(duration_s, 30.0))
        try:
            for _ in range(max_requests):
                if time.perf_counter() >= deadline:
                    return
                path = paths[rng.integers(len(paths))]
                ms, ok = timed_get_light(client, path)
                results[i].append((path, ms, ok))
        finally:
            client.close()

    # The clients' own /health times include waiting for this process's interpreter lock behind 31 other
    # client threads; a probe in a process of its own (one request at a time) sees the server alone.
    receiver, sender = multiprocessing.Pipe(duplex=False)
    probe = multiprocessing.get_context("spawn").Process(target=probe_health, args=(url, duration_s, sender))
    probe.start()
    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall_s = time.perf_counter() - t0
    probed = receiver.recv() if receiver.poll(duration_s + 60) else []
    probe.join(timeout=10)
    rows = [r for rs in results for r in rs]
    all_ms = [ms for _, ms, _ in rows]
    health_ms = [ms for path, ms, _ in rows if path == "/health"]
    by_endpoint: dict[str, list] = {}
    for path, ms, _ in rows:
        by_endpoint.setdefault(path.split("?")[0].replace(job_id, "JOB"), []).append(ms)
    return {"requests": len(rows), "errors": sum(not ok for _, _, ok in rows), "wall_s": wall_s,
            "by_endpoint": {name: (len(ms), *percentiles(ms)) for name, ms in sorted(by_endpoint.items())},
            "p50_p99": percentiles(all_ms), "health": percentiles(health_ms) if health_ms else (np.nan, np.nan),
            "probe": percentiles([ms for ms, _ in probed]) if probed else (np.nan, np.nan),
            "probe_requests": len(probed), "errors_probe": sum(not ok for _, ok in probed)}


def verdict(value: float, goal: float) -> str:
    return "met" if value <= goal else "not met"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=int, default=10, help="requests at new times (default 10)")
    ap.add_argument("--cached", type=int, default=200, help="repeats of one request (default 200)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients of the load phase (default 32)")
    ap.add_argument("--duration-s", type=float, default=60.0, help="length of the load phase (default 60)")
    ap.add_argument("--max-requests", type=int, default=100_000, help="most requests per client (default 100000)")
    ap.add_argument("--readme", action="store_true", help="print only the markdown table")
    opts = ap.parse_args(argv)
    if min(opts.cold, opts.cached, opts.clients, opts.max_requests) < 1 or not opts.duration_s > 0:
        ap.error("--cold, --cached, --clients, --max-requests and --duration-s must be positive")
    log = (lambda msg: None) if opts.readme else (lambda msg: print(msg, file=sys.stderr, flush=True))

    load_average = os.getloadavg()[0]  # other work on the machine shares its cores with the server
    log(f"load average before the start: {load_average:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        tmp = Path(tmp)
        proc, url, start_s = start_server(tmp / "data", tmp / "server.log")
        try:
            log(f"server ready in {start_s:.2f} s at {url}")
            rss_start = rss_mib(proc.pid)
            with httpx.Client(base_url=url, timeout=60) as client:
                head = client.get("/scenarios/default").json()
                epoch = datetime.fromisoformat(head["epochs"]["reference_utc"].replace("Z", "+00:00"))
                epoch = epoch.astimezone(timezone.utc).replace(second=0, microsecond=0)
            log(f"measuring latency: {opts.cold} new times, then {opts.cached} repeats ...")
            lat = latency_phase(url, epoch, opts.cold, opts.cached)
            with httpx.Client(base_url=url, timeout=60) as client:
                job = client.post("/scenarios/default/sweeps", json={**SWEEP, "start": iso(epoch)})
                job.raise_for_status()
                job_id = job.json()["id"]
            log(f"load: {opts.clients} clients for {opts.duration_s:g} s while sweep job {job_id} runs ...")
            load = load_phase(url, epoch, job_id, opts.clients, opts.duration_s, opts.max_requests)
            rss_end = rss_mib(proc.pid)
            for name, (count, p50, p99) in load["by_endpoint"].items():
                log(f"  {name:40s} {count:6d} requests, p50 {p50:8.1f} ms, p99 {p99:8.1f} ms")
            with httpx.Client(base_url=url, timeout=60) as client:
                state = client.get(f"/jobs/{job_id}").json()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    load_p50, load_p99 = load["p50_p99"]
    rows = [
        ("start to ready (first `/health`)", f"≤ {GOALS['start_s']:g} s", f"{start_s:.2f} s",
         verdict(start_s, GOALS["start_s"])),
        (f"`latency` at a new time, p50 / p99 ({opts.cold} times)", f"p50 ≤ {GOALS['cold_p50_ms']:g} ms",
         f"{lat['cold'][0]:,.0f} / {lat['cold'][1]:,.0f} ms", verdict(lat["cold"][0], GOALS["cold_p50_ms"])),
        (f"the same request again, p50 / p99 ({opts.cached} times)", f"p50 ≤ {GOALS['cached_p50_ms']:g} ms",
         f"{lat['cached'][0]:.1f} / {lat['cached'][1]:.1f} ms", verdict(lat["cached"][0], GOALS["cached_p50_ms"])),
        (f"{opts.clients} clients × {opts.duration_s:g} s, GET mix + a sweep job: errors", "0",
         f"{load['errors']} of {load['requests']:,}", "met" if load["errors"] == 0 else "not met"),
        ("… p50 / p99 of all requests", f"p99 ≤ {GOALS['load_p99_ms']:g} ms",
         f"{load_p50:,.0f} / {load_p99:,.0f} ms", verdict(load_p99, GOALS["load_p99_ms"])),
        ("… `/health` among the clients' requests, p50 / p99", f"p99 ≤ {GOALS['health_p99_ms']:g} ms",
         f"{load['health'][0]:,.1f} / {load['health'][1]:,.1f} ms", verdict(load["health"][1], GOALS["health_p99_ms"])),
        ("… `/health` from a separate probe process, p50 / p99", f"p99 ≤ {GOALS['health_p99_ms']:g} ms",
         f"{load['probe'][0]:,.1f} / {load['probe'][1]:,.1f} ms ({load['probe_requests']} requests, "
         f"{load['errors_probe']} errors)", verdict(load["probe"][1], GOALS["health_p99_ms"])),
        ("resident memory, server / with the sweep's process: start → end", "bounded",
         f"{rss_start[0]:,.0f} / {rss_start[1]:,.0f} → {rss_end[0]:,.0f} / {rss_end[1]:,.0f} MiB", ""),
    ]
    lines = ["| measure | goal | measured | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    print("\n".join(lines))
    print(f"\n`python bench/serve.py`, {os.cpu_count()} cores (load average {load_average:.1f} before the "
          f"start: other work shares them), clients in the same machine; the sweep job "
          f"had done {state['steps_done']} of {state['steps_total']} steps ({state['state']}) when the load ended.")
    if lat["failures"]:
        print(f"\n{lat['failures']} latency request(s) failed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
