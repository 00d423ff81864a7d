"""Output safety: a full disk or a crash while writing never leaves a file under the final name."""

import os

import netCDF4
import pytest
import xarray as xr

from spacexnet.exceptions import OutputError
from spacexnet.io import atomic_write_text
from spacexnet.scenario import build_constellation, model_setup
from spacexnet.sweep import SweepOptions, sweep


def test_sweep_disk_full_while_joining_then_resume(tmp_path, monkeypatch):
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    setup = model_setup("llama-moe-3.5b-2of8")
    options = SweepOptions(duration_s=120, step_s=30, n_samples=100, chunk_steps=2)
    target = tmp_path / "s.nc"
    real = netCDF4.Dataset

    def full_disk(path, mode="r", *args, **kwargs):
        if mode == "a":
            raise OSError(28, "No space left on device")
        return real(path, mode, *args, **kwargs)

    import importlib
    import types

    parts_module = importlib.import_module("spacexnet.parts")  # where the sweep joins its parts

    # Only the sweep's own appends hit the "full disk"; xarray keeps the real library.
    monkeypatch.setattr(parts_module, "netCDF4", types.SimpleNamespace(Dataset=full_disk))
    with pytest.raises(OutputError, match="No space left"):
        sweep(constellation, setup, options, target)
    assert not target.exists()
    leftovers = [p for p in os.listdir(tmp_path) if p != ".s.nc.parts"]
    assert leftovers == []  # no temporary file either
    assert (tmp_path / ".s.nc.parts" / "part-000002.nc").exists()  # the finished work is kept
    monkeypatch.setattr(parts_module, "netCDF4", netCDF4)
    seen = []
    sweep(constellation, setup, options, target, resume=True, progress=lambda d, t: seen.append(d))
    assert seen == [5]  # nothing recomputed: every chunk was already finished
    with xr.open_dataset(target) as ds:
        assert ds.sizes["time"] == 5


def test_text_output_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="Input/output error"):
        atomic_write_text(target, "new\n", overwrite=True)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["table.csv"]
