"""Plain-text, JSON and CSV rendering of result rows (lists of dicts) for the CLI."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

__all__ = ["render", "FORMATS", "utc_text"]

FORMATS = ("table", "json", "csv")


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def _json_safe(value):
    # JSON has no NaN/Infinity: null keeps files readable by strict parsers.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(rows: list[dict], fmt: str, columns=None, headers=None) -> str:
    """Render ``rows`` as an aligned text table, a JSON list, or CSV.

    Examples
    --------
    >>> print(render([{"a": 1, "b": 2.5}], "csv").strip())
    a,b
    1,2.5
    """
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps([{k: _json_safe(r.get(k)) for k in r} for r in rows], indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    headers = headers or {}
    titles = [headers.get(c, c) for c in columns]
    cells = [[_cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(t), *(len(row[i]) for row in cells)) if cells else len(t) for i, t in enumerate(titles)]
    # Words read left to right; numbers (also numbers given as text, "12–13") line up on the right.
    left = [i == 0 or _is_words([r.get(c) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(t.ljust(w) if left[i] else t.rjust(w) for i, (t, w) in enumerate(zip(titles, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) if left[i] else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _is_words(values) -> bool:
    return bool(values) and all(isinstance(v, str) for v in values) and any(
        ch.isalpha() for v in values for ch in v)


def utc_text(time) -> str:
    """A UTC instant as a person reads it, to the second.

    Examples
    --------
    >>> utc_text(np.datetime64("2026-01-01T00:19:50.000000000"))
    '2026-01-01 00:19:50 UTC'
    """
    return np.datetime_as_string(np.datetime64(time, "s"), unit="s").replace("T", " ") + " UTC"
