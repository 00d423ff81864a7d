"""A multi-shell sweep gives its steps only the placed group's satellites: the file is the one every satellite gives.

The real excerpt in ``tests/data`` has two shells that +Grid does not join
(77 satellites in four planes, and one plane of 20): the placement lives
in the first, the second only adds its links to ``links_up``.
"""

import importlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import orbits
from spacexnet.focus import Focus, FocusLost, focus_of
from spacexnet.scenario import build_constellation, model_setup
from spacexnet.sweep import SweepOptions, sweep

# The module (the package exports the function of the same name).
sweep_module = importlib.import_module("spacexnet.sweep")
EXCERPT = Path(__file__).parent / "data" / "starlink_excerpt_2026-01-31.txt"
OPTIONS = dict(duration_s=120, step_s=30, n_samples=200, chunk_steps=2)


@pytest.fixture(scope="module")
def constellation():
    return build_constellation(tle=EXCERPT)


@pytest.fixture(scope="module")
def setup():
    # 77 satellites hold 32 layers only with every expert of a layer on its one expert satellite.
    return model_setup("llama-moe-3.5b", experts_per_sat=16, seed=1)


def _run(path, constellation, setup, **kw):
    workers = kw.pop("workers", 1)
    sweep(constellation, setup, SweepOptions(workers=workers, **OPTIONS), path, **kw)
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.attrs.pop("history")
    return ds


@pytest.fixture(scope="module")
def every_satellite(tmp_path_factory, constellation, setup):
    """The previous code path: every satellite propagated, linked and routed at every step."""
    return _run(tmp_path_factory.mktemp("full") / "full.nc", constellation, setup, focus=False)


def test_the_excerpt_is_cut(constellation, setup, tmp_path, monkeypatch):
    chosen, original = [], sweep_module.focus_of

    def spy(*args):
        chosen.append(original(*args))
        return chosen[-1]

    monkeypatch.setattr(sweep_module, "focus_of", spy)
    _run(tmp_path / "f.nc", constellation, setup)
    focus = chosen[0]
    assert isinstance(focus, Focus)
    assert set(constellation.shell[focus.index]) == {0} and focus.index.size == 77
    assert focus.rest.size == 20 and focus.other_max == 20


@pytest.mark.parametrize("workers", [1, 2])
def test_same_file_as_every_satellite(every_satellite, constellation, setup, tmp_path, workers):
    focused = _run(tmp_path / "f.nc", constellation, setup, workers=workers)
    xr.testing.assert_identical(focused, every_satellite)


def test_the_file_counts_every_shell(every_satellite, constellation, setup):
    """``links_up`` and the placed satellites against a propagation of all of them, outside the sweep."""
    state = orbits.propagate(constellation, every_satellite["time"].values)
    topology = orbits.isl_topology(constellation, state.isel(time=[0]))
    links = orbits.isl_links(constellation, state, topology=topology)
    np.testing.assert_array_equal(every_satellite["links_up"].values, links["up"].values.sum(axis=1))
    other_shell = every_satellite["subnet"].values[:, :, constellation.shell != 0]
    assert (other_shell == -1).all()
    placed = every_satellite["expert_sat"].values
    assert (constellation.shell[placed] == 0).all() and (placed >= 0).all()
    # Both shells have up links.
    up = links["up"].values[0]
    assert up[constellation.shell[topology.sat_a] == 1].any() and up[constellation.shell[topology.sat_a] == 0].any()


def _lose_focus_at(step, monkeypatch) -> list:
    """Make the ``step``-th focus check (1-based) fail, as if the placed part had shrunk; returns the checks made."""
    checks = []

    def check(self, usable_count):
        checks.append(usable_count)
        if len(checks) == step:
            raise FocusLost("as if the placed part had shrunk")

    monkeypatch.setattr(Focus, "check", check)
    return checks


def test_lost_focus_starts_over_with_every_satellite(every_satellite, constellation, setup, tmp_path, monkeypatch):
    """Should a step's placed part shrink to the size of another group, the sweep redoes it all the full way.

    The caller hears of each chunk once and of each step once, in order, and is told why the sweep starts over.
    """
    checks = _lose_focus_at(3, monkeypatch)
    chunks, steps, said = [], [], []
    focused = _run(tmp_path / "f.nc", constellation, setup, on_chunk=lambda ds, moves: chunks.append(ds),
                   progress=lambda done, total: steps.append(done), status=said.append)
    xr.testing.assert_identical(focused, every_satellite)
    assert len(checks) == 3  # the third step lost the focus: in the second chunk
    # Each chunk once, as the file has them: the first from before the restart, the others from after it.
    assert [c.sizes["time"] for c in chunks] == [2, 2, 1]
    assert np.array_equal(np.concatenate([c["time"].values for c in chunks]), every_satellite["time"].values)
    for c in chunks:
        whole = every_satellite.sel(time=c["time"])
        for name, values in c.data_vars.items():
            np.testing.assert_array_equal(values.values, whole[name].transpose(*values.dims).values, err_msg=name)
    assert steps == [0, 1, 2, 3, 4, 5]
    assert said == ["step 3: the placed part may no longer be the largest; starting over with every satellite"]


def test_lost_focus_after_resume_gives_no_chunk_twice(every_satellite, constellation, setup, tmp_path, monkeypatch):
    """A resumed sweep that loses its focus: the chunks it continued from are not given again either."""
    out = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        _run(out, constellation, setup, on_chunk=lambda ds, moves: (_ for _ in ()).throw(KeyboardInterrupt))
    _lose_focus_at(2, monkeypatch)
    chunks = []
    resumed = _run(out, constellation, setup, resume=True, overwrite=True,
                   on_chunk=lambda ds, moves: chunks.append(ds.sizes["time"]))
    xr.testing.assert_identical(resumed, every_satellite)
    assert chunks == [2, 1]  # the first chunk was saved before the interruption, the second lost the focus


def test_focus_check_bound():
    topo = orbits.Topology("plus-grid", np.array([0, 1, 3]), np.array([1, 2, 4]), np.zeros(3, dtype=bool))
    focus = sweep_module.focus_of(topo, 6, np.array([1, 1, 1, 0, 0, 0], dtype=bool))
    assert focus.other_max == 2 and focus.rest.tolist() == [3, 4]  # satellite 5 has no link: not propagated
    focus.check(3)
    with pytest.raises(FocusLost):
        focus.check(2)


def test_no_focus_when_another_group_is_as_large():
    """Shells of equal size (as Gen2's three 5,280-satellite shells): no group is provably the largest at every
    step, so every step gets every satellite rather than starting over at the first one."""
    ring = lambda lo, n: [(lo + i, lo + (i + 1) % n) for i in range(n)]  # noqa: E731
    pairs = np.array(ring(0, 5) + ring(5, 5) + ring(10, 3))
    topo = orbits.Topology("plus-grid", pairs[:, 0], pairs[:, 1], np.zeros(len(pairs), dtype=bool))
    assert focus_of(topo, 13, np.arange(13) < 5) is None
    bigger = np.array(ring(0, 6) + ring(6, 5))
    topo = orbits.Topology("plus-grid", bigger[:, 0], bigger[:, 1], np.zeros(len(bigger), dtype=bool))
    assert focus_of(topo, 11, np.arange(11) < 6).other_max == 5
