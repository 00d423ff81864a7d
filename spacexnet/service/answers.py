"""Answers asked again, sent straight from the cache by URL, before any routing or validation.

The questions about a scenario at an instant (``satellites``, ``links``,
``route``, ``placement``, ``latency``, ``compare``) have one answer per URL:
a scenario id is a content hash and its questions never change their answer,
so the bytes of a 200 answer can be sent again for the same path and query
string without going through the application. That keeps the event loop's
work per repeated request small, which is most of a busy service's requests.
Two things do change an answer, and they are kept out: ``time=now`` (a new
instant every second) is never kept, and deleting a scenario forgets every
kept answer (a deleted scenario's questions must get 404).

Examples
--------
>>> cacheable(b"GET", "/scenarios/default/latency", b"time=2026-01-01T00:00:00Z")
True
>>> cacheable(b"GET", "/scenarios/default/latency", b"time=now"), cacheable(b"GET", "/jobs/x", b"")
(False, False)
"""

from __future__ import annotations

import re

__all__ = ["AnswerCache", "cacheable"]

_QUESTION_RE = re.compile(r"^/scenarios/[^/]+/(satellites|links|route|placement|latency|compare)$")
#: First element of this layer's keys in the shared cache (the engine's keys start with a scenario id).
_KEY = "by-url"


def cacheable(method: bytes, path: str, query: bytes) -> bool:
    """Whether a request's answer is the same every time it is asked (and may be sent from the cache)."""
    return method == b"GET" and _QUESTION_RE.match(path) is not None and b"now" not in query.lower()


class AnswerCache:
    """ASGI middleware: 200 answers to :func:`cacheable` requests kept by URL in ``cache`` (a ByteLRU)."""

    def __init__(self, app, cache):
        self.app = app
        self.cache = cache
        self.deletions = 0  # an answer computed across a deletion is not kept: it may be the deleted one's

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"].encode(), scope["path"]
        if method == b"DELETE" and path.startswith("/scenarios/"):
            # Whichever name the scenario was deleted by: its answers must not outlive it.
            self.deletions += 1
            await self.app(scope, receive, send)
            self.cache.discard(lambda key: key[0] == _KEY)
            return
        if not cacheable(method, path, scope.get("query_string", b"")):
            return await self.app(scope, receive, send)
        key = (_KEY, path, scope.get("query_string", b""))
        kept = self.cache.get(key)
        if kept is not None:
            headers, body = kept
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start, parts, deletions = {}, [], self.deletions

        async def keeping_send(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and start.get("status") == 200 \
                        and self.deletions == deletions:
                    body = b"".join(parts)
                    self.cache.put(key, (list(start.get("headers", [])), body), size=len(body) + len(path) + 256)
            await send(message)

        await self.app(scope, receive, keeping_send)
