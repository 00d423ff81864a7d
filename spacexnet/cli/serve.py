"""``spacexnet serve``: the constellation service over HTTP (see :mod:`spacexnet.service`).

Binds to loopback unless told otherwise; any other address needs an API key
(``--api-key`` or the ``SPACEXNET_API_KEY`` environment variable), which is
then checked on every endpoint but ``/health``. The built-in default
scenario is built before the server listens. Interactive docs at ``/docs``.

Example::

    spacexnet serve --port 8000
    curl -s localhost:8000/scenarios/default/latency
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ..exceptions import SpaceXNetError
from ._options import FiniteFloat

__all__ = ["command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; other than loopback it needs --api-key.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Keep posted scenarios here across restarts (default: in memory only).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Computations (propagation, placement, latency) and sweep jobs run at once, off the event loop.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler (tcp://HOST:PORT) that runs the sweep jobs' chunk tasks (default: local "
                   "worker processes).")
@click.option("--api-key", default=None, metavar="KEY",
              help="Key required on every endpoint but /health (default: $SPACEXNET_API_KEY).")
@click.option("--max-body-mb", type=FiniteFloat(min=0.001, max=1024), default=16.0, show_default=True,
              help="Largest request body, MiB (larger: 413).")
@click.option("--max-satellites", type=click.IntRange(min=1), default=12_000, show_default=True,
              help="Most satellites in one scenario.")
@click.option("--max-scenarios", type=click.IntRange(min=1), default=16, show_default=True,
              help="Most scenarios held at once, the default one included.")
@click.option("--cache-mb", type=FiniteFloat(min=0), default=512.0, show_default=True,
              help="Bound of the cache of geometry and answers, MiB.")
@click.option("--max-queued-jobs", type=click.IntRange(min=0), default=8, show_default=True,
              help="Most sweep jobs waiting for a worker (one more: 429).")
@click.option("--max-sweep-steps", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Most time steps in one sweep job.")
@click.option("--heavy-workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Comparisons and joint/anneal placements computed at once (at a lower CPU priority).")
@click.option("--max-heavy-queued", type=click.IntRange(min=0), default=4, show_default=True,
              help="Most distinct comparisons and joint/anneal placements waiting (one more: 429).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def command(host, port, data_dir, workers, scheduler, api_key, max_body_mb, max_satellites, max_scenarios, cache_mb,
            max_queued_jobs, max_sweep_steps, heavy_workers, max_heavy_queued, log_level):
    """Serve scenarios over HTTP: positions, links, routes, placements, token latency."""
    from ..service import API_KEY_ENV, ServiceConfig, create_app, is_loopback

    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    if not is_loopback(host) and not api_key:
        raise SpaceXNetError(f"--host {host} is not a loopback address: give an API key (--api-key KEY or "
                             f"{API_KEY_ENV}) so that only its holders can use the service")
    config = ServiceConfig(data_dir=Path(data_dir) if data_dir else None, workers=workers, api_key=api_key,
                           max_body_bytes=int(max_body_mb * 2**20), max_satellites=max_satellites,
                           max_scenarios=max_scenarios, cache_bytes=int(cache_mb * 2**20),
                           max_queued_jobs=max_queued_jobs, max_sweep_steps=max_sweep_steps, scheduler=scheduler,
                           heavy_workers=heavy_workers, max_heavy_queued=max_heavy_queued)
    if scheduler:
        _check_scheduler(scheduler)
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(config)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"spacexnet: serving on http://{shown}:{port} (docs at /docs; default scenario "
               f"{app.state.store.default_id}{'; API key required' if api_key else ''})", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, timeout_graceful_shutdown=5)


def _check_scheduler(address: str) -> None:
    # Refused at start, in one line, rather than by every sweep job later.
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise SpaceXNetError("--scheduler needs the 'distributed' package") from None
    try:
        with Client(address, timeout=10):
            pass
    except (OSError, ValueError, TypeError) as exc:
        raise SpaceXNetError(f"--scheduler: cannot reach the Dask scheduler at {address}: "
                             f"{' '.join(str(exc).split())}") from None

