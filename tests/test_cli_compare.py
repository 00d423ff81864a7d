"""``spacexnet compare`` and ``spacexnet place`` through the CLI, and the compare numbers
re-derived independently (networkx shortest paths, enumeration of activation sets)."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

import latency
from spacexnet.cli import main
from spacexnet.compare import compare, place
from spacexnet.scenario import build_constellation, model_setup, snapshot

# 360 satellites, 18 planes: room for 32 subnets of 8 experts + 1 gate each.
SMALL = ["--walker", "53:360/18/1", "--altitude-km", "550", "--model", "llama-moe-3.5b-2of8"]


@pytest.fixture(scope="module")
def small():
    setup = model_setup("llama-moe-3.5b-2of8", seed=3)
    snap = snapshot(build_constellation(walker="53:360/18/1", altitude_km=550), "2026-01-01T00:00:00Z", setup)
    return snap, setup


def _enumerated_expected_ms(snap, setup, pl, method):
    """Expected token latency by networkx paths and explicit enumeration of every activation set.

    ``"independent"``: every subset, each expert on its own; ``"exactly-k"``:
    every k-subset S with probability ∝ prod of its experts' CB weights.
    """
    g = nx.Graph()
    links = snap.links.isel(time=0)
    profile = setup.link_profile
    hop_ms = setup.model.hidden_state_bytes * 8 / profile.isl_rate_bps * 1e3 + profile.forwarding_delay_ms
    for a, b, d, up in zip(links.sat_a.values, links.sat_b.values, links.distance_km.values, links.up.values):
        if up:
            w = d / 299_792.458 * 1e3 + hop_ms
            if not g.has_edge(a, b) or g[a][b]["weight"] > w:
                g.add_edge(int(a), int(b), weight=w)
    times = setup.times.broadcast(setup.n_layers)
    total = times.head_ms
    gates = pl.gate_sat
    for layer in range(setup.n_layers):
        g0, g1 = int(gates[layer]), int(gates[(layer + 1) % setup.n_layers])
        d0 = nx.single_source_dijkstra_path_length(g, g0)
        d1 = nx.single_source_dijkstra_path_length(g, g1)
        p = setup.probs[layer]
        cost = [d0[int(s)] + float(np.ravel(times.expert_ms)[layer]) + d1[int(s)] for s in pl.expert_sat[layer]]
        floor = times.local_ms[layer] + d0[g1]
        expected = 0.0
        if method == "independent":
            for active in itertools.product([0, 1], repeat=len(p)):
                prob = np.prod([pi if a else 1 - pi for pi, a in zip(p, active)])
                worst = max([floor] + [c for c, a in zip(cost, active) if a])
                expected += prob * worst
        else:
            w, k = latency.exactly_k_weights(p)
            w = np.where(np.isinf(w), 1.0, w)  # always-in experts: in every set with a nonzero weight
            sets = [s for s in itertools.combinations(range(len(p)), int(k)) if all(p[i] > 0 for i in s)
                    and all(i in s for i in np.flatnonzero(p >= 1))]
            mass = np.array([np.prod(w[list(s)]) for s in sets])
            for subset, prob in zip(sets, mass / mass.sum()):
                expected += prob * max([floor] + [cost[i] for i in subset])
        total += times.dispatch_ms[layer] + expected
    return total


def test_compare_rows_match_enumeration_under_both_laws(small):
    snap, setup = small
    rows = compare(snap, setup, strategies=("space-xnet", "joint", "ring-random", "lower-bound"), n_seeds=2,
                   n_samples=2000)
    by = {r.strategy: r for r in rows}
    sx = by["space-xnet"]
    for method, field in (("exactly-k", "expected_ms"), ("independent", "expected_independent_ms")):
        assert getattr(sx, field) == pytest.approx(_enumerated_expected_ms(snap, setup, sx.placements[0], method),
                                                   rel=1e-9)
        ring_random = [_enumerated_expected_ms(snap, setup, pl, method) for pl in by["ring-random"].placements]
        assert getattr(by["ring-random"], field) == pytest.approx(np.mean(ring_random), rel=1e-9)
    assert sx.ratio_independent == 1.0
    assert by["ring-random"].ratio_independent == pytest.approx(
        by["ring-random"].expected_independent_ms / sx.expected_independent_ms)
    # Independent activations leave layers without an active expert: never above exactly-k.
    assert all(r.expected_independent_ms <= r.expected_ms for r in rows)
    assert by["ring-random"].n_runs == 2
    assert sx.ratio_to_space_xnet == 1.0
    assert by["joint"].expected_ms <= sx.expected_ms
    assert by["lower-bound"].expected_ms <= min(r.expected_ms for r in rows if r.strategy != "lower-bound")
    for pl in sx.placements + by["joint"].placements:
        pl.check(capacity=setup.experts_per_sat, eligible=snap.eligible)
    # Tail from top-k Monte Carlo sits above the median.
    assert sx.p50_ms <= sx.p99_ms


def test_place_is_deterministic(small):
    snap, setup = small
    a, b = place(snap, setup, "space-xnet"), place(snap, setup, "space-xnet")
    assert np.array_equal(a.expert_sat, b.expert_sat) and np.array_equal(a.gate_sat, b.gate_sat)


def test_cli_compare_json_and_csv(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cmp.json"
    res = runner.invoke(main, ["compare", *SMALL, "--seeds", "2", "--samples", "500", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())
    assert [r["strategy"] for r in rows][0] == "space-xnet"
    for row in rows:
        assert {"strategy", "expected_ms", "p99_ms", "tokens_per_s", "ratio_to_space_xnet"} <= set(row)
    assert rows[0]["ratio_to_space_xnet"] == 1.0 and rows[0]["ratio_independent"] == 1.0
    # The terminal keeps the table; the file has the JSON.
    assert "÷ space-xnet" in res.stdout and "indep. ms" in res.stdout and not res.stdout.lstrip().startswith("[")
    # Refuses to overwrite; CSV by suffix.
    res = runner.invoke(main, ["compare", *SMALL, "--seeds", "1", "--samples", "200", "--out", str(out), "-q"])
    assert res.exit_code == 1 and "--overwrite" in res.output and "Traceback" not in res.output
    csv_path = tmp_path / "cmp.csv"
    res = runner.invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,random", "--seeds", "1",
                               "--samples", "200", "--out", str(csv_path), "-q"])
    assert res.exit_code == 0, res.output
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("strategy,expected_ms") and len(lines) == 3


def test_cli_compare_table_says_whether_claim_holds():
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,random,ring-random",
                                    "--seeds", "1", "--samples", "200"])
    assert res.exit_code == 0, res.output
    assert "÷ space-xnet" in res.output
    assert "paper's claim" in res.output


@pytest.mark.parametrize("args, code, text", [
    (["--model", "gpt-17"], 1, "unknown model"),
    (["--strategies", "space-xnet,best"], 2, "unknown strategy"),
    (["--activation", "zipf:abc"], 1, "not a number"),
    (["--walker", "53:100/7/1", "--altitude-km", "550"], 1, "divisible"),
])
def test_cli_compare_bad_input_one_line(args, code, text):
    base = ["compare", "--samples", "200", "--seeds", "1", "-q"]
    if "--walker" not in args:
        base += ["--walker", "53:360/18/1", "--altitude-km", "550"]
    if "--model" not in args:
        base += ["--model", "llama-moe-3.5b-2of8"]
    res = CliRunner().invoke(main, base + args)
    assert res.exit_code == code, res.output
    assert text in res.output
    assert "Traceback" not in res.output


def test_cli_compare_infeasible_partition_is_reported():
    res = CliRunner().invoke(main, ["compare", "--walker", "53:120/10/1", "--altitude-km", "550",
                                    "--model", "olmoe-1b-7b", "-q"])
    assert res.exit_code == 1
    assert "experts" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_cli_place_table_and_json(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["place", *SMALL, "-q"])
    assert res.exit_code == 0, res.output
    assert "expected token latency" in res.output
    res = runner.invoke(main, ["place", *SMALL, "--strategy", "joint", "--format", "json", "-q"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["strategy"] == "joint" and len(doc["layers"]) == 32
    sats = [e["sat"] for layer in doc["layers"] for e in layer["experts_by_probability"]]
    gates = [layer["gate_sat"] for layer in doc["layers"]]
    assert len(set(sats)) == len(sats) and not set(sats) & set(gates)
    assert doc["expected_token_ms"] == pytest.approx(
        sum(layer["expected_ms"] for layer in doc["layers"]) + doc["lm_head_ms"], rel=1e-12)


def test_cli_compare_out_keeps_table_and_verdict_on_the_terminal(tmp_path):
    out = tmp_path / "cmp.txt"
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,random", "--seeds", "1",
                                    "--samples", "200", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = out.read_text()
    assert table in res.stdout  # the same table on the terminal as in the file
    assert "expected ms" in table and "indep. ms" in table and "÷ (indep.)" in table
    assert "paper's claim" in res.output and "independent activations" in res.output
    assert not list(tmp_path.glob(".*part"))  # written through a temporary file, nothing left over


@pytest.mark.parametrize("option", ["--out", "--map", "--cdf"])
def test_cli_compare_checks_outputs_before_any_work(tmp_path, option, monkeypatch):
    import spacexnet.cli.compare as cli_compare

    def no_work(*args, **kwargs):
        raise AssertionError("the constellation was built before the outputs were checked")

    monkeypatch.setattr(cli_compare, "constellation_from_kwargs", no_work)
    missing = tmp_path / "no-such-folder" / "x.json"
    res = CliRunner().invoke(main, ["compare", *SMALL, option, str(missing), "-q"])
    assert res.exit_code == 1 and "does not exist" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    existing = tmp_path / "there.json"
    existing.write_text("keep")
    res = CliRunner().invoke(main, ["compare", *SMALL, option, str(existing), "-q"])
    assert res.exit_code == 1 and "--overwrite" in res.output and existing.read_text() == "keep"


def test_cli_compare_gap_to_the_certified_bound_and_anneal_budget():
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,joint,anneal,lower-bound",
                                    "--samples", "200", "--time-budget-s", "0.2", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["strategy"]: r for r in json.loads(res.stdout[res.stdout.index("["):res.stdout.rindex("]") + 1])}
    bound = rows["lower-bound"]
    assert bound["gap"] == 1.0 and bound["bound_method"].startswith("gate-star relaxation")
    for name in ("space-xnet", "joint", "anneal"):
        assert rows[name]["gap"] == pytest.approx(rows[name]["expected_ms"] / bound["expected_ms"])
        assert rows[name]["gap"] >= 1.0
    assert rows["anneal"]["expected_independent_ms"] <= rows["joint"]["expected_independent_ms"] + 1e-9
    table = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,lower-bound",
                                      "--samples", "200"])
    assert "÷ bound" in table.output and "lower bound: gate-star relaxation" in table.output
    bad = CliRunner().invoke(main, ["compare", *SMALL, "--time-budget-s", "nan", "-q"])
    assert bad.exit_code == 2 and "finite" in bad.output and "Traceback" not in bad.output


def test_cli_compare_map_has_a_panel_per_compared_placement(tmp_path, monkeypatch):
    import spacexnet.plots as plots

    drawn = []
    draw = plots.plot_placements_map
    monkeypatch.setattr(plots, "plot_placements_map", lambda *a, **k: drawn.append(draw(*a, **k)) or drawn[-1])
    path = tmp_path / "map.png"
    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "space-xnet,anneal,random,lower-bound",
                                    "--seeds", "1", "--samples", "200", "--time-budget-s", "0.2",
                                    "--format", "json", "--map", str(path)])
    assert res.exit_code == 0, res.output
    assert path.stat().st_size > 0
    rows = {r["strategy"]: r for r in json.loads(res.stdout[res.stdout.index("["):res.stdout.rindex("]") + 1])}
    (fig,) = drawn
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    # The paper's placement beside the optimizer's, each titled with its expected latency; no random panel.
    assert titles == [f"{name}: {rows[name]['expected_ms']:,.0f} ms" for name in ("space-xnet", "anneal")]

    res = CliRunner().invoke(main, ["compare", *SMALL, "--strategies", "random", "--map", str(tmp_path / "r.png")])
    assert res.exit_code == 2 and "--map draws space-xnet, joint, anneal" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "r.png").exists()
