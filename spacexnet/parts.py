"""The finished chunks of a sweep on disk: part files, the state to resume from, the final join.

A sweep writes every finished chunk at once to a part file in a folder
beside its output (``.NAME.parts``), with the state it carries to the next
chunk as plain JSON; an interrupted sweep resumes from its last finished
chunk, and at the end the parts are joined into the output (a temporary
name, then a rename).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import netCDF4
import xarray as xr

from .dataset import encoding
from .exceptions import SpaceXNetError, SweepWarning
from .io import atomic_target, interrupts_deferred

__all__ = ["PartStore", "join_parts"]


class PartStore:
    """Finished chunks as small NetCDF part files plus the sweep's state after each, in a folder beside the output.

    The state is plain data (JSON): what :func:`spacexnet.sweep.sweep`
    carries from one chunk to the next.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> from pathlib import Path
    >>> store = PartStore(Path(tempfile.mkdtemp()) / "s.nc", digest="abc", resume=False)
    >>> store.save(0, xr.Dataset({"x": ("time", [1.0])}), {"steps_done": 1})
    >>> store.finished(), store.load_state(0)
    (1, {'steps_done': 1})
    """

    def __init__(self, out: Path, digest: str, resume: bool):
        self.dir = out.parent / f".{out.name}.parts"
        self.digest = digest
        manifest = self.dir / "manifest.json"
        if self.dir.exists():
            if not resume:
                kept = self.finished()
                if kept:
                    warnings.warn(SweepWarning(
                        f"starting over: discarding the {kept} finished chunk(s) an interrupted sweep left in "
                        f"{os.path.abspath(self.dir)} (--resume continues such a sweep instead)"), stacklevel=3)
                shutil.rmtree(self.dir)
            else:
                try:
                    found = json.loads(manifest.read_text())["digest"]
                except (OSError, ValueError, KeyError):
                    found = None
                if found != digest:
                    raise SpaceXNetError(
                        f"{self.dir}: the unfinished sweep there was run with other options; rerun without "
                        "--resume to start over, or with the same options to continue it")
        elif resume:
            # Nothing to resume: start from scratch, like a fresh run.
            pass
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"digest": digest}))

    def part(self, k: int) -> Path:
        return self.dir / f"part-{k:06d}.nc"

    def state(self, k: int) -> Path:
        return self.dir / f"state-{k:06d}.json"

    def finished(self) -> int:
        """Number of leading chunks that are complete (part and state both written)."""
        k = 0
        while self.part(k).exists() and self.state(k).exists():
            k += 1
        return k

    def save(self, k: int, ds: xr.Dataset, state: dict) -> None:
        """Write chunk ``k``'s dataset and the state after it (plain data)."""
        # Ctrl-C waits for the part and its state to be written (see io.interrupts_deferred): an interrupt
        # inside xarray's NetCDF write could leave its lock held, and the clean-up would wait on it for ever.
        with interrupts_deferred():
            tmp = self.part(k).with_suffix(".tmp")
            ds.to_netcdf(tmp, encoding=encoding(ds))
            os.replace(tmp, self.part(k))
            tmp = self.state(k).with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.state(k))

    def load_state(self, k: int) -> dict:
        """The state saved with chunk ``k``."""
        return json.loads(self.state(k).read_text())

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def join_parts(store: PartStore, n_parts: int, target: Path, attrs: dict, coords: dict) -> None:
    """Concatenate the part files along time into ``target`` (written through a temporary file)."""
    first = xr.open_dataset(store.part(0), decode_times=False)
    try:
        template = first.load()
    finally:
        first.close()
    template = template.assign_coords(coords)
    template.attrs.update(attrs)
    # The sweep checked at its start that it may write ``target``.
    with atomic_target(target, overwrite=True) as tmp:
        with interrupts_deferred():
            # The parts were read without decoding times: they are floats here already.
            template.to_netcdf(tmp, unlimited_dims=["time"], encoding=encoding(template))
        with netCDF4.Dataset(tmp, "a") as dst:
            dst.set_auto_maskandscale(False)
            offset = template.sizes["time"]
            for k in range(1, n_parts):
                with netCDF4.Dataset(store.part(k)) as src:
                    src.set_auto_maskandscale(False)
                    n = src.dimensions["time"].size
                    for name, var in src.variables.items():
                        if "time" not in var.dimensions:
                            continue
                        axis = var.dimensions.index("time")
                        index = [slice(None)] * var.ndim
                        index[axis] = slice(offset, offset + n)
                        dst.variables[name][tuple(index)] = var[...]
                    offset += n
