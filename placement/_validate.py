"""Argument checks shared by the placement modules.

Every public function normalises its inputs here, before any heavy work,
so that a bad argument fails with one message naming the value, the rule
and the fix instead of a numpy broadcasting error deep
inside an optimizer.
"""

from __future__ import annotations

import numpy as np

from .exceptions import PlacementError

# Phases are compared to 1e-9 degrees (≈ 0.1 mm along a LEO orbit).
PHASE_DECIMALS = 9
# Sum-of-probabilities tolerance: profiles read from files are rounded.
_PROB_ATOL = 1e-9


def as_probs(probs) -> np.ndarray:
    """Activation probabilities as a float64 (L, E) array in [0, 1]."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise PlacementError(
            f"probs must have shape (n_layers, n_experts) with both ≥ 1, got shape {np.shape(probs)}; "
            "pass one row of expert activation probabilities per MoE layer"
        )
    if not np.all(np.isfinite(p)) or p.min() < -_PROB_ATOL or p.max() > 1 + _PROB_ATOL:
        bad = np.argwhere(~np.isfinite(p) | (p < -_PROB_ATOL) | (p > 1 + _PROB_ATOL))[0]
        raise PlacementError(
            f"probs[{bad[0]}, {bad[1]}] = {float(p[tuple(bad)])} is not a probability in [0, 1]; "
            "pass per-expert activation probabilities (they sum to top-k per layer), not counts or logits"
        )
    return np.clip(p, 0.0, 1.0)


def as_layer_times(value, n_layers: int, name: str) -> np.ndarray:
    """A per-layer time in ms, scalar or (L,), as a float64 (L,) array ≥ 0."""
    t = np.asarray(value, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(n_layers, float(t))
    if t.shape != (n_layers,):
        raise PlacementError(
            f"{name} must be a scalar or have shape ({n_layers},) (one value per layer), got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or t.min() < 0:
        raise PlacementError(f"{name} must be finite and ≥ 0 ms, got {t.tolist()}")
    return t


def as_capacity(capacity, n_sat: int) -> np.ndarray:
    """Experts per satellite, scalar or (n_sat,), as an int64 (n_sat,) array ≥ 0."""
    c = np.asarray(capacity)
    if c.dtype.kind == "f":
        if not np.all(np.isfinite(c)) or not np.all(c == np.floor(c)):
            raise PlacementError(
                f"capacity must be a whole number of experts per satellite, got {capacity!r}; "
                "use experts_per_satellite(mem_bytes, reserved_bytes, expert_bytes), which floors"
            )
    elif c.dtype.kind not in "iub":
        raise PlacementError(f"capacity must be an integer or an integer array, got {capacity!r}")
    c = c.astype(np.int64)
    if c.ndim == 0:
        c = np.full(n_sat, int(c), dtype=np.int64)
    if c.shape != (n_sat,):
        raise PlacementError(
            f"capacity must be a scalar or have shape ({n_sat},) (experts per satellite), got shape {c.shape}"
        )
    if c.min(initial=0) < 0:
        raise PlacementError(f"capacity must be ≥ 0 experts per satellite, got minimum {c.min()}")
    return c


def as_eligible(eligible, n_sat: int) -> np.ndarray:
    """Eligibility mask as a bool (n_sat,) array (all True when None)."""
    if eligible is None:
        return np.ones(n_sat, dtype=bool)
    e = np.asarray(eligible)
    if e.shape != (n_sat,) or e.dtype.kind != "b":
        raise PlacementError(
            f"eligible must be a boolean array of shape ({n_sat},), got dtype {e.dtype} and shape {e.shape}"
        )
    return e


def as_phase_deg(arg_lat_deg) -> np.ndarray:
    """Argument of latitude as float64 (n_sat,) in [0, 360)."""
    a = np.asarray(arg_lat_deg, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise PlacementError(f"arg_lat_deg must be a non-empty 1-D array (one phase per satellite), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        i = int(np.flatnonzero(~np.isfinite(a))[0])
        raise PlacementError(
            f"arg_lat_deg[{i}] = {float(a[i])} is not finite; mark satellites without a valid state "
            "as ineligible (eligible=False) and give them any finite phase"
        )
    # Walker shells give many satellites the same phase up to round-off;
    # rounding (before the modulo, so −1e-13° becomes 0°, not 360°) makes
    # those ties exact so that they break by plane, keeping arcs contiguous
    # across neighbouring planes instead of shuffled by float noise.
    a = np.mod(np.round(a, PHASE_DECIMALS), 360.0)
    return np.where(a >= 360.0, 0.0, a)


def oracle_rows(path_ms, sources, n_sat: int) -> np.ndarray:
    """Call the distance oracle and check what it returns.

    Returns a float64 (len(sources), n_sat) array of shortest-path latencies
    in ms, ``inf`` where unreachable.
    """
    sources = np.asarray(sources, dtype=np.int64)
    rows = np.asarray(path_ms(sources), dtype=np.float64)
    if rows.shape != (sources.size, n_sat):
        raise PlacementError(
            f"path_ms(sources) must return shape (len(sources), n_sat) = ({sources.size}, {n_sat}), "
            f"got {rows.shape}; it gives the shortest-path latency in ms from each source to every satellite"
        )
    # One pass: the minimum is NaN if any entry is, and negative if any entry is. An oracle whose rows
    # were checked as it fetched them (a StepOracle) is not checked again: a pass over every row per call.
    if rows.size and not getattr(path_ms, "rows_checked", False) and not rows.min() >= 0:
        raise PlacementError(
            "path_ms returned NaN or negative latencies; unreachable satellites must be inf, never NaN"
        )
    return rows
