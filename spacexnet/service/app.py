"""The ASGI application: scenarios and the questions asked of them, over HTTP.

:func:`create_app` builds a FastAPI app around a
:class:`~spacexnet.service.store.ScenarioStore`. Work that costs CPU —
building a scenario, propagating, placing, measuring — runs in worker
threads (at most ``config.workers`` at once), never on the event loop, so
``/health`` answers while a comparison runs; questions that search
(comparisons, ``joint``, ``anneal``) run in a lane of their own, bounded
(:mod:`~spacexnet.service.lanes`), so that they never hold up the cheap ones.
Answers are kept per
(scenario, time, question) in a byte-bounded LRU cache together with the
geometry they came from; right after start, a background thread answers the
default scenario's plain ``latency`` request, so that the first client does
not wait for the code and kernels to load. An ASGI guard in front of the app checks the API
key (when one is set) and the body size before any route runs; behind it, an
answer asked again is sent by URL from the cache (:mod:`~spacexnet.service.answers`).

Examples
--------
>>> app = create_app(ServiceConfig())
>>> sorted(r.path for r in app.routes if getattr(r, "path", "").startswith("/scenarios/{sid}/"))[:3]
['/scenarios/{sid}/compare', '/scenarios/{sid}/latency', '/scenarios/{sid}/links']
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import sys
import threading
import time
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import numpy as np
from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError

from orbits.links import DEFAULT_MIN_ELEVATION_DEG

from .answers import AnswerCache
from .cache import ByteLRU, nbytes
from .config import MAX_TIME_BUDGET_S, ServiceConfig
from .jobs import FINISHED, JobManager
from .lanes import HeavyLane, is_heavy
from .problems import MEDIA_TYPE, Problem, install
from .schema import Scenario, SweepRequest, validation_detail
from .store import ScenarioStore, document_with_elements, parse_document
from . import page, views

__all__ = ["create_app", "Engine", "Guard", "BodyTooLarge"]

log = logging.getLogger("spacexnet.service")

_OPEN_PATHS = frozenset({"/health", "/"})
#: Paths under this prefix are the page's own files (script, styles, vendored libraries): no data, no key.
_OPEN_PREFIX = "/static/"
#: Seconds a thread may hold the interpreter lock while another one waits for it (Python's default: 0.005).
SWITCH_INTERVAL_S = 0.001


class BodyTooLarge(Problem):
    """The request body passed the size limit while it was being read."""


class Guard:
    """ASGI middleware: API key on every path but ``/health`` and the page's files, and the body size limit (413).

    The page (``/`` and ``/static/...``) holds no data: it asks for a key and
    sends it with every API request it makes.
    """

    def __init__(self, app, config: ServiceConfig):
        self.app = app
        self.config = config

    async def _refuse(self, scope, send, problem: Problem):
        body = json.dumps(problem.body(scope.get("path", ""))).encode()
        headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _key_problem(self, headers: dict) -> Problem | None:
        given = None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        elif b"x-api-key" in headers:
            given = headers[b"x-api-key"].decode("latin-1").strip()
        if not given:
            return Problem(401, "unauthorized", "this service needs an API key: send 'Authorization: Bearer KEY' "
                                                "or 'X-API-Key: KEY'", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), self.config.api_key.encode()):
            return Problem(403, "forbidden", "the API key is not this service's key")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        path = scope.get("path", "")
        if self.config.requires_key and path not in _OPEN_PATHS and not path.startswith(_OPEN_PREFIX):
            problem = self._key_problem(headers)
            if problem is not None:
                return await self._refuse(scope, send, problem)
        limit = self.config.max_body_bytes
        too_large = BodyTooLarge(413, "too-large", f"the request body is larger than this service's limit of "
                                                   f"{limit:,} bytes (--max-body-mb)")
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    return await self._refuse(scope, send, too_large)
            except ValueError:
                return await self._refuse(scope, send, Problem(400, "bad-request", "Content-Length is not a number"))
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, too_large)


class Engine:
    """Runs the CPU-bound work in worker threads and caches snapshots and encoded answers.

    Cache keys are ``(scenario id, time ns, question, parameters)``; the
    snapshot of ``(scenario, time)`` is kept under the question
    ``"snapshot"`` and shared by the questions about that instant, heavy and
    cheap at once: its routing graph fills its shortest-path cache with
    whole rows, each the same whichever thread searched it. A question asked
    again while its answer is being computed waits for that computation
    (on the event loop, holding no thread).
    """

    def __init__(self, store: ScenarioStore, config: ServiceConfig):
        self.store = store
        self.config = config
        self.cache = ByteLRU(config.cache_bytes)
        self.limiter = None  # made on the event loop (lifespan)
        self.heavy = HeavyLane(config.heavy_workers, config.max_heavy_queued)
        self._computing: dict = {}  # cache key -> future of the encoded answer

    async def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in a worker thread, at most ``config.workers`` at once."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=self.limiter)

    def snapshot_entry(self, loaded, t: np.datetime64) -> tuple[dict, tuple]:
        """The cached ``{"snap", "lock"}`` of ``loaded`` at ``t``, and its cache key."""
        key = (loaded.id, int(t.astype("int64")), "snapshot", ())
        return self.cache.get_or_compute(key, lambda: {"snap": views.make_snapshot(loaded, t)}), key

    def _answer(self, loaded, t, key, compute):
        def work():
            entry, snap_key = self.snapshot_entry(loaded, t)
            result = compute(loaded, entry["snap"])
            self.cache.resize(snap_key, nbytes(entry["snap"]))
            return views.encode(result)

        return self.cache.get_or_compute(key, work, size=len)

    async def answer(self, loaded, t: np.datetime64, question: str, params: tuple, compute,
                     heavy: bool = False) -> Response:
        """The JSON response to ``question`` about ``loaded`` at ``t``, from the cache or computed off the loop.

        ``heavy`` questions go to the heavy lane (429 problem when it is full).
        """
        key = (loaded.id, int(t.astype("int64")), question, params)
        body = self.cache.get(key)
        if body is None:
            computing = self._computing.get(key)
            if computing is None:
                if heavy:
                    computing = self.heavy.submit(self._answer, loaded, t, key, compute)
                else:
                    computing = asyncio.ensure_future(self.run(self._answer, loaded, t, key, compute))
                self._computing[key] = computing
                computing.add_done_callback(functools.partial(self._computed, key))
            # Shielded: a client that goes away does not cancel what the others wait for.
            body = await asyncio.shield(computing)
        return Response(content=body, media_type="application/json")

    def _computed(self, key, future) -> None:
        if self._computing.get(key) is future:
            del self._computing[key]
        if not future.cancelled():
            future.exception()  # retrieved: the waiting requests got it (or none waited any more)

    def forget(self, sid: str) -> int:
        return self.cache.discard(lambda key: key[0] == sid)


def _openapi(app: FastAPI):
    # POST /scenarios reads its body itself (JSON or multipart); document the JSON schema it checks against.
    def build():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        doc = Scenario.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(doc.pop("$defs", {}))
        components["Scenario"] = doc
        ref = {"$ref": "#/components/schemas/Scenario"}
        schema["paths"]["/scenarios"]["post"]["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": ref},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "scenario": {"type": "string", "description": "The scenario document as JSON, without "
                                                              "'constellation'."},
                "tle": {"type": "string", "format": "binary", "description": "3LE/2LE element file."},
                "omm": {"type": "string", "format": "binary", "description": "OMM CSV/JSON/XML file."},
                "omm_format": {"type": "string", "enum": ["json", "csv", "xml"]}}}}}}
        app.openapi_schema = schema
        return schema

    return build


TimeQuery = Query(None, description="UTC instant, ISO 8601 with a zone (Z or ±HH:MM), or 'now'; "
                                    "default: the scenario's newest element-set epoch (to the minute).")
SeedsQuery = Query(5, ge=1, le=50, description="Runs of each randomized strategy.")
SamplesQuery = Query(20_000, ge=100, le=200_000, description="Monte Carlo tokens per placement (p50/p95/p99).")
TimeBudgetQuery = Query(None, ge=0, le=MAX_TIME_BUDGET_S, allow_inf_nan=False,
                        description="Nominal seconds of search for anneal, as spacexnet compare's "
                                    "--time-budget-s (default: anneal's own, 10).")


def _latency_question(strategy: str, seeds: int, samples: int, ground):
    """Cache key parameters and computation of ``GET /scenarios/{id}/latency``."""
    key = (strategy, seeds, samples, None if ground is None else (ground.lat_deg, ground.lon_deg))
    return key, lambda s, snap: views.latency_answer(s, snap, strategy, seeds, samples, ground)


def _warm_up(engine: Engine) -> None:
    # The first answer of a process also loads the placement and latency code and its compiled kernels
    # (seconds); pay that once after start, on the default scenario's plain latency request (the README's
    # first call), off the event loop, so that the first client does not.
    loaded = engine.store.get("default")
    t = views.parse_time(None, loaded)
    key, compute = _latency_question("space-xnet", SeedsQuery.default, SamplesQuery.default, None)
    try:
        engine._answer(loaded, t, (loaded.id, int(t.astype("int64")), "latency", key), compute)
    except Exception:  # a warm-up is an optimisation: a failure shows again, with its error id, on request
        log.exception("warm-up of the default scenario failed")


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The service as an ASGI app (the default scenario is built before it returns)."""
    from .. import __version__

    config = config or ServiceConfig()
    store = ScenarioStore(config)
    loaded_saved = store.load_saved()
    engine = Engine(store, config)
    jobs = JobManager(store, config)
    started = time.monotonic()

    @asynccontextmanager
    async def lifespan(app):
        # The event loop shares the interpreter lock with the worker threads' Python code: a short switch
        # interval lets it take the lock back sooner (5 ms by default), so that a request waits less.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        engine.limiter = anyio.CapacityLimiter(config.workers)
        resumed = await anyio.to_thread.run_sync(jobs.start)
        threading.Thread(target=_warm_up, args=(engine,), name="warm-up", daemon=True).start()
        log.info("%d scenario(s) held (%d from the data directory), %d sweep job(s) resumed; default %s",
                 len(store.all()), loaded_saved, resumed, store.default_id)
        try:
            yield
        finally:
            engine.heavy.shutdown()
            await anyio.to_thread.run_sync(jobs.stop)

    app = FastAPI(title="Space-XNet", version=__version__, lifespan=lifespan,
                  description="A mixture-of-experts model on a moving satellite constellation: scenarios, "
                              "positions, links, routes, placements and token latency. Every number carries "
                              "its unit in its name; times are UTC.")
    app.state.engine = engine
    app.state.store = store
    app.state.jobs = jobs
    install(app)
    app.add_middleware(AnswerCache, cache=engine.cache)  # inside the guard: the key is checked first
    app.add_middleware(Guard, config=config)
    app.openapi = _openapi(app)

    @app.get("/health", summary="Liveness, version and cache use (never needs a key).")
    async def health():
        return {"status": "ok", "version": __version__, "scenarios": len(store.all()),
                "uptime_s": time.monotonic() - started, "cache": engine.cache.stats(), "workers": config.workers,
                "heavy": engine.heavy.stats()}

    @app.get("/presets", summary="Names of the constellations, models, hardware, link profiles, strategies.")
    async def get_presets():
        return views.presets()

    @app.post("/scenarios", status_code=201, summary="Add a scenario (idempotent: the same document, the same id).")
    async def post_scenario(request: Request, response: Response):
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        source = None
        if kind == "application/json":
            doc = parse_document(await request.body())
        elif kind == "multipart/form-data":
            doc, source = await _upload(request, config)
        else:
            raise Problem(415, "unsupported-media-type", f"content type {kind!r}: send the scenario as "
                                                         "application/json, or multipart/form-data with a tle or "
                                                         "omm file")
        loaded, created = await engine.run(store.add, doc, source)
        response.status_code = 201 if created else 200
        response.headers["Location"] = f"/scenarios/{loaded.id}"
        return loaded.summary()

    @app.get("/scenarios", summary="The scenarios held.")
    async def list_scenarios():
        return {"scenarios": [s.summary() for s in store.all()]}

    @app.get("/scenarios/{sid}", summary="One scenario, with its document (every default filled in).")
    async def get_scenario(sid: str):
        return store.get(sid).summary(document=True)

    @app.delete("/scenarios/{sid}", status_code=204, summary="Forget a scenario (not the default one).")
    async def delete_scenario(sid: str):
        if jobs.busy_with(store.resolve(sid)):
            raise Problem(409, "conflict", f"scenario {sid!r} has sweep jobs that are not finished; cancel them "
                                           "(DELETE /jobs/ID) first")
        full = store.delete(sid)
        engine.forget(full)
        return Response(status_code=204)

    @app.get("/scenarios/{sid}/satellites", summary="Every satellite's position and SGP4 status at a time.")
    async def get_satellites(sid: str, time: str | None = TimeQuery,
                             format: Literal["json", "geojson"] = Query("json")):
        loaded = store.get(sid)
        t = views.parse_time(time, loaded)
        if format == "geojson":
            response = await engine.answer(loaded, t, "satellites.geojson", (),
                                           lambda s, snap: views.satellites_geojson(s, snap))
            response.media_type = "application/geo+json"
            response.headers["content-type"] = "application/geo+json"
            return response
        return await engine.answer(loaded, t, "satellites", (), views.satellites)

    @app.get("/scenarios/{sid}/links", summary="Inter-satellite links: ends, kind, length and up flag.")
    async def get_links(sid: str, time: str | None = TimeQuery,
                        ground: bool = Query(False, description="Also the shipped ground stations' links."),
                        min_elevation_deg: float = Query(DEFAULT_MIN_ELEVATION_DEG, ge=0, le=90,
                                                         description="Least elevation of a ground link.")):
        loaded = store.get(sid)
        elevation = min_elevation_deg if ground else None
        return await engine.answer(loaded, views.parse_time(time, loaded), "links", (elevation,),
                                   lambda s, snap: views.links(s, snap, elevation))

    @app.get("/scenarios/{sid}/route",
             summary="Shortest path between satellites (NORAD ids) or ground points (LAT,LON), in any pairing.")
    async def get_route(sid: str,
                        from_: str = Query(..., alias="from", description="NORAD id, or a ground point LAT,LON."),
                        to: str = Query(..., description="NORAD id, or a ground point LAT,LON."),
                        time: str | None = TimeQuery):
        loaded = store.get(sid)
        ends = views.route_end(from_, "from"), views.route_end(to, "to")
        for end, what in zip(ends, ("from", "to")):
            if isinstance(end, int):
                loaded.satellite(end, what)
        key = tuple(e if isinstance(e, int) else (e.lat_deg, e.lon_deg) for e in ends)
        return await engine.answer(loaded, views.parse_time(time, loaded), "route", key,
                                   lambda s, snap: views.route(s, snap, *ends))

    @app.get("/scenarios/{sid}/placement", summary="One placement: gate and experts of each layer (NORAD ids).")
    async def get_placement(sid: str, time: str | None = TimeQuery, strategy: str = Query("space-xnet")):
        loaded = store.get(sid)
        views.check_strategy(strategy, with_bound=False)
        return await engine.answer(loaded, views.parse_time(time, loaded), "placement", (strategy,),
                                   lambda s, snap: views.placement_answer(s, snap, strategy),
                                   heavy=is_heavy((strategy,)))

    @app.get("/scenarios/{sid}/latency", summary="Token latency of one strategy (the compare row, per layer).")
    async def get_latency(sid: str, time: str | None = TimeQuery, strategy: str = Query("space-xnet"),
                          seeds: int = SeedsQuery, samples: int = SamplesQuery,
                          user: str | None = Query(None, description="A ground user LAT,LON (degrees): the "
                                                                     "token's delivery to them, on its own.")):
        loaded = store.get(sid)
        views.check_strategy(strategy, with_bound=True)
        ground = views.parse_user(user)
        if ground is not None and strategy == "lower-bound":
            raise Problem(400, "bad-parameter", "user: the lower-bound row is a bound, not a placement; a ground "
                                                "user needs a placement strategy")
        key, compute = _latency_question(strategy, seeds, samples, ground)
        return await engine.answer(loaded, views.parse_time(time, loaded), "latency", key, compute,
                                   heavy=is_heavy((strategy,)))

    @app.get("/scenarios/{sid}/compare", summary="Space-XNet against the baselines (spacexnet compare's rows).")
    async def get_compare(sid: str, time: str | None = TimeQuery,
                          strategies: str = Query(",".join(views.DEFAULT_STRATEGIES),
                                                  description="Comma-separated strategies."),
                          seeds: int = SeedsQuery, samples: int = SamplesQuery,
                          time_budget_s: float | None = TimeBudgetQuery):
        loaded = store.get(sid)
        names = tuple(n.strip() for n in strategies.split(",") if n.strip())
        if not names:
            raise Problem(400, "bad-parameter", "strategies: give at least one strategy")
        for name in names:
            views.check_strategy(name, with_bound=True, what="strategies")
        return await engine.answer(loaded, views.parse_time(time, loaded), "compare",
                                   (names, seeds, samples, time_budget_s),
                                   lambda s, snap: views.compare_answer(s, snap, names, seeds, samples, time_budget_s),
                                   heavy=is_heavy(names))

    @app.post("/scenarios/{sid}/sweeps", status_code=202,
              summary="Start a sweep job (idempotent: the same sweep of the same scenario, the same job).")
    async def post_sweep(sid: str, request: Request, response: Response):
        loaded = store.get(sid)
        try:
            sweep_request = SweepRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            raise Problem(422, "invalid-scenario", validation_detail(exc, "sweep")) from None
        job, created = await engine.run(jobs.submit, loaded, sweep_request)
        response.status_code = 202 if created else 200
        response.headers["Location"] = f"/jobs/{job.id}"
        return job.status()

    @app.get("/jobs", summary="The sweep jobs: queued, running and finished.")
    async def list_jobs():
        return {"jobs": [j.status() for j in jobs.all()]}

    @app.get("/jobs/{job_id}", summary="A job's state, steps done and total, and ETA.")
    async def get_job(job_id: str):
        return jobs.get(job_id).status()

    @app.get("/jobs/{job_id}/events", summary="A job's events as server-sent events, in order, until it ends.")
    async def job_events(job_id: str, last_event_id: int | None = Header(None, ge=-1)):
        job = jobs.get(job_id)
        first = 0 if last_event_id is None else last_event_id + 1

        async def stream():
            sent = first
            while True:
                events = job.events
                while sent < len(events):
                    event = events[sent]
                    data = job.detail_text(event) or views.encode(event["data"]).decode()
                    yield f"id: {event['seq']}\nevent: {event['event']}\ndata: {data}\n\n"
                    sent += 1
                if job.state in FINISHED and sent >= len(job.events):
                    return
                await anyio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/jobs/{job_id}/dataset", summary="The finished sweep's NetCDF file (as spacexnet sweep writes it).")
    async def job_dataset(job_id: str):
        job = jobs.get(job_id)
        if job.state != "done":
            raise Problem(409, "conflict", f"job {job_id} is {job.state}"
                                           + (f" ({job.detail})" if job.detail else "")
                                           + "; its dataset is there once it is done")
        return FileResponse(job.dataset, media_type="application/x-netcdf", filename=f"sweep-{job_id}.nc")

    @app.delete("/jobs/{job_id}", status_code=204, summary="Cancel a job (or forget a finished one) and its files.")
    async def delete_job(job_id: str):
        jobs.cancel(job_id)
        return Response(status_code=204)

    app.include_router(page.router)
    return app


