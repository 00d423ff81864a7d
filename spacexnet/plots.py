"""Figures of Space-XNet: subnet maps, latency CDFs and sweep time series.

Every function builds a :class:`matplotlib.figure.Figure` directly (never
``pyplot``), so no global state is touched: figures can be made from several
threads at once and no window ever opens. Each returns the figure and, when
``path`` is given, also writes it (PNG at 150 dpi unless the suffix names
another format matplotlib knows) through a temporary file renamed into
place, so an interrupted run never leaves a truncated image.

No coastline data ships with matplotlib, Skyfield or Astropy (checked: the
only geographic sample in matplotlib is a 2°×4° DEM of the Pacific
Northwest), and Space-XNet never downloads map data, so the world map is a
plain equirectangular frame with a 30° graticule and the equator.

Sweep figures read the dataset contract of ``spacexnet sweep``
(:mod:`spacexnet.dataset`):
``token_latency_expected_ms`` and ``token_latency_p99_ms`` (policy, time),
``layer_latency_expected_ms`` (policy, time, layer), ``migrations``
(policy, time) and ``bytes_moved`` (policy, time, units ``bytes``), with a
string coordinate ``policy`` and a UTC ``time`` coordinate.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap, hsv_to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter

from .dataset import VARIABLES, units
from .exceptions import OutputError, SpaceXNetError
from .io import check_target

__all__ = [
    "plot_subnets_map",
    "plot_placements_map",
    "plot_latency_cdf",
    "plot_latency_over_time",
    "plot_layer_heatmap",
    "plot_migrations",
    "layer_colors",
    "check_sweep_dataset",
    "save_figure",
]

#: Resolution of written raster figures, dots per inch.
DPI = 150

#: Variables of the sweep dataset the figures draw, with the dimensions each has (:mod:`spacexnet.dataset`).
SWEEP_VARIABLES = {name: VARIABLES[name].dims for name in ("token_latency_expected_ms", "token_latency_p99_ms",
                                                             "layer_latency_expected_ms", "migrations", "bytes_moved")}

# Fixed colours for the policies we know, so that "handover" has the same
# colour in every figure and every dataset; other names take the next free
# tab10 colours in dataset order.
_POLICY_COLORS = {"static": "tab:blue", "recompute": "tab:orange", "handover": "tab:green"}
_SPARE_COLORS = ["tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]


# --------------------------------------------------------------------------- output


def save_figure(fig: Figure, path, *, overwrite: bool = True, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` through a temporary file renamed into place.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or path-like
        Target file; the suffix picks the format (``.png`` when there is none).
    overwrite : bool
        Replace an existing file. Without it an existing file is an error,
        checked atomically (hard link of the finished temporary file), so a
        file that appears while the figure is drawn is not clobbered either.
    dpi : int
        Resolution of raster formats, dots per inch.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        The file exists and ``overwrite`` is false, the directory is missing,
        the format is unknown, or the write fails.

    Examples
    --------
    >>> import os, tempfile
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 2))
    >>> _ = fig.add_subplot().plot([0, 1])
    >>> save_figure(fig, os.path.join(tempfile.mkdtemp(), "line.png")).suffix
    '.png'
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise OutputError(f"{path}: unknown image format {fmt!r}; use one of {', '.join(sorted(supported))}")
    check_target(path, overwrite)
    directory = path.parent if str(path.parent) else Path(".")
    # Not tempfile.mkstemp: its files are 0600, and the image should get the user's umask like any file.
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.part"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise OutputError(f"{path}: could not write ({exc.strerror or exc})") from exc
    try:
        fig.savefig(tmp, format=fmt, dpi=dpi)
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the name exists, unlike rename(): no window between check and write.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputError(f"{path}: file exists; pass --overwrite (overwrite=True) to replace it") from None
    except OSError as exc:
        raise OutputError(f"{path}: could not write ({exc.strerror or exc})") from exc
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return path


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- maps


def layer_colors(n_layers: int) -> np.ndarray:
    """Distinct RGBA colours for ``n_layers`` layers that form a ring.

    Hue goes once around the colour wheel with the layer index, so the ring
    of layers reads as a ring of colours with no seam between the last layer
    and the first. A continuous cyclic map alone would make neighbouring
    subnets (which are also neighbours on the map) nearly the same colour at
    32–64 layers, so the brightness alternates between consecutive layers.

    Parameters
    ----------
    n_layers : int
        Number of layers, ≥ 1.

    Returns
    -------
    ndarray of float64, shape (n_layers, 4)
        RGBA colours in [0, 1].

    Examples
    --------
    >>> c = layer_colors(32)
    >>> c.shape, bool((c[0] != c[1]).any())
    ((32, 4), True)
    """
    n_layers = int(n_layers)
    if n_layers < 1:
        raise SpaceXNetError(f"n_layers {n_layers} must be at least 1")
    layer = np.arange(n_layers)
    hue = layer / n_layers
    value = np.where(layer % 2 == 0, 0.95, 0.62)
    saturation = np.where(layer % 2 == 0, 0.75, 0.95)
    if n_layers % 2 == 1 and n_layers > 1:
        # Odd ring: the last and first layers would both be bright and of nearly the same hue.
        value[-1], saturation[-1] = 0.78, 0.55
    rgb = hsv_to_rgb(np.column_stack([hue, saturation, value]))
    return np.column_stack([rgb, np.ones(n_layers)])


def _as_placement(value, name: str):
    """(subnet, gate_sat, expert_sat) from a tuple or any object with those attributes (placement.Placement)."""
    if all(hasattr(value, key) for key in ("subnet", "gate_sat", "expert_sat")):
        return value.subnet, value.gate_sat, value.expert_sat
    try:
        subnet, gate_sat, expert_sat = value
    except (TypeError, ValueError):
        raise SpaceXNetError(f"placement {name!r} must be (subnet, gate_sat, expert_sat) or a Placement, "
                             f"not {type(value).__name__}") from None
    return subnet, gate_sat, expert_sat


def _check_map_inputs(latitude_deg, longitude_deg, subnet, gate_sat, expert_sat, expert_probs):
    lat = np.asarray(latitude_deg, dtype=float).ravel()
    lon = np.asarray(longitude_deg, dtype=float).ravel()
    subnet = np.asarray(subnet).ravel()
    gate_sat = np.asarray(gate_sat).ravel()
    expert_sat = np.asarray(expert_sat)
    if expert_sat.ndim == 1:
        expert_sat = expert_sat[:, None]
    n_sat = lat.size
    if lon.size != n_sat or subnet.size != n_sat:
        raise SpaceXNetError(f"latitude_deg ({lat.size}), longitude_deg ({lon.size}) and subnet ({subnet.size}) "
                             "must have one value per satellite")
    for name, arr in (("subnet", subnet), ("gate_sat", gate_sat), ("expert_sat", expert_sat)):
        if arr.size and arr.dtype.kind not in "iu":
            raise SpaceXNetError(f"{name} must hold integers, not {arr.dtype}")
    n_layers = gate_sat.size
    if n_layers == 0:
        raise SpaceXNetError("gate_sat is empty: a placement needs at least one layer")
    if expert_sat.ndim != 2 or expert_sat.shape[0] != n_layers:
        raise SpaceXNetError(f"expert_sat has shape {expert_sat.shape}; expected ({n_layers}, n_experts), "
                             "one row per gate")
    for name, arr in (("gate_sat", gate_sat), ("expert_sat", expert_sat)):
        if arr.size and ((arr < 0).any() or (arr >= n_sat).any()):
            raise SpaceXNetError(f"{name} holds satellite indices outside [0, {n_sat - 1}]")
    if subnet.size and ((subnet < -1).any() or (subnet >= n_layers).any()):
        raise SpaceXNetError(f"subnet holds values outside [-1, {n_layers - 1}] (−1 = no subnet)")
    probs = None
    if expert_probs is not None:
        probs = np.asarray(expert_probs, dtype=float)
        if probs.shape != expert_sat.shape:
            raise SpaceXNetError(f"expert_probs has shape {probs.shape} but expert_sat has {expert_sat.shape} "
                                 "(layers, experts)")
        if not np.all(np.isfinite(probs)) or (probs < 0).any():
            raise SpaceXNetError("expert_probs must be finite and non-negative")
    # Longitudes in [-180, 180) whatever convention the caller used (0..360 from some tools).
    lon = (lon + 180.0) % 360.0 - 180.0
    return lat, lon, subnet, gate_sat, expert_sat, probs


def _world_axes(ax) -> None:
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(-180, 181, 60))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_facecolor("#f4f7fb")
    for lon in range(-180, 181, 30):
        ax.axvline(lon, color="0.8", lw=0.5, zorder=0)
    for lat in range(-90, 91, 30):
        ax.axhline(lat, color="0.8", lw=0.5, zorder=0)
    ax.axhline(0.0, color="0.45", lw=0.9, zorder=0)


def _draw_subnets(ax, lat, lon, subnet, gate_sat, expert_sat, probs, colors, label_gates=True):
    n_layers = gate_sat.size
    outside = subnet < 0
    ax.scatter(lon[outside], lat[outside], s=3, c="0.7", linewidths=0, zorder=1)
    inside = ~outside
    ax.scatter(lon[inside], lat[inside], s=7, c=colors[subnet[inside]], linewidths=0, zorder=2)

    layer_of_expert = np.repeat(np.arange(n_layers), expert_sat.shape[1])
    sats = expert_sat.ravel()
    if probs is not None:
        peak = probs.max()
        # Area (not radius) proportional to probability, as the eye reads area.
        size = 8.0 + 90.0 * (probs.ravel() / peak if peak > 0 else np.zeros(sats.size))
    else:
        size = np.full(sats.size, 22.0)
    ax.scatter(lon[sats], lat[sats], s=size, c=colors[layer_of_expert], edgecolors="black",
               linewidths=0.5, zorder=3)

    ax.scatter(lon[gate_sat], lat[gate_sat], s=140, marker="*", c=colors, edgecolors="black",
               linewidths=0.8, zorder=4)
    if label_gates:
        for layer, sat in enumerate(gate_sat):
            if np.isfinite(lon[sat]) and np.isfinite(lat[sat]):
                ax.annotate(str(layer), (lon[sat], lat[sat]), xytext=(4, 4), textcoords="offset points",
                            fontsize=6, zorder=5, clip_on=True)


def _map_legend_handles(with_probs: bool):
    expert_label = "expert (area ∝ activation probability)" if with_probs else "expert"
    return [
        Line2D([], [], ls="", marker="o", ms=3, mfc="0.4", mec="none", label="satellite in subnet (colour = layer)"),
        Line2D([], [], ls="", marker="o", ms=2, mfc="0.7", mec="none", label="satellite in no subnet"),
        Line2D([], [], ls="", marker="o", ms=6, mfc="white", mec="black", label=expert_label),
        Line2D([], [], ls="", marker="*", ms=11, mfc="white", mec="black", label="gate (number = layer)"),
    ]


def _layer_colorbar(fig, axes, colors):
    n_layers = len(colors)
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(n_layers + 1) - 0.5, n_layers)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(mappable, ax=axes, fraction=0.025, pad=0.01)
    cbar.set_label("MoE layer (subnet index)")
    step = max(1, int(np.ceil(n_layers / 16)))
    cbar.set_ticks(np.arange(0, n_layers, step))
    return cbar


def plot_subnets_map(latitude_deg, longitude_deg, subnet, gate_sat, expert_sat, *, title=None, path=None,
                     expert_probs=None) -> Figure:
    """Satellites at one instant on a world map, coloured by the MoE layer their subnet hosts.

    Parameters
    ----------
    latitude_deg, longitude_deg : array_like of float, shape (n_sat,)
        Geodetic sub-satellite points, degrees (longitude in either
        [-180, 180) or [0, 360)). NaN (an SGP4 failure) is not drawn.
    subnet : array_like of int, shape (n_sat,)
        Layer of each satellite's subnet, −1 for none (drawn small, grey).
    gate_sat : array_like of int, shape (L,)
        Gate satellite of each layer: a black-edged star with the layer number.
    expert_sat : array_like of int, shape (L, E)
        Satellite of each expert: a black-edged circle in its layer's colour
        (an expert placed outside its subnet, as ``joint`` may do, shows as
        a circle of another colour than the satellites around it).
    title : str, optional
        Figure title (default: a description with L and the satellite count).
    path : str or path-like, optional
        Also write the figure there (PNG unless the suffix says otherwise).
    expert_probs : array_like of float, shape (L, E), optional
        Activation probabilities; circle areas are proportional to them.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> lat = np.array([0.0, 10.0, -20.0, 40.0]); lon = np.array([0.0, 90.0, 180.0, -90.0])
    >>> fig = plot_subnets_map(lat, lon, [0, 0, 1, 1], [0, 2], [[1], [3]], title="two layers")
    >>> fig.axes[0].get_title()
    'two layers'
    """
    lat, lon, subnet, gate_sat, expert_sat, probs = _check_map_inputs(
        latitude_deg, longitude_deg, subnet, gate_sat, expert_sat, expert_probs)
    colors = layer_colors(gate_sat.size)
    fig = Figure(figsize=(10, 5.4), layout="constrained")
    ax = fig.add_subplot()
    _world_axes(ax)
    _draw_subnets(ax, lat, lon, subnet, gate_sat, expert_sat, probs, colors)
    ax.set_title(title if title is not None else
                 f"{gate_sat.size} MoE layers on {lat.size} satellites (equirectangular, no coastlines)")
    # Below the map, where it can never hide satellites.
    ax.legend(handles=_map_legend_handles(probs is not None), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=4, fontsize=7, frameon=False)
    _layer_colorbar(fig, ax, colors)
    return _finish(fig, path)


def plot_placements_map(placements: dict, latitude_deg, longitude_deg, path=None, *, title=None,
                        expert_probs=None) -> Figure:
    """One world-map panel per placement strategy, side by side, on the same satellites.

    Parameters
    ----------
    placements : dict of str to (subnet, gate_sat, expert_sat) or Placement
        Strategy name → placement arrays (as in :func:`plot_subnets_map`)
        or any object with ``subnet``, ``gate_sat`` and ``expert_sat``
        attributes such as :class:`placement.Placement`. All must have the
        same number of layers.
    latitude_deg, longitude_deg : array_like of float, shape (n_sat,)
        Sub-satellite points, degrees.
    path : str or path-like, optional
        Also write the figure there.
    title : str, optional
        Overall title.
    expert_probs : array_like of float, shape (L, E), optional
        Activation probabilities, shared by all panels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> lat = np.array([0.0, 10.0, -20.0, 40.0]); lon = np.array([0.0, 90.0, 180.0, -90.0])
    >>> fig = plot_placements_map({"space-xnet": ([0, 0, 1, 1], [0, 2], [[1], [3]]),
    ...                            "joint": ([0, 0, 1, 1], [0, 2], [[3], [1]])}, lat, lon)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['space-xnet', 'joint']
    """
    if not placements:
        raise SpaceXNetError("placements is empty: give at least one strategy name → placement")
    checked = {}
    for name, value in placements.items():
        checked[name] = _check_map_inputs(latitude_deg, longitude_deg, *_as_placement(value, name), expert_probs)
    n_layers = {name: arrays[3].size for name, arrays in checked.items()}
    if len(set(n_layers.values())) != 1:
        raise SpaceXNetError(f"placements have different numbers of layers: {n_layers}")
    colors = layer_colors(next(iter(n_layers.values())))
    n = len(checked)
    fig = Figure(figsize=(1.0 + 6.0 * n, 3.9), layout="constrained")
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    for ax, (name, (lat, lon, subnet, gate_sat, expert_sat, probs)) in zip(axes, checked.items()):
        _world_axes(ax)
        _draw_subnets(ax, lat, lon, subnet, gate_sat, expert_sat, probs, colors)
        ax.set_title(str(name))
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.suptitle(title if title is not None else
                 f"Placements of {len(colors)} MoE layers on {checked[next(iter(checked))][0].size} satellites")
    fig.legend(handles=_map_legend_handles(expert_probs is not None), loc="outside lower center", ncol=4,
               fontsize=7, frameon=False)
    _layer_colorbar(fig, list(axes), colors)
    return _finish(fig, path)


# --------------------------------------------------------------------------- CDF


def _log_scale_wanted(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values) & (values > 0)]
    return finite.size > 0 and finite.max() > 10.0 * finite.min()


def plot_latency_cdf(samples_ms: dict, *, path=None, title=None) -> Figure:
    """Empirical CDF of token latency, one step curve per strategy, with p50 and p99 marked.

    Parameters
    ----------
    samples_ms : dict of str to array_like of float
        Strategy name → token latency samples, ms (e.g. Monte Carlo draws).
        ``inf`` (unreachable) counts as a sample beyond every finite value,
        so the curve stops below 1; NaN samples are dropped and counted in
        the legend.
    path : str or path-like, optional
        Also write the figure there.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The x axis is logarithmic when the finite samples span more than
        a factor of 10.

    Notes
    -----
    Percentiles use the inverse of the empirical CDF (``method="inverted_cdf"``),
    so each marker sits on a step of its curve.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_latency_cdf({"space-xnet": 20 + rng.gamma(2, 2, 500), "random": 60 + rng.gamma(2, 9, 500)})
    >>> fig.axes[0].get_xlabel()
    'token latency (ms)'
    """
    if not samples_ms:
        raise SpaceXNetError("samples_ms is empty: give at least one strategy name → latency samples")
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    everything = []
    for index, (name, values) in enumerate(samples_ms.items()):
        x = np.asarray(values, dtype=float).ravel()
        n_nan = int(np.isnan(x).sum())
        x = np.sort(x[~np.isnan(x)])
        if x.size == 0:
            raise SpaceXNetError(f"samples_ms[{name!r}] has no samples (empty or all NaN)")
        everything.append(x)
        color = f"C{index % 10}"
        y = np.arange(1, x.size + 1) / x.size
        finite = np.isfinite(x)
        p50, p99 = np.quantile(x, [0.5, 0.99], method="inverted_cdf")
        notes = [f"p50 {p50:.3g} ms", f"p99 {p99:.3g} ms" if np.isfinite(p99) else "p99 unreachable"]
        if not finite.all():
            notes.append(f"{100.0 * (~finite).mean():.2g}% unreachable")
        if n_nan:
            notes.append(f"{n_nan} NaN dropped")
        # Start the staircase at 0 just left of the first sample so the curve begins on the axis.
        xs = np.concatenate([x[finite][:1], x[finite]])
        ys = np.concatenate([[0.0], y[finite]])
        ax.step(xs, ys, where="post", color=color, lw=1.4, label=f"{name} ({', '.join(notes)})")
        for q, value, marker in ((0.5, p50, "o"), (0.99, p99, "D")):
            if np.isfinite(value):
                ax.plot([value], [q], ls="", marker=marker, ms=6, mfc=color, mec="black", mew=0.6, zorder=3)
    if _log_scale_wanted(np.concatenate(everything)):
        ax.set_xscale("log")
        # Plain numbers (20, 30, 100) on the log axis: latencies read better than 2×10¹.
        formatter = LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
        ax.xaxis.set_major_formatter(formatter)
        ax.xaxis.set_minor_formatter(formatter)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("token latency (ms)")
    ax.set_ylabel("fraction of tokens (empirical CDF)")
    ax.set_title(title if title is not None else "Token latency per placement strategy")
    ax.grid(True, which="major", color="0.88", lw=0.6)
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="", marker="o", mfc="white", mec="black", label="p50 (median)"),
                Line2D([], [], ls="", marker="D", mfc="white", mec="black", label="p99")]
    # Below the axes: inside, a long legend would cover the left tail of the slowest strategy.
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    return _finish(fig, path)


# --------------------------------------------------------------------------- sweep datasets


def _require_sweep(ds, names) -> None:
    if not hasattr(ds, "data_vars"):
        raise SpaceXNetError(f"expected an xarray.Dataset written by `spacexnet sweep`, not {type(ds).__name__}")
    for name in names:
        dims = SWEEP_VARIABLES[name]
        if name not in ds.variables:
            raise SpaceXNetError(f"variable {name!r} is missing: this is not a Space-XNet sweep dataset "
                                 f"(a sweep dataset holds {', '.join(SWEEP_VARIABLES)})")
        if set(ds[name].dims) != set(dims):
            raise SpaceXNetError(f"variable {name!r} has dimensions {tuple(ds[name].dims)}, expected {dims}: "
                                 "this is not a Space-XNet sweep dataset")
    if ds.sizes.get("time", 0) == 0 or ds.sizes.get("policy", 0) == 0:
        raise SpaceXNetError("the sweep dataset has no time steps or no policies")


def check_sweep_dataset(ds) -> None:
    """Raise :class:`SpaceXNetError` unless ``ds`` holds every variable of the sweep contract.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset, normally opened from a file written by ``spacexnet sweep``.

    Raises
    ------
    SpaceXNetError
        Naming the first missing variable (or one with the wrong dimensions)
        and saying that the file is not a sweep dataset.

    Examples
    --------
    >>> import xarray as xr
    >>> check_sweep_dataset(xr.Dataset())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spacexnet.exceptions.SpaceXNetError: variable 'token_latency_expected_ms' is missing: this is not ...
    """
    _require_sweep(ds, tuple(SWEEP_VARIABLES))


def _policies(ds) -> list[str]:
    if "policy" in ds.coords:
        return [str(p) for p in ds["policy"].values]
    return [f"policy {i}" for i in range(ds.sizes["policy"])]


def _policy_colors(policies) -> dict:
    spare = iter(c for c in _SPARE_COLORS)
    return {p: _POLICY_COLORS.get(p) or next(spare, "black") for p in policies}


def _minutes(ds) -> tuple[np.ndarray, str]:
    """Minutes since the first step, and an axis label naming the start."""
    if "time" not in ds.coords:
        return np.arange(ds.sizes["time"], dtype=float), "time step"
    t = np.asarray(ds["time"].values)
    if t.dtype.kind == "M":
        minutes = (t - t[0]) / np.timedelta64(1, "s") / 60.0
        start = np.datetime_as_string(t[0], unit="s")
        return minutes.astype(float), f"time since {start}Z (min)"
    # Numeric time that was not decoded: trust its units attribute only if it says seconds.
    time_units = str(ds["time"].attrs.get("units", ""))
    if time_units.startswith("seconds") or time_units == "s":
        return (t - t[0]).astype(float) / 60.0, "time since start (min)"
    return np.arange(t.size, dtype=float), "time step"


def _units(ds, name: str) -> str:
    """The units ``ds`` gives variable ``name``, else those of the schema."""
    return str(ds[name].attrs.get("units", units(name)))


def _values(ds, name) -> np.ndarray:
    dims = SWEEP_VARIABLES[name]
    return np.asarray(ds[name].transpose(*dims).values, dtype=float)


def plot_latency_over_time(ds, path=None, *, title=None) -> Figure:
    """Expected (solid) and p99 (dashed) token latency over a sweep, one colour per policy.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep dataset with ``token_latency_expected_ms`` and
        ``token_latency_p99_ms`` (policy, time).
    path : str or path-like, optional
        Also write the figure there.
    title : str, optional
        Figure title (default: the dataset's ``title`` attribute or a description).

    Returns
    -------
    matplotlib.figure.Figure
        Steps where a policy's latency is infinite (unreachable) leave a gap
        in its line and are counted in the legend.

    Raises
    ------
    SpaceXNetError
        A variable is missing or has the wrong dimensions.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2026-01-01", periods=5, freq="60s")
    >>> e = xr.DataArray(np.full((2, 5), 40.0), coords={"policy": ["static", "handover"], "time": t},
    ...                  dims=("policy", "time"))
    >>> ds = xr.Dataset({"token_latency_expected_ms": e, "token_latency_p99_ms": e * 1.5})
    >>> fig = plot_latency_over_time(ds)
    >>> fig.axes[0].get_xlabel()
    'time since 2026-01-01T00:00:00Z (min)'
    """
    _require_sweep(ds, ("token_latency_expected_ms", "token_latency_p99_ms"))
    policies = _policies(ds)
    colors = _policy_colors(policies)
    minutes, xlabel = _minutes(ds)
    expected = _values(ds, "token_latency_expected_ms")
    p99 = _values(ds, "token_latency_p99_ms")
    fig = Figure(figsize=(8.5, 4.4), layout="constrained")
    ax = fig.add_subplot()
    handles = []
    for i, policy in enumerate(policies):
        # Non-finite values are masked by matplotlib: a gap, never a line to a made-up value.
        ax.plot(minutes, expected[i], color=colors[policy], lw=1.5)
        ax.plot(minutes, p99[i], color=colors[policy], lw=1.1, ls="--")
        gaps = int((~np.isfinite(expected[i])).sum())
        label = policy if not gaps else f"{policy} ({gaps} step(s) unreachable)"
        handles.append(Line2D([], [], color=colors[policy], lw=2, label=label))
    handles += [Line2D([], [], color="black", lw=1.5, label="expected"),
                Line2D([], [], color="black", lw=1.1, ls="--", label="p99")]
    latency_units = _units(ds, "token_latency_expected_ms")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"token latency ({latency_units})")
    ax.set_title(title if title is not None else "Token latency over time per placement policy")
    ax.grid(True, color="0.9", lw=0.6)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _finish(fig, path)


def plot_layer_heatmap(ds, policy=None, path=None, *, title=None) -> Figure:
    """Heat map of expected layer latency over time × layer, one panel per policy.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep dataset with ``layer_latency_expected_ms`` (policy, time, layer).
    policy : str, optional
        Draw only this policy (default: every policy, one panel each, with a
        shared colour scale so panels compare).
    path : str or path-like, optional
        Also write the figure there.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Non-finite cells (unreachable) are drawn in black.

    Raises
    ------
    SpaceXNetError
        The variable is missing, or ``policy`` is not in the dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2026-01-01", periods=4, freq="60s")
    >>> v = xr.DataArray(np.ones((1, 4, 3)), coords={"policy": ["static"], "time": t},
    ...                  dims=("policy", "time", "layer"))
    >>> fig = plot_layer_heatmap(xr.Dataset({"layer_latency_expected_ms": v}))
    >>> len(fig.axes)   # one panel and its colorbar
    2
    """
    _require_sweep(ds, ("layer_latency_expected_ms",))
    policies = _policies(ds)
    values = _values(ds, "layer_latency_expected_ms")
    if policy is not None:
        if str(policy) not in policies:
            raise SpaceXNetError(f"policy {policy!r} is not in the dataset; choose one of {', '.join(policies)}")
        index = policies.index(str(policy))
        policies, values = [policies[index]], values[index:index + 1]
    minutes, xlabel = _minutes(ds)
    layers = (np.asarray(ds["layer"].values) if "layer" in ds.coords
              else np.arange(ds.sizes["layer"]))
    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    n = len(policies)
    fig = Figure(figsize=(8.5, 1.0 + 2.4 * n), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    cmap = colormaps["viridis"].with_extremes(bad="black")
    mesh = None
    for ax, name, grid in zip(axes, policies, values):
        # shading="nearest" centres each cell on its time and layer, whatever the step.
        mesh = ax.pcolormesh(minutes, layers, np.ma.masked_invalid(grid.T), cmap=cmap, vmin=vmin, vmax=vmax,
                             shading="nearest" if minutes.size > 1 and layers.size > 1 else "auto")
        ax.set_ylabel("MoE layer")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel(xlabel)
    latency_units = _units(ds, "layer_latency_expected_ms")
    cbar = fig.colorbar(mesh, ax=list(axes), fraction=0.04, pad=0.01)
    cbar.set_label(f"expected layer latency ({latency_units})")
    fig.suptitle(title if title is not None else "Expected latency of each MoE layer over time")
    return _finish(fig, path)


def _bytes_scale(max_bytes: float) -> tuple[float, str]:
    # Decimal SI prefixes, as link data rates are quoted (Gbit/s), so GB here means 1e9 bytes.
    for factor, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if max_bytes >= factor:
            return factor, unit
    return 1.0, "bytes"


def plot_migrations(ds, path=None, *, title=None) -> Figure:
    """Expert migrations per step and cumulative data moved, per policy.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep dataset with ``migrations`` and ``bytes_moved`` (policy, time),
        ``bytes_moved`` in ``bytes``.
    path : str or path-like, optional
        Also write the figure there.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the time axis; cumulative bytes are shown with
        a decimal prefix (kB, MB, GB, TB) chosen from the largest total.

    Raises
    ------
    SpaceXNetError
        A variable is missing, or ``bytes_moved`` has other units than bytes.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2026-01-01", periods=4, freq="60s")
    >>> m = xr.DataArray(np.array([[0, 0, 0, 0], [0, 3, 1, 2]]), coords={"policy": ["static", "handover"],
    ...                  "time": t}, dims=("policy", "time"))
    >>> ds = xr.Dataset({"migrations": m, "bytes_moved": (m * 2e8).assign_attrs(units="bytes")})
    >>> fig = plot_migrations(ds)
    >>> fig.axes[1].get_ylabel()
    'cumulative data moved (GB)'
    """
    _require_sweep(ds, ("migrations", "bytes_moved"))
    moved_units = _units(ds, "bytes_moved")
    if moved_units not in ("bytes", "byte", "B"):
        raise SpaceXNetError(f"bytes_moved has units {moved_units!r}; a sweep dataset stores it in "
                             f"{units('bytes_moved')!r}")
    policies = _policies(ds)
    colors = _policy_colors(policies)
    minutes, xlabel = _minutes(ds)
    migrations = _values(ds, "migrations")
    # NaN steps (nothing recorded) add nothing to the running total rather than poisoning it.
    cumulative = np.nancumsum(_values(ds, "bytes_moved"), axis=1)
    factor, unit = _bytes_scale(float(np.nanmax(cumulative)) if cumulative.size else 0.0)
    fig = Figure(figsize=(8.5, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for i, policy in enumerate(policies):
        top.step(minutes, migrations[i], where="mid", color=colors[policy], lw=1.3, label=policy)
        bottom.plot(minutes, cumulative[i] / factor, color=colors[policy], lw=1.5, label=policy)
    # No ylim at 0: the autoscale margin keeps a policy that never migrates visible above the spine.
    top.set_ylabel("migrations per step")
    top.grid(True, color="0.9", lw=0.6)
    bottom.set_ylabel(f"cumulative data moved ({unit})")
    bottom.set_xlabel(xlabel)
    bottom.grid(True, color="0.9", lw=0.6)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title="policy")
    fig.suptitle(title if title is not None else "Expert migrations and weights moved over the ISLs")
    return _finish(fig, path)
