"""``spacexnet serve``: the constellation service, an HTTP API over scenarios.

A long-running process keeps scenarios built (constellation, model,
hardware, links) and answers questions about them at any instant —
satellite positions, links, routes, placements, token latency and the
comparison table — with the same numbers as the CLI and the Python API.

- :mod:`.schema`: the scenario document (pydantic) and its content-hash id;
- :mod:`.store`: building and holding scenarios within limits;
- :mod:`.views`: the answers, computed with the library's own functions;
- :mod:`.cache`: the byte-bounded LRU of geometry and answers;
- :mod:`.problems`: RFC 9457 problem bodies for every error;
- :mod:`.app`: the FastAPI app, its routes and its guard (API key, body size);
- :mod:`.config`: the settings of a running service.
"""

from .config import API_KEY_ENV, ServiceConfig, is_loopback
from .schema import Scenario, canonical_json, scenario_id

__all__ = ["create_app", "ServiceConfig", "Scenario", "scenario_id", "canonical_json", "is_loopback", "API_KEY_ENV"]


def create_app(config: ServiceConfig | None = None):
    """The service as an ASGI app (see :func:`spacexnet.service.app.create_app`)."""
    from .app import create_app as _create

    return _create(config)
