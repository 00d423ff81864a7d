"""The live page at ``/`` and the CZML export, as an APIRouter the service app includes.

- ``GET /`` — the page (``static/index.html``): map, clock, latency panel,
  compare table and scenario picker, all drawn in the browser from the
  service's own endpoints; its scripts, styles and vendored libraries are
  served from ``/static/...`` (no CDN: the page works offline).
- ``GET /scenarios/{sid}/czml`` — the scenario over a time span as CZML
  (:func:`spacexnet.czml.czml_document`): satellite paths in the Earth-fixed
  frame, links as time-interval polylines and the gate ring of the placement
  at the start. It loads in CesiumJS, and the page itself plays its clock
  from it (sampled positions, interpolated in the browser).

Examples
--------
>>> sorted(r.path for r in router.routes)
['/', '/scenarios/{sid}/czml', '/static/{path:path}']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

import orbits

from ..compare import place
from ..czml import czml_document
from ..exceptions import user_errors
from . import views
from .problems import Problem

__all__ = ["router", "STATIC_DIR", "MAX_CZML_SAMPLES", "CZML_MEDIA_TYPE"]

#: Folder of the page's files (index.html, app.js, style.css, vendor/), shipped as package data.
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Most satellite samples (satellites × time steps) one CZML answer may hold (about 40 bytes each).
MAX_CZML_SAMPLES = 2_000_000
#: Media type of a CZML document (JSON).
CZML_MEDIA_TYPE = "application/json"
#: Default spacing of CZML samples, s: Lagrange degree 5 over 60 s keeps a LEO path within millimetres.
DEFAULT_CZML_STEP_S = 60.0

router = APIRouter()


# ES modules load only with a JavaScript media type; the rest by extension.
_MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
                ".json": "application/json", ".md": "text/markdown", ".txt": "text/plain", ".png": "image/png",
                ".svg": "image/svg+xml"}


@router.get("/", include_in_schema=False)
async def index():
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str):
    # Only files inside the shipped static folder: a path that climbs out of it is simply not found.
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise Problem(404, "not-found", f"no page file {path!r}")
    return FileResponse(target, media_type=_MEDIA_TYPES.get(target.suffix.lower(), "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})


def _gate_sat(loaded, snap, strategy: str):
    try:
        return place(snap, loaded.setup, strategy, seed=loaded.setup.seed,
                     belt_planes=loaded.document.belt_planes).gate_sat
    except user_errors() as exc:
        raise Problem(422, "unanswerable", str(exc)) from None


def _czml_bytes(loaded, t, duration_s: float, step_s: float, gate_sat) -> bytes:
    doc = loaded.document
    try:
        packets = czml_document(loaded.constellation, t, duration_s, step_s, topology=doc.topology,
                                link_rules=doc.link_rules(), gate_sat=gate_sat,
                                name=f"Space-XNet scenario {loaded.id}")
    except user_errors() as exc:
        raise Problem(422, "unanswerable", str(exc)) from None
    return views.encode(packets)


@router.get("/scenarios/{sid}/czml", summary="The scenario over a time span as CZML (CesiumJS).",
            response_class=Response, responses={200: {"content": {CZML_MEDIA_TYPE: {}}}})
async def get_czml(request: Request, sid: str, start: str | None = Query(
                       None, description="First instant, UTC (ISO 8601 with a zone, or 'now'); default: the "
                                         "scenario's newest element-set epoch (to the minute)."),
                   duration_s: float | None = Query(None, gt=0, le=30 * 86400.0,
                                                    description="Span, s (default: one orbital period)."),
                   step_s: float = Query(DEFAULT_CZML_STEP_S, gt=0, le=3600.0, description="Sample spacing, s."),
                   strategy: str | None = Query("space-xnet", description="Placement whose gate ring is drawn "
                                                                           "(at the start); empty for none.")):
    engine = request.app.state.engine
    loaded = engine.store.get(sid)
    t = views.parse_time(start, loaded)
    if strategy:
        views.check_strategy(strategy, with_bound=False)
    if duration_s is None:
        duration_s = float(orbits.orbital_period_s(loaded.constellation))
    steps = int(duration_s // step_s) + 1
    samples = steps * len(loaded.constellation)
    if samples > MAX_CZML_SAMPLES:
        raise Problem(400, "bad-parameter", f"duration_s/step_s: {steps:,} steps × {len(loaded.constellation):,} "
                                            f"satellites = {samples:,} samples, more than this service's limit "
                                            f"of {MAX_CZML_SAMPLES:,}; shorten duration_s or lengthen step_s")
    key = (loaded.id, int(t.astype(np.int64)), "czml", (duration_s, step_s, strategy or ""))
    body = engine.cache.get(key)
    if body is None:
        def work():
            gate_sat = None
            if strategy:
                entry, _ = engine.snapshot_entry(loaded, t)
                gate_sat = _gate_sat(loaded, entry["snap"], strategy)
            return _czml_bytes(loaded, t, duration_s, step_s, gate_sat)

        body = await engine.run(lambda: engine.cache.get_or_compute(key, work, size=len))
    return Response(content=body, media_type=CZML_MEDIA_TYPE,
                    headers={"Content-Disposition": f'inline; filename="{loaded.id}.czml"'})
