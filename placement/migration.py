"""Moving weights between satellites: the per-step row cache, migration times, forced repair.

Used by :mod:`placement.policies`. Three pieces:

- :class:`StepOracle` memoises the distance oracle for one timestep, so a
  step whose policies run a strategy, evaluate placements and price their
  migrations asks for each source's Dijkstra once (:class:`placement.Step`
  owns one).
- :func:`migration_time_s`: moving ``b`` bytes from satellite ``a`` to
  ``s`` over the ISLs takes ``8 b / rate + d(a, s)`` — the transfer at the
  ISL rate (cut-through: one path, no link sharing) plus the first bit's
  path latency. A move of zero bytes sends nothing and takes no time.
  ``d(a, s)`` is relayed through sources searched this step, e.g. the
  gates (:meth:`StepOracle.relay_ms`): an upper bound, exact when
  ``a`` or ``s`` is itself a source (a gate, a gate candidate).
- :func:`repair`: moves every gate and expert off satellites that may not
  host them (failed, decayed, outside the eligibility mask) at once.
"""

from __future__ import annotations

import numpy as np

from ._validate import oracle_rows
from .exceptions import PlacementError

__all__ = ["StepOracle", "migration_time_s", "repair"]


class _Rows:
    """The rows of one step's ``path_ms`` known so far, in one array that grows geometrically.

    ``where[s]`` is the position of source ``s``'s row (−1: not searched
    yet), so that a lookup is one gather.
    """

    def __init__(self, path_ms, n_sat: int):
        self.path_ms = path_ms
        self.n_sat = n_sat
        self.store = np.empty((0, n_sat))
        self.count = 0
        self.where = np.full(n_sat, -1, dtype=np.int64)

    def fetch(self, sources) -> None:
        """Search the sorted, distinct ``sources`` not known yet (one ``path_ms`` call)."""
        missing = sources[self.where[sources] < 0]
        if not missing.size:
            return
        rows = oracle_rows(self.path_ms, missing, self.n_sat)
        end = self.count + missing.size
        if self.count == 0:
            self.store = rows
        else:
            if end > self.store.shape[0]:
                # Room for a few more calls like the first ones (a step's policies ask for the gates of
                # three or four placements): each growth copies every row known.
                grown = np.empty((max(end, min(4 * self.store.shape[0], self.n_sat)), self.n_sat))
                grown[:self.count] = self.store[:self.count]
                self.store = grown
            self.store[self.count:end] = rows
        self.where[missing] = np.arange(self.count, end)
        self.count = end


