"""A sweep's file against one frozen from an earlier version: the time-stepping code may be rewritten, not its output.

``tests/data/sweep_frozen.nc`` was written by :func:`frozen_sweep` (run
this module as a script to write it again, only when a change of the
numbers is meant and said). The run covers what the policies do: the
three policies, a handover that migrates (a low price, no hysteresis),
chunks (so the state crosses chunk boundaries), two worker processes (the
chunk tasks make the fresh placements) and satellite outages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr

FROZEN = Path(__file__).parent / "data" / "sweep_frozen.nc"
# Attributes that say who wrote the file and when, not what it holds.
PROVENANCE = ("history", "software")


def frozen_sweep(out) -> Path:
    """The frozen run: 21 steps of 30 s of a 360-satellite shell, every policy, an outage of every 9th satellite."""
    from spacexnet.faults import load_faults
    from spacexnet.scenario import build_constellation, model_setup
    from spacexnet.sweep import SweepOptions, sweep

    out = Path(out)
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    setup = model_setup("llama-moe-3.5b-2of8", seed=3)
    start = np.datetime64(constellation.reference_epoch, "s")
    outage = out.with_suffix(".faults.csv")
    outage.write_text("norad_id,start,end\n" + "".join(f"{int(n)},{start + 150}Z,{start + 400}Z\n"
                                                      for n in constellation.norad_id[::9]))
    faults = load_faults(outage, constellation=constellation)
    opts = SweepOptions(duration_s=600, step_s=30, n_samples=200, chunk_steps=4, workers=2,
                        migration_price=0.001, min_gain_ratio=0.0)
    return sweep(constellation, setup, opts, out, overwrite=True, faults=faults)


def test_a_sweep_writes_the_frozen_file(tmp_path):
    got = xr.open_dataset(frozen_sweep(tmp_path / "now.nc"), decode_times=False).load()
    want = xr.open_dataset(FROZEN, decode_times=False).load()
    # Variables added since the file was frozen; every frozen one must be unchanged.
    assert set(got.variables) - set(want.variables) == {"token_latency_expected_independent_ms"}
    for name in want.variables:
        a, b = got[name], want[name]
        assert a.dims == b.dims and a.dtype == b.dtype, name
        assert {k: str(v) for k, v in a.attrs.items()} == {k: str(v) for k, v in b.attrs.items()}, name
        if a.dtype.kind == "f":
            # Bit for bit on the machine that froze it; a new NumPy may move the last digit of a sum.
            np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(a.values, b.values, err_msg=name)
    def strip(attrs):
        # The outage file is named by its path, which is where each run wrote it; its digest stays.
        return {k: re.sub(r"satellites: \S+ \(", "satellites: <file> (", str(v)) for k, v in attrs.items()
                if k not in PROVENANCE}

    assert strip(got.attrs) == strip(want.attrs)
    # The run is one that exercises the policies: handover migrates, the outage forces moves.
    moves = got["migrations"].sum("time")
    assert int(moves.sel(policy="handover")) > 0 and int(got["forced_migrations"].sum()) > 0


if __name__ == "__main__":
    frozen_sweep(FROZEN if len(sys.argv) < 2 else sys.argv[1])
    print(f"wrote {FROZEN if len(sys.argv) < 2 else sys.argv[1]}")
