"""User fault lists for sweeps: satellites and inter-satellite links that are down for a while.

A what-if study ("what if these satellites fail at noon?") gives two optional
CSV files. Both have a header row; blank lines and lines whose first
non-blank character is ``#`` are comments. Columns may come in any order;
a missing or unknown column is an error (a typo would otherwise be ignored).

Failed satellites::

    # norad_id,start,end   (end empty: down until the end of the sweep)
    norad_id,start,end
    44713,2026-01-01T00:10:00Z,2026-01-01T00:20:00Z
    44714,2026-01-01T00:30:00Z,

Failed links (undirected: ``a,b`` and ``b,a`` are the same link)::

    norad_id_a,norad_id_b,start,end
    44713,44714,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z

Rules:

- ``norad_id`` columns are catalogue numbers (whole numbers ≥ 1) of
  satellites of the constellation being swept;
- ``start`` and ``end`` are ISO 8601 UTC times with an explicit zone
  (``Z`` or an offset like ``+01:00``, converted to UTC by
  :func:`orbits.to_datetime64_utc`); a time without a zone is refused,
  since its instant is unknown;
- an interval is half-open, **[start, end)**: a step at time ``t`` is down
  when ``start ≤ t < end``; so ``end`` must be after ``start`` (an empty or
  reversed interval is refused as a likely typo);
- a link fault needs two different satellites;
- the same satellite or link may appear on several lines; its intervals add
  up (a step is down when any of them covers it);
- a link fault on a pair that is not a candidate link of the topology has
  no effect (topologies such as k-nearest change over a sweep).

Every problem raises :class:`spacexnet.exceptions.FaultFileError` with
``path:line: reason (found ..., expected ...)``.

Examples
--------
>>> import os, tempfile, numpy as np, orbits
>>> c = orbits.walker("53:60/6/1", altitude_km=550)
>>> path = os.path.join(tempfile.mkdtemp(), "sats.csv")
>>> _ = open(path, "w").write("norad_id,start,end\\n80001,2026-01-01T00:01:00Z,\\n")
>>> faults = load_faults(path, constellation=c)
>>> t = np.array(["2026-01-01T00:00", "2026-01-01T00:01", "2026-01-01T00:02"], dtype="datetime64[ns]")
>>> faults.sat_down(t, len(c))[:, 1].tolist()
[False, True, True]
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orbits.textfile import read_text_file
from orbits.exceptions import TimeGridError
from orbits.timegrid import to_datetime64_utc

from .exceptions import FaultFileError, SpaceXNetError

__all__ = ["Faults", "load_faults", "SAT_COLUMNS", "LINK_COLUMNS"]

#: Header of a failed-satellite file.
SAT_COLUMNS = ("norad_id", "start", "end")
#: Header of a failed-link file.
LINK_COLUMNS = ("norad_id_a", "norad_id_b", "start", "end")

#: "Until the end of the sweep": the largest datetime64[ns].
_FOREVER = np.datetime64(np.iinfo(np.int64).max, "ns")
_ZONE_RE = re.compile(r"\d(Z|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)
_TIME_EXAMPLE = "ISO 8601 UTC like 2026-01-01T00:00:00Z"


def _empty_times():
    return np.zeros(0, dtype="datetime64[ns]")


def _empty_ints():
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Faults:
    """Satellites and links that are down over UTC intervals [start, end).

    Build it with :func:`load_faults`. Records keep their catalogue numbers
    and file lines; once bound to a constellation (``load_faults(...,
    constellation=c)`` or :meth:`bind`) they also carry satellite indices,
    which :meth:`sat_down` and :meth:`link_down` use.

    Attributes
    ----------
    sat_norad, sat_start, sat_end, sat_line :
        One entry per failed-satellite record: catalogue number, start and
        end (UTC ``datetime64[ns]``; an open end is the largest datetime64)
        and its line in ``sat_path``.
    link_norad_a, link_norad_b, link_start, link_end, link_line :
        The same for failed-link records (``norad_a < norad_b``).
    sat_index, link_index_a, link_index_b : ndarray of int or None
        Satellite indices in the bound constellation (None when unbound).
    sat_path, link_path : str or None
        The files, for messages and provenance.
    """

    sat_norad: np.ndarray = field(default_factory=_empty_ints)
    sat_start: np.ndarray = field(default_factory=_empty_times)
    sat_end: np.ndarray = field(default_factory=_empty_times)
    sat_line: np.ndarray = field(default_factory=_empty_ints)
    link_norad_a: np.ndarray = field(default_factory=_empty_ints)
    link_norad_b: np.ndarray = field(default_factory=_empty_ints)
    link_start: np.ndarray = field(default_factory=_empty_times)
    link_end: np.ndarray = field(default_factory=_empty_times)
    link_line: np.ndarray = field(default_factory=_empty_ints)
    sat_path: str | None = None
    link_path: str | None = None
    sat_digest: str = ""
    link_digest: str = ""
    sat_index: np.ndarray | None = None
    link_index_a: np.ndarray | None = None
    link_index_b: np.ndarray | None = None
    n_sat: int | None = None

    # ---- size and emptiness

    @property
    def n_sat_faults(self) -> int:
        """Number of failed-satellite records."""
        return int(self.sat_norad.shape[0])

    @property
    def n_link_faults(self) -> int:
        """Number of failed-link records."""
        return int(self.link_norad_a.shape[0])

    @property
    def empty(self) -> bool:
        """True when no satellite and no link ever fails."""
        return self.n_sat_faults == 0 and self.n_link_faults == 0

    def __bool__(self) -> bool:
        return not self.empty

    def __repr__(self) -> str:
        bound = "unbound" if self.n_sat is None else f"bound to {self.n_sat} satellites"
        return f"<Faults {self.n_sat_faults} satellite and {self.n_link_faults} link intervals, {bound}>"

    # ---- binding to a constellation

    def bind(self, constellation) -> "Faults":
        """Map catalogue numbers to satellite indices of ``constellation``.

        Raises
        ------
        FaultFileError
            ``path:line: NORAD id N is not in the constellation`` for the
            first record whose satellite the constellation lacks.
        """
        norad = np.asarray(constellation.norad_id, dtype=np.int64)
        order = np.argsort(norad, kind="stable")
        sorted_ids = norad[order]
        source = getattr(constellation, "source", "") or "the constellation"

        def lookup(ids, lines, path):
            if ids.size == 0:
                return _empty_ints()
            pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(sorted_ids.size - 1, 0))
            found = sorted_ids[pos] == ids if sorted_ids.size else np.zeros(ids.shape, bool)
            if not found.all():
                bad = int(np.flatnonzero(~found)[0])
                raise FaultFileError(
                    f"{path}:{int(lines[bad])}: NORAD id {int(ids[bad])} is not in the constellation "
                    f"(found {int(ids[bad])}, expected one of the {norad.size} catalogue numbers of "
                    f"{source}, {int(sorted_ids[0])}..{int(sorted_ids[-1])})")
            return order[pos].astype(np.int64)

        sat_index = lookup(self.sat_norad, self.sat_line, self.sat_path)
        # A link line names two ids; report the line once whichever end is unknown.
        link_a = lookup(self.link_norad_a, self.link_line, self.link_path)
        link_b = lookup(self.link_norad_b, self.link_line, self.link_path)
        return Faults(**{**self.__dict__, "sat_index": sat_index, "link_index_a": link_a,
                         "link_index_b": link_b, "n_sat": int(norad.size)})

    def _require_bound(self, what):
        if self.n_sat is None:
            raise SpaceXNetError(f"Faults.{what}: the fault list is not bound to a constellation; "
                                 "call load_faults(..., constellation=c) or faults.bind(c) first")

    # ---- queries (vectorized)

    @staticmethod
    def _times(times) -> np.ndarray:
        return np.atleast_1d(to_datetime64_utc(np.asarray(times) if not isinstance(times, str) else times))

    @staticmethod
    def _active(times, start, end) -> np.ndarray:
        """(n_time, n_record) bool: record r covers time t, i.e. start_r ≤ t < end_r."""
        t = times[:, None]
        return (t >= start[None, :]) & (t < end[None, :])

    def sat_down(self, times, n_sat: int) -> np.ndarray:
        """Which satellites are down at each time.

        Parameters
        ----------
        times : array_like of datetime64 (UTC), shape (n_time,)
            Instants of the sweep.
        n_sat : int
            Satellites in the swept constellation (columns of the result).

        Returns
        -------
        ndarray of bool, shape (n_time, n_sat)
            ``out[t, s]`` is True when satellite index ``s`` is down at
            ``times[t]`` (some record covers it: start ≤ t < end).
        """
        times = self._times(times)
        n_sat = int(n_sat)
        out = np.zeros((times.size, n_sat), dtype=bool)
        if self.n_sat_faults == 0:
            return out
        self._require_bound("sat_down")
        if n_sat != self.n_sat:
            raise SpaceXNetError(f"Faults.sat_down: n_sat = {n_sat}, but the fault list is bound to a "
                                 f"constellation of {self.n_sat} satellites")
        active = self._active(times, self.sat_start, self.sat_end)
        np.logical_or.at(out.T, self.sat_index, active.T)
        return out

    def link_down(self, times, sat_a, sat_b) -> np.ndarray:
        """Which links are down at each time.

        Parameters
        ----------
        times : array_like of datetime64 (UTC), shape (n_time,)
        sat_a, sat_b : array_like of int, shape (n_link,)
            Satellite indices of each link's ends (order does not matter),
            e.g. the ``sat_a``/``sat_b`` coordinates of :func:`orbits.isl_links`.

        Returns
        -------
        ndarray of bool, shape (n_time, n_link)
            ``out[t, j]`` is True when a link record on the pair
            ``{sat_a[j], sat_b[j]}`` covers ``times[t]``. A failed satellite
            does not mark its links here; combine with :meth:`sat_down`.
        """
        times = self._times(times)
        a = np.asarray(sat_a, dtype=np.int64).ravel()
        b = np.asarray(sat_b, dtype=np.int64).ravel()
        if a.shape != b.shape:
            raise SpaceXNetError(f"Faults.link_down: sat_a has {a.size} entries, sat_b {b.size}")
        out = np.zeros((times.size, a.size), dtype=bool)
        if self.n_link_faults == 0 or a.size == 0:
            return out
        self._require_bound("link_down")
        if a.min() < 0 or b.min() < 0 or max(a.max(), b.max()) >= self.n_sat:
            raise SpaceXNetError(f"Faults.link_down: link ends must be satellite indices in "
                                 f"[0, {self.n_sat}) of the bound constellation")
        n = np.int64(self.n_sat)
        link_key = np.minimum(a, b) * n + np.maximum(a, b)
        fa, fb = self.link_index_a, self.link_index_b
        fault_key = np.minimum(fa, fb) * n + np.maximum(fa, fb)
        order = np.argsort(link_key, kind="stable")
        lo = np.searchsorted(link_key[order], fault_key, side="left")
        hi = np.searchsorted(link_key[order], fault_key, side="right")
        counts = hi - lo
        if not counts.any():
            return out
        # Every (fault record, matching link column) pair, without a Python loop.
        fault_rows = np.repeat(np.arange(fault_key.size), counts)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        columns = order[starts + np.arange(fault_rows.size)]
        active = self._active(times, self.link_start, self.link_end)
        np.logical_or.at(out.T, columns, active.T[fault_rows])
        return out

    # ---- provenance

    def describe(self) -> str:
        """One line for provenance attributes: files, their SHA-256 prefixes, and record counts.

        Examples
        --------
        >>> Faults().describe()
        'no faults'
        """
        if self.empty and self.sat_path is None and self.link_path is None:
            return "no faults"
        parts = []
        for label, path, digest, norad_sets, count in (
            ("failed satellites", self.sat_path, self.sat_digest, (self.sat_norad,), self.n_sat_faults),
            ("failed links", self.link_path, self.link_digest, (self.link_norad_a, self.link_norad_b),
             self.n_link_faults),
        ):
            if path is None:
                continue
            if label == "failed links":
                distinct = len(set(zip(norad_sets[0].tolist(), norad_sets[1].tolist())))
                what = "links"
            else:
                distinct = int(np.unique(norad_sets[0]).size)
                what = "satellites"
            parts.append(f"{label}: {path} (sha256 {digest[:12]}), {count} interval(s) on {distinct} {what}")
        return "; ".join(parts)


# --------------------------------------------------------------------------- parsing

def _read_text(path: Path) -> tuple[str, str]:
    text, data = read_text_file(path, FaultFileError, "a CSV fault file", missing="no such fault file")
    return text, hashlib.sha256(data).hexdigest()


def _norad(text, where, column):
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise FaultFileError(f"{where}: bad {column} (found {text!r}, expected a catalogue number, "
                             "a whole number >= 1)")
    return int(value)


def _time(text, where, column, allow_empty):
    value = text.strip()
    if not value:
        if allow_empty:
            return _FOREVER
        raise FaultFileError(f"{where}: empty {column} (found '', expected {_TIME_EXAMPLE})")
    if not value.isascii() or not _ZONE_RE.search(value):
        raise FaultFileError(f"{where}: {column} has no time zone (found {value!r}, expected {_TIME_EXAMPLE}, "
                             "with Z or an offset such as +01:00)")
    try:
        return to_datetime64_utc(value)[()]
    except TimeGridError as exc:
        raise FaultFileError(f"{where}: bad {column} (found {value!r}, expected {_TIME_EXAMPLE}; {exc})") from None


def _parse(text: str, label: str, columns: tuple) -> list[tuple]:
    """Rows as tuples (line, *values in ``columns`` order, as text)."""
    header, rows = None, []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{label}:{lineno}"
        try:
            cells = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            raise FaultFileError(f"{where}: bad CSV ({exc})") from None
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [c for c in columns if c not in header]
            unknown = [c for c in header if c not in columns]
            repeated = sorted({c for c in header if header.count(c) > 1})
            if missing or unknown or repeated:
                problems = []
                if missing:
                    problems.append(f"lacks {', '.join(missing)}")
                if unknown:
                    problems.append(f"has unknown column(s) {', '.join(map(repr, unknown))}")
                if repeated:
                    problems.append(f"repeats {', '.join(repeated)}")
                raise FaultFileError(f"{where}: header {' and '.join(problems)} (found {','.join(header)!r}, "
                                     f"expected {','.join(columns)})")
            continue
        if len(cells) != len(header):
            raise FaultFileError(f"{where}: wrong number of fields (found {len(cells)}, expected "
                                 f"{len(header)}: {','.join(header)})")
        values = dict(zip(header, cells))
        rows.append((lineno, *(values[c] for c in columns)))
    if header is None:
        raise FaultFileError(f"{label}:1: no header (found an empty file, expected a header line "
                             f"{','.join(columns)})")
    return rows


def _interval(start_text, end_text, where):
    start = _time(start_text, where, "start", allow_empty=False)
    end = _time(end_text, where, "end", allow_empty=True)
    if not end > start:
        raise FaultFileError(f"{where}: end is not after start (found start {start_text.strip()}, end "
                             f"{end_text.strip()}, expected end > start: intervals are [start, end))")
    return start, end


def _load_sats(path: Path) -> dict:
    text, digest = _read_text(path)
    norad, start, end, line = [], [], [], []
    for lineno, n_text, s_text, e_text in _parse(text, str(path), SAT_COLUMNS):
        where = f"{path}:{lineno}"
        norad.append(_norad(n_text, where, "norad_id"))
        s, e = _interval(s_text, e_text, where)
        start.append(s)
        end.append(e)
        line.append(lineno)
    return dict(sat_norad=np.array(norad, dtype=np.int64), sat_start=np.array(start, dtype="datetime64[ns]"),
                sat_end=np.array(end, dtype="datetime64[ns]"), sat_line=np.array(line, dtype=np.int64),
                sat_path=str(path), sat_digest=digest)


def _load_links(path: Path) -> dict:
    text, digest = _read_text(path)
    norad_a, norad_b, start, end, line = [], [], [], [], []
    for lineno, a_text, b_text, s_text, e_text in _parse(text, str(path), LINK_COLUMNS):
        where = f"{path}:{lineno}"
        a = _norad(a_text, where, "norad_id_a")
        b = _norad(b_text, where, "norad_id_b")
        if a == b:
            raise FaultFileError(f"{where}: a link must join two different satellites (found norad_id_a = "
                                 f"norad_id_b = {a}, expected two catalogue numbers)")
        s, e = _interval(s_text, e_text, where)
        norad_a.append(min(a, b))
        norad_b.append(max(a, b))
        start.append(s)
        end.append(e)
        line.append(lineno)
    return dict(link_norad_a=np.array(norad_a, dtype=np.int64), link_norad_b=np.array(norad_b, dtype=np.int64),
                link_start=np.array(start, dtype="datetime64[ns]"), link_end=np.array(end, dtype="datetime64[ns]"),
                link_line=np.array(line, dtype=np.int64), link_path=str(path), link_digest=digest)


def load_faults(sat_path=None, link_path=None, constellation=None) -> Faults:
    """Read failed-satellite and failed-link CSV files (formats in the module docstring).

    Parameters
    ----------
    sat_path : str or path-like, optional
        ``norad_id,start,end`` file.
    link_path : str or path-like, optional
        ``norad_id_a,norad_id_b,start,end`` file.
    constellation : orbits.Constellation, optional
        The swept constellation: every catalogue number must belong to it,
        and the result is bound to it (satellite indices for
        :meth:`Faults.sat_down` and :meth:`Faults.link_down`).

    Returns
    -------
    Faults
        Empty (false) when both paths are None.

    Raises
    ------
    FaultFileError
        ``path:line: reason (found ..., expected ...)`` for a missing or
        unreadable file, a bad header, a bad catalogue number or time, an
        interval whose end is not after its start, a link from a satellite
        to itself, or a catalogue number the constellation lacks.
    """
    parts = {}
    if sat_path is not None:
        parts.update(_load_sats(Path(sat_path)))
    if link_path is not None:
        parts.update(_load_links(Path(link_path)))
    faults = Faults(**parts)
    if constellation is not None:
        faults = faults.bind(constellation)
    return faults
