"""A least-recently-used cache bounded by bytes, safe to share between worker threads.

The service keeps the geometry of each (scenario, time) it was asked about
— propagated states, links and the routing graph — and the encoded answers
computed from it, so that the same question again costs a dictionary look-up.
Entries are weighed in bytes (:func:`nbytes`); the least recently used ones
go when the total would pass the bound. A value computed for a key that
several threads ask for at once is computed once (the others wait for it).
Scenario ids are content hashes, so an entry never goes stale: a scenario
deleted and posted again is the same scenario.

Examples
--------
>>> cache = ByteLRU(max_bytes=100)
>>> cache.get_or_compute("a", lambda: "first", size=60)
'first'
>>> cache.get_or_compute("a", lambda: "never computed", size=60)
'first'
>>> _ = cache.get_or_compute("b", lambda: "second", size=60)  # evicts "a"
>>> "a" in cache, "b" in cache, cache.total_bytes
(False, True, 60)
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["ByteLRU", "nbytes"]


def nbytes(value, _seen=None) -> int:
    """Approximate memory held by ``value``: arrays and datasets by their buffers, containers recursively.

    Examples
    --------
    >>> nbytes(np.zeros(1000)) >= 8000
    True
    """
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, (bytes, bytearray, str)):
        return sys.getsizeof(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + sys.getsizeof(value) if value.base is None else sys.getsizeof(value)
    if hasattr(value, "nbytes") and hasattr(value, "variables"):  # xarray Dataset: its variables' buffers
        return int(value.nbytes) + 1024
    if isinstance(value, dict):
        # A copy of the items first (one C call, atomic under the GIL): a routing graph's search cache
        # may gain rows in another thread while it is weighed.
        return sys.getsizeof(value) + sum(nbytes(k, seen) + nbytes(v, seen) for k, v in list(value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(nbytes(v, seen) for v in value)
    inner = getattr(value, "__dict__", None)
    if inner is not None:
        return sys.getsizeof(value) + nbytes(inner, seen)
    slots = getattr(type(value), "__slots__", ())
    if slots:
        return sys.getsizeof(value) + sum(nbytes(getattr(value, s, None), seen) for s in slots)
    return sys.getsizeof(value)


class ByteLRU:
    """Least-recently-used cache whose entries add up to at most ``max_bytes``.

    Parameters
    ----------
    max_bytes : int
        Bound on the sum of the entries' sizes. A value larger than the bound
        is returned but not kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict = OrderedDict()  # key -> (value, size)
        self._lock = threading.Lock()
        self._pending: dict = {}  # key -> lock held while the value is computed
        self.total_bytes = 0
        self.hits = 0
        self.misses = 0

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def get(self, key, default=None):
        """The value of ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            if key not in self._data:
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key][0]

    def _evict(self) -> None:
        while self.total_bytes > self.max_bytes and self._data:
            _, (_, size) = self._data.popitem(last=False)
            self.total_bytes -= size

    def put(self, key, value, size: int | None = None) -> None:
        """Keep ``value`` under ``key``, evicting the least recently used entries beyond the bound."""
        size = nbytes(value) if size is None else int(size)
        with self._lock:
            if key in self._data:
                self.total_bytes -= self._data.pop(key)[1]
            if size > self.max_bytes:
                return
            self._data[key] = (value, size)
            self.total_bytes += size
            self._evict()

    def resize(self, key, size: int) -> None:
        """Record that the value under ``key`` now holds ``size`` bytes (it grew while in use)."""
        with self._lock:
            if key not in self._data:
                return
            value, old = self._data[key]
            self._data[key] = (value, int(size))
            self.total_bytes += int(size) - old
            self._data.move_to_end(key)  # the entry just used is the last to go
            self._evict()

    def get_or_compute(self, key, compute, size=None):
        """The value of ``key``, computing it with ``compute()`` once if it is missing.

        Threads asking for the same missing key wait for the first one's
        result; an exception of ``compute`` reaches every caller that waited
        and nothing is kept.
        """
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key][0]
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return self._data[key][0]
                self.misses += 1
            try:
                value = compute()
                self.put(key, value, size(value) if callable(size) else size)
                return value
            finally:
                with self._lock:
                    if self._pending.get(key) is pending:
                        del self._pending[key]

    def discard(self, predicate) -> int:
        """Remove the entries whose key satisfies ``predicate``; return how many."""
        with self._lock:
            keys = [k for k in self._data if predicate(k)]
            for k in keys:
                self.total_bytes -= self._data.pop(k)[1]
            return len(keys)

    def stats(self) -> dict:
        with self._lock:
            return {"entries": len(self._data), "bytes": self.total_bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses}
