"""Accuracy budget of a sweep: what the time step and the element-set age do to the numbers.

``step_error`` answers "is my step fine enough?". It places the model once
at the start of a window and follows that fixed placement on the chosen
step and on one ``refine`` times finer. It then reports three things:

- how much token latency and ISL lengths move from one chosen step to the
  next;
- the interpolation error, i.e. what the chosen step misses between its
  samples against the finer grid;
- how the window's mean and worst token latency differ between the two
  grids;

and it counts link up/down switches that happen between the chosen samples.

``element_set_age_days`` tells how far a sweep runs from the epochs of its
element sets. SGP4's error grows with that age, by roughly a kilometre a
day in LEO for well-tracked objects (Vallado et al., AIAA 2006-6753), and
more for manoeuvring satellites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import latency
import orbits

from .compare import place
from .scenario import ModelSetup, largest_component, snapshot

__all__ = ["StepError", "step_error", "element_set_age_days"]


@dataclass(frozen=True)
class StepError:
    """Result of :func:`step_error` (times in ms, lengths in km)."""

    step_s: float
    fine_step_s: float
    window_s: float
    latency_change_per_step_ms: float
    latency_interp_error_ms: float
    latency_mean_difference_ms: float
    latency_worst_difference_ms: float
    link_change_per_step_km: float
    link_interp_error_km: float
    link_switches_missed: int
    link_switches_fine: int

    def rows(self) -> list[dict]:
        """The budget as table rows (quantity, value, unit)."""
        return [
            {"quantity": "token latency change between consecutive steps (max)",
             "value": self.latency_change_per_step_ms, "unit": "ms"},
            {"quantity": f"token latency interpolation error vs {self.fine_step_s:g} s steps (max)",
             "value": self.latency_interp_error_ms, "unit": "ms"},
            {"quantity": "window mean token latency, chosen − fine", "value": self.latency_mean_difference_ms,
             "unit": "ms"},
            {"quantity": "window worst token latency, chosen − fine", "value": self.latency_worst_difference_ms,
             "unit": "ms"},
            {"quantity": "ISL length change between consecutive steps (max)", "value": self.link_change_per_step_km,
             "unit": "km"},
            {"quantity": f"ISL length interpolation error vs {self.fine_step_s:g} s steps (max)",
             "value": self.link_interp_error_km, "unit": "km"},
            {"quantity": "link up/down switches the chosen step misses",
             "value": self.link_switches_missed, "unit": f"of {self.link_switches_fine}"},
        ]


def _interp_error(fine: np.ndarray, refine: int) -> float:
    """Max |fine − linear interpolation of its every ``refine``-th sample|, over the first axis."""
    n = (fine.shape[0] - 1) // refine * refine + 1
    fine = fine[:n]
    coarse = fine[::refine]
    x = np.arange(n) / refine
    lo = np.minimum(np.floor(x).astype(int), coarse.shape[0] - 2)
    w = (x - lo).reshape((-1,) + (1,) * (fine.ndim - 1))
    interp = coarse[lo] * (1 - w) + coarse[lo + 1] * w
    err = np.abs(fine - interp)
    return float(np.nanmax(err)) if np.isfinite(err).any() else float("nan")


def step_error(constellation, setup: ModelSetup, step_s: float, *, start=None, window_steps: int = 12,
               refine: int = 10, topology: str = "plus-grid", link_rules=None) -> StepError:
    """Time-step error of token latency and link lengths for ``step_s`` against ``step_s / refine``.

    Parameters
    ----------
    constellation : orbits.Constellation
    setup : ModelSetup
    step_s : float
        The step to check, s.
    start : str or numpy.datetime64, optional
        Start of the window (default: the constellation's newest epoch).
    window_steps : int
        Window length in chosen steps (the fine grid has ``window_steps · refine + 1`` samples).
    refine : int
        How many times finer the reference grid is.
    topology : str
        ISL topology.
    link_rules : dict, optional
        ``margin_km``, ``max_range_km``, ``latitude_cutoff_deg`` (:func:`orbits.isl_links`).

    Examples
    --------
    >>> from spacexnet.scenario import build_constellation, model_setup
    >>> c = build_constellation(walker="53:360/18/1", altitude_km=550)
    >>> e = step_error(c, model_setup("llama-moe-3.5b-2of8"), 60.0, window_steps=3, refine=4)
    >>> e.fine_step_s, e.latency_interp_error_ms >= 0
    (15.0, True)
    """
    start = start if start is not None else constellation.reference_epoch
    fine_step_s = float(step_s) / int(refine)
    times = orbits.time_grid(start, float(step_s) * int(window_steps), fine_step_s)
    link_rules = dict(link_rules or {})
    snap = snapshot(constellation, times[0], setup, topology=topology, **link_rules)
    pl = place(snap, setup)
    state = orbits.propagate(constellation, times)
    topo = orbits.isl_topology(constellation, state.isel(time=slice(0, 1)), topology)
    links = orbits.isl_links(constellation, state, topology=topo, **link_rules)
    distance = links["distance_km"].values
    up = links["up"].values
    status_ok = state["sgp4_status"].values == 0
    latency_ms = np.empty(times.size)
    for i in range(times.size):
        graph = latency.RoutingGraph.from_links(topo.sat_a, topo.sat_b, np.where(up[i], distance[i], 0.0), up[i],
                                                len(constellation), setup.link_profile,
                                                setup.model.hidden_state_bytes)
        usable = largest_component(graph, status_ok[i])
        hosts = np.concatenate([pl.gate_sat, pl.expert_sat.ravel()])
        if not usable[hosts].all():
            latency_ms[i] = np.inf
            continue
        latency_ms[i] = latency.token_latency(graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times).expected_ms
    coarse = latency_ms[::refine]
    dist_up = np.where(up, distance, np.nan)
    switches_fine = int(np.abs(np.diff(up.astype(np.int8), axis=0)).sum())
    switches_coarse = int(np.abs(np.diff(up[::refine].astype(np.int8), axis=0)).sum())
    with np.errstate(invalid="ignore"):
        link_step = np.nanmax(np.abs(np.diff(dist_up[::refine], axis=0))) if coarse.size > 1 else 0.0
    return StepError(
        step_s=float(step_s), fine_step_s=fine_step_s, window_s=float(step_s) * int(window_steps),
        latency_change_per_step_ms=float(np.max(np.abs(np.diff(coarse)))) if coarse.size > 1 else 0.0,
        latency_interp_error_ms=_interp_error(latency_ms, refine),
        latency_mean_difference_ms=float(coarse.mean() - latency_ms.mean()),
        latency_worst_difference_ms=float(coarse.max() - latency_ms.max()),
        link_change_per_step_km=float(link_step),
        link_interp_error_km=_interp_error(dist_up, refine),
        link_switches_missed=max(switches_fine - switches_coarse, 0),
        link_switches_fine=switches_fine,
    )


def element_set_age_days(constellation, times) -> float:
    """Largest |time − element-set epoch| over the sweep's times and the satellites, days.

    Examples
    --------
    >>> c = orbits.walker("53:60/6/1", altitude_km=550)
    >>> element_set_age_days(c, np.array(["2026-01-04T12:00:00"], dtype="datetime64[ns]"))
    3.5
    """
    times = np.asarray(times, dtype="datetime64[ns]")
    epochs = constellation.epochs
    span = [abs(times.min() - epochs.max()), abs(times.max() - epochs.min()), abs(times.min() - epochs.min()),
            abs(times.max() - epochs.max())]
    return float(max(span) / np.timedelta64(1, "s") / 86_400.0)
