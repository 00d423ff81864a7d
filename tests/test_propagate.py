"""propagate / iter_propagate: structure, kernel vs NumPy composition, chunking, SGP4 failures."""

import math
import warnings
from datetime import datetime

import numpy as np
import pytest
import xarray as xr
from sgp4.api import Satrec

from orbits import (
    Constellation,
    PropagationError,
    PropagationWarning,
    TimeGridError,
    combine,
    iter_propagate,
    orbital_period_s,
    propagate,
    time_grid,
    walker,
)
from orbits.constants import MU_WGS72_KM3_S2, WGS84_A_KM
from orbits.frames import argument_of_latitude_deg, geodetic_from_itrs, teme_to_itrs
from orbits.timegrid import to_jd_utc

EPOCH = "2026-03-01T00:00:00Z"
# A real element set (Vallado's SGP4-VER.TLE, NORAD 28872) that decays about 50 minutes after epoch.
DECAYING = ("1 28872U 05037B   05333.02012661  .25992681  00000-0  24476-3 0  1534",
            "2 28872  96.4736 157.9986 0303955 244.0492 110.6523 16.46015938 10708")


@pytest.fixture(scope="module")
def shell():
    return walker("53:120/12/1", altitude_km=550, epoch=EPOCH)


@pytest.fixture(scope="module")
def dataset(shell):
    return propagate(shell, time_grid(EPOCH, 3_000, 60))


def test_dataset_layout_and_cf_metadata(dataset, shell):
    assert dict(dataset.sizes) == {"time": 51, "sat": 120, "xyz": 3}
    for name in ("position_teme_km", "velocity_teme_km_s", "position_itrs_km"):
        assert dataset[name].dims == ("time", "sat", "xyz") and dataset[name].dtype == np.float64
    for name in ("latitude_deg", "longitude_deg", "altitude_km", "argument_of_latitude_deg", "sgp4_status"):
        assert dataset[name].dims == ("time", "sat")
    for name, var in dataset.data_vars.items():
        assert var.attrs.get("units") and var.attrs.get("long_name"), name
    assert dataset.position_teme_km.attrs["units"] == "km"
    assert dataset.velocity_teme_km_s.attrs["units"] == "km s-1"
    assert "ITRS" in dataset.position_itrs_km.attrs["frame"]
    status = dataset.sgp4_status
    assert status.dtype == np.int8 and list(status.attrs["flag_values"]) == list(range(7))
    assert status.attrs["flag_meanings"].split()[0] == "ok" and len(status.attrs["flag_meanings"].split()) == 7
    assert dataset.time.dtype == np.dtype("datetime64[ns]")
    assert list(dataset.xyz.values) == ["x", "y", "z"]
    np.testing.assert_array_equal(dataset.norad_id, shell.norad_id)
    np.testing.assert_array_equal(dataset.plane, shell.plane)
    np.testing.assert_array_equal(dataset.slot, shell.slot)
    assert (dataset.name.values == shell.name).all()
    assert "finals2000A" in dataset.attrs["earth_orientation"]


def test_teme_is_exactly_sgp4(dataset, shell):
    jd, fr = to_jd_utc(dataset.time.values)
    for k in (0, 57, 119):
        _, r, v = shell.satrecs[k].sgp4_array(jd, fr)
        np.testing.assert_array_equal(dataset.position_teme_km.values[:, k], r)
        np.testing.assert_array_equal(dataset.velocity_teme_km_s.values[:, k], v)


def test_fused_kernel_equals_numpy_composition(dataset):
    """The one-pass Numba kernel against the public NumPy-level functions."""
    r_teme = dataset.position_teme_km.values
    r_itrs = teme_to_itrs(r_teme, dataset.time.values)
    assert np.abs(dataset.position_itrs_km.values - r_itrs).max() < 1e-9
    lat, lon, alt = geodetic_from_itrs(r_itrs)
    assert np.abs(dataset.latitude_deg.values - lat).max() < 1e-12
    assert np.abs(dataset.longitude_deg.values - lon).max() < 1e-12
    assert np.abs(dataset.altitude_km.values - alt).max() < 1e-9
    u = argument_of_latitude_deg(r_teme, dataset.velocity_teme_km_s.values)
    np.testing.assert_allclose(dataset.argument_of_latitude_deg.values, u, atol=1e-12)


def test_argument_of_latitude_orders_a_walker_plane(dataset, shell):
    # 10 satellites per plane → neighbours 36° apart in argument of latitude, in slot order.
    u = dataset.argument_of_latitude_deg.values[0]
    for plane in range(12):
        members = np.flatnonzero(shell.plane == plane)
        order = members[np.argsort(shell.slot[members])]
        gaps = np.diff(u[order]) % 360
        assert np.abs(gaps - 36.0).max() < 0.5
    # u advances at the orbital rate: 360° per period.
    rate_deg_s = ((np.diff(dataset.argument_of_latitude_deg.values, axis=0) % 360) / 60.0).mean()
    assert abs(rate_deg_s - 360 / orbital_period_s(shell)) < 0.01 * 360 / orbital_period_s(shell)


