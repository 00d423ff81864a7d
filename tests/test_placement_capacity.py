"""placement.satellites_needed: the count the ring partition and check_capacity agree on."""

import numpy as np
import pytest

import placement


@pytest.mark.parametrize("n_layers, n_experts, capacity", [(32, 16, 1), (4, 8, 3), (5, 7, 2), (3, 4, 4), (6, 1, 1)])
def test_satellites_needed_is_the_ring_partition_capacity_rule(n_layers, n_experts, capacity):
    need = placement.satellites_needed(n_layers, n_experts, capacity)
    for n_sat, fits in ((need, True), (need - 1, False)):
        phase = 360.0 * (0.5 + np.arange(n_sat)) / n_sat
        subnet = placement.ring_partition(phase, n_layers)
        if fits:
            placement.check_capacity(subnet, n_experts, capacity, n_layers)
        else:
            with pytest.raises(placement.InfeasiblePlacementError):
                placement.check_capacity(subnet, n_experts, capacity, n_layers)


def test_satellites_needed_refuses_nonsense():
    with pytest.raises(placement.PlacementError, match="capacity must be a whole number ≥ 1"):
        placement.satellites_needed(32, 16, 0)
