"""TLE reading and writing: Vallado's verification file, malformed input, round trips, mutations."""

import math
import os
import warnings

import numpy as np
import pytest
import sgp4
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec
from sgp4.io import verify_checksum

from orbits import OrbitsError, TLEFormatError, parse_tle_text, read_tle, tle_checksum, to_tle, write_tle

VALLADO_TLE = os.path.join(os.path.dirname(sgp4.__file__), "SGP4-VER.TLE")
one_millimetre_km = 1e-6

ISS = (
    "ISS (ZARYA)",
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
)
VANGUARD = (
    "VANGUARD 1",
    "1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753",
    "2 00005  34.2682 348.7242 1859667 331.7664  19.3264 10.82419157413667",
)
STARLINK = (
    "0 STARLINK-1008",
    "1 44714U 19074B   26031.25003471  .00034962  00000-0  11576-2 0  9991",
    "2 44714  53.1572 352.8934 0001355  87.7780 348.0870 15.31011067  5538",
)


def vallado_records():
    """(line number of line 1, line 1, line 2) of every record, read independently of orbits.tle."""
    with open(VALLADO_TLE) as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    return [(k + 1, lines[k], lines[k + 1]) for k in range(len(lines) - 1)
            if lines[k].startswith("1 ") and lines[k + 1].startswith("2 ")]


ELEMENTS = ("satnum", "inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar", "ndot", "nddot",
            "jdsatepoch", "jdsatepochF", "epochyr", "epochdays")


def assert_same_elements(a, b):
    for name in ELEMENTS:
        assert getattr(a, name) == getattr(b, name), name


def test_vallado_every_record_parses_like_twoline2rv():
    records = vallado_records()
    assert len(records) == 33
    with pytest.warns(UserWarning, match="1 older duplicate"):
        c = read_tle(VALLADO_TLE, structure=False, check_checksum=False)
    # 20413 is given twice (lines 32 and 109); the newest epoch is kept.
    assert len(c) == 32
    assert c.skipped == (f"{VALLADO_TLE}:32: duplicate catalogue number 20413 (kept the newest epoch, "
                         f"{VALLADO_TLE}:109)",)
    by_number = {int(n): sat for n, sat in zip(c.norad_id, c.satrecs)}
    for lineno, line1, line2 in records:
        expected = Satrec.twoline2rv(line1[:69], line2[:69])
        if lineno == 32:  # the older 20413: read it on its own
            got = parse_tle_text(f"{line1}\n{line2}\n", structure=False, check_checksum=False).satrecs[0]
        else:
            got = by_number[expected.satnum]
        assert_same_elements(got, expected)
    assert c.name[0] == "NORAD-5"


def test_vallado_checksum_errors_are_the_ones_sgp4_documents():
    # sgp4's own test_tle_export lists 33333, 33334, 33335 as records with
    # wrong checksums (lines 100, 103, 106 of the file).
    with pytest.warns(UserWarning):
        c = read_tle(VALLADO_TLE, structure=False, skip_invalid=True)
    checksum_lines = sorted(int(m.rsplit(".TLE:", 1)[1].split(":")[0]) for m in c.skipped if "checksum" in m)
    assert checksum_lines == [100, 103, 106]
    assert len(c) == 29
    with pytest.raises(TLEFormatError, match=r"SGP4-VER.TLE:100: checksum mismatch in column 69 "
                                             r"\(found '4', expected '2'"):
        read_tle(VALLADO_TLE, structure=False)


def positions_km(sat, jd, frs):
    err, r, _ = sat.sgp4_array(np.full(len(frs), jd), np.asarray(frs))
    return err, r