def test_chunks_do_not_change_results(shell, dataset):
    small = propagate(shell, dataset.time.values, chunk_steps=7)
    xr.testing.assert_identical(small.drop_attrs(), dataset.drop_attrs())
    chunks = list(iter_propagate(shell, dataset.time.values, 13))
    assert [c.sizes["time"] for c in chunks] == [13, 13, 13, 12]
    xr.testing.assert_identical(xr.concat(chunks, "time").drop_attrs(), dataset.drop_attrs())


def test_times_as_iso_strings_and_naive_refused(shell):
    ds = propagate(shell, ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00+01:00"])
    assert (ds.time.values == np.datetime64("2026-03-01T00:00:00", "ns")).all()
    np.testing.assert_array_equal(ds.position_teme_km.values[0], ds.position_teme_km.values[1])
    with pytest.raises(TimeGridError, match="tzinfo=timezone.utc"):
        propagate(shell, [datetime(2026, 3, 1)])


def test_polar_motion_moves_points_by_metres(shell):
    times = time_grid(EPOCH, 600, 300)
    with_pm = propagate(shell, times, polar_motion=True).position_itrs_km.values
    without = propagate(shell, times, polar_motion=False).position_itrs_km.values
    shift_m = np.linalg.norm(with_pm - without, axis=-1) * 1e3
    # Pole offset of a few tenths of an arcsecond × ~6900 km.
    assert 1.0 < shift_m.max() < 30.0


def _with_decaying(shell):
    satrec = Satrec.twoline2rv(*DECAYING)
    return Constellation(
        satrecs=list(shell.satrecs[:3]) + [satrec],
        norad_id=list(shell.norad_id[:3]) + [satrec.satnum],
        name=list(shell.name[:3]) + ["SL-12 R/B"],
    ), satrec


def test_failures_are_flagged_and_warned_never_silent(shell):
    constellation, satrec = _with_decaying(shell)
    epoch = np.datetime64("2005-11-29T00:28:58", "ns")  # ≈ the decaying element set's epoch
    times = time_grid(epoch, 120 * 60, 300)
    with pytest.warns(PropagationWarning, match=r"1 of 4 satellite.*NORAD 28872.*error 6.*decayed"):
        ds = propagate(constellation, times)
    status = ds.sgp4_status.values[:, 3]
    assert status[0] == 0 and status[-1] == 6
    bad = status != 0
    for name in ("position_teme_km", "velocity_teme_km_s", "position_itrs_km"):
        assert np.isnan(ds[name].values[bad, 3]).all() and not np.isnan(ds[name].values[~bad, 3]).any()
    for name in ("latitude_deg", "longitude_deg", "altitude_km", "argument_of_latitude_deg"):
        assert np.isnan(ds[name].values[bad, 3]).all()
    assert (ds.sgp4_status.values[:, :3] == 0).all()


def test_earth_fixed_only_gives_the_same_values_with_failures(shell):
    """The light propagation (what links and the decay check need) equals the full one where it overlaps."""
    constellation, _ = _with_decaying(shell)
    times = time_grid(np.datetime64("2005-11-29T00:28:58", "ns"), 120 * 60, 300)
    with pytest.warns(PropagationWarning):
        full = propagate(constellation, times)
    with pytest.warns(PropagationWarning):
        light = propagate(constellation, times, earth_fixed_only=True)
    assert sorted(light.data_vars) == ["altitude_km", "latitude_deg", "position_itrs_km", "sgp4_status"]
    assert (light.sgp4_status.values != 0).any()  # the decay is in it
    xr.testing.assert_identical(light, full[list(light.data_vars)])  # values (NaN where failed), attributes


def test_iter_propagate_warns_once_per_satellite(shell):
    constellation, _ = _with_decaying(shell)
    times = time_grid(np.datetime64("2005-11-29T00:28:58", "ns"), 180 * 60, 300)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = list(iter_propagate(constellation, times, 5))
    messages = [str(w.message) for w in caught if issubclass(w.category, PropagationWarning)]
    assert len(messages) == 1 and "28872" in messages[0]
    assert sum(int((c.sgp4_status != 0).sum()) for c in chunks) > 10


def test_all_failed_raises(shell):
    satrec = Satrec.twoline2rv(*DECAYING)
    lone = Constellation([satrec], [satrec.satnum], ["SL-12 R/B"])
    # 55 to 65 minutes after its epoch (2005-11-29T00:28:58.94Z) the rocket body has decayed.
    late = time_grid(np.datetime64("2005-11-29T01:24:00", "ns"), 600, 300)
    with pytest.raises(PropagationError, match=r"every one of the 1 satellite.*error 6 \(mrt"):
        propagate(lone, late)
    with pytest.raises(PropagationError, match="every one"):
        next(iter_propagate(lone, late, 1))


def test_orbital_period_definition():
    low = walker("53:72/6/1", altitude_km=550, epoch=EPOCH)
    kepler_s = 2 * math.pi * math.sqrt((WGS84_A_KM + 550) ** 3 / MU_WGS72_KM3_S2)
    assert abs(orbital_period_s(low) - kepler_s) < 0.01
    high = walker("70:36/6/1", altitude_km=1_200, epoch=EPOCH, shell=1)
    both = combine(low, high)
    assert orbital_period_s(both) == pytest.approx(orbital_period_s(high))
    assert orbital_period_s(both) > orbital_period_s(low) + 600
