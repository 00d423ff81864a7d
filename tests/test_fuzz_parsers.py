"""Robustness: random and mutated inputs to every parser and to the CLI.

For each input layer the property is the same: the input is either refused
with that layer's domain error (``OrbitsError``, ``LatencyError``,
``PlacementError``, ``SpaceXNetError``; click usage errors exit 2), or it is
accepted and the result holds the values the input says. Never another
exception, never a traceback, never a hang (hypothesis deadlines, small
inputs). The column-by-column TLE mutation test lives in ``test_tle.py``;
here TLE text is fuzzed at the line level.

The bottom of the file holds regression tests for the bugs these tests found.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import latency
import orbits
from latency.exceptions import LatencyError
from latency.specs import ModelSpec
from orbits.exceptions import OrbitsError
from spacexnet.cli import main
from spacexnet.exceptions import user_errors

FAST = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
TMP = dict(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --------------------------------------------------------------------------- shared value strategies

#: Awkward scalars: what a hand-edited or corrupted file might hold.
weird_numbers = st.sampled_from([
    0, -1, 1, 2, 10**6, 2**31, 2**63, 10**20, 10**400, -10**400, 0.5, -0.0, 1e-300, 1e300,
    float("nan"), float("inf"), float("-inf"),
])
weird_strings = st.sampled_from([
    "", " ", "abc", "1_5", "0x10", "١٥", "1e5", "1,5", "NaN", "inf", "-", ".", "1.2.3", "\x00", "\t7",
    "é", "'", '"', "<", "&", "2026-01-01T00:00:00Z",
])
json_scalars = st.one_of(weird_numbers, weird_strings, st.booleans(), st.none(),
                         st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=8))
json_values = st.one_of(json_scalars, st.lists(json_scalars, max_size=3),
                        st.dictionaries(st.text(max_size=5), json_scalars, max_size=2))


def _is_domain_error(exc) -> bool:
    return isinstance(exc, user_errors())


# --------------------------------------------------------------------------- TLE: line-level fuzzing

ISS = ("ISS (ZARYA)",
       "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
       "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537")
tle_lines = st.one_of(
    st.sampled_from(list(ISS) + ["", "# comment", "0 NAME", "1 ", "2 ", "\ufeff", "\r", "1" * 69, " " * 69]),
    st.text(max_size=80),
    st.text(alphabet="12 0.-+U", min_size=60, max_size=75),
)


@FAST
@given(st.lists(tle_lines, max_size=8), st.booleans(), st.booleans())
def test_random_tle_text_raises_only_tle_errors(lines, skip_invalid, check_checksum):
    text = "\n".join(lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = orbits.parse_tle_text(text, skip_invalid=skip_invalid, structure=False,
                                      check_checksum=check_checksum)
    except OrbitsError as exc:
        assert str(exc).startswith("<string>:")
        return
    # Only the one real record can be accepted, with its own numbers.
    assert set(c.norad_id.tolist()) <= {25544}
    assert math.isclose(c.satrecs[0].inclo, math.radians(51.6416), rel_tol=1e-12)


# --------------------------------------------------------------------------- OMM: mutated records, three formats

OMM_RECORD = {
    "OBJECT_NAME": "STARLINK-1007", "OBJECT_ID": "2019-074A", "EPOCH": "2026-01-10T12:00:00.123456",
    "MEAN_MOTION": 15.06393041, "ECCENTRICITY": 0.0001422, "INCLINATION": 53.0543, "RA_OF_ASC_NODE": 192.4426,
    "ARG_OF_PERICENTER": 86.2321, "MEAN_ANOMALY": 273.8829, "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U",
    "NORAD_CAT_ID": 44713, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 33275, "BSTAR": 0.00011458,
    "MEAN_MOTION_DOT": 1.67e-05, "MEAN_MOTION_DDOT": 0,
}
omm_edits = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(sorted(OMM_RECORD)), json_scalars),
    st.tuples(st.just("drop"), st.sampled_from(sorted(OMM_RECORD)), st.none()),
    st.tuples(st.just("add"), st.sampled_from(["EXTRA", "COMMENT", "norad_cat_id", " INCLINATION "]), json_scalars),
), max_size=3)


def _cell(value) -> str:
    return "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)


def _omm_text(records, fmt):
    if fmt == "json":
        return json.dumps(records)
    keys = list(dict.fromkeys(k for r in records for k in r))
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(keys)
        for r in records:
            writer.writerow([_cell(r.get(k)) for k in keys])
        return out.getvalue()
    body = "".join("<omm><body><segment><data>" + "".join(
        f"<{k.strip() or 'X'}>{escape(_cell(v))}</{k.strip() or 'X'}>" for k, v in r.items()
    ) + "</data></segment></body></omm>" for r in records)
    return f"<ndm>{body}</ndm>"


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(edits=omm_edits, fmt=st.sampled_from(["csv", "json", "xml"]))
def test_mutated_omm_record_parses_correctly_or_raises_omm_error(edits, fmt):
    record = dict(OMM_RECORD)
    for op, key, value in edits:
        if op == "drop":
            record.pop(key, None)
        else:
            record[key] = value
    assume(fmt == "json" or all(isinstance(k, str) and k.strip() and k.strip().isidentifier() for k in record))
    text = _omm_text([record], fmt)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = orbits.parse_omm_text(text, structure=False, fmt=fmt)
    except OrbitsError as exc:
        assert str(exc).startswith("<string>")
        return
    # Accepted: the element set holds the record's numbers (field names are case-insensitive).
    fields = {k.strip().upper(): v for k, v in record.items()}
    sat = c.satrecs[0]
    assert sat.satnum == int(float(_cell(fields["NORAD_CAT_ID"])))
    for name, attr in (("INCLINATION", "inclo"), ("RA_OF_ASC_NODE", "nodeo"), ("ARG_OF_PERICENTER", "argpo"),
                       ("MEAN_ANOMALY", "mo")):
        assert math.isclose(getattr(sat, attr), math.radians(float(_cell(fields[name]))), rel_tol=1e-12,
                            abs_tol=1e-15), name
    assert math.isclose(sat.ecco, float(_cell(fields["ECCENTRICITY"])), rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(sat.no_kozai, float(_cell(fields["MEAN_MOTION"])) * 2 * math.pi / 1440.0, rel_tol=1e-12)
    assert math.isclose(sat.bstar, float(_cell(fields["BSTAR"])), rel_tol=1e-12, abs_tol=1e-300)


@FAST
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet='[]{}<>/",:=0123456789 \nNORAD_CAT_ID', max_size=200)),
       fmt=st.sampled_from([None, "csv", "json", "xml"]))
def test_random_omm_text_raises_only_omm_errors(text, fmt):
    try:
        orbits.parse_omm_text(text, structure=False, fmt=fmt)
    except OrbitsError:
        pass


# --------------------------------------------------------------------------- model specs

with open(__import__("pathlib").Path(latency.__file__).resolve().parents[1] / "data" / "models"
          / "deepseek-v3.json", encoding="utf-8") as _handle:
    DEEPSEEK = json.load(_handle)  # the richest preset: MLA, shared experts, dense layers
with open(__import__("pathlib").Path(latency.__file__).resolve().parents[1] / "data" / "models"
          / "llama-moe-3.5b.json", encoding="utf-8") as _handle:
    LLAMA = json.load(_handle)

moe_layer_values = st.one_of(
    st.just("all"), st.lists(st.integers(-2, 70), max_size=5),
    st.fixed_dictionaries({"stop": st.one_of(st.integers(-5, 10**15), json_scalars)},
                          optional={"start": st.one_of(st.integers(-5, 70), json_scalars),
                                    "step": st.one_of(st.integers(-3, 5), json_scalars)}),
)
spec_edits = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(sorted(set(DEEPSEEK) | set(LLAMA))), json_values),
    st.tuples(st.just("set"), st.just("moe_layers"), moe_layer_values),
    st.tuples(st.just("set"), st.sampled_from(["n_layers", "hidden_size", "top_k", "n_routed_experts"]),
              st.integers(-3, 10**15)),
    st.tuples(st.just("drop"), st.sampled_from(sorted(set(DEEPSEEK) | set(LLAMA))), st.none()),
    st.tuples(st.just("add"), st.sampled_from(["n_experts", "layers", "Hidden_Size", ""]), json_scalars),
), max_size=3)


def _spec_equals(spec, data):
    """Every field the file gives is what the spec holds."""
    for key, value in data.items():
        if key == "moe_layers":
            expected = (tuple(range(data["n_layers"])) if value == "all" else
                        tuple(sorted(value)) if isinstance(value, list) else
                        tuple(range(value.get("start", 0), value["stop"], value.get("step", 1))))
            assert spec.moe_layers == expected
        elif isinstance(value, float) or key in ("bytes_per_param", "activation_bytes"):
            assert getattr(spec, key) == float(value)
        else:
            assert getattr(spec, key) == value, key


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([DEEPSEEK, LLAMA]), edits=spec_edits)
def test_mutated_model_spec_is_refused_with_spec_error_or_read_exactly(base, edits):
    data = copy.deepcopy(base)
    for op, key, value in edits:
        if op == "drop":
            data.pop(key, None)
        else:
            data[key] = value
    try:
        spec = ModelSpec.from_dict(data, origin="fuzz.json")
    except LatencyError as exc:
        assert str(exc).startswith("fuzz.json:")
        return
    _spec_equals(spec, data)
    # An accepted spec must be usable downstream without a non-domain error.
    if spec.n_routed_experts * spec.n_moe_layers <= 10**5:
        try:
            latency.activation_profile(spec, "zipf:1.0", seed=0)
            latency.compute_times(spec, latency.load_hardware(None))
        except LatencyError:
            pass


@settings(max_examples=40, deadline=2000, **TMP)
@given(edits=spec_edits, mangle=st.sampled_from(["none", "truncate", "trailing-comma", "bytes", "list"]),
       cut=st.integers(0, 400))
def test_model_spec_file_refused_with_spec_error_or_loaded(tmp_path_factory, edits, mangle, cut):
    data = copy.deepcopy(LLAMA)
    for op, key, value in edits:
        if op == "drop":
            data.pop(key, None)
        else:
            data[key] = value
    try:
        text = json.dumps([data] if mangle == "list" else data)
    except ValueError:
        return  # json refuses to write it
    raw = text.encode()
    if mangle == "truncate":
        raw = raw[:cut]
    elif mangle == "trailing-comma":
        raw = raw[:-1] + b",}"
    elif mangle == "bytes":
        raw = raw[:cut] + b"\xff\x00" + raw[cut:]
    path = tmp_path_factory.mktemp("spec") / "model.json"
    path.write_bytes(raw)
    try:
        spec = latency.load_model(str(path))
    except LatencyError as exc:
        assert str(path) in str(exc)
        return
    assert mangle == "none" or (mangle == "truncate" and cut >= len(text))
    _spec_equals(spec, data)


# --------------------------------------------------------------------------- ground stations

station_cells = st.one_of(st.sampled_from(["0", "51.5", "-90", "90", "90.0001", "-180", "359.9", "360", "1e3",
                                           "-0.1", "8848", "9000", "9001", "-500", "-501"]),
                          weird_strings, st.floats(allow_nan=True).map(repr))


@settings(max_examples=100, deadline=2000, **TMP)
@given(rows=st.lists(st.tuples(st.sampled_from(["London", "Quito", "", " X ", 'a"b', "é"]),
                               station_cells, station_cells, st.one_of(st.none(), station_cells)), max_size=4),
       header=st.sampled_from(["name,latitude_deg,longitude_deg,altitude_m", "name,latitude_deg,longitude_deg",
                               "Name, Latitude_deg ,longitude_deg,altitude_m,extra", "name,lat,lon", ""]),
       noise=st.sampled_from(["", "# comment\n", "\n\n", "\x00", "\ufeff"]))
def test_station_csv_refused_with_station_error_or_read_exactly(tmp_path_factory, rows, header, noise):
    n_cols = len(header.split(",")) if header else 0
    lines = [header]
    for name, lat, lon, alt in rows:
        cells = [name, lat, lon] + ([] if alt is None else [alt])
        cells += ["x"] * max(0, n_cols - len(cells))
        lines.append(",".join(cells))
    path = tmp_path_factory.mktemp("stations") / "stations.csv"
    path.write_text(noise + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        stations = orbits.load_stations(path)
    except OrbitsError as exc:
        assert str(exc).startswith(str(path))
        return
    # Accepted: one station per data row, each holding its cells' numbers.
    data = [line.split(",") for line in lines[1:] if line.strip()]
    head = [c.strip().lower() for c in header.split(",")]
    assert len(stations) == len(data)
    for k, cells in enumerate(data):
        row = dict(zip(head, cells))
        assert stations.name[k] == row["name"].strip()
        assert stations.latitude_deg[k] == float(row["latitude_deg"])
        assert stations.longitude_deg[k] == float(row["longitude_deg"])
        assert -90 <= stations.latitude_deg[k] <= 90 and -180 <= stations.longitude_deg[k] < 360


# --------------------------------------------------------------------------- activation specs

activation_specs = st.one_of(
    st.builds(lambda kind, sep, arg: f"{kind}{sep}{arg}",
              st.sampled_from(["zipf", "dirichlet", "uniform", "file", "ZIPF", " zipf", "gauss", ""]),
              st.sampled_from([":", "", "::", " : "]),
              st.one_of(st.sampled_from(["1.0", "0", "-1", "1e-300", "1e300", "nan", "inf", "-inf", "", "1_0",
                                         "abc", "0.5", "50", "/nonexistent/profile.csv", "1e400"]),
                        st.floats(allow_nan=True).map(repr))),
    st.text(max_size=20),
    json_scalars,
)


@FAST
@given(spec=activation_specs, model=st.sampled_from(["llama-moe-3.5b", "olmoe-1b-7b", "deepseek-v3"]),
       seed=st.one_of(st.integers(0, 2**64), st.integers(-5, -1), st.just(2**200)))
def test_activation_spec_refused_with_activation_error_or_valid(spec, model, seed):
    m = latency.load_model(model)
    try:
        probs = latency.activation_profile(m, spec, seed=seed)
    except LatencyError:
        return
    assert probs.shape == (m.n_moe_layers, m.n_routed_experts)
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0) and np.all(probs <= 1 + 1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), m.top_k, rtol=1e-9)


# --------------------------------------------------------------------------- CLI arguments

walkers = st.one_of(
    st.builds(lambda i, t, p, f: f"{i}:{t}/{p}/{f}", st.sampled_from(["53", "97.6", "0", "180", "181", "-1", "nan"]),
              st.sampled_from([60, 0, 1, 7, 66, -60]), st.sampled_from([6, 0, 1, 7, 66, -6]),
              st.sampled_from([1, 0, 5, 6, -1, 100])),
    st.sampled_from(["53:60/6/1", "53:60/6", "53/60/6/1", "", "abc", "53:1e2/6/1", "53:60/6/1.5"]),
)
altitudes = st.sampled_from(["550", "0", "-100", "100", "35786", "1e6", "nan", "inf", "abc", "1e400"])
steps = st.sampled_from(["10", "30", "60", "0", "-1", "1e-12", "nan", "inf", "1e300", "x"])
durations = st.sampled_from(["60", "0", "120", "-60", "nan", "inf", "1e300", "1e10", "x"])
starts = st.one_of(st.none(), st.sampled_from([
    "2026-01-01T00:00:00Z", "2026-01-01", "2026-13-01T00:00:00Z", "3000-01-01T00:00:00Z", "1600-01-01T00:00:00Z",
    "2026-01-01T00:00:00+14:00", "2026-01-01T00:00:00+25:00", "yesterday", "", "2262-04-11T23:47:16Z"]))
models = st.sampled_from(["llama-moe-3.5b-2of8", "olmoe-1b-7b", "gpt-5", "", "/nonexistent.json"])
activations = st.sampled_from(["zipf:1.0", "uniform", "dirichlet:0.5", "zipf:-1", "dirichlet:0", "file:", "bogus",
                               "zipf:nan", "file:/nonexistent.csv"])
seeds = st.sampled_from(["0", "7", "-1", "99999999999999999999999", "x"])


def mostly(valid, other):
    """``valid`` three times in four, else a draw from ``other``: most examples get past option parsing."""
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), other)


def _assert_clean_exit(result, args):
    """Exit 0, 1 with one 'spacexnet: error:' line, or 2 (click usage error) — never a traceback."""
    detail = f"args={args!r}\nexit={result.exit_code}\noutput={result.output[-2000:]}"
    assert result.exit_code in (0, 1, 2), detail
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {type(result.exception).__name__}: {result.exception}\n{detail}")
    assert "Traceback" not in result.output, detail
    if result.exit_code == 1:
        assert "spacexnet: error:" in result.output, detail


def _opt(name, value):
    return [] if value is None else [name, value]


@settings(max_examples=25, deadline=None, **TMP)
@given(walker=mostly("53:60/6/1", walkers), altitude=mostly("550", altitudes), step=mostly("30", steps),
       duration=mostly("60", durations), start=mostly(None, starts), command=st.sampled_from(["propagate", "links"]))
def test_cli_propagate_and_links_options_never_traceback(tmp_path_factory, walker, altitude, step, duration, start,
                                                         command):
    out = tmp_path_factory.mktemp("cli") / "out.nc"
    args = [command, "--walker", walker, "--altitude-km", altitude, "--step-s", step, "--duration-s", duration,
            *_opt("--start", start), "--out", str(out), "-q"]
    if command == "links":
        args.append("--no-ground")
    result = CliRunner().invoke(main, args)
    _assert_clean_exit(result, args)
    if result.exit_code == 0:
        import xarray as xr

        with xr.open_dataset(out) as ds:
            assert ds.sizes["time"] == int(float(duration) // float(step)) + 1


@settings(max_examples=25, deadline=None, **TMP)
@given(walker=mostly("53:288/12/1", walkers), altitude=mostly("550", altitudes), start=mostly(None, starts),
       model=mostly("llama-moe-3.5b-2of8", models), activation=mostly("zipf:1.0", activations),
       seed=mostly("3", seeds), command=st.sampled_from(["compare", "place"]))
def test_cli_compare_and_place_options_never_traceback(walker, altitude, start, model, activation, seed, command):
    args = [command, "--walker", walker, "--altitude-km", altitude, *_opt("--start", start), "--model", model,
            "--activation", activation, "--seed", seed, "-q"]
    if command == "compare":
        args += ["--samples", "100", "--seeds", "1", "--strategies", "space-xnet,random", "--format", "json"]
    result = CliRunner().invoke(main, args)
    _assert_clean_exit(result, args)
    if result.exit_code == 0:
        assert result.stdout.strip()


# --------------------------------------------------------------------------- regressions found by the tests above

@pytest.mark.parametrize("value", [
    "3000-01-01T00:00:00Z", "99999-01-01T00:00Z", "-2026-01-01T00:00Z", "1677-01-01T00:00Z",
    "2262-04-11T23:00:00-02:00", np.datetime64("3000-01-01"), np.array(["2026-01-01", "2300-01-01"], "datetime64[D]"),
    datetime(3000, 1, 1, tzinfo=timezone.utc),
])
def test_times_outside_datetime64_ns_are_refused_not_wrapped(value):
    # numpy wraps around silently: '3000-01-01' used to become 1830-11-23.
    with pytest.raises(orbits.TimeGridError, match="outside the range"):
        orbits.to_datetime64_utc(value)


def test_times_at_the_edges_of_datetime64_ns_still_convert():
    assert orbits.to_datetime64_utc("2262-04-11T23:47:16Z") == np.datetime64("2262-04-11T23:47:16", "ns")
    assert orbits.to_datetime64_utc(np.array(["2026-01-01"], "datetime64[D]"))[0] == np.datetime64("2026-01-01", "ns")
    assert orbits.to_datetime64_utc(datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)) == \
        np.datetime64("2026-01-01T00:00:00.000005", "ns")


@pytest.mark.parametrize("duration_s, step_s, words", [
    (1e300, 1.0, "longer than datetime64"),     # used to raise OverflowError
    (60.0, 1e300, "longer than datetime64"),    # used to raise OverflowError
    (1e10, 1e9, "longer than datetime64"),      # used to wrap around to 1758
])
def test_time_grid_spans_that_overflow_are_refused(duration_s, step_s, words):
    with pytest.raises(orbits.TimeGridError, match=words):
        orbits.time_grid("2026-01-01T00:00:00Z", duration_s, step_s)


def test_time_grid_ending_after_2262_is_refused():
    with pytest.raises(orbits.TimeGridError, match="ends after 2262"):
        orbits.time_grid("2262-01-01T00:00:00Z", 1e8, 1e7)


def test_omm_counts_beyond_a_c_long_are_refused():
    # sgp4.omm.initialize raised OverflowError for ELEMENT_SET_NO = 1e20.
    for field in ("ELEMENT_SET_NO", "REV_AT_EPOCH"):
        record = dict(OMM_RECORD, **{field: 1e20})
        with pytest.raises(orbits.OMMFormatError, match="record 1: sgp4 cannot build"):
            orbits.parse_omm_text(json.dumps([record]), structure=False)


def test_omm_deeply_nested_json_and_huge_csv_header_are_refused():
    with pytest.raises(orbits.OMMFormatError, match="nested too deeply"):
        orbits.parse_omm_text("[" * 100_000, structure=False)  # was RecursionError
    with pytest.raises(orbits.OMMFormatError, match=r"<string>:1: bad CSV header \(field larger"):
        orbits.parse_omm_text("NORAD_CAT_ID," + "x" * 200_000 + "\n", structure=False, fmt="csv")  # was csv.Error


@pytest.mark.parametrize("change, words", [
    ({"bytes_per_param": 10**400}, "'bytes_per_param' = 1000"),            # was OverflowError
    ({"moe_layers": {"stop": 10**15}}, "selects more layers than n_layers = 32"),  # used to hang
    ({"moe_layers": {"stop": 10**40}}, "'moe_layers' = "),                 # was OverflowError in len()
    ({"n_layers": 10**12}, "must be at most 100,000"),                     # "all" used to hang
])
def test_model_spec_overflows_and_hangs_are_refused(change, words):
    with pytest.raises(latency.SpecError, match=words):
        ModelSpec.from_dict({**LLAMA, **change}, origin="x.json")


def test_spec_files_that_are_not_utf8_are_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(latency.SpecError, match=r"model spec file is not UTF-8 text \(found byte 0xff"):
        latency.load_model(str(path))  # was UnicodeDecodeError
    with pytest.raises(latency.SpecError, match="profile file is not UTF-8"):
        latency.load_hardware(str(path))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(latency.SpecError, match="nested too deeply"):
        latency.load_model(str(deep))  # was RecursionError


def test_counts_file_that_is_not_utf8_or_not_csv_is_refused(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_bytes(b"layer,expert,count\n0,0,\xff\n")
    with pytest.raises(latency.ActivationError, match="not UTF-8"):
        latency.activation_profile("llama-moe-3.5b", f"file:{path}")  # was UnicodeDecodeError
    path.write_text("layer,expert,count\n0,0,\"" + "9" * 200_000 + "\n")
    with pytest.raises(latency.ActivationError, match=r"counts.csv:\d+: bad CSV"):
        latency.activation_profile("llama-moe-3.5b", f"file:{path}")  # was csv.Error


def test_negative_seed_is_an_activation_error_and_one_cli_line():
    with pytest.raises(latency.ActivationError, match="seed = -1 must be a whole number >= 0"):
        latency.activation_profile("llama-moe-3.5b", "zipf:1.0", seed=-1)  # was numpy's ValueError
    result = CliRunner().invoke(main, ["place", "--walker", "53:288/12/1", "--altitude-km", "550", "--seed", "-1",
                                       "--model", "llama-moe-3.5b-2of8", "-q"])
    assert result.exit_code == 1 and "spacexnet: error: seed = -1" in result.output
