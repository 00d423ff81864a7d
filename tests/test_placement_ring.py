"""Ring partition (Space-XNet, arXiv 2605.00515) and the belt option."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement import InfeasiblePlacementError, PlacementError, belt_mask, ring_partition


@st.composite
def phases_and_layers(draw):
    n = draw(st.integers(1, 60))
    phase = np.array(draw(st.lists(st.floats(-720, 720, allow_nan=False), min_size=n, max_size=n)))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    n_layers = draw(st.integers(1, max(1, int(eligible.sum()))))
    return phase, eligible, n_layers


@settings(max_examples=150, deadline=None)
@given(phases_and_layers())
def test_arcs_equal_contiguous_and_complete(case):
    phase, eligible, n_layers = case
    if eligible.sum() < n_layers:
        with pytest.raises(InfeasiblePlacementError):
            ring_partition(phase, n_layers, eligible=eligible)
        return
    sub = ring_partition(phase, n_layers, eligible=eligible)
    assert (sub[~eligible] == -1).all() and (sub[eligible] >= 0).all()
    counts = np.bincount(sub[eligible], minlength=n_layers)
    assert counts.size == n_layers and counts.min() >= 1          # every layer present
    assert counts.max() - counts.min() <= 1                        # equal counts ±1
    # Contiguous arcs in phase order: along increasing phase, the layer never
    # goes down, so each arc is one interval of the circle cut at 0°.
    inside = np.flatnonzero(eligible)
    # Phases compare to 1e-9° (documented), so do the same here.
    wrapped = np.mod(np.round(phase[inside], 9), 360.0) % 360.0
    order = np.lexsort((inside, wrapped))
    labels = sub[inside][order]
    assert (np.diff(labels) >= 0).all()
    # Phase intervals of different arcs do not overlap.
    for l in range(n_layers - 1):
        assert wrapped[sub[inside] == l].max() <= wrapped[sub[inside] == l + 1].min()


def test_wraps_around_360_degrees():
    phase = np.array([10.0, 100.0, 190.0, 280.0, 355.0, 5.0])
    sub = ring_partition(phase, 3)
    np.testing.assert_array_equal(ring_partition(phase + 360.0, 3), sub)
    np.testing.assert_array_equal(ring_partition(phase - 720.0, 3), sub)
    # 355° and 5° are neighbours across the seam: last arc and first arc.
    assert sub[4] == 2 and sub[5] == 0


def test_phase_ties_break_by_plane_so_arcs_stay_in_neighbouring_planes():
    # Walker phasing 0: every plane has satellites at the same phases.
    n_planes, n_slots = 6, 4
    plane = np.repeat(np.arange(n_planes), n_slots)
    phase = np.tile(np.arange(n_slots) * 90.0, n_planes) + 1e-12 * np.random.default_rng(0).standard_normal(24)
    sub = ring_partition(phase, 8, plane=plane)
    for l in range(8):
        planes = np.sort(plane[sub == l])
        assert (np.diff(planes) == 1).all(), planes


def test_belt_uses_b_adjacent_planes():
    n_planes, n_slots = 8, 5
    plane = np.repeat(np.arange(n_planes), n_slots)
    phase = np.tile(np.arange(n_slots) * 72.0, n_planes) + plane * 2.0
    eligible = np.ones(plane.size, bool)
    eligible[plane == 0] = False  # the default belt must avoid the emptied plane
    sub = ring_partition(phase, 4, eligible=eligible, plane=plane, belt_planes=3)
    used = np.unique(plane[sub >= 0])
    np.testing.assert_array_equal(used, [1, 2, 3])
    assert (sub >= 0).sum() == 15 and sorted(np.bincount(sub[sub >= 0]).tolist()) == [3, 4, 4, 4]
    sub5 = ring_partition(phase, 4, plane=plane, belt_planes=2, belt_first_plane=5)
    np.testing.assert_array_equal(np.unique(plane[sub5 >= 0]), [5, 6])


def test_belt_skips_unknown_planes():
    plane = np.array([0, 0, 1, 1, -1, -1])
    assert belt_mask(plane, 2).tolist() == [True, True, True, True, False, False]


def test_errors_name_the_numbers():
    with pytest.raises(InfeasiblePlacementError, match=r"2 usable satellites for 3 layers"):
        ring_partition([0.0, 1.0, 2.0], 3, eligible=np.array([True, True, False]))
    with pytest.raises(PlacementError, match="needs plane labels"):
        ring_partition([0.0, 1.0], 1, belt_planes=1)
    with pytest.raises(InfeasiblePlacementError, match="only 2 known planes"):
        ring_partition([0.0, 1.0, 2.0], 1, plane=np.array([0, 1, -1]), belt_planes=3)
    with pytest.raises(PlacementError, match=r"arg_lat_deg\[1\] = nan"):
        ring_partition([0.0, np.nan], 1)
    with pytest.raises(PlacementError, match="positive integer"):
        ring_partition([0.0, 1.0], 0)
