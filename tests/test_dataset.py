"""The sweep dataset's schema (spacexnet.dataset) against the file a sweep writes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spacexnet import dataset


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from spacexnet.scenario import build_constellation, model_setup
    from spacexnet.sweep import SweepOptions, sweep

    out = tmp_path_factory.mktemp("schema") / "s.nc"
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    sweep(constellation, model_setup("llama-moe-3.5b-2of8"),
          SweepOptions(duration_s=60, step_s=30, n_samples=50, chunk_steps=2, workers=1), out)
    with xr.open_dataset(out) as ds:
        yield ds.load()


def test_a_written_sweep_holds_exactly_the_schema(written):
    assert dataset.differences(written) == []
    # Undecoded, the time coordinate carries the schema's CF units.
    assert written["time"].encoding["units"].startswith("seconds since 1970-01-01")


@pytest.mark.parametrize("change, expected", [
    (lambda ds: ds.drop_vars("links_up"), "links_up: missing"),
    (lambda ds: ds.assign(extra=("time", np.zeros(ds.sizes["time"]))), "extra: not in the schema"),
    (lambda ds: ds.assign(migrations=ds["migrations"].astype(np.int64)), "migrations: type int64, schema int32"),
    (lambda ds: ds.assign(bytes_moved=ds["bytes_moved"].assign_attrs(units="GB")), "bytes_moved: attributes"),
    (lambda ds: ds.assign(subnet=ds["subnet"].transpose("sat", "policy", "time")), "subnet: dimensions"),
])
def test_differences_name_what_departs_from_the_schema(written, change, expected):
    found = dataset.differences(change(written))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_chunk_dataset_refuses_values_that_are_not_the_schema():
    t = np.array(["2026-01-01T00:00"], dtype="datetime64[ns]")
    values = {name: np.zeros([{"policy": 1, "time": 1}.get(d, 2) for d in var.dims])
              for name, var in dataset.VARIABLES.items()}
    del values["links_up"]
    with pytest.raises(ValueError, match="missing \\['links_up'\\]"):
        dataset.chunk_dataset(t, ["static"], values)


def test_the_readers_take_names_and_units_from_the_schema():
    from spacexnet import plots
    from spacexnet.cli.sweep import summary_rows

    assert all(plots.SWEEP_VARIABLES[name] == dataset.VARIABLES[name].dims for name in plots.SWEEP_VARIABLES)
    ds = xr.Dataset({name: (var.dims, np.ones([{"policy": 1, "time": 2}.get(d, 1) for d in var.dims], var.dtype))
                     for name, var in dataset.VARIABLES.items()}, coords={"policy": ["static"]})
    assert "mean expected ms" in summary_rows(ds)[0]
    # What the service reports of each step is in the file.
    from spacexnet.service.jobrunner import STEP_FIELDS

    assert set(STEP_FIELDS) <= set(dataset.VARIABLES)
