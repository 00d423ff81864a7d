"""OMM CSV/JSON/XML: element sets equal to those of the same TLEs; malformed records named precisely."""

import csv
import json
import math
import os
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import sgp4
from sgp4.api import Satrec
from sgp4.exporter import export_omm

from orbits import OMMFormatError, parse_omm_text, read_omm, read_tle

VALLADO_TLE = os.path.join(os.path.dirname(sgp4.__file__), "SGP4-VER.TLE")
#: OMM epochs carry microseconds while TLE epochs carry 1e-8 day, so the two
#: epochs may differ by up to 1 µs, plus the float resolution of the
#: days-since-1949 epoch that sgp4init takes (~4e-12 day ≈ 0.3 µs);
#: positions then differ by speed × Δt (about 1 cm at 10 km/s), plus round-off.
one_millimetre_km = 1e-6
epoch_tolerance_day = 2e-6 / 86_400.0

FIELD_ORDER = ["OBJECT_NAME", "OBJECT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
               "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "EPHEMERIS_TYPE",
               "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "BSTAR",
               "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT"]


@pytest.fixture(scope="module")
def reference():
    """Element sets from Vallado's TLEs (those with an international designator) and their OMM dicts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = read_tle(VALLADO_TLE, structure=False, check_checksum=False)
    sats, records = [], []
    for sat, name in zip(c.satrecs, c.name):
        if not sat.intldesg.strip():
            continue
        sats.append(sat)
        records.append(export_omm(sat, str(name)))
    assert len(sats) >= 25
    return sats, records


def write_csv(path, records):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELD_ORDER)
        writer.writeheader()
        for record in records:
            writer.writerow({k: record[k] for k in FIELD_ORDER})


def xml_text(records, namespace=None):
    """CCSDS NDM/OMM XML as CelesTrak serves it: ndm/omm/body/segment/{metadata,data}."""
    ns = f' xmlns="{namespace}"' if namespace else ""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ndm{ns}>']
    meta_keys = ["OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM", "MEAN_ELEMENT_THEORY"]
    mean_keys = ["EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                 "ARG_OF_PERICENTER", "MEAN_ANOMALY"]
    tle_keys = ["EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH",
                "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT"]
    for r in records:
        def block(keys):
            return "".join(f"<{k}>{r[k]}</{k}>" for k in keys if k in r)
        parts.append(f'<omm id="CCSDS_OMM_VERS" version="2.0"><header><CREATION_DATE/><ORIGINATOR/></header>'
                     f"<body><segment><metadata>{block(meta_keys)}</metadata><data>"
                     f"<meanElements>{block(mean_keys)}</meanElements>"
                     f"<tleParameters>{block(tle_keys)}</tleParameters></data></segment></body></omm>")
    parts.append("</ndm>\n")
    return "".join(parts)


def assert_equal_satrecs(expected, got):
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        assert a.satnum == b.satnum
        # Degrees ↔ radians and rev/day ↔ rad/min conversions may differ by an ulp.
        for name in ("inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar"):
            assert math.isclose(getattr(a, name), getattr(b, name), rel_tol=1e-14, abs_tol=1e-300), name
        # Difference of split Julian dates: a summed JD resolves only ~40 µs.
        epoch_difference_day = (a.jdsatepoch - b.jdsatepoch) + (a.jdsatepochF - b.jdsatepochF)
        assert abs(epoch_difference_day) <= epoch_tolerance_day
        jd = np.full(3, a.jdsatepoch)
        fr = a.jdsatepochF + np.array([0.0, 0.25, 1.0])
        ea, ra, va = a.sgp4_array(jd, fr)
        eb, rb, _ = b.sgp4_array(jd, fr)
        assert (ea == eb).all()
        ok = ea == 0
        shift_km = np.linalg.norm(va[ok], axis=1) * abs(epoch_difference_day) * 86_400.0
        # An ulp of mean motion grows along the orbit: allow 1e-9 of the radius
        # (4 mm on Vallado's 190,000 km Molniya-like apogee).
        round_off_km = 1e-9 * np.linalg.norm(ra[ok], axis=1) + one_millimetre_km
        assert np.all(np.linalg.norm(ra[ok] - rb[ok], axis=1) < shift_km + round_off_km)


def test_omm_csv_json_xml_give_the_same_satrecs_as_the_tles(tmp_path, reference):
    sats, records = reference
    write_csv(tmp_path / "gp.csv", records)
    (tmp_path / "gp.json").write_text(json.dumps(records))
    (tmp_path / "gp.xml").write_text(xml_text(records))
    (tmp_path / "gp_ns.xml").write_text(xml_text(records, namespace="urn:ccsds:schema:ndmxml"))
    for name in ("gp.csv", "gp.json", "gp.xml", "gp_ns.xml"):
        c = read_omm(tmp_path / name, structure=False)
        assert_equal_satrecs(sats, c.satrecs)
        assert c.name.tolist() == [r["OBJECT_NAME"] for r in records]
        assert c.source == f"omm {tmp_path / name}"


def test_omm_format_is_sniffed_without_extension(tmp_path, reference):
    sats, records = reference
    (tmp_path / "gp_json").write_text(json.dumps(records))
    (tmp_path / "gp_xml").write_text(xml_text(records))
    write_csv(tmp_path / "gp_csv", records)
    for name in ("gp_json", "gp_xml", "gp_csv"):
        assert_equal_satrecs(sats, read_omm(tmp_path / name, structure=False).satrecs)


def test_optional_fields_take_documented_defaults():
    record = {"NORAD_CAT_ID": 25544, "EPOCH": "2008-09-20T12:25:40Z", "MEAN_MOTION": 15.72125391,
              "ECCENTRICITY": 0.0006703, "INCLINATION": 51.6416, "RA_OF_ASC_NODE": 247.4627,
              "ARG_OF_PERICENTER": 130.536, "MEAN_ANOMALY": 325.0288, "BSTAR": -1.1606e-05}
    c = parse_omm_text(json.dumps(record), structure=False)
    sat = c.satrecs[0]
    assert c.name[0] == "NORAD-25544" and sat.classification == "U" and sat.ndot == 0.0
    tle = Satrec.twoline2rv("1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
                            "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537")
    assert sat.inclo == tle.inclo and sat.no_kozai == tle.no_kozai and sat.bstar == tle.bstar


def test_csv_errors_name_the_line_and_field(tmp_path, reference):
    _, records = reference
    path = tmp_path / "bad.csv"
    write_csv(path, records[:4])
    lines = path.read_text().splitlines()
    # Row of the third record is line 4 (line 1 is the header).
    lines[3] = lines[3].replace(str(records[2]["INCLINATION"]), "fifty")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(OMMFormatError, match=f"^{path}:4: field INCLINATION: bad number \\(found 'fifty'"):
        read_omm(path)
    c = read_omm(path, skip_invalid=True, structure=False)
    assert len(c) == 3 and c.skipped[0].startswith(f"{path}:4: field INCLINATION")

    path.write_text("NORAD_CAT_ID,EPOCH,MEAN_MOTION\n5,2000-06-27T18:50:19.733568,10.8\n")
    with pytest.raises(OMMFormatError, match=f"^{path}:1: CSV header lacks ECCENTRICITY, INCLINATION"):
        read_omm(path)


def test_json_errors_name_the_record_and_field(tmp_path, reference):
    _, records = reference
    broken = [dict(r) for r in records[:3]]
    del broken[1]["MEAN_MOTION"]
    broken[2]["ECCENTRICITY"] = 1.5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(OMMFormatError, match=f"^{path}: record 2: missing field MEAN_MOTION"):
        read_omm(path)
    c = read_omm(path, skip_invalid=True, structure=False)
    assert len(c) == 1
    assert c.skipped[1].startswith(f"{path}: record 3: field ECCENTRICITY: out of range (found '1.5'")
    path.write_text('[{"NORAD_CAT_ID": 5,\n "EPOCH": }]')
    with pytest.raises(OMMFormatError, match=f"^{path}:2: bad JSON"):
        read_omm(path)


def test_xml_errors_name_the_record_and_field(tmp_path, reference):
    _, records = reference
    broken = [dict(r) for r in records[:2]]
    broken[1]["EPOCH"] = "yesterday"
    path = tmp_path / "bad.xml"
    path.write_text(xml_text(broken))
    with pytest.raises(OMMFormatError, match=f"^{path}: record 2: field EPOCH: bad date \\(found 'yesterday'"):
        read_omm(path)
    path.write_text("<ndm><omm>\n<body></omm>")
    with pytest.raises(OMMFormatError, match=f"^{path}:2: bad XML"):
        read_omm(path)


def test_xml_with_a_doctype_is_refused_before_any_entity_expands(reference):
    # A harmless entity that ElementTree would expand, an external one, and a "billion laughs":
    # each is refused by its DOCTYPE line, whatever the expat build would have allowed.
    _, records = reference
    good = xml_text(records[:1])
    head, body = good.split("\n", 1)
    named = body.replace(f"<OBJECT_NAME>{records[0]['OBJECT_NAME']}</OBJECT_NAME>", "<OBJECT_NAME>&n;</OBJECT_NAME>")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 30))
    for subset in (f'<!ENTITY n "{records[0]["OBJECT_NAME"]}">', '<!ENTITY n SYSTEM "file:///etc/passwd">',
                   '<!ENTITY l0 "lol">' + laughs + '<!ENTITY n "&l29;">'):
        text = f"{head}\n<!DOCTYPE ndm [{subset}]>\n{named}"
        with pytest.raises(OMMFormatError, match=r"^gp\.xml:2: XML with a DOCTYPE is refused"):
            parse_omm_text(text, source="gp.xml")
    assert len(parse_omm_text(good, structure=False)) == 1


def test_empty_binary_and_tle_files_are_refused(tmp_path):
    cases = {"empty.json": (b"", ": no OMM records"),
             "binary.csv": (b"NORAD\x00\x01", ":1: NUL byte"),
             "latin1.csv": ("NORAD_CAT_ID,OBJECT_NAME\n5,ZARYÄ\n".encode("latin-1"), ":2: not UTF-8 text"),
             "iss.txt": (b"1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n",
                         ": unknown OMM format")}
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(OMMFormatError) as info:
            read_omm(path)
        assert str(info.value).startswith(f"{path}{expected}"), str(info.value)
    assert "use read_tle" in str(pytest.raises(OMMFormatError, read_omm, tmp_path / "iss.txt").value)