class StepOracle:
    """Memo of ``path_ms`` for one timestep: each source's row is computed once.

    Parameters
    ----------
    path_ms : callable
        ``path_ms(sources) -> (len(sources), n_sat)`` latency in ms, ``inf``
        if unreachable.
    n_sat : int

    Attributes
    ----------
    calls, sources : int
        Calls to the oracle that needed new sources, and sources asked for
        (Dijkstras run).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(5.0)
    >>> oracle = StepOracle(lambda s: np.abs(x - x[np.asarray(s)][:, None]), 5)
    >>> oracle([0, 4]).shape, oracle([4, 2]).shape, oracle.calls, oracle.sources
    ((2, 5), (2, 5), 2, 3)
    >>> float(oracle.relay_ms([1], [3])[0])  # through source 0, 2 or 4: 1 + 3, 1 + 1, 3 + 1
    2.0
    """

    #: Every row it hands out passed :func:`oracle_rows`'s checks when it was searched.
    rows_checked = True

    def __init__(self, path_ms, n_sat: int):
        self.n_sat = int(n_sat)
        self._rows = _Rows(path_ms, self.n_sat)
        self.calls = 0
        self.sources = 0

    @property
    def path_ms(self):
        """The wrapped oracle."""
        return self._rows.path_ms

    def __call__(self, sources) -> np.ndarray:
        src = self.load(sources)
        if src.size == 0:
            return np.empty((0, self.n_sat))
        rows = self._rows
        at = rows.where[src]
        if np.array_equal(at, np.arange(rows.count)):
            # Every row known, in the order stored (a strategy's first, largest call): a read-only
            # view instead of a copy of them all.
            view = rows.store[:rows.count]
            view.flags.writeable = False
            return view
        return rows.store[at]

    def load(self, sources) -> np.ndarray:
        """Make sure the rows of ``sources`` are known (one ``path_ms`` call for those not searched yet).

        Returns the sources as a flat int64 array.
        """
        src = np.asarray(sources, dtype=np.int64).ravel()
        if src.size == 0:
            return src
        if src.min() < 0 or src.max() >= self.n_sat:
            bad = int(src[(src < 0) | (src >= self.n_sat)][0])
            raise PlacementError(f"source satellite {bad} is outside 0..{self.n_sat - 1}")
        known = self._rows.where[src] >= 0
        if not known.all():
            new = np.unique(src[~known])
            self._rows.fetch(new)
            self.calls += 1
            self.sources += new.size
        return src

    def pair_ms(self, a, b) -> np.ndarray:
        """``d(a, b)`` elementwise (``a`` and ``b`` broadcast together), rows of ``a`` searched if not yet known.

        The entries of :meth:`__call__`'s rows without gathering whole rows.
        """
        a = np.asarray(a, dtype=np.int64)
        self.load(a)
        return self._rows.store[self._rows.where[a], b]

    def relay_ms(self, a, b, via=None) -> np.ndarray:
        """Upper bound on ``d(a_i, b_i)``: ``min over sources r of d(r, a_i) + d(r, b_i)``.

        The sources are ``via`` (searched if not yet known), or every one
        this oracle was asked for. ``0`` where ``a_i == b_i``; ``inf`` when
        no source reaches both.
        """
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if via is not None:
            if a.size == 0 or np.size(via) == 0:
                return np.where(a == b, 0.0, np.inf)
            relays = self.load(np.unique(np.asarray(via, dtype=np.int64)))
        else:
            if not self.sources or a.size == 0:
                return np.where(a == b, 0.0, np.inf)
            # The minimum is exact: the order of the relays does not matter.
            relays = np.flatnonzero(self._rows.where >= 0)
        # Only the columns a and b of the relays' rows: a gather, not a copy of the rows;
        # by flat positions, which NumPy gathers faster than a pair of index arrays.
        flat = self._rows.store.ravel()
        at = (self._rows.where[relays] * self.n_sat)[:, None]
        return np.where(a == b, 0.0, (flat.take(at + a) + flat.take(at + b)).min(axis=0))


def migration_time_s(n_bytes, path_ms, isl_rate_bps: float) -> np.ndarray:
    """Time to move weights over the ISLs, seconds.

    Parameters
    ----------
    n_bytes : float or array_like
        Bytes to move (weights of one expert or one gate).
    path_ms : float or array_like
        Path latency from the old to the new satellite in ms; ``inf`` or
        NaN means unknown (the source is gone): the term is left out.
    isl_rate_bps : float
        ISL data rate, bits per second (``inf``: transfers are instantaneous
        but the first bit still travels the path).

    Returns
    -------
    ndarray
        ``8 n_bytes / isl_rate_bps + path_ms / 1000``; exactly 0 where
        ``n_bytes == 0`` (nothing is sent).

    Examples
    --------
    1 GB over a 100 Gbit/s ISL, 20 ms away:

    >>> float(migration_time_s(1e9, 20.0, 100e9))
    0.1
    """
    n_bytes = np.asarray(n_bytes, dtype=np.float64)
    path = np.asarray(path_ms, dtype=np.float64)
    path = np.where(np.isfinite(path), path, 0.0)
    transfer = n_bytes * 8.0 / isl_rate_bps
    return np.where(n_bytes > 0, transfer + path / 1000.0, 0.0)


