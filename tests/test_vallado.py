"""Vallado's SGP4 verification suite (``SGP4-VER.TLE`` → ``tcppver.out``) through read_tle and propagate_jd.

Both files ship inside the installed ``sgp4`` package. ``tcppver.out`` lists,
per satellite, TEME position (km) and velocity (km/s) at minutes since the
element-set epoch; it stops a satellite's listing at the first SGP4 error.
sgp4's own ``tests.py`` expects exactly seven errors, in file order:
codes 1, 1, 6, 6, 4, 3, 6.
"""

import os
import warnings

import numpy as np
import pytest
import sgp4

from orbits import Constellation, PropagationError, PropagationWarning, propagate_jd, read_tle

SGP4_DIR = os.path.dirname(sgp4.__file__)
one_millimeter_km = 1e-6
one_mm_per_s_km_s = 1e-6
#: Error codes sgp4's own tests expect from this file, in order (sgp4/tests.py).
EXPECTED_ERRORS = [1, 1, 6, 6, 4, 3, 6]


def _read_tcppver():
    """[(satnum, [(tsince_min, r_km(3), v_km_s(3)), ...]), ...] in file order."""
    blocks = []
    with open(os.path.join(SGP4_DIR, "tcppver.out")) as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[1] == "xx":
                blocks.append((int(fields[0]), []))
            else:
                values = [float(x) for x in fields[:7]]
                blocks[-1][1].append((values[0], np.array(values[1:4]), np.array(values[4:7])))
    return blocks


def _requested_times(line2):
    """Minutes since epoch that Vallado's driver asks for (start/stop/step after column 69)."""
    start, stop, step = (float(x) for x in line2[69:].split())
    times = [0.0]
    t = start
    while t <= stop:
        if not (t == start == 0.0):
            times.append(t)
        t += step
    if t - stop < step - 1e-6:
        times.append(stop)
    return times


def _split(satrec, tsince_min):
    # The exact split of sgp4's own Julian-date test: epoch parts + whole/fractional days.
    whole, fraction = divmod(tsince_min / 1440.0, 1.0)
    return satrec.jdsatepoch + whole, satrec.jdsatepochF + fraction


def _read_vallado_file(tmp_path):
    """Every record of SGP4-VER.TLE, in file order, through read_tle.

    The file gives NORAD 20413 twice and read_tle keeps one element set per
    catalogue number, so repeated records go through a second file and are
    appended (they come last in SGP4-VER.TLE, as in tcppver.out). Checksums
    are not checked: three records (33333–33335) carry wrong ones on purpose.
    """
    lines = open(os.path.join(SGP4_DIR, "SGP4-VER.TLE")).read().splitlines(keepends=True)
    first, again, seen = [], [], set()
    for i, line in enumerate(lines):
        if line.startswith("1 "):
            target = again if line[2:7] in seen else first
            seen.add(line[2:7])
            target.extend(lines[i:i + 2])
    parts = []
    for name, records in (("first.tle", first), ("again.tle", again)):
        if records:
            (tmp_path / name).write_text("".join(records))
            parts.append(read_tle(tmp_path / name, structure=False, check_checksum=False))
    return Constellation(
        satrecs=[s for c in parts for s in c.satrecs],
        norad_id=np.concatenate([c.norad_id for c in parts]),
        name=np.concatenate([c.name for c in parts]),
        source="SGP4-VER.TLE",
    )


def test_vallado_tcppver(tmp_path):
    path = os.path.join(SGP4_DIR, "SGP4-VER.TLE")
    constellation = _read_vallado_file(tmp_path)
    blocks = _read_tcppver()
    assert [int(n) for n in constellation.norad_id] == [satnum for satnum, _ in blocks]
    line2s = [line for line in open(path) if line.startswith("2 ")]

    # One vectorized call over the union of every satellite's own (jd, fr) instants.
    pairs, owner = [], []
    for k, ((_, rows), line2) in enumerate(zip(blocks, line2s)):
        requested = _requested_times(line2)
        # Every listed time, plus the first requested time after the listing (the error, if any).
        wanted = requested[: len(rows) + 1]
        for tsince in wanted:
            pairs.append(_split(constellation.satrecs[k], tsince))
            owner.append((k, tsince))
    jd, fr = np.array(pairs).T
    with pytest.warns(PropagationWarning, match="SGP4 failed"):
        ds = propagate_jd(constellation, jd, fr)
    status = ds.sgp4_status.values
    r = ds.position_teme_km.values
    v = ds.velocity_teme_km_s.values

    errors, worst_r, worst_v, checked = [], 0.0, 0.0, 0
    previous = None
    for k, (satnum, rows) in enumerate(blocks):
        columns = [i for i, (owner_k, _) in enumerate(owner) if owner_k == k]
        for row_index, i in enumerate(columns):
            code = int(status[i, k])
            if row_index < len(rows):
                tsince, r_expected, v_expected = rows[row_index]
                assert abs(owner[i][1] - tsince) < 1e-6  # printed to 1e-8 min
                if code != 0:
                    # Vallado's driver prints the previous satellite's line when SGP4 fails
                    # at epoch (sgp4 tests call it "(Use previous data line)").
                    assert row_index == 0 and np.array_equal(r_expected, previous)
                    assert np.isnan(r[i, k]).all() and np.isnan(ds.altitude_km.values[i, k])
                    errors.append(code)
                    break
                worst_r = max(worst_r, np.abs(r[i, k] - r_expected).max())
                worst_v = max(worst_v, np.abs(v[i, k] - v_expected).max())
                previous = r_expected
                checked += 1
            else:
                # The first requested time after the listing: SGP4 must flag it, not return NaN silently.
                assert code != 0, f"NORAD {satnum}: expected an SGP4 error at {owner[i][1]} min"
                assert np.isnan(r[i, k]).all() and np.isnan(v[i, k]).all()
                errors.append(code)
    assert errors == EXPECTED_ERRORS
    assert checked > 600
    assert worst_r < one_millimeter_km  # tcppver prints 1e-8 km; measured ~1e-8 km
    assert worst_v < one_mm_per_s_km_s


def test_vallado_all_failed_raises(tmp_path):
    """NORAD 33334 fails at its epoch (perturbed eccentricity): alone, nothing is valid → error."""
    constellation = _read_vallado_file(tmp_path)
    index = int(np.flatnonzero(constellation.norad_id == 33334)[0])
    single = constellation.subset([index])
    satrec = single.satrecs[0]
    with pytest.raises(PropagationError, match=r"every one of the 1 satellite.*error 3"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # it must raise, not merely warn
            propagate_jd(single, [satrec.jdsatepoch], [satrec.jdsatepochF])
