"""Two lanes for the service's computations: cheap questions never wait behind searches of seconds.

A question about one instant costs a few hundred milliseconds at most —
propagation, links, a ``space-xnet`` placement, a Monte Carlo of the token
latency — except when it asks for a strategy that *searches*
(:data:`SEARCHING`: ``joint``, ``anneal``, seconds to tens of seconds), as
the default ``compare`` table does. Those go to a :class:`HeavyLane`: a
small executor of its own (``heavy_workers`` threads, one by default) whose
threads run at a lower CPU priority, with a bound on the distinct
computations waiting for it; one more is refused at once with 429 and a
``Retry-After`` estimated from the lane's recent durations, instead of
waiting for minutes. The cheap questions keep the worker threads of the
default lane (``workers``) and the full priority, so a comparison in
progress does not hold them up.

Examples
--------
>>> is_heavy(("space-xnet", "random")), is_heavy(("space-xnet", "anneal"))
(False, True)
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .problems import Problem

__all__ = ["SEARCHING", "HEAVY_NICENESS", "SWEEP_NICENESS", "is_heavy", "HeavyLane", "lower_priority"]

log = logging.getLogger("spacexnet.service")

#: Strategies whose placement is a search (seconds to tens of seconds on the default shell).
SEARCHING = frozenset({"joint", "anneal"})
#: Niceness added to the heavy lane's threads: the cheap questions and the event loop get the cores first.
HEAVY_NICENESS = 5
#: Niceness of a sweep job's process (and its workers): a job of minutes yields the cores to questions.
SWEEP_NICENESS = 10
#: Seconds a heavy computation is taken to last before the lane has timed one (for ``Retry-After``).
_FIRST_GUESS_S = 10.0


def is_heavy(strategies) -> bool:
    """Whether measuring ``strategies`` is a heavy computation (one of them searches)."""
    return any(name in SEARCHING for name in strategies)


def lower_priority(niceness: int) -> None:
    """Add ``niceness`` to the calling thread's (Linux: per thread) or process's CPU niceness; best effort."""
    try:
        who = threading.get_native_id() if os.uname().sysname == "Linux" else 0
        os.setpriority(os.PRIO_PROCESS, who, min(19, os.getpriority(os.PRIO_PROCESS, who) + niceness))
    except (AttributeError, OSError) as exc:  # no priorities here (or not allowed): the lane still bounds
        log.info("could not lower the priority of the heavy lane: %s", exc)


class HeavyLane:
    """A bounded executor for heavy computations.

    Parameters
    ----------
    workers : int
        Heavy computations run at once (threads of their own).
    max_waiting : int
        Heavy computations that may wait for a thread; one more is refused
        (:meth:`submit` raises a 429 problem with ``Retry-After``).
    niceness : int
        Added to the lane's threads' CPU niceness.

    Examples
    --------
    >>> async def demo():
    ...     lane = HeavyLane(workers=1, max_waiting=0)
    ...     first = lane.submit(time.sleep, 0.2)
    ...     try:
    ...         lane.submit(time.sleep, 0.2)
    ...     except Problem as exc:
    ...         refused = exc.status, "Retry-After" in exc.headers
    ...     await first
    ...     lane.shutdown()
    ...     return refused
    >>> asyncio.run(demo())
    (429, True)
    """

    def __init__(self, workers: int = 1, max_waiting: int = 4, niceness: int = HEAVY_NICENESS):
        self.workers = int(workers)
        self.max_waiting = int(max_waiting)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="heavy",
                                        initializer=lower_priority, initargs=(niceness,))
        self.running = 0
        self.waiting = 0
        self._mean_s = None  # running mean of the durations, s

    def retry_after_s(self) -> int:
        """Seconds until a thread of the lane is likely free for one more computation."""
        mean_s = _FIRST_GUESS_S if self._mean_s is None else self._mean_s
        return max(1, math.ceil(mean_s * (self.waiting + 1) / self.workers))

    def submit(self, fn, *args) -> asyncio.Future:
        """``fn(*args)`` on the lane, as a future of the running event loop; 429 problem when the lane is full.

        Call it on the event loop: the check and the count are not locked.
        """
        if self.running + self.waiting >= self.workers + self.max_waiting:
            raise Problem(429, "busy", f"the service is busy: long computations (comparisons, joint or anneal "
                                       f"placements) running or waiting: {self.running + self.waiting}; ask again "
                                       "later, or ask for strategies that do not search",
                          headers={"Retry-After": str(self.retry_after_s())})
        self.waiting += 1
        loop = asyncio.get_running_loop()

        def run():
            loop.call_soon_threadsafe(self._started)
            started = time.monotonic()
            try:
                return fn(*args)
            finally:
                loop.call_soon_threadsafe(self._finished, time.monotonic() - started)

        return asyncio.wrap_future(self._pool.submit(run))

    def _started(self) -> None:
        self.waiting -= 1
        self.running += 1

    def _finished(self, seconds: float) -> None:
        self.running -= 1
        self._mean_s = seconds if self._mean_s is None else 0.7 * self._mean_s + 0.3 * seconds

    def stats(self) -> dict:
        return {"running": self.running, "waiting": self.waiting, "workers": self.workers,
                "max_waiting": self.max_waiting}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
