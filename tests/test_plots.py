"""spacexnet.plots: every figure is written as a real PNG and shows what it claims.

Inputs are small synthetic arrays and a 3-policy × 20-step × 4-layer sweep
dataset; the checks read the figure objects back (collections, lines,
legend labels, colour limits) rather than comparing pixels.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spacexnet import plots
from spacexnet.exceptions import OutputError, SpaceXNetError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
POLICIES = ["static", "recompute", "handover"]
N_TIME, N_LAYER, STEP_S = 20, 4, 30


def png_size(path) -> tuple[int, int]:
    """Width and height in pixels of a PNG after checking that it is one."""
    data = open(path, "rb").read()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    # A blank canvas of this size compresses to ~2-5 kB; a drawn figure is far larger.
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def sweep() -> xr.Dataset:
    rng = np.random.default_rng(7)
    time = pd.date_range("2026-01-01T00:00:00", periods=N_TIME, freq=f"{STEP_S}s")
    expected = 40.0 + rng.gamma(2.0, 1.0, (3, N_TIME))
    migrations = np.stack([np.zeros(N_TIME, int), rng.integers(0, 30, N_TIME), rng.integers(0, 5, N_TIME)])
    return xr.Dataset(
        {
            "token_latency_expected_ms": (("policy", "time"), expected, {"units": "ms"}),
            "token_latency_p99_ms": (("policy", "time"), 1.6 * expected, {"units": "ms"}),
            "layer_latency_expected_ms": (("policy", "time", "layer"),
                                          rng.gamma(3.0, 1.0, (3, N_TIME, N_LAYER)), {"units": "ms"}),
            "migrations": (("policy", "time"), migrations),
            "bytes_moved": (("policy", "time"), migrations * 3.5e8, {"units": "bytes"}),
        },
        coords={"policy": POLICIES, "time": time, "layer": np.arange(N_LAYER)},
    )


@pytest.fixture(scope="module")
def ring():
    """A toy 6-plane × 8-slot shell cut into L=6 subnets, 3 experts per layer, 4 satellites outside."""
    n_plane, n_slot, n_layer, n_expert = 6, 8, 6, 3
    raan_deg = np.repeat(np.arange(n_plane) * 60.0, n_slot)
    u_deg = np.tile(np.arange(n_slot) * 45.0, n_plane) + np.repeat(np.arange(n_plane) * 7.5, n_slot)
    i_rad, u_rad = np.radians(53.0), np.radians(u_deg)
    lat = np.degrees(np.arcsin(np.sin(i_rad) * np.sin(u_rad)))
    lon = (raan_deg + np.degrees(np.arctan2(np.cos(i_rad) * np.sin(u_rad), np.cos(u_rad)))) % 360.0
    subnet = (np.arange(lat.size) * n_layer // lat.size).astype(np.int64)
    subnet[[7, 15, 23, 31]] = -1
    gate = np.array([np.flatnonzero(subnet == l)[0] for l in range(n_layer)])
    expert = np.array([np.flatnonzero(subnet == l)[1:1 + n_expert] for l in range(n_layer)])
    probs = np.tile([0.1, 0.5, 1.4], (n_layer, 1))
    return dict(lat=lat, lon=lon, subnet=subnet, gate=gate, expert=expert, probs=probs)


def offsets_of(ax, lon, lat):
    """The scatter collection drawn at exactly these points (wrapped longitudes), or None."""
    want = np.column_stack([(np.asarray(lon) + 180.0) % 360.0 - 180.0, lat])
    for collection in ax.collections:
        got = np.asarray(collection.get_offsets())
        if got.shape == want.shape and np.allclose(got, want):
            return collection
    return None


# --------------------------------------------------------------------------- maps


def test_layer_colors_distinct_and_neighbours_contrast():
    for n_layer in (5, 32, 64):
        rgb = plots.layer_colors(n_layer)[:, :3]
        assert np.unique(np.round(rgb, 4), axis=0).shape[0] == n_layer
        # Neighbouring subnets are also neighbours on the map, the last one next to the first (a ring).
        step = np.linalg.norm(rgb - np.roll(rgb, -1, axis=0), axis=1)
        assert step.min() > 0.15, (n_layer, step.min())
    with pytest.raises(SpaceXNetError, match="at least 1"):
        plots.layer_colors(0)


def test_subnets_map_png_gates_experts_and_colours(ring, tmp_path):
    path = tmp_path / "map.png"
    fig = plots.plot_subnets_map(ring["lat"], ring["lon"], ring["subnet"], ring["gate"], ring["expert"],
                                 title="toy ring", path=path, expert_probs=ring["probs"])
    width, height = png_size(path)
    assert (width, height) == (1500, 810)                # 10 × 5.4 in at 150 dpi
    ax, colorbar = fig.axes                              # the map and the layer colour bar
    assert ax.get_title() == "toy ring"
    assert ax.get_xlim() == (-180.0, 180.0) and ax.get_ylim() == (-90.0, 90.0)
    assert "degrees" in ax.get_xlabel() and "degrees" in ax.get_ylabel()
    assert "layer" in colorbar.get_ylabel()

    gates = offsets_of(ax, ring["lon"][ring["gate"]], ring["lat"][ring["gate"]])
    assert gates is not None and len(gates.get_offsets()) == 6
    assert np.unique(gates.get_facecolors(), axis=0).shape[0] == 6          # one colour per layer
    assert sorted(t.get_text() for t in ax.texts) == [str(l) for l in range(6)]

    inside = ring["subnet"] >= 0
    members = offsets_of(ax, ring["lon"][inside], ring["lat"][inside])
    colours = members.get_facecolors()
    for layer in range(6):
        # Same colour within a subnet, and it is the gate's colour of that layer.
        in_layer = colours[ring["subnet"][inside] == layer]
        assert np.allclose(in_layer, in_layer[0]) and np.allclose(in_layer[0], gates.get_facecolors()[layer])
    outside = offsets_of(ax, ring["lon"][~inside], ring["lat"][~inside])
    assert outside is not None and np.allclose(outside.get_facecolors()[:, :3], 0.7)

    sats = ring["expert"].ravel()
    experts = offsets_of(ax, ring["lon"][sats], ring["lat"][sats])
    sizes = experts.get_sizes().reshape(ring["probs"].shape)
    assert np.all(np.diff(sizes, axis=1) > 0)            # probabilities rise along each row, so do areas
    assert np.allclose(experts.get_edgecolors()[:, :3], 0.0)

    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("gate" in s for s in labels) and any("activation probability" in s for s in labels)


def test_subnets_map_wraps_longitude_and_rejects_bad_indices(ring):
    lon_east = ring["lon"]                                # in [0, 360)
    fig = plots.plot_subnets_map(ring["lat"], lon_east, ring["subnet"], ring["gate"], ring["expert"])
    offsets = np.asarray(fig.axes[0].collections[-1].get_offsets())   # gates are drawn last
    assert offsets[:, 0].min() >= -180.0 and offsets[:, 0].max() < 180.0
    assert "6 MoE layers on 48 satellites" in fig.axes[0].get_title()

    args = (ring["lat"], ring["lon"], ring["subnet"])
    with pytest.raises(SpaceXNetError, match=r"gate_sat holds satellite indices outside \[0, 47\]"):
        plots.plot_subnets_map(*args, np.r_[ring["gate"][:-1], 48], ring["expert"])
    with pytest.raises(SpaceXNetError, match=r"expert_probs has shape \(6, 2\)"):
        plots.plot_subnets_map(*args, ring["gate"], ring["expert"], expert_probs=ring["probs"][:, :2])
    with pytest.raises(SpaceXNetError, match="one value per satellite"):
        plots.plot_subnets_map(ring["lat"][:-1], ring["lon"], ring["subnet"], ring["gate"], ring["expert"])
    with pytest.raises(SpaceXNetError, match=r"subnet holds values outside \[-1, 5\]"):
        plots.plot_subnets_map(ring["lat"], ring["lon"], ring["subnet"] + 1, ring["gate"], ring["expert"])


def test_placements_map_one_panel_per_strategy(ring, tmp_path):
    from placement import Placement

    joint = Placement(subnet=ring["subnet"], gate_sat=ring["gate"], expert_sat=ring["expert"][::-1],
                      strategy="joint", experts_confined=False)
    path = tmp_path / "placements.png"
    fig = plots.plot_placements_map(
        {"space-xnet": (ring["subnet"], ring["gate"], ring["expert"]), "joint": joint},
        ring["lat"], ring["lon"], path=path)
    png_size(path)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["space-xnet", "joint"]
    assert len(fig.axes) == 3                            # two maps and one shared colour bar
    # The joint panel colours each expert by its own layer even when it sits in another subnet.
    sats = ring["expert"][::-1].ravel()
    experts = offsets_of(fig.axes[1], ring["lon"][sats], ring["lat"][sats])
    layer = np.repeat(np.arange(6), 3)
    assert np.allclose(experts.get_facecolors(), plots.layer_colors(6)[layer])
    assert len(fig.legends) == 1

    with pytest.raises(SpaceXNetError, match="different numbers of layers"):
        plots.plot_placements_map({"a": (ring["subnet"], ring["gate"], ring["expert"]),
                                   "b": (np.minimum(ring["subnet"], 4), ring["gate"][:5], ring["expert"][:5])},
                                  ring["lat"], ring["lon"])
    with pytest.raises(SpaceXNetError, match="empty"):
        plots.plot_placements_map({}, ring["lat"], ring["lon"])


# --------------------------------------------------------------------------- CDF


def test_latency_cdf_steps_markers_and_log_axis(tmp_path):
    rng = np.random.default_rng(3)
    fast = 20.0 + rng.gamma(2.0, 2.0, 400)
    slow = np.r_[200.0 + rng.gamma(2.0, 30.0, 396), [np.inf] * 4]       # 1% unreachable
    path = tmp_path / "cdf.png"
    fig = plots.plot_latency_cdf({"space-xnet": fast, "random": slow}, path=path, title="CDF")
    png_size(path)
    ax = fig.axes[0]
    assert ax.get_title() == "CDF" and ax.get_xlabel() == "token latency (ms)"
    assert ax.get_xscale() == "log"                       # 20 ms to > 200 ms spans more than 10×
    curves = [line for line in ax.lines if line.get_drawstyle() == "steps-post"]
    assert len(curves) == 2
    assert curves[0].get_ydata()[-1] == pytest.approx(1.0)
    assert curves[1].get_ydata()[-1] == pytest.approx(0.99)   # the unreachable 1% never arrives
    markers = {line.get_marker(): line for line in ax.lines if line.get_marker() in ("o", "D")}
    p50_fast = next(line for line in ax.lines if line.get_marker() == "o")
    assert p50_fast.get_xdata()[0] == np.sort(fast)[199]     # inverse ECDF at 0.5: the 200th of 400
    assert p50_fast.get_ydata()[0] == 0.5
    assert set(markers) == {"o", "D"}
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("space-xnet (p50 ") and "ms" in labels[0]
    assert "1% unreachable" in labels[1]
    assert "p50 (median)" in labels and "p99" in labels


def test_latency_cdf_linear_when_narrow_and_errors():
    fig = plots.plot_latency_cdf({"a": [30.0, 31.0, 35.0], "b": [32.0, np.nan, 40.0]})
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert "1 NaN dropped" in fig.legends[0].get_texts()[1].get_text()
    with pytest.raises(SpaceXNetError, match=r"samples_ms\['b'\] has no samples"):
        plots.plot_latency_cdf({"a": [1.0], "b": []})
    with pytest.raises(SpaceXNetError, match="empty"):
        plots.plot_latency_cdf({})


# --------------------------------------------------------------------------- sweep figures


def test_latency_over_time_lines_minutes_and_legend_outside(sweep, tmp_path):
    path = tmp_path / "latency.png"
    fig = plots.plot_latency_over_time(sweep, path=path)
    png_size(path)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 * len(POLICIES)
    solid = [line for line in ax.lines if line.get_linestyle() == "-"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 3
    assert solid[0].get_xdata()[-1] == pytest.approx((N_TIME - 1) * STEP_S / 60.0)
    assert np.allclose(dashed[2].get_ydata(), sweep["token_latency_p99_ms"].sel(policy="handover"))
    assert ax.get_xlabel() == "time since 2026-01-01T00:00:00Z (min)"
    assert ax.get_ylabel() == "token latency (ms)"
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == POLICIES + ["expected", "p99"]
    fig.canvas.draw()
    # The legend sits right of the plotting area, so it can hide no data.
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    # Each policy keeps one colour: its expected and p99 lines match.
    assert all(s.get_color() == d.get_color() for s, d in zip(solid, dashed))


def test_layer_heatmap_all_policies_and_one(sweep, tmp_path):
    path = tmp_path / "layers.png"
    fig = plots.plot_layer_heatmap(sweep, path=path)
    png_size(path)
    panels, colorbar = fig.axes[:3], fig.axes[3]
    assert len(fig.axes) == 4
    assert [ax.get_title(loc="left") for ax in panels] == POLICIES
    assert colorbar.get_ylabel() == "expected layer latency (ms)"
    limits = {ax.collections[0].get_clim() for ax in panels}
    assert len(limits) == 1                              # one scale, so panels compare
    values = sweep["layer_latency_expected_ms"].values
    assert limits.pop() == pytest.approx((values.min(), values.max()))

    fig = plots.plot_layer_heatmap(sweep, policy="handover")
    assert len(fig.axes) == 2
    mesh = fig.axes[0].collections[0]
    assert np.allclose(mesh.get_array().reshape(N_LAYER, N_TIME),
                       sweep["layer_latency_expected_ms"].sel(policy="handover").values.T)
    with pytest.raises(SpaceXNetError, match="policy 'lazy' is not in the dataset; choose one of static, "
                                             "recompute, handover"):
        plots.plot_layer_heatmap(sweep, policy="lazy")


def test_layer_heatmap_accepts_other_dimension_order(sweep):
    swapped = sweep.transpose("layer", "time", "policy")
    fig = plots.plot_layer_heatmap(swapped, policy="static")
    assert np.allclose(fig.axes[0].collections[0].get_array().reshape(N_LAYER, N_TIME),
                       sweep["layer_latency_expected_ms"].sel(policy="static").values.T)


def test_migrations_counts_and_cumulative_gigabytes(sweep, tmp_path):
    path = tmp_path / "migrations.png"
    fig = plots.plot_migrations(sweep, path=path)
    png_size(path)
    top, bottom = fig.axes
    assert top.get_ylabel() == "migrations per step"
    assert bottom.get_ylabel() == "cumulative data moved (GB)"
    assert np.allclose(top.lines[1].get_ydata(), sweep["migrations"].sel(policy="recompute"))
    cumulative_gb = np.cumsum(sweep["bytes_moved"].sel(policy="recompute").values) / 1e9
    assert np.allclose(bottom.lines[1].get_ydata(), cumulative_gb)
    assert np.all(bottom.lines[0].get_ydata() == 0.0)    # static never moves anything
    assert top.get_ylim()[0] < 0.0                       # ... and its zero line stays visible
    assert [t.get_text() for t in top.get_legend().get_texts()] == POLICIES
    # The same policy has the same colour here as in the latency figure.
    latency = plots.plot_latency_over_time(sweep)
    assert [line.get_color() for line in top.lines] == [line.get_color() for line in latency.axes[0].lines[::2]]

    in_kilobytes = sweep.assign(bytes_moved=sweep["bytes_moved"].assign_attrs(units="kB"))
    with pytest.raises(SpaceXNetError, match="bytes_moved has units 'kB'"):
        plots.plot_migrations(in_kilobytes)


@pytest.mark.parametrize("function, variable", [
    (plots.plot_latency_over_time, "token_latency_p99_ms"),
    (plots.plot_layer_heatmap, "layer_latency_expected_ms"),
    (plots.plot_migrations, "bytes_moved"),
])
def test_missing_variable_names_it_and_says_not_a_sweep(sweep, function, variable):
    with pytest.raises(SpaceXNetError, match=f"variable '{variable}' is missing: this is not a Space-XNet "
                                             "sweep dataset"):
        function(sweep.drop_vars(variable))


def test_wrong_dimensions_are_not_a_sweep(sweep):
    flat = sweep.assign(migrations=sweep["migrations"].isel(policy=0))
    with pytest.raises(SpaceXNetError, match=r"'migrations' has dimensions \('time',\)"):
        plots.plot_migrations(flat)
    with pytest.raises(SpaceXNetError, match="not a Space-XNet sweep dataset"):
        plots.check_sweep_dataset(xr.Dataset({"x": ("t", [1.0])}))
    plots.check_sweep_dataset(sweep)                      # the full contract passes


# --------------------------------------------------------------------------- output


def test_save_figure_refuses_overwrite_atomically_and_honours_umask(tmp_path):
    fig = plots.plot_latency_cdf({"a": [1.0, 2.0, 3.0]})
    path = tmp_path / "cdf.png"
    path.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="file exists; pass --overwrite"):
        plots.save_figure(fig, path, overwrite=False)
    assert path.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdf.png"]          # no temporary left behind
    plots.save_figure(fig, path)
    png_size(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    # A file that appears while the figure is being drawn is not clobbered either (no check-then-write race).
    late = tmp_path / "late.png"
    draw = fig.savefig

    def savefig_then_someone_writes(*args, **kwargs):
        draw(*args, **kwargs)
        late.write_bytes(b"arrived first")

    fig.savefig = savefig_then_someone_writes
    with pytest.raises(OutputError, match="late.png: file exists"):
        plots.save_figure(fig, late, overwrite=False)
    assert late.read_bytes() == b"arrived first"
    del fig.savefig
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdf.png", "late.png"]
    with pytest.raises(OutputError, match="unknown image format 'xyz'"):
        plots.save_figure(fig, tmp_path / "cdf.xyz")
    with pytest.raises(OutputError, match="does not exist"):
        plots.save_figure(fig, tmp_path / "missing" / "cdf.png")


def test_figures_from_threads_and_no_pyplot(sweep, tmp_path):
    draws = [lambda i=i: plots.plot_migrations(sweep, path=tmp_path / f"m{i}.png") for i in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        figures = list(pool.map(lambda draw: draw(), draws))
    assert len({id(f) for f in figures}) == 2
    sizes = {open(tmp_path / f"m{i}.png", "rb").read() for i in range(2)}
    assert len(sizes) == 1                                # identical images: no state leaked between threads
    code = ("import sys, numpy as np, spacexnet.plots as p; p.plot_latency_cdf({'a': np.arange(1.0, 9.0)}); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
