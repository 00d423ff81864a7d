"""Warm starts: an earlier placement made valid for new inputs, for the strategies that improve a start.

A sweep places afresh at every step, and the constellation moves little
between two steps: the previous step's placement, with whatever now sits
on a satellite that may not host it moved away (:func:`placement.migration.repair`),
is a good start for a search that only improves what it is given
(``joint`` and ``anneal`` take it as ``start=``), and far cheaper than
their cold starts.
"""

from __future__ import annotations

import numpy as np

from .exceptions import PlacementError
from .migration import StepOracle, repair

__all__ = ["repaired_start", "step_oracle"]


def step_oracle(path_ms, n_sat: int) -> StepOracle:
    """``path_ms`` as a :class:`StepOracle` (itself if it is one already: its known rows are kept)."""
    return path_ms if isinstance(path_ms, StepOracle) and path_ms.n_sat == n_sat else StepOracle(path_ms, n_sat)


def repaired_start(start, pool, capacity, probs, oracle):
    """``start``'s gates and experts, moved off satellites outside ``pool``; None when that cannot make it valid.

    Parameters
    ----------
    start : Placement
        An earlier placement of the same model on the same satellites (e.g.
        the previous step's).
    pool : ndarray of bool, shape (n_sat,)
        Satellites that may host a gate or an expert now.
    capacity : ndarray of int, shape (n_sat,)
        Experts one satellite may host.
    probs : ndarray, shape (L, E)
        Activation probabilities (the displaced experts move most probable first).
    oracle : StepOracle
        This step's distances (asked for the gates' rows).

    Returns
    -------
    (gate_sat, expert_sat) or None
        A valid placement on ``pool`` (distinct gates hosting no expert,
        every satellite within its capacity); None when there is no room
        for every part, or when ``start`` overloads a satellite of the pool
        (a capacity that shrank): the caller then starts cold.

    Raises
    ------
    PlacementError
        When ``start`` has another shape than the model, or names a
        satellite that does not exist.

    Examples
    --------
    Satellite 3 of six on a line fails; the expert there moves to the nearest free one:

    >>> import numpy as np
    >>> from placement import Placement
    >>> x = np.arange(6.0)
    >>> oracle = StepOracle(lambda s: np.abs(x - x[np.asarray(s)][:, None]), 6)
    >>> before = Placement(np.zeros(6, np.int64), np.array([2]), np.array([[3]]), "joint", experts_confined=False)
    >>> gate, expert = repaired_start(before, x != 3, np.ones(6, np.int64), np.array([[1.0]]), oracle)
    >>> gate.tolist(), expert.tolist()
    ([2], [[1]])
    """
    n_layers, n_experts = probs.shape
    n_sat = pool.size
    gate = np.asarray(getattr(start, "gate_sat", None))
    expert = np.asarray(getattr(start, "expert_sat", None))
    if gate.shape != (n_layers,) or expert.shape != (n_layers, n_experts) or gate.dtype.kind not in "iu" \
            or expert.dtype.kind not in "iu":
        raise PlacementError(
            f"start must be a Placement of {n_layers} gates and ({n_layers}, {n_experts}) experts, got gate_sat "
            f"shape {gate.shape} and expert_sat shape {expert.shape}")
    if gate.size and (gate.max() >= n_sat or expert.max() >= n_sat):
        raise PlacementError(f"start places a part on satellite {max(gate.max(), expert.max())}, "
                             f"outside 0..{n_sat - 1}")
    placed = expert[expert >= 0]
    load = np.bincount(placed[pool[placed]], minlength=n_sat)
    if (load > capacity).any():
        return None
    gate_ok = gate[(gate >= 0) & pool[np.maximum(gate, 0)]]
    if np.unique(gate_ok).size < gate_ok.size or (load[gate_ok] > 0).any():
        return None  # not a placement this module made; nothing to repair from
    subnet = np.where(pool, 0, -1)  # the pool, in the form repair takes
    gate, expert, _, _, complete = repair(subnet, gate.astype(np.int64), expert.astype(np.int64), pool,
                                          capacity, probs, oracle, confined=False)
    return (gate, expert) if complete else None
