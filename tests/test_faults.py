"""User fault lists (spacexnet.faults): formats, errors with line numbers, [start, end) semantics.

The vectorized queries are checked against a plain loop over records, and
random file text is fuzzed: nothing but FaultFileError may come out.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbits
from spacexnet.exceptions import FaultFileError, SpaceXNetError
from spacexnet.faults import Faults, load_faults

T0 = np.datetime64("2026-01-01T00:00:00", "ns")


@pytest.fixture(scope="module")
def shell():
    # 60 satellites, catalogue numbers 80000..80059.
    return orbits.walker("53:60/6/1", altitude_km=550)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def minutes(*values):
    return T0 + np.array(values, dtype=np.int64) * np.timedelta64(60, "s")


# --------------------------------------------------------------------------- good files

def test_satellite_file_with_comments_open_end_and_offsets(tmp_path, shell):
    path = write(tmp_path, "sats.csv", "\ufeff# failures seen on 2026-01-01\n"
                 "norad_id,start,end\n"
                 "\n"
                 "80003,2026-01-01T00:10:00Z,2026-01-01T00:20:00Z\r\n"
                 "  # an indented comment\n"
                 "80005,2026-01-01T01:30:00+01:00,\n"
                 "80003,2026-01-01T00:30:00Z,2026-01-01T00:31:00Z\n")
    faults = load_faults(path, constellation=shell)
    assert faults and not faults.empty
    assert faults.n_sat_faults == 3 and faults.n_link_faults == 0
    assert faults.sat_line.tolist() == [4, 6, 7]
    assert faults.sat_index.tolist() == [3, 5, 3]
    # +01:00 is converted to UTC.
    assert faults.sat_start[1] == minutes(30)[0]
    down = faults.sat_down(minutes(0, 9, 10, 19, 20, 30, 31, 600), len(shell))
    assert down.shape == (8, 60)
    assert down[:, 3].tolist() == [False, False, True, True, False, True, False, False]
    assert down[:, 5].tolist() == [False] * 5 + [True] * 3
    assert down.sum() == down[:, 3].sum() + down[:, 5].sum()


def test_columns_in_any_order(tmp_path, shell):
    path = write(tmp_path, "sats.csv", "end,norad_id,start\n2026-01-01T00:02:00Z,80000,2026-01-01T00:01:00Z\n")
    faults = load_faults(path, constellation=shell)
    assert faults.sat_down(minutes(0, 1, 2), 60)[:, 0].tolist() == [False, True, False]


def test_interval_is_half_open(tmp_path, shell):
    """[start, end): down at start, up again at end."""
    path = write(tmp_path, "sats.csv", "norad_id,start,end\n80001,2026-01-01T00:05:00Z,2026-01-01T00:06:00Z\n")
    faults = load_faults(path, constellation=shell)
    ns = np.timedelta64(1, "ns")
    t = np.array([minutes(5)[0] - ns, minutes(5)[0], minutes(6)[0] - ns, minutes(6)[0]])
    assert faults.sat_down(t, 60)[:, 1].tolist() == [False, True, True, False]


def test_link_file_is_undirected(tmp_path, shell):
    path = write(tmp_path, "links.csv", "norad_id_a,norad_id_b,start,end\n"
                 "80007,80002,2026-01-01T00:00:00Z,2026-01-01T00:10:00Z\n")
    faults = load_faults(link_path=path, constellation=shell)
    assert (faults.link_norad_a.tolist(), faults.link_norad_b.tolist()) == ([80002], [80007])
    sat_a = np.array([2, 7, 2, 0])
    sat_b = np.array([7, 2, 3, 1])
    down = faults.link_down(minutes(0, 10), sat_a, sat_b)
    assert down.tolist() == [[True, True, False, False], [False, False, False, False]]
    # Satellites stay up: a link fault is only a link fault.
    assert not faults.sat_down(minutes(0), 60).any()


def test_no_files_is_empty(shell):
    faults = load_faults(constellation=shell)
    assert not faults and faults.empty
    assert faults.describe() == "no faults"
    assert faults.sat_down(minutes(0, 1), 60).shape == (2, 60)
    assert not faults.link_down(minutes(0), [0], [1]).any()


def test_header_only_file_is_empty_but_named(tmp_path, shell):
    path = write(tmp_path, "sats.csv", "# nothing failed\nnorad_id,start,end\n")
    faults = load_faults(path, constellation=shell)
    assert not faults
    assert "sats.csv" in faults.describe() and "0 interval(s)" in faults.describe()


def test_describe_names_files_digest_and_counts(tmp_path, shell):
    sats = write(tmp_path, "sats.csv", "norad_id,start,end\n80001,2026-01-01T00:00:00Z,\n"
                 "80001,2027-01-01T00:00:00Z,\n80002,2026-01-01T00:00:00Z,\n")
    links = write(tmp_path, "links.csv", "norad_id_a,norad_id_b,start,end\n80001,80002,2026-01-01T00:00:00Z,\n")
    text = load_faults(sats, links, constellation=shell).describe()
    assert re.search(r"failed satellites: .*sats\.csv \(sha256 [0-9a-f]{12}\), 3 interval\(s\) on 2 satellites", text)
    assert re.search(r"failed links: .*links\.csv \(sha256 [0-9a-f]{12}\), 1 interval\(s\) on 1 links", text)


def test_unbound_faults_refuse_queries_but_bind_later(tmp_path, shell):
    path = write(tmp_path, "sats.csv", "norad_id,start,end\n80004,2026-01-01T00:00:00Z,\n")
    faults = load_faults(path)
    with pytest.raises(SpaceXNetError, match="not bound"):
        faults.sat_down(minutes(0), 60)
    assert faults.bind(shell).sat_down(minutes(0), 60)[0, 4]
    with pytest.raises(SpaceXNetError, match="n_sat = 59"):
        faults.bind(shell).sat_down(minutes(0), 59)


def test_faults_survive_pickling(tmp_path, shell):
    import pickle

    path = write(tmp_path, "sats.csv", "norad_id,start,end\n80004,2026-01-01T00:00:00Z,\n")
    faults = pickle.loads(pickle.dumps(load_faults(path, constellation=shell)))
    assert faults.sat_down(minutes(0), 60)[0, 4]


# --------------------------------------------------------------------------- errors, each with its line

SAT_HEADER = "norad_id,start,end\n"
LINK_HEADER = "norad_id_a,norad_id_b,start,end\n"


@pytest.mark.parametrize("text, line, pattern", [
    ("", 1, r"no header"),
    ("# only a comment\n", 1, r"no header"),
    ("norad,start,end\n", 1, r"header lacks norad_id and has unknown column\(s\) 'norad'"),
    ("norad_id,start,end,note\n", 1, r"header has unknown column\(s\) 'note'"),
    ("norad_id,start,end,end\n", 1, r"header repeats end"),
    (SAT_HEADER + "80001,2026-01-01T00:00:00Z\n", 2, r"wrong number of fields \(found 2, expected 3"),
    (SAT_HEADER + "\n# c\n80001,2026-01-01T00:00:00Z,,\n", 4, r"wrong number of fields"),
    (SAT_HEADER + "abc,2026-01-01T00:00:00Z,\n", 2, r"bad norad_id \(found 'abc', expected a catalogue number"),
    (SAT_HEADER + "0,2026-01-01T00:00:00Z,\n", 2, r"bad norad_id \(found '0'"),
    (SAT_HEADER + "-5,2026-01-01T00:00:00Z,\n", 2, r"bad norad_id"),
    (SAT_HEADER + "80001.5,2026-01-01T00:00:00Z,\n", 2, r"bad norad_id"),
    (SAT_HEADER + "80001,,\n", 2, r"empty start"),
    (SAT_HEADER + "80001,2026-01-01T00:00:00,\n", 2, r"start has no time zone \(found '2026-01-01T00:00:00'"),
    (SAT_HEADER + "80001,2026-01-01T00:00:00Z,2026-01-01T01:00:00\n", 2, r"end has no time zone"),
    (SAT_HEADER + "80001,yesterday,\n", 2, r"start has no time zone"),
    (SAT_HEADER + "80001,2026-13-01T00:00:00Z,\n", 2, r"bad start \(found '2026-13-01T00:00:00Z'"),
    (SAT_HEADER + "80001,3000-01-01T00:00:00Z,\n", 2, r"bad start .*outside the range"),
    (SAT_HEADER + "80001,2026-01-01T01:00:00Z,2026-01-01T00:00:00Z\n", 2, r"end is not after start"),
    (SAT_HEADER + "80001,2026-01-01T01:00:00Z,2026-01-01T01:00:00Z\n", 2, r"end is not after start"),
    (SAT_HEADER + "80001,2026-01-01T01:00:00Z,2026-01-01T02:00:00+01:30\n", 2, r"end is not after start"),
    (SAT_HEADER + '80001,"2026-01-01T00:00:00Z\n', 2, r"bad CSV"),
])
def test_satellite_file_errors(tmp_path, shell, text, line, pattern):
    path = write(tmp_path, "sats.csv", text)
    with pytest.raises(FaultFileError, match=rf"^{re.escape(str(path))}:{line}: {pattern}"):
        load_faults(path, constellation=shell)


@pytest.mark.parametrize("text, line, pattern", [
    ("norad_id,start,end\n", 1, r"header lacks norad_id_a, norad_id_b"),
    (LINK_HEADER + "80001,80001,2026-01-01T00:00:00Z,\n", 2, r"a link must join two different satellites"),
    (LINK_HEADER + "80001,x,2026-01-01T00:00:00Z,\n", 2, r"bad norad_id_b \(found 'x'"),
    (LINK_HEADER + "80001,80002,2026-01-01T00:00:00Z,2025-01-01T00:00:00Z\n", 2, r"end is not after start"),
    (LINK_HEADER + "80001,80002,2026-01-01T00:00:00Z,\n80001,99999,2026-01-01T00:00:00Z,\n", 3,
     r"NORAD id 99999 is not in the constellation \(found 99999, expected one of the 60 catalogue numbers"),
])
def test_link_file_errors(tmp_path, shell, text, line, pattern):
    path = write(tmp_path, "links.csv", text)
    with pytest.raises(FaultFileError, match=rf"^{re.escape(str(path))}:{line}: {pattern}"):
        load_faults(link_path=path, constellation=shell)


def test_unknown_satellite_names_id_and_line(tmp_path, shell):
    path = write(tmp_path, "sats.csv", SAT_HEADER + "80001,2026-01-01T00:00:00Z,\n# gap\n12345,2026-01-01T00:00:00Z,\n")
    with pytest.raises(FaultFileError, match=rf"{re.escape(str(path))}:4: NORAD id 12345 is not in the "
                                             r"constellation .* 80000\.\.80059"):
        load_faults(path, constellation=shell)
    # Without a constellation the ids cannot be checked, so the file loads.
    assert load_faults(path).n_sat_faults == 2


@pytest.mark.parametrize("content, pattern", [
    (b"norad_id,start,end\n80001,\x00,\n", r":2: NUL byte"),
    (b"norad_id,start,end\n\xff\xfe\n", r":2: not UTF-8 text \(found byte 0xff"),
])
def test_binary_files(tmp_path, content, pattern):
    path = tmp_path / "sats.csv"
    path.write_bytes(content)
    with pytest.raises(FaultFileError, match=pattern):
        load_faults(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FaultFileError, match="no such fault file"):
        load_faults(tmp_path / "absent.csv")
    with pytest.raises(FaultFileError, match="is a directory"):
        load_faults(link_path=tmp_path)


def test_fault_file_error_is_a_user_error():
    from spacexnet.exceptions import user_errors

    assert issubclass(FaultFileError, user_errors())


# --------------------------------------------------------------------------- vectorized vs a plain loop

def loop_sat_down(faults, times, n_sat):
    out = np.zeros((len(times), n_sat), dtype=bool)
    for r in range(faults.n_sat_faults):
        for t, time in enumerate(times):
            if faults.sat_start[r] <= time < faults.sat_end[r]:
                out[t, faults.sat_index[r]] = True
    return out


def loop_link_down(faults, times, sat_a, sat_b):
    out = np.zeros((len(times), len(sat_a)), dtype=bool)
    for r in range(faults.n_link_faults):
        pair = {int(faults.link_index_a[r]), int(faults.link_index_b[r])}
        for j in range(len(sat_a)):
            if {int(sat_a[j]), int(sat_b[j])} != pair:
                continue
            for t, time in enumerate(times):
                if faults.link_start[r] <= time < faults.link_end[r]:
                    out[t, j] = True
    return out


def _time_text(minute):
    return "" if minute is None else str(T0 + np.timedelta64(minute, "m")) + "Z"


records = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 30),
                             st.one_of(st.none(), st.integers(1, 20))), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records, n_links=st.integers(0, 20), seed=st.integers(0, 2**16))
def test_vectorized_equals_loop(tmp_path_factory, records, n_links, seed):
    tmp = tmp_path_factory.mktemp("faults")
    small = orbits.walker("53:12/3/1", altitude_km=550)
    ids = small.norad_id
    sats, links = [SAT_HEADER], [LINK_HEADER]
    for a, b, start, length in records:
        end = None if length is None else start + length
        sats.append(f"{ids[a]},{_time_text(start)},{_time_text(end)}\n")
        if a != b:
            links.append(f"{ids[a]},{ids[b]},{_time_text(start)},{_time_text(end)}\n")
    faults = load_faults(write(tmp, "s.csv", "".join(sats)), write(tmp, "l.csv", "".join(links)), small)
    rng = np.random.default_rng(seed)
    times = T0 + np.sort(rng.integers(-5 * 60, 60 * 60, size=15)) * np.timedelta64(1, "s")
    times[:3] = minutes(0, 5, 30)  # exact interval edges
    sat_a = rng.integers(0, 12, size=n_links)
    sat_b = rng.integers(0, 12, size=n_links)
    np.testing.assert_array_equal(faults.sat_down(times, 12), loop_sat_down(faults, times, 12))
    np.testing.assert_array_equal(faults.link_down(times, sat_a, sat_b), loop_link_down(faults, times, sat_a, sat_b))


def test_link_down_on_real_plus_grid(tmp_path, shell):
    state = orbits.propagate(shell, minutes(0, 1))
    isl = orbits.isl_links(shell, state)
    a, b = int(isl.sat_a[5]), int(isl.sat_b[5])
    path = write(tmp_path, "l.csv", LINK_HEADER + f"{shell.norad_id[b]},{shell.norad_id[a]},2026-01-01T00:01:00Z,\n")
    down = load_faults(link_path=path, constellation=shell).link_down(minutes(0, 1), isl.sat_a, isl.sat_b)
    assert down.shape == (2, isl.sizes["link"])
    assert not down[0].any() and down[1].sum() >= 1 and down[1, 5]


# --------------------------------------------------------------------------- fuzzing the file text

_tokens = st.sampled_from(list("0123456789,:-+TZ .#\"\n\r\tx") + [
    "800", "8000", "80001", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", "\x00", "é", "\ufeff", "\u2028"])
_body = st.lists(_tokens, max_size=60).map("".join)
_fuzz_text = st.one_of(
    _body.map(lambda body: SAT_HEADER + body),
    _body.map(lambda body: LINK_HEADER + body),
    _body,
    st.text(max_size=80),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_fuzz_text, links=st.booleans())
def test_fuzzed_file_text_raises_only_the_domain_error(tmp_path_factory, shell, text, links):
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        faults = load_faults(None if links else path, path if links else None, constellation=shell)
    except FaultFileError as exc:
        assert str(exc).startswith(f"{path}:") or str(exc).startswith(f"{path}: ")
        return
    # Accepted: every record is a valid interval on a known satellite.
    assert np.all(faults.sat_end > faults.sat_start) and np.all(faults.link_end > faults.link_start)
    assert np.isin(faults.sat_norad, shell.norad_id).all()
    faults.sat_down(minutes(0, 1), len(shell))