def repair(subnet, gate_sat, expert_sat, allowed, capacity, probs, oracle, confined, reserved=None):
    """Move gates and experts off satellites that may not host them.

    Gates first: a gate on a disallowed satellite (or missing, −1) moves to
    the allowed member of its subnet (the pool when not ``confined``) that
    hosts nothing and minimises ``d(g_{l−1}, s) + d(s, g_{l+1})`` — the
    gate ring stays short. Then experts: the displaced experts of each layer,
    most probable first, take the cheapest free allowed slots of their
    subnet (the pool when not ``confined``) at cost ``d(g_l, s) + d(s,
    g_{l+1})`` — the sorted rule restricted to the displaced experts, so the
    experts that stayed keep their satellites. What finds no room stays
    unplaced (−1).

    Parameters
    ----------
    subnet : ndarray of int, shape (n_sat,)
    gate_sat : ndarray of int, shape (L,)
        −1 for a missing gate.
    expert_sat : ndarray of int, shape (L, E)
        −1 for an unplaced expert.
    allowed : ndarray of bool, shape (n_sat,)
        Satellites that may host a gate or an expert this step.
    capacity : ndarray of int, shape (n_sat,)
    probs : ndarray, shape (L, E)
    oracle : StepOracle
        Asked for the gates' rows (and a moved gate's new row).
    confined : bool
        Keep every layer inside its subnet.
    reserved : ndarray of int, shape (n_sat,), optional
        Slots already promised to migrations in flight.

    Returns
    -------
    gate_sat, expert_sat : ndarray
        Repaired copies.
    gate_moved : ndarray of bool, shape (L,)
        Gates moved (or placed again after being missing).
    expert_moved : ndarray of bool, shape (L, E)
    complete : bool
        Every gate and expert placed.

    Examples
    --------
    Six satellites on a line, gate 2, its expert on 3; satellite 3 fails and
    the expert goes to the nearest free one, 1:

    >>> import numpy as np
    >>> x = np.arange(6.0)
    >>> oracle = StepOracle(lambda s: np.abs(x - x[np.asarray(s)][:, None]), 6)
    >>> allowed = np.array([True, True, True, False, True, True])
    >>> g, e, gm, em, ok = repair(np.zeros(6, np.int64), np.array([2]), np.array([[3]]), allowed,
    ...                           np.ones(6, np.int64), np.array([[1.0]]), oracle, confined=True)
    >>> g.tolist(), e.tolist(), em.tolist(), ok
    ([2], [[1]], [[True]], True)
    """
    n_layers, n_experts = expert_sat.shape
    gate = gate_sat.copy()
    expert = expert_sat.copy()
    if (gate >= 0).all() and (expert >= 0).all() and allowed[gate].all() and allowed[expert].all():
        # Nothing to move (the usual step). The gates' rows are still asked for, as below,
        # so that the oracle knows the same rows either way.
        oracle.load(gate)
        return gate, expert, np.zeros(n_layers, dtype=bool), np.zeros((n_layers, n_experts), dtype=bool), True
    pool = subnet >= 0
    gate_bad = (gate < 0) | ~allowed[np.maximum(gate, 0)]
    expert_bad = (expert < 0) | ~allowed[np.maximum(expert, 0)]
    gate[gate_bad] = -1
    expert[expert_bad] = -1
    load = np.bincount(expert[expert >= 0], minlength=subnet.size)
    if reserved is not None:
        load = load + reserved

    rows = np.zeros((n_layers, subnet.size))
    ok = gate >= 0
    if ok.any():
        rows[ok] = oracle(gate[ok])
    for l in np.flatnonzero(gate_bad):
        region = (subnet == l) if confined else pool
        cand = region & allowed & (load == 0)
        cand[gate[gate >= 0]] = False
        if not cand.any():
            continue
        score = np.zeros(subnet.size)
        for nb in {(l - 1) % n_layers, (l + 1) % n_layers} - {int(l)}:
            if gate[nb] >= 0:
                score = score + rows[nb]
        idx = np.flatnonzero(cand)
        gate[l] = int(idx[np.argmin(score[idx])])
        rows[l] = oracle([gate[l]])[0]

    if expert_bad.any():
        free = np.where(allowed, capacity - load, 0)
        free[gate[gate >= 0]] = 0
        nxt = np.roll(np.arange(n_layers), -1)
        for l in np.flatnonzero(expert_bad.any(axis=1)):
            region = (subnet == l) if confined else pool
            # A missing gate leaves the cost unknown: fall back to index order.
            cost = rows[l] + rows[nxt[l]] if gate[l] >= 0 and gate[nxt[l]] >= 0 else np.zeros(subnet.size)
            for e in sorted(np.flatnonzero(expert_bad[l]), key=lambda e: (-probs[l, e], e)):
                idx = np.flatnonzero(region & (free > 0))
                if idx.size == 0:
                    break
                s = int(idx[np.argmin(cost[idx])])
                expert[l, e] = s
                free[s] -= 1
    # A previously missing gate or expert placed again is a reload: forced too.
    gate_moved = gate_bad & (gate >= 0)
    expert_moved = expert_bad & (expert >= 0)
    complete = bool((gate >= 0).all() and (expert >= 0).all())
    return gate, expert, gate_moved, expert_moved, complete
