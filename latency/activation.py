"""Activation profiles: how likely each expert is to be among a token's top-k.

A profile is an array ``(n_moe_layers, n_routed_experts)`` of inclusion
probabilities: entry ``[l, e]`` is P(expert e of MoE layer l is among the k
experts a token selects). Each row sums to ``top_k`` (a token picks exactly k
experts), and each entry is at most 1.

Sources of profiles:

* generators with a seed: ``uniform``, ``zipf:s`` and ``dirichlet:alpha``
  (LLaMA-MoE's per-expert statistics are not public, docs/models.md §2, so the
  skew is synthesised and swept as a parameter);
* measured per-expert selection counts from a CSV or NetCDF file;
* router traces (token × layer × k expert ids), which also give co-activation.

Turning weights into probabilities. Scaling a weight vector to sum to k can
push the heaviest experts above 1 (Zipf with s = 1 over 16 experts and
k = 4 gives the head expert 4 × 0.296 = 1.18). :func:`cap_probabilities`
water-fills instead: it finds the scale λ with ``sum(min(1, λ w)) = k``,
so capped experts are always selected and the rest stay proportional to
their weights.

Sampling top-k sets with these marginals. The default law is the
conditional-Bernoulli one of :mod:`latency.exactly_k` (``P(S) ∝ prod w``,
|S| = k), whose expected maximum :func:`latency.expected_max` gives
exactly. A second law, kept for comparison, is Gumbel top-k: with logits
``log w`` it draws k experts without replacement with probability
proportional to w (Plackett-Luce; Kool et al., ICML 2019, "Stochastic beams
and where to find them"): a softmax router with Gumbel noise. Its inclusion
probabilities are *not* proportional to w, so :func:`topk_logits` calibrates
w until the Plackett-Luce inclusion probabilities (computed by
:func:`plackett_luce_inclusion`, an exponential-race integral) equal the
profile.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path

import numpy as np

from .exactly_k import FORCED_ABOVE, exactly_k_weights, sample_exactly_k
from .exceptions import ActivationError
from .specs import ModelSpec, load_model

__all__ = [
    "activation_profile",
    "sample_gumbel_topk",
    "cap_probabilities",
    "check_profile",
    "load_counts",
    "probabilities_from_counts",
    "load_trace",
    "counts_from_trace",
    "coactivation_from_trace",
    "plackett_luce_inclusion",
    "topk_logits",
    "sample_active",
]

_SPEC_HELP = "uniform, zipf:S (S >= 0), dirichlet:ALPHA (ALPHA > 0) or file:PATH"


def cap_probabilities(weights, k):
    """Inclusion probabilities proportional to ``weights``, capped at 1, summing to ``k`` per row.

    Water-filling: with experts sorted by weight, the m heaviest are capped
    at 1 and the others get ``λ w`` with ``λ = (k - m) / (sum of the others)``,
    for the smallest m that keeps every uncapped ``λ w`` ≤ 1.

    Parameters
    ----------
    weights : array_like, shape (..., E)
        Non-negative weights; at least ``k`` positive per row.
    k : int
        Experts selected per token.

    Examples
    --------
    Zipf(1) over 4 experts, k = 3: plain scaling would give the head 1.44.

    >>> cap_probabilities([1, 1/2, 1/3, 1/4], 3).round(4).tolist()
    [1.0, 0.9231, 0.6154, 0.4615]
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 0 or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ActivationError("weights must be a finite, non-negative array (..., n_experts)")
    n = w.shape[-1]
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise ActivationError(f"k = {k!r} must be an integer in 1..{n} (the number of experts)")
    flat = w.reshape(-1, n)
    positive = (flat > 0).sum(axis=1)
    if np.any(positive < k):
        row = int(np.argmax(positive < k))
        raise ActivationError(f"row {row} has only {positive[row]} experts with positive weight but "
                              f"k = {k} must be selected; give at least k positive weights")
    # Scale each row to max 1 first: the result is scale-free and tiny weights then cannot overflow λ.
    flat = flat / flat.max(axis=1, keepdims=True)
    order = np.argsort(-flat, axis=1, kind="stable")
    ws = np.take_along_axis(flat, order, axis=1)
    suffix = np.cumsum(ws[:, ::-1], axis=1)[:, ::-1]
    m = np.arange(k)
    lam = (k - m) / suffix[:, :k]
    ok = ws[:, :k] * lam <= 1.0 + 1e-12
    first = np.argmax(ok, axis=1)  # m = k - 1 always qualifies, so a True exists
    lam_star = lam[np.arange(len(flat)), first]
    ps = np.minimum(1.0, ws * lam_star[:, None])
    ps[np.arange(n)[None, :] < first[:, None]] = 1.0
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, axis=1)
    return out.reshape(w.shape)


