"""``--user LAT,LON`` on ``compare``, ``place`` and ``sweep``: its own column or variable, and one clear line for a bad point.

That the column equals the service's ``latency?user=`` is shown against a
real server in tests/test_service_api.py.
"""

import pytest
from click.testing import CliRunner

from spacexnet.cli import main

SMALL = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8",
         "--start", "2026-01-01T00:10:00Z", "-q"]


def test_compare_table_gets_a_user_column():
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet", "--samples", "200",
                                    "--user", "48.85,2.35"])
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0]
    assert "to user ms" in header
    plain = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet", "--samples", "200"])
    assert "to user ms" not in plain.output


def test_place_table_says_the_delivery():
    res = CliRunner().invoke(main, ["place", *SMALL, "--user", "48.85,2.35"])
    assert res.exit_code == 0, res.output
    assert "delivery of each token to the user at 48.85,2.35:" in res.output


@pytest.mark.parametrize("command", ["compare", "place", "sweep"])
@pytest.mark.parametrize("value", ["48.85", "91,0", "nan,0", "a,b", "1,2,3", "0,400"])
def test_bad_user_is_one_line_naming_the_option(command, value):
    res = CliRunner().invoke(main, [command, *SMALL, "--user", value])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and "--user" in lines[0] and "LAT,LON" in lines[0], res.output


def test_sweep_carries_the_delivery_to_the_user_as_computed_independently(tmp_path):
    # spacexnet sweep --user: user_delivery_ms per policy and step. Checked at every step against the model
    # worked out here from the links and positions alone: the token follows the shortest path of the hidden
    # state (scipy's Dijkstra) from the first gate to a satellite at least the minimum elevation above the
    # user's horizon, paying each hop's propagation, the token's transmission and a forwarding delay, then
    # goes down (propagation over the slant range and one forwarding delay); the fastest such satellite serves.
    import numpy as np
    import xarray as xr
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    import orbits
    from latency.token import TOKEN_BYTES
    from spacexnet.scenario import build_constellation, model_setup

    out = tmp_path / "user.nc"
    res = CliRunner().invoke(main, ["sweep", *SMALL, "--duration-s", "60", "--step-s", "30", "--samples", "200",
                                    "--policy", "static,recompute", "--user", "48.85,2.35", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "mean to user ms" in res.output.splitlines()[0]
    constellation = build_constellation(walker="53:360/18/1", altitude_km=550)
    link = model_setup("llama-moe-3.5b-2of8").link_profile
    hidden_hop_ms = link.transmission_ms(model_setup("llama-moe-3.5b-2of8").model.hidden_state_bytes) \
        + link.forwarding_delay_ms
    lat, lon = np.radians(48.85), np.radians(2.35)
    a_km, f = 6378.137, 1 / 298.257223563
    e2 = f * (2 - f)
    n = a_km / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    user = np.array([n * np.cos(lat) * np.cos(lon), n * np.cos(lat) * np.sin(lon), n * (1 - e2) * np.sin(lat)])
    zenith = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    with xr.open_dataset(out) as ds:
        assert ds["user_delivery_ms"].attrs["units"] == "ms"
        for i, t in enumerate(ds["time"].values):
            state = orbits.propagate(constellation, np.array([t]))
            links = orbits.isl_links(constellation, state)
            up = links["up"].values[0]
            a, b = links["sat_a"].values[up], links["sat_b"].values[up]
            d_km = links["distance_km"].values[0][up]
            weight = link.propagation_ms(d_km) + hidden_hop_ms
            graph = csr_matrix((np.r_[weight, weight], (np.r_[a, b], np.r_[b, a])), shape=(360, 360))
            length = csr_matrix((np.r_[d_km, d_km], (np.r_[a, b], np.r_[b, a])), shape=(360, 360))
            r_km = state["position_itrs_km"].values[0]
            rel = r_km - user
            slant_km = np.linalg.norm(rel, axis=1)
            visible = np.degrees(np.arcsin(rel @ zenith / slant_km)) >= link.gsl_min_elevation_deg
            for p, policy in enumerate(ds["policy"].values):
                gate = int(ds["gate_sat"].values[p, i, 0])
                _, pred = dijkstra(graph, indices=gate, return_predecessors=True)
                best = np.inf
                for sat in np.flatnonzero(visible):
                    hops, km, node = 0, 0.0, sat
                    while node != gate:
                        km += length[pred[node], node]
                        node, hops = pred[node], hops + 1
                    isl_ms = link.propagation_ms(km) + hops * (link.transmission_ms(TOKEN_BYTES)
                                                               + link.forwarding_delay_ms)
                    best = min(best, isl_ms + link.propagation_ms(slant_km[sat]) + link.forwarding_delay_ms)
                assert np.isfinite(best)
                assert ds["user_delivery_ms"].values[p, i] == pytest.approx(best, rel=1e-9), (policy, i)


def test_sweep_without_a_user_has_no_user_variable(tmp_path):
    import xarray as xr

    out = tmp_path / "plain.nc"
    res = CliRunner().invoke(main, ["sweep", *SMALL, "--duration-s", "30", "--step-s", "30", "--samples", "200",
                                    "--policy", "static", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out) as ds:
        assert "user_delivery_ms" not in ds and "ground_user" not in ds.attrs