def test_to_tle_round_trip_checksums_and_positions():
    with pytest.warns(UserWarning):
        original = read_tle(VALLADO_TLE, structure=False, check_checksum=False)
    text = to_tle(original)
    lines = text.splitlines()
    assert len(lines) == 3 * len(original)
    for k in range(len(original)):
        line1, line2 = lines[3 * k + 1], lines[3 * k + 2]
        assert len(line1) == len(line2) == 69
        verify_checksum(line1, line2)  # sgp4's own check
        assert int(line1[68]) == tle_checksum(line1) and int(line2[68]) == tle_checksum(line2)
    back = parse_tle_text(text, structure=False)
    assert back.norad_id.tolist() == original.norad_id.tolist()
    assert back.name.tolist() == original.name.tolist()
    frs = np.array([0.0, 0.1, 0.5, 1.0, 2.5])
    for a, b in zip(original.satrecs, back.satrecs):
        ea, ra = positions_km(a, a.jdsatepoch, a.jdsatepochF + frs)
        eb, rb = positions_km(b, a.jdsatepoch, a.jdsatepochF + frs)
        assert (ea == eb).all()
        ok = ea == 0
        assert np.all(np.linalg.norm(ra[ok] - rb[ok], axis=1) < one_millimetre_km)


def test_write_tle_atomic_and_refuses_to_overwrite(tmp_path):
    c = parse_tle_text("\n".join(ISS + VANGUARD) + "\n", structure=False)
    path = write_tle(c, tmp_path / "out.tle")
    assert read_tle(path, structure=False).name.tolist() == ["ISS (ZARYA)", "VANGUARD 1"]
    with pytest.raises(OrbitsError, match="exists; pass overwrite=True"):
        write_tle(c, path)
    write_tle(c, path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tle"]  # no temporary file left


def test_3le_2le_names_comments_crlf_and_trailing_columns():
    text = ("# a comment\r\n\r\n" + "\r\n".join(STARLINK) + "\r\n"
            + VANGUARD[1] + "\r\n" + VANGUARD[2] + "     0.00      4320.0        360.00\r\n"
            + "\ufeff" * 0 + "\n".join(ISS) + "\n")
    c = parse_tle_text(text, structure=False)
    assert c.name.tolist() == ["STARLINK-1008", "NORAD-5", "ISS (ZARYA)"]
    assert c.norad_id.tolist() == [44714, 5, 25544]


def test_alpha5_catalogue_numbers_read_and_write():
    line1 = VANGUARD[1].replace("00005", "A0005")
    line2 = VANGUARD[2].replace("00005", "A0005")
    line1 = line1[:68] + str(tle_checksum(line1))
    line2 = line2[:68] + str(tle_checksum(line2))
    c = parse_tle_text(f"ALPHA\n{line1}\n{line2}\n", structure=False)
    assert c.norad_id.tolist() == [100005]
    assert to_tle(c).splitlines()[1:] == [line1, line2]


def record_text(*records):
    return "".join("\n".join(r) + "\n" for r in records)


def with_checksum(line):
    return line[:68] + str(tle_checksum(line))


# (description, record index 0 = ISS / 1 = VANGUARD / 2 = STARLINK, line 1 or 2, new line, message part)
MALFORMED = [
    ("bad checksum", 2, VANGUARD[2][:68] + "0", "checksum mismatch in column 69 (found '0', expected '7'"),
    ("wrong line number", 1, "3" + VANGUARD[1][1:], "wrong line number in column 1 (found '3', expected '1')"),
    ("wrong line number on line 2", 2, "3" + VANGUARD[2][1:], "wrong line number in column 1 (found '3', expected '2')"),
    ("short line", 2, VANGUARD[2][:60], "line 2 too short (found 60 characters, expected at least 69)"),
    ("catalogue mismatch", 2, with_checksum(VANGUARD[2].replace("00005", "00006")),
     "catalogue number in columns 3-7 differs from line 1 (found '00006', expected '00005')"),
    ("bad number", 2, with_checksum(VANGUARD[2].replace("34.2682", "3x.2682")),
     "bad inclination in columns 9-16 (found ' 3x.2682'"),
    ("out of range", 2, with_checksum(VANGUARD[2].replace(" 34.2682", "234.2682")),
     "inclination out of range in columns 9-16"),
    ("bad epoch", 1, with_checksum(VANGUARD[1].replace("00179.78495062", "00179.7849506x")),
     "bad epoch day in columns 21-32"),
    ("bad bstar", 1, with_checksum(VANGUARD[1].replace("28098-4", "28O98-4")), "bad BSTAR drag term in columns 54-61"),
    ("bad eccentricity", 2, with_checksum(VANGUARD[2].replace("1859667", "18596-7")), "bad eccentricity in columns 27-33"),
    ("non-ASCII", 2, VANGUARD[2].replace("34.2682", "34.26é2"), "non-ASCII character"),
    # Found by the mutation test: sgp4 reads a tab in the designator as a field break (BSTAR = NaN).
    ("tab", 1, VANGUARD[1][:11] + "\t" + VANGUARD[1][12:], "control character in column 12 (found '\\t'"),
]


@pytest.mark.parametrize("what, line, new, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_record_raises_with_line_number(tmp_path, what, line, new, message):
    # VANGUARD is the second record: name on line 4, line 1 on line 5, line 2 on line 6.
    record = list(VANGUARD)
    record[line] = new
    text = record_text(ISS, record, STARLINK)
    with pytest.raises(TLEFormatError) as info:
        parse_tle_text(text, structure=False)
    assert str(info.value).startswith(f"<string>:{4 + line}: "), str(info.value)
    assert message in str(info.value)
    path = tmp_path / "bad.tle"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TLEFormatError, match=f"^{path}:{4 + line}: "):
        read_tle(path)
    # skip_invalid keeps the good records and reports the bad one.
    c = read_tle(path, skip_invalid=True, structure=False)
    assert c.norad_id.tolist() == [25544, 44714]
    assert len(c.skipped) == 1 and c.skipped[0].startswith(f"{path}:{4 + line}: ")


def test_2le_wrong_line_number_points_at_that_line():
    text = ISS[1] + "\n" + "3" + ISS[2][1:] + "\n"
    with pytest.raises(TLEFormatError, match="^<string>:2: wrong line number in column 1"):
        parse_tle_text(text, structure=False)
    text = "3" + ISS[1][1:] + "\n" + ISS[2] + "\n"
    with pytest.raises(TLEFormatError, match="^<string>:1: wrong line number in column 1"):
        parse_tle_text(text, structure=False)


def test_truncated_empty_binary_and_non_utf8_files(tmp_path):
    cases = {
        "truncated.tle": ("\n".join(ISS[:2]) + "\n").encode(),
        "empty.tle": b"",
        "comments.tle": b"# nothing here\n\n",
        "binary.tle": b"\x7fELF\x00\x01\x02",
        "latin1.tle": "\n".join(ISS).replace("ZARYA", "ZARYÄ").encode("latin-1"),
    }
    expected = {
        "truncated.tle": ":2: record ends early",
        "empty.tle": ": no TLE records",
        "comments.tle": ": no TLE records",
        "binary.tle": ":1: NUL byte",
        "latin1.tle": ":1: not UTF-8 text (found byte 0xc4",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(TLEFormatError) as info:
            read_tle(path)
        assert str(info.value).startswith(f"{path}{expected[name]}"), str(info.value)
    with pytest.raises(TLEFormatError, match="no such file"):
        read_tle(tmp_path / "missing.tle")


def test_all_records_invalid_is_an_error_even_when_skipping():
    record = list(VANGUARD)
    record[2] = VANGUARD[2][:68] + "0"
    with pytest.raises(TLEFormatError, match="no valid TLE record .1 skipped; first: <string>:3: checksum"):
        parse_tle_text(record_text(record), skip_invalid=True, structure=False)


def test_duplicates_keep_newest_or_raise():
    older = list(STARLINK)
    older[1] = with_checksum(STARLINK[1].replace("26031.25003471", "26030.25003471"))
    text = record_text(STARLINK, older)
    with pytest.warns(UserWarning, match="kept the newest epoch"):
        c = parse_tle_text(text, structure=False)
    newest = Satrec.twoline2rv(STARLINK[1], STARLINK[2])
    assert len(c) == 1 and c.epoch_jd[0] == newest.jdsatepoch + newest.jdsatepochF
    assert c.skipped == ("<string>:5: duplicate catalogue number 44714 (kept the newest epoch, <string>:2)",)
    with pytest.raises(TLEFormatError, match="<string>:5: catalogue number 44714 already given at <string>:2"):
        parse_tle_text(text, structure=False, duplicates="error")


# --- property test: random mutations either parse to the values the text says, or raise TLEFormatError


def reference_values(line1, line2):
    """Decode the fields SGP4 uses straight from the columns (CelesTrak layout); ValueError if unreadable."""
    year = int(line1[18:20])
    year += 2000 if year < 57 else 1900
    day = float(line1[20:32])
    mantissa = float(line1[53] + "." + line1[54:59])
    bstar = mantissa * 10.0 ** int(line1[59:61])
    return {
        "inclo": math.radians(float(line2[8:16])),
        "nodeo": math.radians(float(line2[17:25])),
        "ecco": float("0." + line2[26:33].replace(" ", "0")),
        "argpo": math.radians(float(line2[34:42])),
        "mo": math.radians(float(line2[43:51])),
        "no_kozai": float(line2[52:63]) / (1440.0 / (2.0 * math.pi)),
        "bstar": bstar,
        "epoch": (year, day),
    }


ALPHABET = "0123456789 -+.#AZeE\t\u00e9/"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    record=st.sampled_from([ISS, VANGUARD, STARLINK]),
    which=st.sampled_from([1, 2]),
    operation=st.sampled_from(["replace", "delete", "insert", "truncate", "swap"]),
    position=st.integers(min_value=0, max_value=68),
    char=st.sampled_from(ALPHABET),
)
def test_mutated_record_parses_correctly_or_raises_tle_format_error(record, which, operation, position, char):
    lines = list(record)
    line = lines[which]
    if operation == "replace":
        line = line[:position] + char + line[position + 1:]
    elif operation == "delete":
        line = line[:position] + line[position + 1:]
    elif operation == "insert":
        line = line[:position] + char + line[position:]
    elif operation == "truncate":
        line = line[:position]
    else:
        other = (position + 1) % 69
        chars = list(line)
        chars[position], chars[other] = chars[other], chars[position]
        line = "".join(chars)
    lines[which] = line
    text = "\n".join(lines) + "\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            c = parse_tle_text(text, structure=False)
    except TLEFormatError as exc:
        assert str(exc).startswith("<string>:")
        return
    # Accepted: the element set must hold what the columns say.
    assert len(c) == 1
    sat = c.satrecs[0]
    line1, line2 = lines[1].rstrip(), lines[2].rstrip()
    assert tle_checksum(line1) == int(line1[68]) and tle_checksum(line2) == int(line2[68])
    expected = reference_values(line1, line2)
    for name in ("inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai"):
        assert math.isclose(getattr(sat, name), expected[name], rel_tol=1e-12, abs_tol=1e-15), name
    assert math.isclose(sat.bstar, expected["bstar"], rel_tol=1e-12, abs_tol=1e-20)
    year, day = expected["epoch"]
    assert sat.epochyr % 100 == year % 100 and math.isclose(sat.epochdays, day, rel_tol=1e-14)


def test_epoch_year_needs_both_digits():
    """Found by the mutation test: SGP4 reads ' 8264.5…' as year 82, day 64.5; we refuse it instead."""
    line1 = "1 25544U 98067A    8264.51782528 -.00002182  00000-0 -11606-4 0  292"
    line1 += str(tle_checksum(line1))
    line2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
    with pytest.raises(TLEFormatError, match=r"<string>:1: bad epoch year in columns 19-20 \(found ' 8'"):
        parse_tle_text(line1 + "\n" + line2 + "\n", structure=False)