def check_profile(probs, model=None, top_k=None, what="activation profile") -> np.ndarray:
    """Validate a profile: finite, in [0, 1], rows summing to ``top_k``; return it as float64.

    Examples
    --------
    >>> check_profile([[0.5, 0.5]], top_k=1).shape
    (1, 2)
    """
    p = np.asarray(probs, dtype=np.float64)
    if model is not None:
        model = load_model(model)
        top_k = model.top_k
        if p.shape != (model.n_moe_layers, model.n_routed_experts):
            raise ActivationError(f"{what} has shape {p.shape}; {model.name} needs "
                                  f"(n_moe_layers, n_routed_experts) = ({model.n_moe_layers}, "
                                  f"{model.n_routed_experts})")
    if p.ndim != 2:
        raise ActivationError(f"{what} must be 2-D (layer, expert), got shape {p.shape}")
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1 + 1e-9):
        raise ActivationError(f"{what}: probabilities must lie in [0, 1] (an expert is selected at most "
                              "once per token); use cap_probabilities() to turn weights into probabilities")
    if top_k is not None:
        sums = p.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - top_k) > 1e-6 * max(1, top_k))
        if bad.size:
            raise ActivationError(f"{what}: row {bad[0]} sums to {sums[bad[0]]:.6g}, but each row must sum to "
                                  f"top_k = {top_k} (a token selects exactly top_k experts)")
    return np.minimum(p, 1.0)


def activation_profile(model, spec: str = "zipf:1.0", seed: int = 0) -> np.ndarray:
    """Inclusion probabilities ``(n_moe_layers, n_routed_experts)`` for ``model``.

    Parameters
    ----------
    model : ModelSpec or str
        The model (or a preset name).
    spec : str
        ``"uniform"``; ``"zipf:S"`` — weight of the r-th most popular expert
        ∝ r^-S, with a random order of experts in each layer; ``"dirichlet:ALPHA"``
        — weights drawn per layer from a symmetric Dirichlet(ALPHA) (small
        ALPHA = strong skew); ``"file:PATH"`` — measured counts (CSV/NetCDF,
        see :func:`load_counts`) or a router trace (``.npy`` or NetCDF with
        ``expert_id``, see :func:`load_trace`). Generated weights become
        probabilities by :func:`cap_probabilities`.
    seed : int
        Seed of the generator (CLI ``--seed``); the same seed gives the same profile.

    Examples
    --------
    >>> p = activation_profile("llama-moe-3.5b", "zipf:1.0", seed=0)
    >>> p.shape, bool(abs(p.sum(axis=1) - 4).max() < 1e-12), bool(p.max() <= 1)
    ((32, 16), True, True)
    """
    model = load_model(model)
    n_layers, n_experts, k = model.n_moe_layers, model.n_routed_experts, model.top_k
    if not isinstance(spec, str):
        raise ActivationError(f"activation spec {spec!r} must be a string: {_SPEC_HELP}")
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ActivationError(f"seed = {seed!r} must be a whole number >= 0 (CLI --seed)") from None
    if kind == "uniform" and not arg:
        return np.full((n_layers, n_experts), k / n_experts)
    if kind == "file":
        if not arg:
            raise ActivationError(f"activation spec {spec!r} needs a path: file:PATH")
        return _profile_from_file(Path(arg), model)
    if kind in ("zipf", "dirichlet"):
        try:
            value = float(arg)
        except ValueError:
            raise ActivationError(f"activation spec {spec!r}: {arg!r} is not a number; expected {_SPEC_HELP}") \
                from None
        if kind == "zipf":
            if not (math.isfinite(value) and value >= 0):
                raise ActivationError(f"activation spec {spec!r}: the Zipf exponent must be >= 0")
            base = np.arange(1, n_experts + 1, dtype=np.float64) ** -value
            weights = np.stack([base[rng.permutation(n_experts)] for _ in range(n_layers)])
        else:
            if not (math.isfinite(value) and value > 0):
                raise ActivationError(f"activation spec {spec!r}: the Dirichlet concentration must be > 0")
            weights = rng.dirichlet(np.full(n_experts, value), size=n_layers)
            # A tiny floor keeps every expert possible: with ALPHA << 1 draws can underflow to 0,
            # which would leave fewer than k selectable experts.
            weights = np.maximum(weights, 1e-12 * weights.max(axis=1, keepdims=True))
        return cap_probabilities(weights, k)
    raise ActivationError(f"unknown activation spec {spec!r}; expected {_SPEC_HELP}")


