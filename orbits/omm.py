"""Orbit Mean-Elements Messages (OMM): CSV, JSON and XML, as CelesTrak serves them.

The field names are those of CCSDS 502.0-B-3 (Orbit Data Messages) for SGP4
mean elements, which CelesTrak uses in its ``FORMAT=csv``, ``FORMAT=json``
and ``FORMAT=xml`` GP data (https://celestrak.org/NORAD/documentation/gp-data-formats.php).
Element sets are built by :func:`sgp4.omm.initialize` after each field has
been checked here, so a bad record gives one message that names the file,
the record (CSV: line number; JSON and XML: 1-based record index) and the
field.

Required fields: ``NORAD_CAT_ID``, ``EPOCH``, ``MEAN_MOTION``,
``ECCENTRICITY``, ``INCLINATION``, ``RA_OF_ASC_NODE``, ``ARG_OF_PERICENTER``,
``MEAN_ANOMALY``, ``BSTAR``. Optional (default): ``OBJECT_NAME``
(``NORAD-<id>``), ``OBJECT_ID`` (empty), ``CLASSIFICATION_TYPE`` (``U``),
``EPHEMERIS_TYPE`` (0), ``ELEMENT_SET_NO`` (999), ``REV_AT_EPOCH`` (0),
``MEAN_MOTION_DOT`` and ``MEAN_MOTION_DDOT`` (0; SGP4 does not use them).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat
from pathlib import Path

from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from .textfile import read_text_file
from .constellation import Constellation, recorded
from .exceptions import OMMFormatError, OrbitsError
from .tle import _constellation_of, _drop_duplicates

__all__ = ["read_omm", "parse_omm_text", "OMM_REQUIRED_FIELDS"]

#: Fields without which an SGP4 element set is not defined.
OMM_REQUIRED_FIELDS = (
    "NORAD_CAT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
    "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "BSTAR",
)
_DEFAULTS = {
    "CLASSIFICATION_TYPE": "U", "OBJECT_ID": "", "EPHEMERIS_TYPE": "0", "ELEMENT_SET_NO": "999",
    "REV_AT_EPOCH": "0", "MEAN_MOTION_DOT": "0", "MEAN_MOTION_DDOT": "0",
}
# (field, low, high, unit) for range checks; None = no bound.
_RANGES = {
    "INCLINATION": (0.0, 180.0, "degrees"),
    "RA_OF_ASC_NODE": (0.0, 360.0, "degrees"),
    "ARG_OF_PERICENTER": (0.0, 360.0, "degrees"),
    "MEAN_ANOMALY": (0.0, 360.0, "degrees"),
    "ECCENTRICITY": (0.0, 1.0, ""),
}
_FLOAT_FIELDS = ("MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
                 "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")
_INT_FIELDS = ("NORAD_CAT_ID", "EPHEMERIS_TYPE", "ELEMENT_SET_NO", "REV_AT_EPOCH")
_EPOCH_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.(\d+))?Z?$")
_MAX_NORAD_ID = 339_999  # largest Alpha-5 number; sgp4 cannot hold more


class _FieldError(Exception):
    pass


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _FieldError(f"found {value!r}, expected a number or text")
    return str(value).strip()


def _normalize(record: dict) -> dict:
    """Check one record's fields and return them as the strings sgp4.omm.initialize expects."""
    fields = {str(k).strip().upper(): _text(v) for k, v in record.items() if k is not None}
    missing = [name for name in OMM_REQUIRED_FIELDS if not fields.get(name)]
    if missing:
        raise _FieldError(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"(expected all of {', '.join(OMM_REQUIRED_FIELDS)})")
    for name, default in _DEFAULTS.items():
        if not fields.get(name):
            fields[name] = default
    for name in _FLOAT_FIELDS:
        try:
            value = float(fields[name])
        except ValueError:
            raise _FieldError(f"field {name}: bad number (found {fields[name]!r}, expected a decimal number)") from None
        if not math.isfinite(value):
            raise _FieldError(f"field {name}: bad number (found {fields[name]!r}, expected a finite number)")
        if name in _RANGES:
            low, high, unit = _RANGES[name]
            ok = low <= value < high if name == "ECCENTRICITY" else low <= value <= high
            if not ok:
                close = ")" if name == "ECCENTRICITY" else "]"
                raise _FieldError(f"field {name}: out of range (found {fields[name]!r}, expected "
                                  f"{unit + ' ' if unit else ''}in [{low:g}, {high:g}{close})")
    if not float(fields["MEAN_MOTION"]) > 0.0:
        raise _FieldError(f"field MEAN_MOTION: out of range (found {fields['MEAN_MOTION']!r}, "
                          "expected revolutions per day > 0)")
    for name in _INT_FIELDS:
        text = fields[name]
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value.is_integer() and value >= 0):
            raise _FieldError(f"field {name}: bad number (found {text!r}, expected a whole number ≥ 0)")
        fields[name] = str(int(value))
    norad = int(fields["NORAD_CAT_ID"])
    if not 1 <= norad <= _MAX_NORAD_ID:
        raise _FieldError(f"field NORAD_CAT_ID: out of range (found {norad}, expected 1..{_MAX_NORAD_ID}, "
                          "what SGP4 element sets can hold)")
    match = _EPOCH_RE.match(fields["EPOCH"])
    if not match:
        raise _FieldError(f"field EPOCH: bad date (found {fields['EPOCH']!r}, expected UTC ISO 8601 like "
                          "'2026-01-31T00:28:12.345678')")
    # sgp4.omm wants exactly '%Y-%m-%dT%H:%M:%S.%f' (at most 6 fraction digits).
    fraction = (match.group(3) or "0")[:6]
    fields["EPOCH"] = f"{match.group(1)}.{fraction}"
    if len(fields["CLASSIFICATION_TYPE"]) != 1:
        raise _FieldError(f"field CLASSIFICATION_TYPE: found {fields['CLASSIFICATION_TYPE']!r}, "
                          "expected one letter like 'U'")
    object_id = fields["OBJECT_ID"]
    # sgp4.omm.initialize turns '2019-074A' into the TLE designator '19074A'.
    if object_id and not re.match(r"^\d{4}-\d{3}[A-Z ]{0,3}$", object_id):
        raise _FieldError(f"field OBJECT_ID: found {object_id!r}, expected an international "
                          "designator like '2019-074A' (or leave it empty)")
    if not object_id:
        fields["OBJECT_ID"] = "  "  # initialize() drops the first two characters
    return fields


