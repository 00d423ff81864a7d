"""NetCDF output: CF time, provenance, atomic writes, no overwrite without asking."""

import os

import numpy as np
import pytest
import xarray as xr

from spacexnet.exceptions import OutputError
from spacexnet.io import provenance_attrs, write_dataset


ATTRS = provenance_attrs("unit test", command="pytest")


def _dataset():
    times = np.array(["2026-01-01T00:00:00", "2026-01-01T00:00:10"], dtype="datetime64[ns]")
    return xr.Dataset(
        {"distance_km": (("time", "link"), np.arange(6.0).reshape(2, 3), {"units": "km"})},
        coords={"time": times},
        attrs=ATTRS,
    )


def test_roundtrip_cf_time_and_values(tmp_path):
    path = write_dataset(_dataset(), tmp_path / "a.nc")
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), _dataset().load())
    with xr.open_dataset(path, decode_times=False) as raw:
        assert raw["time"].attrs["units"].startswith("seconds since 1970-01-01")
        assert raw.attrs["Conventions"] == "CF-1.11"
        assert raw.attrs["software"].startswith("space-xnet ")


def test_refuses_to_overwrite_without_flag(tmp_path):
    path = tmp_path / "a.nc"
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match="--overwrite"):
        write_dataset(_dataset(), path)
    assert path.read_bytes() == b"precious"
    write_dataset(_dataset(), path, overwrite=True)
    assert xr.open_dataset(path)["distance_km"].shape == (2, 3)


def test_failure_during_write_leaves_nothing(tmp_path, monkeypatch):
    """A crash mid-write (full disk, killed process) leaves neither the target nor a temp file."""
    path = tmp_path / "a.nc"
    path.write_bytes(b"old complete file")

    def exploding_to_netcdf(self, target, *args, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", exploding_to_netcdf)
    with pytest.raises(OutputError, match="No space left"):
        write_dataset(_dataset(), path, overwrite=True)
    assert path.read_bytes() == b"old complete file"
    assert os.listdir(tmp_path) == ["a.nc"]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_dataset(_dataset(), tmp_path / "nope" / "a.nc")


def test_interrupts_deferred_lets_the_write_finish_then_raises():
    """Ctrl-C inside a NetCDF write must not leave the writer's lock held: it waits for the block's end."""
    import os
    import signal

    from spacexnet.io import interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("written")
    assert done == ["written"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupts_deferred():  # no signal: nothing raised
        done.append("again")
    assert done == ["written", "again"]