async def _upload(request: Request, config: ServiceConfig):
    """The scenario of a multipart upload: an optional ``scenario`` JSON field and one ``tle`` or ``omm`` file."""
    try:
        # Room for one part too many, so that two files get the message below rather than the parser's.
        form = await request.form(max_files=2, max_fields=3, max_part_size=config.max_body_bytes)
    except Exception as exc:  # the multipart parser's own errors: a malformed upload
        if isinstance(exc, Problem):
            raise
        raise Problem(400, "bad-request", f"malformed multipart upload: {getattr(exc, 'detail', exc)}") from None
    async with _closing(form):
        unknown = sorted(set(form.keys()) - {"scenario", "tle", "omm", "omm_format"})
        if unknown:
            raise Problem(422, "invalid-scenario", f"upload: unknown part(s) {', '.join(map(repr, unknown))}; "
                                                   "expected scenario, tle or omm, omm_format")
        files = [k for k in ("tle", "omm") if k in form]
        if len(files) != 1:
            raise Problem(422, "invalid-scenario", "upload: give exactly one element file, as part 'tle' or 'omm'")
        kind = files[0]
        upload = form[kind]
        if isinstance(upload, str) or not hasattr(upload, "read"):
            raise Problem(422, "invalid-scenario", f"upload: part {kind!r} must be a file")
        name = upload.filename or kind
        raw = await upload.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Problem(422, "invalid-scenario", f"{name}: not UTF-8 text (byte {exc.start}); upload a 3LE/2LE "
                                                   "or OMM text file") from None
        document = form.get("scenario", "{}")
        omm_format = form.get("omm_format")
        if not isinstance(document, str) or (omm_format is not None and not isinstance(omm_format, str)):
            raise Problem(422, "invalid-scenario", "upload: parts 'scenario' and 'omm_format' must be text fields")
        return document_with_elements(document, kind, text, omm_format), name


@asynccontextmanager
async def _closing(form):
    try:
        yield
    finally:
        await form.close()

