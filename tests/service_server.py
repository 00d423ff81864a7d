"""A real ``spacexnet serve`` in a subprocess on a free loopback port, for the service tests.

``running_server`` starts one and waits for ``/health`` (bounded), and stops
it at the end; :func:`service_factory` is a session-scoped pytest fixture
that keeps one server per set of options and stops them all when the
session ends. Imported by the tests/test_service_*.py modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

#: Seconds a server may take to answer /health (a cold start compiles nothing: kernels are cached).
START_TIMEOUT_S = 90.0
#: Seconds any one request may take (a /compare of a small scenario takes a few).
REQUEST_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A started server: its base URL, process and log file."""

    def __init__(self, proc, base_url, log_path, data_dir):
        self.proc = proc
        self.base_url = base_url
        self.log_path = log_path
        self.data_dir = data_dir
        self.client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def start_server(tmp_dir, *options, env=None) -> Server:
    """Start ``spacexnet serve --port P --data-dir DIR *options`` and wait until /health answers."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_dir / "server.log"
    data_dir = tmp_dir / "data"
    for attempt in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        command = [sys.executable, "-m", "spacexnet", "serve", "--port", str(port), "--data-dir", str(data_dir),
                   "--log-level", "warning", *options]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})})
        server = Server(proc, f"http://127.0.0.1:{port}", log_path, data_dir)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if server.client.get("/health", timeout=5).status_code == 200:
                    return server
            time.sleep(0.2)
        log_text = server.log()
        server.stop()
        if "address already in use" not in log_text.lower():
            break
    raise RuntimeError(f"spacexnet serve did not answer /health within {START_TIMEOUT_S:g} s:\n{log_text}")


@pytest.fixture(scope="session")
def service_factory(tmp_path_factory):
    """``get(*options, env=None)``: a running server started with those options (one per set, per session)."""
    servers: dict = {}

    def get(*options, env=None):
        key = (options, tuple(sorted((env or {}).items())))
        if key not in servers:
            servers[key] = start_server(tmp_path_factory.mktemp("serve"), *options, env=env)
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


def assert_problem(response, status: int, contains: str = ""):
    """``response`` is an RFC 9457 problem with ``status`` and a one-line detail containing ``contains``."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}, body
    assert body["status"] == status and body["type"].startswith("urn:spacexnet:problem:")
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    assert contains in body["detail"], body["detail"]
    return body


def read_events(server, job_id) -> list:
    """Every server-sent event of job ``job_id`` until the job ends: ``{"id", "event", "data"}`` in order."""
    events, block = [], {}
    with server.client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                block[name] = value
            elif block:
                events.append({"id": int(block["id"]), "event": block["event"], "data": json.loads(block["data"])})
                block = {}
    return events
