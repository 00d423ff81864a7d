"""Two-line element sets: read CelesTrak 3LE/2LE text, write valid TLE text.

Column layout and checksum follow the NORAD two-line element format as
documented by CelesTrak ("NORAD Two-Line Element Set Format",
https://celestrak.org/NORAD/documentation/tle-fmt.php) and implemented by
Vallado's SGP4 (``sgp4.io.twoline2rv``). SGP4's own parser is lax (a letter
inside a number silently becomes a different value), so every record is
first checked column by column here; only then does
:meth:`sgp4.api.Satrec.twoline2rv` build the element set. Each problem gives
one message ``path:line: reason (found ..., expected ...)``.

Accepted input:

- 3LE (a name line before lines 1 and 2; a leading ``"0 "`` on the name line,
  as CelesTrak writes it, is dropped) and 2LE (no name lines: the name is
  ``"NORAD-<catalogue number>"``), mixed freely;
- blank lines and lines starting with ``#`` are ignored;
- anything after column 69 of an element line is ignored (Vallado's
  ``SGP4-VER.TLE`` puts start/stop/step minutes there);
- Alpha-5 catalogue numbers (``A0005`` = 100005), as sgp4 reads them;
- CRLF line endings and a UTF-8 byte-order mark.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sgp4.api import Satrec
from sgp4.exporter import export_tle

from .textfile import read_text_file
from .constellation import Constellation, recorded
from .exceptions import ConstellationError, OrbitsError, TLEFormatError

__all__ = ["read_tle", "parse_tle_text", "to_tle", "write_tle", "tle_checksum"]

_NUMBER_RE = re.compile(r"^ *[-+]?(\d+\.?\d*|\.\d+)$")
_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are not used (sgp4.alpha5)
_IMPLIED_DECIMAL_RE = re.compile(r"^[-+ ]\d{5}[-+ ]\d$")


def tle_checksum(line: str) -> int:
    """Mod-10 checksum of a TLE line: digits count their value, ``-`` counts 1, all else 0.

    Examples
    --------
    >>> tle_checksum("1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  475")
    3
    """
    return sum(int(c) if c.isdigit() else (c == "-") for c in line[:68]) % 10


class _RecordError(Exception):
    """A problem in one record: (line number, reason)."""

    def __init__(self, lineno, reason):
        super().__init__(reason)
        self.lineno = lineno
        self.reason = reason


def _columns(start, stop):
    return f"column {start}" if start == stop else f"columns {start}-{stop}"


def _check_char(line, lineno, col, allowed, what):
    char = line[col - 1]
    if char not in allowed:
        expected = " or ".join(repr(a) for a in allowed)
        raise _RecordError(lineno, f"bad {what} in {_columns(col, col)} (found {char!r}, expected {expected})")


def _decimal(line, lineno, start, stop, what, low=None, high=None, unit="", high_open=False):
    text = line[start - 1:stop]
    rule = "a decimal number"
    if low is not None:
        rule += f" {unit}in [{low:g}, {high:g}{')' if high_open else ']'}"
    if not _NUMBER_RE.match(text):
        raise _RecordError(lineno, f"bad {what} in {_columns(start, stop)} (found {text!r}, expected {rule})")
    value = float(text)
    if low is not None and not (low <= value and (value < high if high_open else value <= high)):
        raise _RecordError(lineno, f"{what} out of range in {_columns(start, stop)} (found {text.strip()!r}, expected {rule})")
    return value


def _implied_decimal(line, lineno, start, what):
    """An 8-column field like ' 12345-4' meaning ±0.12345e-4."""
    text = line[start - 1:start + 7]
    if not _IMPLIED_DECIMAL_RE.match(text):
        raise _RecordError(
            lineno, f"bad {what} in {_columns(start, start + 7)} (found {text!r}, expected sign, "
            "5 digits with an implied leading decimal point, exponent sign and digit, like ' 28098-4')")


def _integer(line, lineno, start, stop, what, blank_ok=True):
    text = line[start - 1:stop]
    stripped = text.strip()
    if (not stripped and blank_ok) or (stripped.isdigit() and stripped.isascii()):
        return int(stripped or 0)
    raise _RecordError(lineno, f"bad {what} in {_columns(start, stop)} (found {text!r}, expected a whole number)")


def _catalogue_number(line, lineno):
    text = line[2:7]
    body = text.lstrip(" ")
    ok = bool(body) and (
        (body.isdigit() and body.isascii())
        or (len(text) == 5 and text[0] in _ALPHA5_LETTERS and text[1:].isdigit() and text[1:].isascii())
    )
    if not ok:
        raise _RecordError(lineno, f"bad catalogue number in columns 3-7 (found {text!r}, expected 5 digits or "
                                   "an Alpha-5 number like 'A0005')")
    return text


def _check_line_common(line, lineno, number, check_checksum):
    if not line.isascii():
        bad = next(c for c in line if not c.isascii())
        raise _RecordError(lineno, f"non-ASCII character in element line (found {bad!r}, expected ASCII text)")
    for column, char in enumerate(line[:69], start=1):
        # SGP4's C++ reader splits on whitespace, so a tab shifts every later field.
        if not " " <= char <= "~":
            raise _RecordError(lineno, f"control character in column {column} (found {char!r}, "
                                       "expected printable ASCII; replace tabs by spaces)")
    if len(line) < 69:
        raise _RecordError(lineno, f"line {number} too short (found {len(line)} characters, expected at least 69)")
    if line[0] != str(number):
        raise _RecordError(lineno, f"wrong line number in column 1 (found {line[0]!r}, expected '{number}')")
    if check_checksum:
        found = line[68]
        expected = tle_checksum(line)
        if found != str(expected):
            raise _RecordError(
                lineno, f"checksum mismatch in column 69 (found {found!r}, expected '{expected}': "
                "sum of the digits of columns 1-68, plus 1 per '-', mod 10); fix the corrupted "
                "line, or pass check_checksum=False if the checksums are known to be wrong")


def _check_line1(line, lineno, check_checksum):
    _check_line_common(line, lineno, 1, check_checksum)
    for col in (2, 9, 18, 33, 44, 53, 62, 64):
        _check_char(line, lineno, col, (" ",), "separator")
    _catalogue_number(line, lineno)
    _check_char(line, lineno, 8, ("U", "C", "S", " "), "classification")
    # Both year digits must be there: SGP4 reads the year with scanf("%2d"), which skips a blank and
    # takes the first digit of the day instead (" 8264.5…" would become year 82, day 64.5).
    if not (line[18:20].isdigit() and line[18:20].isascii()):
        raise _RecordError(lineno, f"bad epoch year in columns 19-20 (found {line[18:20]!r}, expected two digits)")
    if line[23] != ".":
        raise _RecordError(lineno, f"bad epoch day in columns 21-32 (found {line[20:32]!r}, expected DDD.DDDDDDDD)")
    _decimal(line, lineno, 21, 32, "epoch day", 1.0, 367.0, "of the year ", high_open=True)
    if line[34] != ".":
        raise _RecordError(lineno, f"bad first derivative of mean motion in columns 34-43 "
                                   f"(found {line[33:43]!r}, expected a sign then '.' in column 35, like ' .00000023')")
    _decimal(line, lineno, 34, 43, "first derivative of mean motion")
    _implied_decimal(line, lineno, 45, "second derivative of mean motion")
    _implied_decimal(line, lineno, 54, "BSTAR drag term")
    _check_char(line, lineno, 63, tuple("0123456789 "), "ephemeris type")
    _integer(line, lineno, 65, 68, "element set number")


def _check_line2(line, lineno, check_checksum, catalogue1):
    _check_line_common(line, lineno, 2, check_checksum)
    for col in (2, 8, 17, 26, 34, 43, 52):
        _check_char(line, lineno, col, (" ",), "separator")
    catalogue2 = _catalogue_number(line, lineno)
    if catalogue2 != catalogue1:
        raise _RecordError(lineno, f"catalogue number in columns 3-7 differs from line 1 "
                                   f"(found {catalogue2!r}, expected {catalogue1!r})")
    _decimal(line, lineno, 9, 16, "inclination", 0.0, 180.0, "of degrees ")
    _decimal(line, lineno, 18, 25, "right ascension of the ascending node", 0.0, 360.0, "of degrees ")
    ecc = line[26:33]
    if not (ecc.replace(" ", "0").isdigit() and ecc.isascii()) or not ecc.strip():
        raise _RecordError(lineno, f"bad eccentricity in columns 27-33 (found {ecc!r}, expected 7 digits "
                                   "with an implied leading decimal point, like '0001234')")
    _decimal(line, lineno, 35, 42, "argument of perigee", 0.0, 360.0, "of degrees ")
    _decimal(line, lineno, 44, 51, "mean anomaly", 0.0, 360.0, "of degrees ")
    mean_motion = _decimal(line, lineno, 53, 63, "mean motion")
    if not mean_motion > 0.0:
        raise _RecordError(lineno, f"mean motion out of range in columns 53-63 (found {line[52:63].strip()!r}, "
                                   "expected revolutions per day > 0)")
    _integer(line, lineno, 64, 68, "revolution number")


def _is_element_line(line, number):
    return line[:2] == f"{number} "


def _split_records(lines):
    """Yield (name or None, (lineno, line) of line 1, (lineno, line) of line 2, error or None).

    A line starting with ``"1 "``, or followed by a line starting with
    ``"2 "``, is a line 1; otherwise it is a name line followed by lines 1
    and 2. This keeps a wrong line number inside its record, so the error
    points at it.
    """
    i, n = 0, len(lines)
    while i < n:
        lineno, line = lines[i]
        next_line = lines[i + 1][1] if i + 1 < n else None
        if _is_element_line(line, 1) or (next_line is not None and _is_element_line(next_line, 2)):
            name = None
            start = i
        else:
            name = (lineno, line)
            start = i + 1
        if start + 1 >= n:
            last = lines[-1][0]
            what = "a name line" if start >= n else "line 1"
            yield name, None, None, _RecordError(
                last, f"record ends early: {what} is not followed by its element lines "
                "(found end of file, expected line 1 and line 2; is the file truncated?)")
            return
        if name is not None and _is_element_line(line, 2):
            yield None, lines[i], None, _RecordError(
                lineno, "line 2 without a line 1 before it (found '2' in column 1, expected a name line or line 1)")
            i += 1
            continue
        yield name, lines[start], lines[start + 1], None
        i = start + 2


def _parse_record(name, first, second, check_checksum):
    (lineno1, line1), (lineno2, line2) = first, second
    _check_line1(line1, lineno1, check_checksum)
    _check_line2(line2, lineno2, check_checksum, line1[2:7])
    try:
        sat = Satrec.twoline2rv(line1[:69], line2[:69])
    except (ValueError, RuntimeError) as exc:  # pragma: no cover - columns checked above
        raise _RecordError(lineno1, f"sgp4 cannot read the record ({exc})") from None
    if name is None:
        label = f"NORAD-{sat.satnum}"
    else:
        label = name[1].strip()
        if label.startswith("0 "):
            label = label[2:].strip()
        label = label or f"NORAD-{sat.satnum}"
    return sat, label


@recorded
def parse_tle_text(text, source="<string>", skip_invalid=False, structure=True, *,
                   check_checksum=True, duplicates="newest") -> Constellation:
    """Parse 3LE/2LE text into a :class:`Constellation`.

    Parameters
    ----------
    text : str
        TLE text (see the module docstring for what is accepted).
    source : str
        Name used in messages (``source:line: reason``) and as provenance.
    skip_invalid : bool
        Skip malformed records instead of raising; each is listed in
        ``Constellation.skipped`` as ``source:line: reason``.
    structure : bool
        Find shells, planes and slots with :func:`orbits.shells.find_shells`
        (satellites that fit none keep ``-1``).
    check_checksum : bool
        Verify the mod-10 checksum in column 69 (default). Turn off only for
        files known to carry wrong checksums, like a few records of
        Vallado's ``SGP4-VER.TLE``.
    duplicates : {"newest", "error"}
        What to do when a catalogue number appears more than once (files
        concatenated over time, or Vallado's file which gives 20413 twice):
        keep the element set with the newest epoch (the later record on a
        tie) and list the others in ``skipped`` with a warning (default), or
        raise.

    Returns
    -------
    Constellation
        Satellites in file order.

    Raises
    ------
    TLEFormatError
        ``source:line: reason (found ..., expected ...)`` for the first bad
        record (without ``skip_invalid``), for a catalogue number given twice
        (with ``duplicates="error"``), or when there is no valid record at all.

    Examples
    --------
    >>> c = parse_tle_text('''ISS (ZARYA)
    ... 1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
    ... 2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537
    ... ''', structure=False)
    >>> str(c.name[0]), int(c.norad_id[0])
    ('ISS (ZARYA)', 25544)
    """
    if duplicates not in ("newest", "error"):
        raise OrbitsError(f"duplicates={duplicates!r} is not one of 'newest', 'error'")
    if "\x00" in text:
        raise TLEFormatError(f"{source}: contains NUL bytes (found binary data, expected TLE text)")
    lines = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lines.append((lineno, line))
    if not lines:
        raise TLEFormatError(f"{source}: no TLE records (found an empty file or only blank/comment lines, "
                             "expected 3LE or 2LE text)")

    satrecs, names, first_lines, skipped = [], [], [], []
    for name, first, second, error in _split_records(lines):
        try:
            if error is not None:
                raise error
            sat, label = _parse_record(name, first, second, check_checksum)
        except _RecordError as exc:
            message = f"{source}:{exc.lineno}: {exc.reason}"
            if not skip_invalid:
                raise TLEFormatError(message) from None
            skipped.append(message)
            continue
        satrecs.append(sat)
        names.append(label)
        first_lines.append(first[0])

    keep = _drop_duplicates(satrecs, [f"{source}:{n}" for n in first_lines], source, duplicates, skipped)
    if not keep:
        raise TLEFormatError(f"{source}: no valid TLE record ({len(skipped)} skipped; first: {skipped[0]})")
    return _constellation_of(satrecs, names, keep, f"tle {source}", skipped, structure)


def _constellation_of(satrecs, names, keep, source, skipped, structure) -> Constellation:
    """The constellation of the kept records, with shells, planes and slots found when ``structure``."""
    constellation = Constellation(
        satrecs=tuple(satrecs[k] for k in keep),
        norad_id=np.array([satrecs[k].satnum for k in keep], dtype=np.int64),
        name=np.array([names[k] for k in keep]),
        source=source,
        skipped=tuple(skipped),
    )
    if structure:
        from .shells import find_shells  # late import: shells imports nothing from here

        constellation = find_shells(constellation)
    return constellation


def _drop_duplicates(satrecs, locations, source, duplicates, skipped, error=TLEFormatError):
    """Indices to keep: one record per catalogue number, the newest epoch (the later one on a tie).

    ``locations[k]`` names record ``k`` in messages (e.g. ``"path:12"``).
    """
    best, dropped_count = {}, 0
    for k, sat in enumerate(satrecs):
        epoch = sat.jdsatepoch + sat.jdsatepochF
        previous = best.get(sat.satnum)
        if previous is None:
            best[sat.satnum] = k
            continue
        if duplicates == "error":
            raise error(
                f"{locations[k]}: catalogue number {sat.satnum} already given at {locations[previous]} "
                "(found a duplicate, expected each satellite once); remove one, "
                "or pass duplicates='newest' to keep the newest epoch")
        old = satrecs[previous]
        if epoch >= old.jdsatepoch + old.jdsatepochF:
            dropped, best[sat.satnum] = previous, k
        else:
            dropped = k
        dropped_count += 1
        skipped.append(f"{locations[dropped]}: duplicate catalogue number {sat.satnum} "
                       f"(kept the newest epoch, {locations[best[sat.satnum]]})")
    if dropped_count:
        warnings.warn(f"{source}: {dropped_count} older duplicate element sets dropped (kept the newest "
                      "epoch of each catalogue number; the dropped ones are listed as skipped)", stacklevel=4)
    return sorted(best.values())


def read_tle(path, skip_invalid=False, structure=True, *, check_checksum=True, duplicates="newest") -> Constellation:
    """Read a CelesTrak-style 3LE or 2LE file into a :class:`Constellation`.

    Parameters
    ----------
    path : str or os.PathLike
        TLE text file (UTF-8 or ASCII).
    skip_invalid, structure, check_checksum, duplicates :
        As in :func:`parse_tle_text`.

    Returns
    -------
    Constellation

    Raises
    ------
    TLEFormatError
        ``path:line: reason`` for a malformed record, a non-text file, or a
        file without records.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "iss.tle")
    >>> _ = open(path, "w").write(
    ...     "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\\n"
    ...     "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\\n")
    >>> c = read_tle(path, structure=False)
    >>> len(c), str(c.name[0])
    (1, 'NORAD-25544')
    """
    path = Path(path)
    text, _ = read_text_file(path, TLEFormatError, "a TLE text file")
    return parse_tle_text(text, source=str(path), skip_invalid=skip_invalid, structure=structure,
                          check_checksum=check_checksum, duplicates=duplicates)


def to_tle(constellation) -> str:
    """Return the constellation as 3LE text: name line, line 1, line 2 per satellite.

    Lines are made by :func:`sgp4.exporter.export_tle` and then checked
    column by column as :func:`read_tle` checks them, so the text always
    reads back. Names are written as they are (no ``"0 "`` prefix), except
    that a name which could be taken for an element line gets one.

    Parameters
    ----------
    constellation : Constellation

    Returns
    -------
    str
        3LE text with a trailing newline.

    Raises
    ------
    ConstellationError
        When an element set cannot be written as a TLE (angle out of range,
        catalogue number above 339999).

    Examples
    --------
    >>> from orbits.walker import walker
    >>> text = to_tle(walker("86.4:66/6/2", 780, star=True))
    >>> text.splitlines()[1]
    '1 80000U          26001.00000000  .00000000  00000-0  00000+0 0    09'
    """
    out = []
    for k, (sat, name) in enumerate(zip(constellation.satrecs, constellation.name)):
        label = f"{name} (catalogue {int(constellation.norad_id[k])})"
        try:
            line1, line2 = export_tle(sat)
        except (ValueError, TypeError) as exc:
            raise ConstellationError(f"satellite {label} cannot be written as a TLE ({exc})") from None
        try:
            _check_line1(line1, 1, True)
            _check_line2(line2, 2, True, line1[2:7])
        except _RecordError as exc:
            raise ConstellationError(
                f"satellite {label} gives an invalid TLE line {exc.lineno}: {exc.reason}") from None
        name = str(name).strip() or f"NORAD-{sat.satnum}"
        if name[:2] in ("1 ", "2 ") or name.startswith("#"):
            name = "0 " + name
        out.extend((name, line1, line2))
    return "\n".join(out) + "\n"


def write_tle(constellation, path, *, overwrite=False) -> Path:
    """Write the constellation as a 3LE file (atomically: temporary file, then rename).

    Parameters
    ----------
    constellation : Constellation
    path : str or os.PathLike
    overwrite : bool
        Replace an existing file; without it an existing file is an error.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, os
    >>> from orbits.walker import walker
    >>> path = os.path.join(tempfile.mkdtemp(), "iridium.tle")
    >>> len(read_tle(write_tle(walker("86.4:66/6/2", 780, star=True), path)))
    66
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OrbitsError(f"{path} exists; pass overwrite=True to replace it")
    text = to_tle(constellation)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
