"""Settings of a running service: where it keeps its files, its limits and its key.

The defaults protect a 2-core machine: a request body of at most 16 MiB
(a full Starlink catalogue as OMM JSON is about 8 MiB), scenarios of at most
12,000 satellites, 16 scenarios held at once, 512 MiB of cached geometry
and answers, and sweeps of at most 10,000 steps, 8 of them queued.

Examples
--------
>>> config = ServiceConfig()
>>> config.max_body_bytes // 2**20, config.max_satellites, config.requires_key
(16, 12000, False)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServiceConfig", "is_loopback", "API_KEY_ENV", "MAX_TIME_BUDGET_S"]

#: Environment variable read for the API key when ``--api-key`` is not given.
API_KEY_ENV = "SPACEXNET_API_KEY"
#: Largest ``time_budget_s`` a request may ask anneal for, nominal seconds.
MAX_TIME_BUDGET_S = 120.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceConfig:
    """What ``spacexnet serve`` was started with.

    Attributes
    ----------
    data_dir : Path or None
        Where posted scenarios are kept across restarts (``scenarios/ID.json``);
        None keeps them in memory only.
    workers : int
        Computations (propagation, placement, latency) run at once, each in
        a worker thread off the event loop.
    api_key : str or None
        Key required on every endpoint but ``/health`` (``Authorization:
        Bearer KEY`` or ``X-API-Key: KEY``).
    max_body_bytes : int
        Largest request body; a larger one gets 413.
    max_satellites : int
        Most satellites in one scenario (after the shell selection).
    max_scenarios : int
        Most scenarios held at once, the default one included.
    cache_bytes : int
        Bound of the geometry and answer cache.
    max_queued_jobs : int
        Most sweep jobs waiting for a worker; one more gets 429 with ``Retry-After``.
    max_sweep_steps : int
        Most time steps in one sweep (a day at 10 s steps is 8,641).
    scheduler : str or None
        Address of a Dask scheduler (``tcp://HOST:PORT``) that runs the sweep
        jobs' chunk tasks; None runs them in the job's own worker processes.
    heavy_workers : int
        Heavy computations (comparisons, ``joint`` and ``anneal`` placements)
        run at once, in threads of their own at a lower CPU priority.
    max_heavy_queued : int
        Distinct heavy computations that may wait for a heavy worker; one more
        gets 429 with ``Retry-After`` (the same question again waits for the
        one being computed, and counts once).
    """

    data_dir: Path | None = None
    workers: int = 2
    api_key: str | None = None
    max_body_bytes: int = 16 * 2**20
    max_satellites: int = 12_000
    max_scenarios: int = 16
    cache_bytes: int = 512 * 2**20
    max_queued_jobs: int = 8
    max_sweep_steps: int = 10_000
    scheduler: str | None = None
    heavy_workers: int = 1
    max_heavy_queued: int = 4

    @property
    def requires_key(self) -> bool:
        return bool(self.api_key)