def _profile_from_file(path: Path, model: ModelSpec) -> np.ndarray:
    if not path.is_file():
        raise ActivationError(f"{path}: no such activation file (file:PATH expects counts as CSV/NetCDF "
                              "or a trace as .npy/NetCDF)")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        counts = counts_from_trace(load_trace(path), model.n_routed_experts)
    elif suffix in (".nc", ".nc4", ".netcdf", ".h5"):
        import xarray as xr

        with xr.open_dataset(path) as ds:
            is_trace = "expert_id" in ds
        counts = counts_from_trace(load_trace(path), model.n_routed_experts) if is_trace \
            else load_counts(path, model)
    else:
        counts = load_counts(path, model)
    if counts.shape[0] != model.n_moe_layers:
        raise ActivationError(f"{path}: {counts.shape[0]} layers of counts, but {model.name} has "
                              f"{model.n_moe_layers} MoE layers")
    return probabilities_from_counts(counts, model.top_k, origin=str(path))


def probabilities_from_counts(counts, top_k: int, origin: str = "counts") -> np.ndarray:
    """Inclusion probabilities from per-expert selection counts ``(layers, experts)``.

    With T tokens each selecting k experts, a layer's counts sum to ``k T``
    and expert e was selected in ``count_e / T = k count_e / sum`` of the
    tokens. Counts that are only relative loads (not exact top-k counts) can
    exceed 1 that way; :func:`cap_probabilities` caps them.

    Examples
    --------
    >>> probabilities_from_counts([[30, 10, 0, 0]], top_k=1).tolist()
    [[0.75, 0.25, 0.0, 0.0]]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or np.any(~np.isfinite(counts)) or np.any(counts < 0):
        raise ActivationError(f"{origin}: counts must be a finite, non-negative (layer, expert) table")
    n_experts = counts.shape[1]
    if not 1 <= top_k <= n_experts:
        raise ActivationError(f"{origin}: top_k = {top_k} must lie in 1..{n_experts}")
    positive = (counts > 0).sum(axis=1)
    if np.any(positive < top_k):
        layer = int(np.argmax(positive < top_k))
        raise ActivationError(f"{origin}: layer {layer} has counts for only {positive[layer]} experts, fewer "
                              f"than top_k = {top_k}; every token selects top_k distinct experts")
    return cap_probabilities(counts, int(top_k))


def load_counts(path, model=None) -> np.ndarray:
    """Per-expert selection counts ``(layers, experts)`` from a CSV or NetCDF file.

    CSV: a header ``layer,expert,count`` and one row per (layer, expert);
    missing pairs count 0, a pair listed twice is an error. NetCDF: a
    variable ``count`` with dims ``(layer, expert)``. Layer numbers are the
    0-based positions among the MoE layers.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "c.csv")
    ...     _ = open(f, "w").write("layer,expert,count\\n0,0,3\\n0,1,1\\n")
    ...     load_counts(f).tolist()
    [[3.0, 1.0]]
    """
    path = Path(path)
    model = load_model(model) if model is not None else None
    suffix = path.suffix.lower()
    if suffix in (".nc", ".nc4", ".netcdf", ".h5"):
        import xarray as xr

        try:
            ds = xr.open_dataset(path)
        except (OSError, ValueError) as exc:
            raise ActivationError(f"{path}: cannot read NetCDF ({exc})") from None
        with ds:
            if "count" not in ds:
                raise ActivationError(f"{path}: no variable 'count'; expected count(layer, expert)")
            var = ds["count"]
            if var.dims != ("layer", "expert"):
                raise ActivationError(f"{path}: variable 'count' has dims {var.dims}; expected ('layer', 'expert')")
            counts = np.asarray(var.values, dtype=np.float64)
        if np.any(~np.isfinite(counts)) or np.any(counts < 0):
            raise ActivationError(f"{path}: variable 'count' must be finite and >= 0")
    else:
        counts = _read_counts_csv(path, model)
    if model is not None and counts.shape != (model.n_moe_layers, model.n_routed_experts):
        raise ActivationError(f"{path}: counts have shape {counts.shape}; {model.name} needs "
                              f"({model.n_moe_layers}, {model.n_routed_experts}) (MoE layers, routed experts)")
    return counts


def _csv_rows(reader, path):
    try:
        yield from reader
    except csv.Error as exc:
        raise ActivationError(f"{path}:{reader.line_num}: bad CSV ({exc})") from None


def _read_counts_csv(path: Path, model) -> np.ndarray:
    try:
        # Decoded up front so that a non-UTF-8 file is one clear error, not a UnicodeDecodeError mid-loop.
        handle = io.StringIO(path.read_text(encoding="utf-8"), newline="")
    except OSError as exc:
        raise ActivationError(f"{path}: cannot read counts file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ActivationError(f"{path}: counts file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    entries = {}
    with handle:
        reader = csv.reader(handle)
        rows = _csv_rows(reader, path)
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header] != ["layer", "expert", "count"]:
            raise ActivationError(f"{path}:1: header must be 'layer,expert,count', got {header!r}")
        for row in rows:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise ActivationError(f"{path}:{line}: expected 3 fields layer,expert,count, got {len(row)}")
            try:
                layer, expert = int(row[0]), int(row[1])
                count = float(row[2])
            except ValueError:
                raise ActivationError(f"{path}:{line}: {','.join(row)!r} is not integer,integer,number") from None
            if layer < 0 or expert < 0:
                raise ActivationError(f"{path}:{line}: layer and expert must be >= 0")
            if model is not None and (layer >= model.n_moe_layers or expert >= model.n_routed_experts):
                raise ActivationError(f"{path}:{line}: (layer {layer}, expert {expert}) outside {model.name}'s "
                                      f"{model.n_moe_layers} MoE layers x {model.n_routed_experts} experts")
            if not math.isfinite(count) or count < 0:
                raise ActivationError(f"{path}:{line}: count {row[2]!r} must be a finite number >= 0")
            if (layer, expert) in entries:
                raise ActivationError(f"{path}:{line}: (layer {layer}, expert {expert}) listed twice")
            entries[(layer, expert)] = count
    if not entries:
        raise ActivationError(f"{path}: no counts after the header")
    if model is not None:
        shape = (model.n_moe_layers, model.n_routed_experts)
    else:
        shape = (max(key[0] for key in entries) + 1, max(key[1] for key in entries) + 1)
    counts = np.zeros(shape)
    for (layer, expert), count in entries.items():
        counts[layer, expert] = count
    return counts


def load_trace(path) -> np.ndarray:
    """A router trace: int array ``(token, layer, slot)`` of selected expert ids.

    Formats: ``.npy`` with that 3-D integer array, or NetCDF with an integer
    variable ``expert_id`` of dims ``(token, layer, slot)``. Ids are 0-based;
    -1 marks an empty slot.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "t.npy")
    ...     np.save(f, np.array([[[0, 2]], [[1, 2]]]))
    ...     load_trace(f).shape
    (2, 1, 2)
    """
    path = Path(path)
    if not path.is_file():
        raise ActivationError(f"{path}: no such trace file")
    if path.suffix.lower() == ".npy":
        trace = np.load(path, allow_pickle=False)
    else:
        import xarray as xr

        try:
            ds = xr.open_dataset(path)
        except (OSError, ValueError) as exc:
            raise ActivationError(f"{path}: cannot read NetCDF trace ({exc})") from None
        with ds:
            if "expert_id" not in ds:
                raise ActivationError(f"{path}: no variable 'expert_id'; expected expert_id(token, layer, slot)")
            if ds["expert_id"].dims != ("token", "layer", "slot"):
                raise ActivationError(f"{path}: 'expert_id' has dims {ds['expert_id'].dims}; "
                                      "expected ('token', 'layer', 'slot')")
            trace = np.asarray(ds["expert_id"].values)
    return _check_trace(trace, str(path))


def _check_trace(trace, origin="trace", n_experts=None) -> np.ndarray:
    trace = np.asarray(trace)
    if trace.ndim != 3 or trace.shape[0] == 0:
        raise ActivationError(f"{origin}: a trace is a non-empty (token, layer, slot) array, got shape {trace.shape}")
    if not np.issubdtype(trace.dtype, np.integer):
        if np.any(~np.isfinite(trace)) or np.any(trace != np.round(trace)):
            raise ActivationError(f"{origin}: expert ids must be integers")
        trace = trace.astype(np.int64)
    if np.any(trace < -1):
        raise ActivationError(f"{origin}: expert ids must be >= 0 (or -1 for an empty slot)")
    if n_experts is not None and np.any(trace >= n_experts):
        raise ActivationError(f"{origin}: expert id {int(trace.max())} >= n_experts = {n_experts}")
    valid = np.sort(np.where(trace < 0, -1 - np.arange(trace.shape[2]), trace), axis=2)
    if np.any(valid[:, :, 1:] == valid[:, :, :-1]):
        raise ActivationError(f"{origin}: a token selects the same expert twice in one layer")
    return trace.astype(np.int64, copy=False)


def counts_from_trace(trace, n_experts: int) -> np.ndarray:
    """Per-expert selection counts ``(layer, expert)`` of a trace.

    Examples
    --------
    >>> counts_from_trace(np.array([[[0, 2]], [[1, 2]]]), 3).tolist()
    [[1.0, 1.0, 2.0]]
    """
    trace = _check_trace(trace, n_experts=n_experts)
    n_tokens, n_layers, _ = trace.shape
    layer = np.broadcast_to(np.arange(n_layers)[None, :, None], trace.shape)
    keep = trace >= 0
    flat = layer[keep] * n_experts + trace[keep]
    return np.bincount(flat, minlength=n_layers * n_experts).reshape(n_layers, n_experts).astype(np.float64)


def coactivation_from_trace(trace, n_experts: int) -> np.ndarray:
    """Co-activation probabilities ``(layer, expert, expert)`` of a trace.

    Entry ``[l, i, j]`` is the fraction of tokens that select both i and j in
    layer l; the diagonal holds the inclusion probabilities.

    Examples
    --------
    >>> c = coactivation_from_trace(np.array([[[0, 2]], [[1, 2]]]), 3)
    >>> c[0].tolist()
    [[0.5, 0.0, 0.5], [0.0, 0.5, 0.5], [0.5, 0.5, 1.0]]
    """
    trace = _check_trace(trace, n_experts=n_experts)
    n_tokens, n_layers, _ = trace.shape
    onehot = np.zeros((n_tokens, n_layers, n_experts + 1), dtype=np.float64)
    t_idx = np.arange(n_tokens)[:, None, None]
    l_idx = np.arange(n_layers)[None, :, None]
    onehot[t_idx, l_idx, np.where(trace < 0, n_experts, trace)] = 1.0
    onehot = onehot[..., :n_experts]
    return np.einsum("tli,tlj->lij", onehot, onehot) / n_tokens


# --------------------------------------------------------------------------- Gumbel top-k

def plackett_luce_inclusion(weights, k: int, nodes_per_efold: int = 4) -> np.ndarray:
    """Probability that each item is among the k drawn without replacement ∝ ``weights``.

    Gumbel top-k with logits ``log w`` is the same law. Exponential-race
    form: give item j a clock ``T_j ~ Exp(w_j)``; the k first to ring are
    drawn. So ``π_i = ∫ w_i e^{-w_i t} P(fewer than k others rang by t) dt``,
    where the count of others is Poisson-binomial with ``q_j(t) = 1 - e^{-w_j t}``.
    The integral is a trapezoid rule in ``log t`` (the integrand decays doubly
    exponentially at both ends, so the rule converges geometrically: 4 nodes
    per factor e give ~1e-12 against enumeration); the leave-one-out
    Poisson-binomial CDF comes from prefix and suffix polynomial products
    truncated at degree k - 1. For k = 1 the answer is ``w / sum(w)``.

    Parameters
    ----------
    weights : array_like, shape (..., E)
        Non-negative weights.
    k : int
        Items drawn.
    nodes_per_efold : int
        Quadrature nodes per factor e of ``t``.

    Examples
    --------
    Weights 2, 1, 1 and k = 2: P(item 0 drawn) = 2/4 + 2 · (1/4 · 2/3) = 5/6.

    >>> plackett_luce_inclusion([2.0, 1.0, 1.0], 2).round(6).tolist()
    [0.833333, 0.583333, 0.583333]
    """
    w = np.asarray(weights, dtype=np.float64)
    shape = w.shape
    n = shape[-1]
    flat = w.reshape(-1, n)
    if np.any(~np.isfinite(flat)) or np.any(flat < 0):
        raise ActivationError("weights must be finite and >= 0")
    if not 0 <= k <= n:
        raise ActivationError(f"k = {k} must lie in 0..{n}")
    out = np.zeros_like(flat)
    if k == 0:
        return out.reshape(shape)
    positive = (flat > 0).sum(axis=1)
    easy = positive <= k
    out[easy] = (flat[easy] > 0).astype(np.float64)
    rows = np.flatnonzero(~easy)
    if rows.size == 0:
        return out.reshape(shape)
    wr = flat[rows] / flat[rows].sum(axis=1, keepdims=True)
    if k == 1:
        out[rows] = wr
        return out.reshape(shape)
    # Before t_a = 1e-6 / sum(w), P(k >= 2 others rang) < 1e-12: there the integrand is
    # w_i e^{-w_i t} and integrates to 1 - e^{-w_i t_a} in closed form. The trapezoid rule then
    # starts where the integrand is w_i t_a, not 0: the Euler-Maclaurin end correction
    # h^2/12 * f'(s_lo), with f'(s_lo) = w_i t_a, restores its high order.
    # Beyond t_hi = 50 / w_(k+1), at least k of any item's rivals have rung (error < k e^-50).
    kth = -np.sort(-wr, axis=1)[:, k]
    t_a = 1e-6
    s_lo = np.full(len(rows), math.log(t_a))
    s_hi = np.log(50.0 / kth)
    n_nodes = int(math.ceil((s_hi - s_lo).max() * nodes_per_efold)) + 1
    frac = np.linspace(0.0, 1.0, n_nodes)
    s = s_lo[:, None] + (s_hi - s_lo)[:, None] * frac[None, :]          # (R, M)
    step = (s_hi - s_lo) / (n_nodes - 1)
    trap = np.full(n_nodes, 1.0)
    trap[[0, -1]] = 0.5
    t = np.exp(s)
    budget = 4_000_000
    chunk = max(1, budget // ((n + 1) * n_nodes * k))
    for start in range(0, len(rows), chunk):
        sl = slice(start, start + chunk)
        wc, tc = wr[sl], t[sl]                                          # (R, E), (R, M)
        x = wc[:, None, :] * tc[:, :, None]                             # (R, M, E) = w_j t
        q = -np.expm1(-x)                                               # P(clock j rang by t)
        r, m = len(wc), n_nodes
        prefix = np.empty((n + 1, r, m, k))
        prefix[0] = 0.0
        prefix[0, ..., 0] = 1.0
        for j in range(n):
            qj = q[:, :, j, None]
            prev, new = prefix[j], prefix[j + 1]
            np.multiply(prev, 1.0 - qj, out=new)
            new[..., 1:] += prev[..., :-1] * qj
        suffix = np.zeros((r, m, k))
        suffix[..., 0] = 1.0
        below = np.empty((r, m, n))
        for i in range(n - 1, -1, -1):
            # P(#others < k) = sum_a prefix_i[a] * P(suffix count <= k-1-a).
            cdf = np.cumsum(suffix, axis=-1)[..., ::-1]
            below[:, :, i] = (prefix[i] * cdf).sum(axis=-1)
            qi = q[:, :, i, None]
            shifted = suffix[..., :-1] * qi
            suffix *= 1.0 - qi
            suffix[..., 1:] += shifted
        integrand = x * np.exp(-x) * below                              # per d(log t), (R, M, E)
        body = np.einsum("rme,m->re", integrand, trap) * step[sl, None]
        end_correction = step[sl, None] ** 2 / 12.0 * wc * t_a
        out[rows[sl]] = body + end_correction - np.expm1(-wc * t_a)
    return np.clip(out, 0.0, 1.0).reshape(shape)


def topk_logits(probs, tol: float = 1e-6, max_iter: int = 2000) -> np.ndarray:
    """Logits whose Gumbel top-k draws have the inclusion probabilities ``probs``.

    Rows of ``probs`` must sum to an integer k (per row). Experts with
    probability 1 get ``+inf`` (always drawn), with probability 0 ``-inf``;
    the others are calibrated by the fixed-point iteration
    ``w ← w · p / π(w)`` on the Plackett-Luce inclusion probabilities π.

    Examples
    --------
    >>> p = np.array([[0.9, 0.5, 0.3, 0.3]])  # k = 2
    >>> logits = topk_logits(p)
    >>> plackett_luce_inclusion(np.exp(logits), 2).round(4).tolist()
    [[0.9, 0.5, 0.3, 0.3]]
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        return topk_logits(p[None], tol, max_iter)[0]
    p = check_profile(p, what="probabilities")
    sums = p.sum(axis=1)
    ks = np.round(sums).astype(int)
    if np.any(np.abs(sums - ks) > 1e-6 * np.maximum(1, ks)):
        row = int(np.argmax(np.abs(sums - ks)))
        raise ActivationError(f"row {row} sums to {sums[row]:.6g}; top-k probabilities sum to an integer k")
    forced = p >= FORCED_ABOVE
    zero = p <= 0.0
    logits = np.where(forced, np.inf, np.where(zero, -np.inf, 0.0))
    free_k = ks - forced.sum(axis=1)
    target = np.where(forced | zero, 0.0, p)
    worst = 0.0
    for kk in np.unique(free_k):
        rows = np.flatnonzero((free_k == kk) & (target > 0).any(axis=1))
        if rows.size == 0 or kk == 0:
            continue
        tgt = target[rows]
        # Warm start: in the exponential race, item i is drawn about when its clock rings
        # before a common time tau, so pi_i ~ 1 - exp(-w_i tau): w_i ~ -log(1 - p_i).
        w = -np.log1p(-np.minimum(tgt, 1.0 - 1e-12))
        # Over-relaxed fixed point (exponent 1.5: about 1.5x fewer steps than 1, while 2
        # diverges on skewed rows); rows leave the loop once they meet the tolerance.
        active = np.arange(len(rows))
        err = 0.0
        for _ in range(max_iter):
            pi = plackett_luce_inclusion(w[active], int(kk))
            row_err = np.abs(pi - tgt[active]).max(axis=1)
            done = row_err < tol
            active, pi = active[~done], pi[~done]
            if active.size == 0:
                break
            ta = tgt[active]
            wa = np.where(ta > 0, w[active] * (ta / np.maximum(pi, 1e-300)) ** 1.5, 0.0)
            w[active] = wa / wa.max(axis=1, keepdims=True)
        else:
            err = float(row_err.max())
        worst = max(worst, err)
        with np.errstate(divide="ignore"):
            logits[rows] = np.where(tgt > 0, np.log(w), logits[rows])
    if worst > 1e-4:
        warnings.warn(f"Gumbel top-k calibration reached a marginal error of {worst:.2g} only; "
                      "sampled inclusion probabilities deviate from the profile by up to that much",
                      RuntimeWarning, stacklevel=2)
    return logits


