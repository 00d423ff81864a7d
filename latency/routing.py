"""Shortest-path routing over the inter-satellite links of one timestep.

Each up link is an undirected edge with weight, in ms,

    distance_km / c  +  payload_bytes × 8 / isl_rate_bps  +  forwarding_delay_ms,

that is propagation + transmission (store-and-forward of the whole hidden
state on every hop) + per-hop forwarding. Shortest paths run from the few
sources that matter (the layer gates) with Dijkstra (a Numba kernel that
gives the same values as :func:`scipy.sparse.csgraph.dijkstra`; it
releases the GIL, so the sources of one call can be split among threads),
or, given a :class:`SearchMemory`, from each source's newest tree of the
last timesteps (kept in one store and rewritten in place), with the same
values; hops are counted along the tree on request. Since the
graph is undirected, the same tree gives the paths into a gate. A pair with no path gets ``inf`` and a False
reachable flag, never a finite number.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from .exceptions import NoRouteError, SpecError
from .specs import LinkProfile, ModelSpec, load_link_profile

__all__ = ["RoutingGraph", "PathBreakdown", "SearchMemory"]


@dataclass(frozen=True)
class PathBreakdown:
    """Shortest paths from some sources to every satellite, split by cause.

    All arrays have shape ``(n_sources, n_sat)``; unreachable entries hold
    ``inf`` (times) and -1 (hops). ``latency_ms = propagation_ms +
    transmission_ms + forwarding_ms``.
    """

    latency_ms: np.ndarray
    propagation_ms: np.ndarray
    transmission_ms: np.ndarray
    forwarding_ms: np.ndarray
    hops: np.ndarray
    reachable: np.ndarray


class RoutingGraph:
    """Weighted ISL graph of one timestep with cached single-source shortest paths.

    Build it with :meth:`from_links` (plain arrays) or :meth:`from_dataset`
    (an orbits ISL dataset). Results from a source are computed once and
    cached, so asking for gates one by one costs no more than all at once.

    Parameters
    ----------
    n_sat : int
        Number of satellites (indices 0..n_sat-1).
    sat_a, sat_b : array_like of int
        End points of the up links.
    distance_km : array_like of float
        Link lengths, km.
    link_profile : LinkProfile or str or None
        Link parameters (default profile if None).
    payload_bytes : int or ModelSpec
        Bytes sent over every hop (a model's hidden state).
    r_itrs_km : array_like, shape (n_sat, 3), optional
        Earth-fixed positions, for ground users.

    Examples
    --------
    A chain 0 - 1 - 2 with 1,000 km links, no transmission or forwarding cost:

    >>> from latency.specs import LinkProfile
    >>> free = LinkProfile("ideal", isl_rate_bps=float("inf"), forwarding_delay_ms=0.0)
    >>> g = RoutingGraph.from_links([0, 1], [1, 2], [1000.0, 1000.0], [True, True], 3, free, 0)
    >>> g.latency_ms_from([0]).round(4).tolist()
    [[0.0, 3.3356, 6.6713]]
    >>> g.path(0, 2)
    [0, 1, 2]
    """

    def __init__(self, n_sat, sat_a, sat_b, distance_km, link_profile=None, payload_bytes=0,
                 r_itrs_km=None):
        if isinstance(link_profile, LinkProfile):
            self.link_profile = link_profile
        else:
            self.link_profile = load_link_profile(link_profile)
        if isinstance(payload_bytes, ModelSpec):
            payload_bytes = payload_bytes.hidden_state_bytes
        if not np.isfinite(payload_bytes) or payload_bytes < 0:
            raise SpecError(f"payload_bytes = {payload_bytes!r} must be a finite number >= 0")
        n_sat = int(n_sat)
        if n_sat < 1:
            raise SpecError(f"n_sat = {n_sat} must be >= 1")
        a = np.asarray(sat_a, dtype=np.int64).ravel()
        b = np.asarray(sat_b, dtype=np.int64).ravel()
        d = np.asarray(distance_km, dtype=np.float64).ravel()
        if not (a.shape == b.shape == d.shape):
            raise SpecError(f"sat_a, sat_b and distance_km must have one entry per link "
                            f"(got {a.shape}, {b.shape}, {d.shape})")
        if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_sat):
            raise SpecError(f"link end points must lie in 0..n_sat-1 = {n_sat - 1}")
        if np.any(~np.isfinite(d)) or np.any(d < 0):
            raise SpecError("distance_km of an up link must be finite and >= 0; mark broken links as not up")
        keep = a != b  # a self-loop never shortens a path
        a, b, d = a[keep], b[keep], d[keep]
        self.n_sat = n_sat
        self.payload_bytes = float(payload_bytes)
        self.transmission_ms = self.link_profile.transmission_ms(self.payload_bytes)
        self.forwarding_ms = self.link_profile.forwarding_delay_ms
        #: Per-hop cost that does not depend on length, ms.
        self.hop_ms = self.transmission_ms + self.forwarding_ms
        shape = _Shape.of(a, b, n_sat)
        if shape is not None:
            # No parallel links (the usual graph): the sorted links and the sparse layout are those
            # of every graph with these links, made once; only the weights are new.
            self.sat_a, self.sat_b, self.distance_km = shape.sat_a, shape.sat_b, d[shape.order]
        else:
            # Parallel links between one pair: keep the shortest (csgraph would add them up).
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            order = np.lexsort((d, hi, lo))
            lo, hi, d = lo[order], hi[order], d[order]
            first = np.ones(lo.size, dtype=bool)
            first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
            self.sat_a, self.sat_b, self.distance_km = lo[first], hi[first], d[first]
        self.edge_ms = self.link_profile.propagation_ms(self.distance_km) + self.hop_ms
        if np.any(self.edge_ms <= 0):
            # csgraph drops explicit zeros; a zero-cost hop (co-located satellites, ideal link)
            # gets the smallest positive weight so that it stays an edge.
            self.edge_ms = np.maximum(self.edge_ms, np.finfo(float).tiny)
        if shape is not None:
            self._csr = None  # made on first use (adjacency_ms)
            self._indptr, self._indices = shape.indptr, shape.indices
            self._weights = np.concatenate([self.edge_ms, self.edge_ms])[shape.data_order]
            self._links_key = shape.links_key
        else:
            rows = np.concatenate([self.sat_a, self.sat_b])
            cols = np.concatenate([self.sat_b, self.sat_a])
            self._csr = csr_matrix((np.concatenate([self.edge_ms, self.edge_ms]), (rows, cols)),
                                   shape=(n_sat, n_sat))
            self._indptr = self._csr.indptr.astype(np.int64)
            self._indices = self._csr.indices.astype(np.int64)
            self._weights = np.ascontiguousarray(self._csr.data, dtype=np.float64)
            self._links_key = None
        self._links = (self.sat_a.astype(np.int64), self.sat_b.astype(np.int64),
                       np.ascontiguousarray(self.edge_ms, dtype=np.float64))
        #: Threads that share the searches of one call (each source is one task); 1: this thread.
        self.threads = 1
        self.r_itrs_km = None if r_itrs_km is None else np.asarray(r_itrs_km, dtype=np.float64)
        if self.r_itrs_km is not None and self.r_itrs_km.shape != (n_sat, 3):
            raise SpecError(f"r_itrs_km has shape {self.r_itrs_km.shape}; expected ({n_sat}, 3)")
        #: Trees of earlier timesteps to start searches from (:class:`SearchMemory`); None: none.
        self.memory = None
        self._last = (np.empty(0, dtype=np.int64), np.empty((0, n_sat)))
        self._dist = {}
        self._trees = {}  # source -> (store, row, version) of its tree (a store of the memory's, or its own)
        self._hops = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_links(cls, sat_a, sat_b, distance_km, up, n_sat, link_profile, payload_bytes, r_itrs_km=None):
        """Graph of the links whose ``up`` flag is set (undirected).

        Parameters
        ----------
        sat_a, sat_b : array_like of int, shape (n_link,)
            Link end points.
        distance_km : array_like of float, shape (n_link,)
            Link lengths, km (ignored where not up; may be NaN there).
        up : array_like of bool, shape (n_link,)
            Whether each link is usable.
        n_sat : int
            Number of satellites.
        link_profile : LinkProfile, str or None
            Link parameters.
        payload_bytes : int or ModelSpec
            Bytes carried per hop (a ModelSpec means its hidden state).
        r_itrs_km : array_like, shape (n_sat, 3), optional
            Earth-fixed positions, needed only for ground users.

        Examples
        --------
        >>> g = RoutingGraph.from_links([0], [1], [3000.0], [False], 2, None, 8192)
        >>> g.reachable_from([0]).tolist()
        [[True, False]]
        """
        up = np.asarray(up, dtype=bool).ravel()
        sat_a = np.asarray(sat_a).ravel()
        sat_b = np.asarray(sat_b).ravel()
        distance_km = np.asarray(distance_km, dtype=np.float64).ravel()
        if not (up.shape == sat_a.shape == sat_b.shape == distance_km.shape):
            raise SpecError(f"sat_a, sat_b, distance_km and up must have one entry per link "
                            f"(got {sat_a.shape}, {sat_b.shape}, {distance_km.shape}, {up.shape})")
        return cls(n_sat, sat_a[up], sat_b[up], distance_km[up], link_profile, payload_bytes, r_itrs_km)

    @classmethod
    def from_dataset(cls, ds, time=None, link_profile=None, payload_bytes=None, n_sat=None, state=None):
        """Graph of one timestep of an ISL dataset.

        Parameters
        ----------
        ds : xarray.Dataset
            Variables ``distance_km`` and ``up`` on ``(time, link)`` or
            ``(link,)``; coordinates ``sat_a`` and ``sat_b`` on ``link`` (the
            output of ``orbits.isl_links``).
        time : int or time label, optional
            Position (int) or label of the timestep; required when ``ds`` has a
            ``time`` dimension longer than 1.
        link_profile : LinkProfile, str or None
            Link parameters.
        payload_bytes : int or ModelSpec
            Bytes carried per hop.
        n_sat : int, optional
            Number of satellites when neither ``ds`` nor ``state`` has a ``sat`` dimension.
        state : xarray.Dataset, optional
            Propagated states (``orbits.propagate``) on the same time axis:
            ``position_itrs_km`` (time, sat, xyz) is kept for ground users and
            its ``sat`` dimension gives ``n_sat``.

        Examples
        --------
        >>> import xarray as xr
        >>> ds = xr.Dataset({"distance_km": ("link", [1000.0, 1000.0]), "up": ("link", [True, True])},
        ...                 coords={"sat_a": ("link", [0, 1]), "sat_b": ("link", [1, 2])})
        >>> RoutingGraph.from_dataset(ds, payload_bytes=8192).n_sat
        3
        """
        if payload_bytes is None:
            raise SpecError("payload_bytes is required: the bytes of a hidden state (pass the ModelSpec)")
        for name in ("distance_km", "up", "sat_a", "sat_b"):
            if name not in ds.variables:
                raise SpecError(f"ISL dataset has no {name!r}; expected distance_km(time, link), up(time, link) "
                                "and coordinates sat_a, sat_b on link")

        def at_time(data):
            if "time" not in data.dims:
                return data
            index = time
            if index is None:
                if data.sizes["time"] != 1:
                    raise SpecError(f"the dataset has {data.sizes['time']} timesteps; pass time= (index or label)")
                index = 0
            return data.isel(time=index) if isinstance(index, (int, np.integer)) else data.sel(time=index)

        ds = at_time(ds)
        r_itrs = None
        for source in (ds, state):
            if source is None:
                continue
            for name in ("position_itrs_km", "r_itrs_km"):
                if name in source.variables:
                    r_itrs = np.asarray(at_time(source[name]).values, dtype=np.float64)
                    break
        if n_sat is None:
            for source in (state, ds):
                if source is not None and "sat" in source.sizes:
                    n_sat = source.sizes["sat"]
                    break
            else:
                n_sat = int(max(ds["sat_a"].max(), ds["sat_b"].max())) + 1
        return cls.from_links(ds["sat_a"].values, ds["sat_b"].values, ds["distance_km"].values,
                              ds["up"].values, n_sat, link_profile, payload_bytes, r_itrs)

    # ------------------------------------------------------------------ shortest paths

    def _sources(self, sources) -> np.ndarray:
        src = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        if src.ndim != 1:
            raise SpecError(f"sources must be a 1-D list of satellite indices, got shape {src.shape}")
        if src.size and (src.min() < 0 or src.max() >= self.n_sat):
            raise SpecError(f"source satellite {int(src[(src < 0) | (src >= self.n_sat)][0])} is outside "
                            f"0..{self.n_sat - 1}")
        missing = np.unique(src[[int(s) not in self._dist for s in src]]) if src.size else src
        if missing.size:
            memory = self.memory
            if memory is not None:
                store, rows, warm, same = memory.rows(missing, self.n_sat, self.links_key)
            else:
                store, rows = _TreeStore(self.n_sat, missing.size), np.arange(missing.size)
                warm = same = np.zeros(missing.size, dtype=bool)
            started = time.perf_counter()
            dist = self._search(missing, store, rows, warm, same)
            if memory is not None:
                memory.search_s += time.perf_counter() - started
                memory.found(rows, self.links_key)
            self._last = (missing, dist)
            for i, (s, row, version) in enumerate(zip(missing.tolist(), rows.tolist(), store.version[rows].tolist())):
                self._dist[s] = dist[i]
                self._trees[s] = (store, row, version)
        return src

    def _search(self, sources, store, rows, warm, same) -> np.ndarray:
        """Run the searches from ``sources`` into ``rows`` of ``store`` (a new version of each); their latencies."""
        # Imported on first search: numba then loads only for routing, so placement/ (which
        # imports latency.expectation) stays free of it.
        from ._kernels import shortest_rows

        dist = np.empty((sources.size, self.n_sat))
        # A thread hand-off costs more than a few searches: split only big calls.
        n_threads = max(1, min(int(self.threads), sources.size // _MIN_SOURCES_PER_THREAD))
        args = (self._indptr, self._indices, self._weights, self._links)

        def run(a, b):
            shortest_rows(*args, sources[a:b], rows[a:b], warm[a:b], same[a:b], store.pred, store.order, store.edge,
                          dist[a:b])

        if n_threads == 1:
            run(0, sources.size)
        else:
            cuts = np.linspace(0, sources.size, n_threads + 1).astype(int)
            for job in [_pool(n_threads).submit(run, a, b) for a, b in zip(cuts[:-1], cuts[1:])]:
                job.result()
        store.version[rows] += 1
        dist.setflags(write=False)  # rows are shared with callers (see latency_ms_from)
        return dist

    def _tree_rows(self, sources):
        """``(store, rows)`` of the trees of ``sources`` (searched already), one store for all.

        A tree whose row a later timestep's search has rewritten (the memory
        reuses rows) is found again here, into a store of this graph's own:
        the same tree, since the search's result does not depend on where it
        started.
        """
        entries = [self._trees[s] for s in sources]
        stale = [s for s, (store, row, version) in zip(sources, entries) if store.version[row] != version]
        stores = {id(store) for store, _, _ in entries}
        if stale or len(stores) > 1:
            own = _TreeStore(self.n_sat, len(sources))
            rows = np.arange(len(sources))
            self._search(np.asarray(sources, dtype=np.int64), own, rows, np.zeros(rows.size, dtype=bool),
                         np.zeros(rows.size, dtype=bool))
            for s, row in zip(sources, rows.tolist()):
                self._trees[s] = (own, row, int(own.version[row]))
            return own, rows
        return entries[0][0], np.array([row for _, row, _ in entries], dtype=np.int64)

    @property
    def adjacency_ms(self):
        """The graph as a symmetric ``scipy.sparse`` CSR matrix of edge latencies, ms (read it, do not modify it).

        What ``scipy.sparse.csgraph`` takes: ``dijkstra(graph.adjacency_ms,
        directed=False)`` gives :meth:`latency_ms_from`'s latencies.
        """
        if self._csr is None:
            self._csr = csr_matrix((self._weights, self._indices, self._indptr), shape=(self.n_sat, self.n_sat))
        return self._csr

    @property
    def links_key(self) -> bytes:
        """Digest of the graph's links (which satellites are joined, not the weights)."""
        if self._links_key is None:
            self._links_key = _links_digest(self._indptr, self._indices)
        return self._links_key

    def latency_ms_from(self, sources) -> np.ndarray:
        """Shortest-path latency from each source to every satellite, ms, ``(n_sources, n_sat)``.

        ``inf`` where no path exists (see :meth:`reachable_from`). The array
        may be read-only (the graph's own cache); copy it to change it.

        Examples
        --------
        >>> g = RoutingGraph.from_links([0], [1], [3000.0], [True], 3, None, 0)
        >>> g.latency_ms_from([0, 2])[:, 2].tolist()
        [inf, 0.0]
        """
        src = self._sources(sources)
        if src.size == 0:
            return np.empty((0, self.n_sat))
        last_src, last_rows = self._last
        if src.shape == last_src.shape and np.array_equal(src, last_src):
            return last_rows  # just searched, in this order: the rows as found (read-only), not a copy
        return self._gather(self._dist, src, np.float64)

    def reachable_from(self, sources) -> np.ndarray:
        """Whether each satellite can be reached from each source, ``(n_sources, n_sat)`` bool."""
        return np.isfinite(self.latency_ms_from(sources))

    def hops_from(self, sources) -> np.ndarray:
        """Hop count of each shortest path, ``(n_sources, n_sat)`` int, -1 where unreachable.

        Counted along the predecessor tree on first request, and cached
        with the latencies.
        """
        src = self._sources(sources)
        if src.size == 0:
            return np.empty((0, self.n_sat), dtype=np.int64)
        missing = [s for s in dict.fromkeys(src.tolist()) if s not in self._hops]
        if missing:
            from ._kernels import hops_along

            hops = np.empty((len(missing), self.n_sat), dtype=np.int64)
            store, rows = self._tree_rows(missing)
            hops_along(store.pred, store.order, rows, hops)
            self._hops.update(zip(missing, hops))
        return self._gather(self._hops, src, np.int64)

    def _gather(self, cache, src, dtype) -> np.ndarray:
        # Row by row into one array: the same values as np.stack, at a fraction of its overhead.
        out = np.empty((src.size, self.n_sat), dtype=dtype)
        for i, s in enumerate(src.tolist()):
            out[i] = cache[s]
        return out

    def breakdown_from(self, sources) -> PathBreakdown:
        """Split each shortest path from ``sources`` into propagation, transmission and forwarding.

        Every hop carries the same transmission and forwarding delay, so
        ``propagation = latency - hops × (transmission + forwarding)``.

        Examples
        --------
        >>> g = RoutingGraph.from_links([0, 1], [1, 2], [3000.0, 3000.0], [True, True], 3, None, 8192)
        >>> b = g.breakdown_from([0])
        >>> b.hops.tolist(), b.forwarding_ms.tolist()
        ([[0, 1, 2]], [[0.0, 0.1, 0.2]])
        """
        latency = self.latency_ms_from(sources)
        hops = self.hops_from(sources)
        reach = hops >= 0
        h = np.where(reach, hops, 0).astype(np.float64)
        transmission = np.where(reach, h * self.transmission_ms, np.inf)
        forwarding = np.where(reach, h * self.forwarding_ms, np.inf)
        propagation = np.where(reach, np.maximum(latency - h * self.hop_ms, 0.0), np.inf)
        return PathBreakdown(latency, propagation, transmission, forwarding, hops, reach)

    def path(self, src: int, dst: int) -> list[int]:
        """Satellites on the shortest path from ``src`` to ``dst``, both included.

        Raises
        ------
        NoRouteError
            If ``dst`` cannot be reached from ``src`` at this timestep.
        """
        self._sources([src])
        if not 0 <= dst < self.n_sat:
            raise SpecError(f"destination satellite {dst} is outside 0..{self.n_sat - 1}")
        if not np.isfinite(self._dist[int(src)][dst]):
            raise NoRouteError(f"satellite {dst} is unreachable from satellite {src} at this timestep "
                               "(no chain of up links joins them); choose satellites in one connected "
                               "component or check the link availability")
        store, rows = self._tree_rows([int(src)])
        pred = store.pred[rows[0]]
        nodes = [int(dst)]
        while nodes[-1] != src:
            nodes.append(int(pred[nodes[-1]]))
        return nodes[::-1]

    def path_latency_ms(self, nodes) -> float:
        """Sum of the edge weights along ``nodes`` (consecutive satellites must be linked), ms."""
        total = 0.0
        for u, v in zip(nodes[:-1], nodes[1:]):
            weight = self.adjacency_ms[u, v]
            if weight == 0:
                raise NoRouteError(f"satellites {u} and {v} are not linked at this timestep")
            total += float(weight)
        return total

    def to_networkx(self):
        """An undirected :class:`networkx.Graph` of the up links.

        Nodes are satellite indices; edges carry ``weight`` (ms, the routing
        weight), ``distance_km``, ``propagation_ms``, ``transmission_ms`` and
        ``forwarding_ms``.

        Examples
        --------
        >>> import networkx as nx
        >>> g = RoutingGraph.from_links([0, 1], [1, 2], [3000.0, 3000.0], [True, True], 3, None, 8192)
        >>> G = g.to_networkx()
        >>> nx.shortest_path(G, 0, 2, weight="weight") == g.path(0, 2)
        True
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_sat))
        prop = self.link_profile.propagation_ms(self.distance_km)
        for a, b, w, d, p in zip(self.sat_a.tolist(), self.sat_b.tolist(), self.edge_ms.tolist(),
                                 self.distance_km.tolist(), prop.tolist()):
            graph.add_edge(a, b, weight=w, distance_km=d, propagation_ms=p,
                           transmission_ms=self.transmission_ms, forwarding_ms=self.forwarding_ms)
        return graph

    def __repr__(self):
        return (f"RoutingGraph(n_sat={self.n_sat}, n_link={self.sat_a.size}, "
                f"link_profile={self.link_profile.name!r}, payload_bytes={self.payload_bytes:g})")


class SearchMemory:
    """Shortest-path trees of the last timesteps, to start the next timestep's searches from.

    Give one to each :class:`RoutingGraph` of a time series (``graph.memory =
    memory``, then :meth:`next_step` before the next graph) on the same
    satellites. A source starts from its newest tree, found at one of the
    last :attr:`kept_steps` timesteps (a gate candidate that a sweep searches
    only every few steps, :class:`placement.GateBound`): at small steps a
    few predecessors change, so the search touches a few satellites instead
    of the whole graph. The rows are the same as without a memory, bit for
    bit (see :mod:`latency._kernels`): a memory changes only the time taken.
    The searches rewrite its trees in place: give each thread its own.

    Examples
    --------
    >>> memory = SearchMemory()
    >>> rows = []
    >>> for km in (1000.0, 1010.0):  # the same chain, its links a little longer
    ...     g = RoutingGraph.from_links([0, 1], [1, 2], [km, km], [True, True], 3, None, 0)
    ...     g.memory = memory
    ...     rows.append(g.latency_ms_from([0])[0, 2])
    ...     memory.next_step()
    >>> cold = RoutingGraph.from_links([0, 1], [1, 2], [1010.0, 1010.0], [True, True], 3, None, 0)
    >>> bool(rows[1] == cold.latency_ms_from([0])[0, 2]), len(memory)
    (True, 1)
    """

    #: Timesteps a source's tree is kept while the source is not searched again (its trees, 12 bytes per
    #: satellite, stay in memory that long).
    kept_steps = 16

    def __init__(self):
        #: Wall time spent in the searches of the graphs given this memory, s (for timing a sweep's stages).
        self.search_s = 0.0
        self._store = None  # _TreeStore: one row per source remembered
        self._row = {}  # source -> its row
        self._found = {}  # row -> (timestep, links_key) its tree was found at; None: not searched yet
        self._free = []  # rows to reuse
        self._step = 0

    def rows(self, sources, n_sat: int, links_key):
        """The store and its rows for ``sources``, where the search kernel starts from and writes their trees.

        Returns ``(store, rows, warm, same)``: ``warm`` where the row holds
        the source's newest tree of the last :attr:`kept_steps` timesteps
        (else a new row), ``same`` where that tree was found on a graph with
        these links (:attr:`RoutingGraph.links_key`). Call :meth:`found`
        once the searches have written them.
        """
        if self._store is None or self._store.n_sat != n_sat:
            self._store, self._row, self._found, self._free = _TreeStore(n_sat, 0), {}, {}, []
        sources = np.asarray(sources, dtype=np.int64)
        rows = np.empty(sources.size, dtype=np.int64)
        warm = np.zeros(sources.size, dtype=bool)
        same = np.zeros(sources.size, dtype=bool)
        new = [s for s in sources.tolist() if s not in self._row]
        if len(new) > len(self._free):
            start = self._store.grow(len(new) - len(self._free))
            self._free.extend(range(self._store.capacity - 1, start - 1, -1))
        for s in new:
            row = self._row[s] = self._free.pop()
            self._found[row] = None
        for i, s in enumerate(sources.tolist()):
            row = rows[i] = self._row[s]
            found = self._found[row]
            if found is not None:
                warm[i], same[i] = True, found[1] == links_key
        return self._store, rows, warm, same

    def found(self, rows, links_key) -> None:
        """The searches wrote new trees into ``rows`` at this timestep, on a graph with ``links_key``."""
        for row in np.asarray(rows).tolist():
            self._found[row] = (self._step, links_key)

    def next_step(self) -> None:
        """Move to the next timestep: each source keeps its newest tree, for :attr:`kept_steps` timesteps."""
        self._step += 1
        for source, row in list(self._row.items()):
            found = self._found[row]
            if found is None or self._step - found[0] > self.kept_steps:
                del self._row[source]
                del self._found[row]
                self._free.append(row)

    def __len__(self):
        return sum(found is not None for found in self._found.values())


class _TreeStore:
    """Shortest-path trees, one per row of three int32 arrays that the search kernel rewrites in place.

    ``pred``, ``order`` and ``edge`` are :func:`latency._kernels.shortest_rows`'
    layout; ``version[row]`` counts the writes to a row, so that a graph
    holding a tree can tell that a later search has replaced it.
    """

    def __init__(self, n_sat: int, capacity: int):
        self.n_sat = int(n_sat)
        self.pred = np.empty((capacity, self.n_sat), dtype=np.int32)
        self.order = np.empty((capacity, self.n_sat), dtype=np.int32)
        self.edge = np.empty((capacity, self.n_sat), dtype=np.int32)
        self.version = np.zeros(capacity, dtype=np.int64)

    @property
    def capacity(self) -> int:
        return self.version.size

    def grow(self, more: int) -> int:
        """Room for ``more`` rows at least (the capacity doubles); returns the first new row."""
        start = self.capacity
        size = max(start + more, 2 * start)
        for name in ("pred", "order", "edge"):
            old = getattr(self, name)
            grown = np.empty((size, self.n_sat), dtype=np.int32)
            grown[:start] = old
            setattr(self, name, grown)
        self.version = np.concatenate([self.version, np.zeros(size - start, dtype=np.int64)])
        return start


def _links_digest(indptr, indices) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(indptr.tobytes())
    digest.update(indices.tobytes())
    return digest.digest()


@dataclass(frozen=True)
class _Shape:
    """What a graph's arrays owe to its links alone, not to their lengths: the same at every step of a sweep.

    For links ``a``–``b`` without parallel links: the order that sorts them
    by (low end, high end), the sorted ends, the CSR index arrays and the
    order of the doubled weights ``[w, w]`` in the CSR data (what
    :class:`scipy.sparse.csr_matrix` makes of them), and the links' digest.
    """

    order: np.ndarray
    sat_a: np.ndarray
    sat_b: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data_order: np.ndarray
    links_key: bytes

    @classmethod
    def of(cls, a, b, n_sat: int):
        """The shape of links ``a``–``b`` (no self-loops) on ``n_sat`` satellites, None if two join one pair."""
        key = (n_sat, a.tobytes(), b.tobytes())
        found = _SHAPES.get(key)
        if found is None and key not in _SHAPES:
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            order = np.lexsort((hi, lo))
            lo, hi = lo[order], hi[order]
            if np.any((lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])):
                found = None  # parallel links: the shortest one depends on the lengths
            else:
                # Which weight lands where: build the matrix once with each entry's own position as data.
                position = np.arange(1, 2 * lo.size + 1, dtype=np.float64)
                csr = csr_matrix((position, (np.concatenate([lo, hi]), np.concatenate([hi, lo]))),
                                 shape=(n_sat, n_sat))
                indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
                data_order = csr.data.astype(np.int64) - 1
                for shared in (order, lo, hi, data_order):  # every graph with these links holds them
                    shared.setflags(write=False)
                found = cls(order, lo, hi, indptr, indices, data_order, _links_digest(indptr, indices))
            if len(_SHAPES) >= _MAX_SHAPES:
                _SHAPES.clear()
            _SHAPES[key] = found
        return found


#: Link shapes seen lately (a sweep's graphs share a few: links go down and up again).
_SHAPES: dict = {}
_MAX_SHAPES = 8

_POOLS: dict = {}
_MIN_SOURCES_PER_THREAD = 16


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n_threads`` threads for the searches (made once)."""
    if n_threads not in _POOLS:
        _POOLS[n_threads] = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="dijkstra")
    return _POOLS[n_threads]
