"""Errors as RFC 9457 problem details (``application/problem+json``).

Every client error of the service is a :class:`Problem`: an HTTP status, a
short type slug and a one-line ``detail`` — for the library's user errors
(:func:`spacexnet.exceptions.user_errors`) the very message the CLI prints
after ``spacexnet: error:``. :func:`install` registers the handlers that turn
problems, the library's errors, request validation errors and HTTP errors
into problem bodies, and any other exception into a 500 whose body carries
an error id that is also in the server log (with the traceback), never the
traceback itself.

Examples
--------
>>> p = Problem(404, "not-found", "no scenario 'abc'")
>>> body = p.body("/scenarios/abc")
>>> body["type"], body["status"], body["title"]
('urn:spacexnet:problem:not-found', 404, 'Not found')
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..exceptions import user_errors

__all__ = ["Problem", "problem_response", "install", "MEDIA_TYPE", "TITLES"]

log = logging.getLogger("spacexnet.service")

MEDIA_TYPE = "application/problem+json"

#: Title of each problem type (the ``type`` URI is ``urn:spacexnet:problem:<slug>``).
TITLES = {
    "bad-request": "Bad request",
    "bad-parameter": "Bad query parameter",
    "invalid-scenario": "Invalid scenario",
    "unanswerable": "The scenario cannot answer this request",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "conflict": "Conflict",
    "busy": "Too busy, try again later",
    "too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "unauthorized": "API key required",
    "forbidden": "Wrong API key",
    "internal": "Internal server error",
}

_SLUG_OF_STATUS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                   405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
                   422: "invalid-scenario", 429: "busy", 500: "internal"}


class Problem(Exception):
    """A client or server error with its HTTP status and a one-line detail."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status = int(status)
        self.slug = slug
        self.detail = " ".join(str(detail).split())  # one line, whatever the library put in it
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str) -> dict:
        return {"type": f"urn:spacexnet:problem:{self.slug}", "title": TITLES.get(self.slug, self.slug),
                "status": self.status, "detail": self.detail, "instance": instance, **self.extra}


def problem_response(problem: Problem, instance: str) -> JSONResponse:
    """The JSON response of ``problem`` for the request path ``instance``."""
    return JSONResponse(problem.body(instance), status_code=problem.status, media_type=MEDIA_TYPE,
                        headers=problem.headers)


def _instance(request: Request) -> str:
    return request.url.path


def _query_detail(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    where, name = (loc[0], ".".join(loc[1:])) if loc else ("request", "")
    value = first.get("input")
    shown = "" if value is None or isinstance(value, (dict, list)) else f" = {value!r}"
    what = {"query": "query parameter", "path": "path parameter", "header": "header",
            "body": "body field"}.get(where, where)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        text = f"{what} {name!r} is required"
    else:
        text = f"{what} {name!r}{shown[:80]}: {message}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return (422 if where == "body" else 400), text


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, _instance(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        status, detail = _query_detail(exc)
        return problem_response(Problem(status, _SLUG_OF_STATUS[status] if status != 400 else "bad-parameter",
                                        detail), _instance(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug = _SLUG_OF_STATUS.get(exc.status_code, "bad-request" if exc.status_code < 500 else "internal")
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.method} {request.url.path} (see /docs)"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path} (see /docs)"
        return problem_response(Problem(exc.status_code, slug, str(detail), headers=exc.headers or None),
                                _instance(request))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        if isinstance(exc, user_errors()):
            # A library user error that reached the app unmapped: still the user's input.
            return problem_response(Problem(422, "unanswerable", str(exc)), _instance(request))
        error_id = secrets.token_hex(8)
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return problem_response(Problem(500, "internal", f"internal error {error_id}; it is in the server log",
                                        error_id=error_id), _instance(request))