def _build(record):
    fields = _normalize(record)
    sat = Satrec()
    try:
        sgp4_omm.initialize(sat, fields)
    except (ValueError, KeyError, OverflowError) as exc:  # OverflowError: a count beyond a C long
        raise _FieldError(f"sgp4 cannot build the element set ({exc})") from None
    name = fields.get("OBJECT_NAME") or f"NORAD-{sat.satnum}"
    return sat, name


def _records_csv(text, source):
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise OMMFormatError(f"{source}:1: bad CSV header ({exc})") from None
    if not fieldnames:
        raise OMMFormatError(f"{source}:1: no CSV header (found an empty file, expected a header line "
                             "with OMM field names like NORAD_CAT_ID,EPOCH,...)")
    header = [str(name).strip().upper() for name in reader.fieldnames]
    missing = [name for name in OMM_REQUIRED_FIELDS if name not in header]
    if missing:
        raise OMMFormatError(f"{source}:1: CSV header lacks {', '.join(missing)} (found "
                             f"{','.join(reader.fieldnames)[:120]!r}, expected OMM field names)")
    try:
        for row in reader:
            if None in row:
                yield f"{source}:{reader.line_num}", None, (
                    f"{len(row) + len(row[None]) - 1} values for {len(header)} header fields "
                    "(found extra values, expected one per header field)")
                continue
            if not any((value or "").strip() for value in row.values()):
                continue  # blank line
            short = [k for k, v in row.items() if v is None]
            if short:
                yield f"{source}:{reader.line_num}", None, (
                    f"row ends before field {short[0]} (found {len(row) - len(short)} values, "
                    f"expected {len(header)})")
                continue
            yield f"{source}:{reader.line_num}", row, None
    except csv.Error as exc:
        raise OMMFormatError(f"{source}:{reader.line_num}: bad CSV ({exc})") from None