def sample_active(probs, n_samples: int, rng=None, method: str = "exactly-k", logits=None) -> np.ndarray:
    """Boolean activation masks ``(n_samples, layers, experts)`` drawn from a profile.

    Parameters
    ----------
    probs : array_like, shape (L, E)
        Inclusion probabilities; each row sums to that layer's k (0 for a dense layer).
    n_samples : int
        Number of tokens.
    rng : numpy.random.Generator or int, optional
        Random source or seed.
    method : {"exactly-k", "gumbel-topk", "independent"}
        ``"exactly-k"``: exactly k experts per layer under the
        conditional-Bernoulli law calibrated to ``probs`` (the law of
        :func:`latency.expected_max` and :func:`latency.token_latency`);
        ``"gumbel-topk"``: exactly k experts per layer, a Gumbel-perturbed
        softmax router calibrated to ``probs`` (Plackett-Luce);
        ``"independent"``: each expert active with its probability,
        independently (the paper's approximation).
    logits : array_like, optional
        Precomputed :func:`topk_logits` of ``probs``.

    Examples
    --------
    >>> m = sample_active([[0.5, 0.5, 1.0]], 4, rng=0)
    >>> m.shape, m.sum(axis=2).ravel().tolist()
    ((4, 1, 3), [2, 2, 2, 2])
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ActivationError(f"probs must be (layer, expert), got shape {p.shape}")
    rng = np.random.default_rng(rng)
    if method == "independent":
        return rng.random((n_samples,) + p.shape) < p
    if method == "exactly-k":
        weights, ks = exactly_k_weights(check_profile(p, what="probabilities"))
        return sample_exactly_k(weights, ks, n_samples, rng)
    if method != "gumbel-topk":
        raise ActivationError(f"method {method!r} must be 'exactly-k', 'gumbel-topk' or 'independent'")
    if logits is None:
        logits = topk_logits(p)
    return sample_gumbel_topk(logits, np.round(p.sum(axis=1)).astype(int), n_samples, rng)


def sample_gumbel_topk(logits, ks, n_samples: int, rng) -> np.ndarray:
    """Boolean masks ``(n_samples, layers, experts)``: the ``ks[l]`` largest Gumbel-perturbed logits of each layer.

    The Gumbel top-k router (Plackett-Luce law): every token adds
    independent standard Gumbel noise to the logits and keeps the k largest
    keys of each layer (none in a layer with k = 0). The one sampler of
    :func:`sample_active` and of :func:`latency.sample_token_latency`.

    Parameters
    ----------
    logits : array_like, shape (L, E)
        Per-expert logits (:func:`topk_logits` calibrates them to inclusion probabilities).
    ks : array_like of int, shape (L,)
        Experts drawn per layer.
    n_samples : int
        Number of tokens.
    rng : numpy.random.Generator
        Random source (one ``gumbel`` draw of the whole block).

    Examples
    --------
    >>> m = sample_gumbel_topk(np.zeros((2, 4)), [2, 0], 3, np.random.default_rng(0))
    >>> m.shape, m.sum(axis=2).tolist()
    ((3, 2, 4), [[2, 0], [2, 0], [2, 0]])
    """
    logits = np.asarray(logits, dtype=np.float64)
    ks = np.asarray(ks, dtype=int)
    keys = logits[None] + rng.gumbel(size=(n_samples,) + logits.shape)
    n_experts = logits.shape[1]
    mask = np.zeros(keys.shape, dtype=bool)
    for kk in np.unique(ks):
        if kk == 0:
            continue
        rows = np.flatnonzero(ks == kk)
        sub = keys[:, rows]
        kth = np.partition(sub, n_experts - kk, axis=-1)[..., n_experts - kk, None]
        mask[:, rows] = sub >= kth
    return mask