def _records_json(text, source):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OMMFormatError(f"{source}:{exc.lineno}: bad JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise OMMFormatError(f"{source}: bad JSON (nested too deeply, expected an array of OMM objects)") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise OMMFormatError(f"{source}: JSON top level is {type(data).__name__} (expected an array of "
                             "OMM objects, as CelesTrak FORMAT=json)")
    for index, item in enumerate(data, start=1):
        where = f"{source}: record {index}"
        if not isinstance(item, dict):
            yield where, None, f"found {type(item).__name__}, expected an object of OMM fields"
            continue
        yield where, item, None


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Prolog(Exception):
    """Raised from expat handlers to stop the prolog scan of :func:`_refuse_dtd`."""


def _refuse_dtd(text, source):
    # OMM XML needs no DTD, and a DTD's entities can expand without bound (the "billion laughs")
    # or name files: refuse any DOCTYPE outright, whatever the expat version underneath would allow.
    # Only the prolog is read: the scan stops at the root element, before which a DOCTYPE must stand.
    scan = expat.ParserCreate()

    def doctype(*_):
        raise _Prolog("doctype")

    def root(*_):
        raise _Prolog("root")

    scan.StartDoctypeDeclHandler = doctype
    scan.StartElementHandler = root
    try:
        scan.Parse(text, True)
    except _Prolog as stop:
        if str(stop) == "doctype":
            raise OMMFormatError(f"{source}:{scan.CurrentLineNumber}: XML with a DOCTYPE is refused (its entities "
                                 "could expand without bound or read files); OMM XML needs no DTD") from None
    except expat.ExpatError:
        pass  # malformed XML: ElementTree's message below names the place


def _records_xml(text, source):
    _refuse_dtd(text, source)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        raise OMMFormatError(f"{source}:{line}: bad XML ({exc.msg if hasattr(exc, 'msg') else exc}, "
                             f"column {column})") from None
    # Like sgp4.omm.parse_xml, but namespace-agnostic: CCSDS NDM files may
    # carry a default namespace, which would hide './/segment' from ElementTree.
    segments = [el for el in root.iter() if _local(el.tag) == "segment"]
    if not segments:
        raise OMMFormatError(f"{source}: no <segment> element (expected CCSDS OMM XML: "
                             "ndm/omm/body/segment with metadata and data)")
    for index, segment in enumerate(segments, start=1):
        fields = {}
        for element in segment.iter():
            if len(element) == 0 and _local(element.tag) != "segment":
                fields[_local(element.tag)] = element.text
        yield f"{source}: record {index}", fields, None


def _sniff(text, path_suffix):
    suffix = path_suffix.lower()
    if suffix in (".csv", ".json", ".xml"):
        return suffix[1:]
    head = text.lstrip()[:200]
    if head.startswith(("[", "{")):
        return "json"
    if head.startswith("<"):
        return "xml"
    first = head.splitlines()[0] if head else ""
    if "NORAD_CAT_ID" in first.upper() or "," in first:
        return "csv"
    return None


@recorded
def parse_omm_text(text, source="<string>", skip_invalid=False, structure=True, *, fmt=None,
                   duplicates="newest") -> Constellation:
    """Parse OMM text (CSV, JSON or XML) into a :class:`Constellation`.

    Parameters
    ----------
    text : str
    source : str
        Name used in messages and as provenance.
    skip_invalid : bool
        Skip bad records, listing each in ``Constellation.skipped``.
    structure : bool
        Find shells, planes and slots (:func:`orbits.shells.find_shells`).
    fmt : {"csv", "json", "xml"}, optional
        Format; sniffed from the content when not given (``[``/``{`` →
        JSON, ``<`` → XML, a comma-separated header → CSV).
    duplicates : {"newest", "error"}
        As in :func:`orbits.tle.parse_tle_text`.

    Returns
    -------
    Constellation

    Raises
    ------
    OMMFormatError
        Naming the source, the record and the field.

    Examples
    --------
    >>> text = '''[{"OBJECT_NAME": "ISS (ZARYA)", "OBJECT_ID": "1998-067A",
    ...   "EPOCH": "2008-09-20T12:25:40.104192", "MEAN_MOTION": 15.72125391,
    ...   "ECCENTRICITY": 0.0006703, "INCLINATION": 51.6416, "RA_OF_ASC_NODE": 247.4627,
    ...   "ARG_OF_PERICENTER": 130.536, "MEAN_ANOMALY": 325.0288, "NORAD_CAT_ID": 25544,
    ...   "BSTAR": -1.1606e-05}]'''
    >>> c = parse_omm_text(text, structure=False)
    >>> str(c.name[0]), int(c.norad_id[0])
    ('ISS (ZARYA)', 25544)
    """
    if duplicates not in ("newest", "error"):
        raise OrbitsError(f"duplicates={duplicates!r} is not one of 'newest', 'error'")
    if not text.strip():
        raise OMMFormatError(f"{source}: no OMM records (found an empty file, expected OMM CSV, JSON or XML)")
    fmt = fmt or _sniff(text, "")
    readers = {"csv": _records_csv, "json": _records_json, "xml": _records_xml}
    if fmt not in readers:
        hint = " (it looks like TLE text: use read_tle)" if text.lstrip().startswith(("1 ", "0 ")) else ""
        raise OMMFormatError(f"{source}: unknown OMM format (found {text.lstrip()[:30]!r}, expected CSV, JSON "
                             f"or XML; name the file .csv/.json/.xml or pass fmt=){hint}")

    satrecs, names, locations, skipped = [], [], [], []
    for where, record, problem in readers[fmt](text, source):
        try:
            if problem is not None:
                raise _FieldError(problem)
            sat, name = _build(record)
        except _FieldError as exc:
            message = f"{where}: {exc}"
            if not skip_invalid:
                raise OMMFormatError(message) from None
            skipped.append(message)
            continue
        satrecs.append(sat)
        names.append(name)
        locations.append(where)
    if not satrecs:
        detail = f"; {len(skipped)} skipped, first: {skipped[0]}" if skipped else ""
        raise OMMFormatError(f"{source}: no valid OMM record{detail}")
    keep = _drop_duplicates(satrecs, locations, source, duplicates, skipped, error=OMMFormatError)
    return _constellation_of(satrecs, names, keep, f"omm {source}", skipped, structure)


def read_omm(path, skip_invalid=False, structure=True, *, fmt=None, duplicates="newest") -> Constellation:
    """Read an OMM file (CSV, JSON or XML; by extension, else by content).

    Parameters
    ----------
    path : str or os.PathLike
    skip_invalid, structure, fmt, duplicates :
        As in :func:`parse_omm_text`.

    Returns
    -------
    Constellation

    Raises
    ------
    OMMFormatError
        ``path:line: ...`` (CSV) or ``path: record N: field ...`` (JSON,
        XML), or for a non-text file.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "one.csv")
    >>> _ = open(path, "w").write(
    ...     "NORAD_CAT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,"
    ...     "ARG_OF_PERICENTER,MEAN_ANOMALY,BSTAR\\n"
    ...     "25544,2008-09-20T12:25:40.104192,15.72125391,0.0006703,51.6416,247.4627,"
    ...     "130.536,325.0288,-1.1606e-05\\n")
    >>> len(read_omm(path, structure=False))
    1
    """
    path = Path(path)
    text, _ = read_text_file(path, OMMFormatError, "OMM CSV, JSON or XML")
    fmt = fmt or _sniff(text, path.suffix)
    return parse_omm_text(text, source=str(path), skip_invalid=skip_invalid, structure=structure,
                          fmt=fmt, duplicates=duplicates)
