"""Placement over time: static, recompute and handover on time-varying graphs.

Scenarios are small tori whose phases rotate with time: inter-plane links
shorten towards the poles (their latency follows |cos u|, as the distance
between planes follows the cosine of latitude) and, optionally, switch off
beyond a latitude cut-off, so the best placement moves as the satellites
do. Shortest paths by ``scipy.sparse.csgraph.dijkstra``, one graph per
step; the oracles count their sources.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from placement import (
    FLAG_FORCED,
    FLAG_INFEASIBLE,
    FLAG_MIGRATING,
    FLAG_PLACED,
    FLAG_UNREACHABLE,
    POLICIES,
    Placement,
    PlacementError,
    StepRecord,
    evaluate,
    Step,
    make_policy,
    space_xnet,
)
from placement.migration import StepOracle, migration_time_s
from test_placement_graphs import random_probs

T_GATE, T_EXP = 0.7, 1.3
N_LAYERS, N_EXPERTS = 4, 6
# 1 GB experts, 2 GB gates over 10 Gbit/s: 0.8 s and 1.6 s of transfer, one step of 10 s.
COMMON = dict(expert_bytes=1e9, gate_bytes=2e9, isl_rate_bps=1e10, step_s=10.0, horizon_s=300.0,
              gate_time_ms=T_GATE, expert_time_ms=T_EXP)


class RotatingTorus:
    """A +Grid torus whose phases advance ``deg_per_step`` per step."""

    def __init__(self, n_planes=6, n_slots=8, deg_per_step=7.5, seed=0, lat_cut=0.9, jitter=0.0):
        rng = np.random.default_rng(seed)
        self.n_planes, self.n_slots, self.deg_per_step = n_planes, n_slots, deg_per_step
        self.n_sat = n_planes * n_slots
        self.plane = np.repeat(np.arange(n_planes), n_slots)
        slot = np.tile(np.arange(n_slots), n_planes)
        self.base_deg = (slot * 360.0 / n_slots + self.plane * 360.0 / self.n_sat) % 360.0
        self.intra_ms = rng.uniform(3.0, 3.5, self.n_sat)
        self.lat_cut, self.jitter, self.seed = lat_cut, jitter, seed
        self.sources = 0
        self.removed = set()

    def phase(self, t):
        return (self.base_deg + self.deg_per_step * t) % 360.0

    def graph(self, t):
        u = np.radians(self.phase(t))
        rng = np.random.default_rng((self.seed, t))
        idx = lambda p, s: (p % self.n_planes) * self.n_slots + (s % self.n_slots)
        a, b, w = [], [], []
        for p in range(self.n_planes):
            for s in range(self.n_slots):
                i = idx(p, s)
                a.append(i), b.append(idx(p, s + 1)), w.append(self.intra_ms[i])
                if self.lat_cut is None or abs(np.sin(u[i])) < self.lat_cut:
                    a.append(i), b.append(idx(p + 1, s)), w.append(0.5 + 4.0 * abs(np.cos(u[i])))
        w = np.array(w) * (1.0 + self.jitter * rng.uniform(-1, 1, len(w)))
        keep = np.array([x not in self.removed and y not in self.removed for x, y in zip(a, b)], dtype=bool)
        return coo_matrix((w[keep], (np.array(a)[keep], np.array(b)[keep])), shape=(self.n_sat,) * 2).tocsr()

    def oracle(self, t):
        g = self.graph(t)

        def path_ms(sources):
            sources = np.asarray(sources)
            self.sources += sources.size
            return dijkstra(g, directed=False, indices=sources)

        return path_ms


POLICY_OPTIONS = ("expert_bytes", "gate_bytes", "isl_rate_bps", "step_s", "horizon_s", "migration_price",
                  "min_gain_ratio")


class Driven:
    """A policy and the strategy options of the steps it is given; ``step`` builds each :class:`Step`."""

    def __init__(self, name, strategy="space-xnet", **options):
        self.policy = make_policy(name, **{k: v for k, v in options.items() if k in POLICY_OPTIONS})
        self.step_options = {"strategy": strategy, **{k: v for k, v in options.items() if k not in POLICY_OPTIONS}}
        self.last_step = None

    def step(self, t, phase, path_ms, usable=None, probs=None, lookahead=()):
        self.last_step = Step(t, phase, path_ms, probs, usable=usable, lookahead=lookahead, **self.step_options)
        return self.policy.step(self.last_step)

    @property
    def placement(self):
        return self.policy.placement


def drive(name, strategy="space-xnet", **options):
    """:func:`make_policy` with the step options beside it (the tests' shorthand)."""
    return Driven(name, strategy, **options)


def run(policy, sc, probs, steps, usable=None):
    """Drive a policy; usable(t) gives the mask (default all True)."""
    out = []
    for t in steps:
        mask = None if usable is None else usable(t)
        out.append(policy.step(t, sc.phase(t), sc.oracle(t), mask, probs))
    return out


def totals(recs):
    return np.array([r.total_ms for r in recs])


@pytest.fixture(scope="module")
def rotating():
    """One rotating torus and the three policies over 48 steps (one revolution: 48 × 7.5°)."""
    sc = RotatingTorus(seed=0)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 0)
    recs = {name: run(drive(name, plane=sc.plane, **COMMON), sc, probs, range(48)) for name in POLICIES}
    return sc, probs, recs


def test_static_never_migrates_and_asks_only_for_its_gates(rotating):
    sc, probs, recs = rotating
    first = recs["static"][0]
    assert first.flags == FLAG_PLACED and first.feasible
    for t, r in enumerate(recs["static"]):
        assert r.migrations == r.forced_migrations == 0 and r.bytes_moved == 0 and r.migration_time_s == 0
        np.testing.assert_array_equal(r.gate_sat, first.gate_sat)
        np.testing.assert_array_equal(r.expert_sat, first.expert_sat)
        np.testing.assert_array_equal(r.subnet, first.subnet)
        if t:
            assert r.flags == 0
        pl = Placement(r.subnet, r.gate_sat, r.expert_sat, "space-xnet")
        ev = evaluate(pl, sc.oracle(t), probs, T_GATE, T_EXP)
        np.testing.assert_allclose(r.per_layer_ms, ev.per_layer_ms, rtol=1e-12)
        assert np.isnan(r.candidate_total_ms)
    # Alone at a step, static asks only for its gates' rows.
    pol = drive("static", plane=sc.plane, **COMMON)
    pol.step(0, sc.phase(0), sc.oracle(0), None, probs)
    pol.step(1, sc.phase(1), sc.oracle(1), None, probs)
    assert pol.last_step.oracle.sources == N_LAYERS


def test_recompute_serves_the_better_of_fresh_and_kept_and_counts_what_moved(rotating):
    sc, probs, recs = rotating
    prev = None
    kept_steps = adopted_steps = 0
    for t, r in enumerate(recs["recompute"]):
        fresh = space_xnet(sc.phase(t), sc.oracle(t), probs, plane=sc.plane, gate_time_ms=T_GATE,
                           expert_time_ms=T_EXP)
        fresh_ms = evaluate(fresh, sc.oracle(t), probs, T_GATE, T_EXP).total_ms
        assert r.candidate_total_ms == pytest.approx(fresh_ms, rel=1e-12)
        if prev is None:
            np.testing.assert_array_equal(r.expert_sat, fresh.expert_sat)
            assert r.flags == FLAG_PLACED and r.migrations == 0
        else:
            kept = Placement(prev.subnet, prev.gate_sat, prev.expert_sat, "space-xnet")
            kept_ms = evaluate(kept, sc.oracle(t), probs, T_GATE, T_EXP).total_ms
            assert r.total_ms == pytest.approx(min(fresh_ms, kept_ms), rel=1e-12)
            if r.flags & FLAG_PLACED:  # adopted: strictly faster at this step
                adopted_steps += 1
                assert fresh_ms < kept_ms
                np.testing.assert_array_equal(r.expert_sat, fresh.expert_sat)
                np.testing.assert_array_equal(r.gate_sat, fresh.gate_sat)
                np.testing.assert_array_equal(r.subnet, fresh.subnet)
                assert r.experts_moved == int((r.expert_sat != prev.expert_sat).sum())
                assert r.gates_moved == int((r.gate_sat != prev.gate_sat).sum())
            else:  # kept: the fresh placement is no faster
                kept_steps += 1
                assert fresh_ms >= kept_ms * (1 - 1e-9) and r.flags == 0 and r.migrations == 0
                np.testing.assert_array_equal(r.expert_sat, prev.expert_sat)
                np.testing.assert_array_equal(r.gate_sat, prev.gate_sat)
        prev = r
    # The ring partition is cut at 0°: as satellites cross it, every arc shifts, and the fresh
    # placement of the shifted arcs is often slower than the one serving.
    assert adopted_steps >= 5 and kept_steps >= 5
    assert sum(r.migrations for r in recs["recompute"]) > 5 * 48


def test_recompute_never_worse_than_static_when_only_the_links_change():
    # Fixed phases: the ring partition and the gate candidates stay the same, so the
    # static placement lies inside the family over which space-xnet is exact.
    sc = RotatingTorus(deg_per_step=0.0, seed=4, lat_cut=None, jitter=0.4)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 4)
    stat = totals(run(drive("static", plane=sc.plane, **COMMON), sc, probs, range(12)))
    reco = totals(run(drive("recompute", plane=sc.plane, **COMMON), sc, probs, range(12)))
    assert (reco <= stat + 1e-9).all()
    assert (reco < stat - 1e-3).sum() >= 6  # and the links do change the optimum


def test_handover_lies_between_static_and_recompute_and_moves_less(rotating):
    _, _, recs = rotating
    mean = {name: totals(r).mean() for name, r in recs.items()}
    assert mean["recompute"] < mean["handover"] < mean["static"]
    moved = {name: sum(x.migrations for x in r) for name, r in recs.items()}
    assert 0 < moved["handover"] < moved["recompute"]
    assert all(r.forced_migrations == 0 for r in recs["handover"])
    # Both plans occur: single expert moves inside the current structure, and adoptions of
    # the fresh placement (gates move too), which land as a whole one step later.
    hand = recs["handover"]
    singles = [t for t, r in enumerate(hand) if 0 < r.experts_moved <= 2 and r.gates_moved == 0]
    adopts = [t for t, r in enumerate(hand) if r.gates_moved > 0]
    assert singles and adopts
    assert all(hand[t + 1].flags & FLAG_PLACED for t in adopts if t + 1 < len(hand))
    for t in singles:
        if t + 1 < len(hand) and not hand[t + 1].flags & FLAG_PLACED:
            np.testing.assert_array_equal(hand[t + 1].subnet, hand[t].subnet)
            np.testing.assert_array_equal(hand[t + 1].gate_sat, hand[t].gate_sat)
            assert 0 < (hand[t + 1].expert_sat != hand[t].expert_sat).sum() <= hand[t].experts_moved
    # Every handover step reports the candidate it weighed: the fresh placement recompute weighs too.
    np.testing.assert_allclose([r.candidate_total_ms for r in recs["handover"]],
                               [r.candidate_total_ms for r in recs["recompute"]])


def test_migrations_start_then_land_after_their_transfer_time():
    # 25 GB experts at 10 Gbit/s: 20 s of transfer = 2 steps, so a move started at t lands at t + 3
    # (2 steps of transfer plus the path latency: the first snapshot after completion).
    sc = RotatingTorus(seed=0)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 0)
    kw = {**COMMON, "expert_bytes": 25e9, "gate_bytes": 0.0, "horizon_s": 3000.0, "migration_price": 0.01}
    recs = run(drive("handover", plane=sc.plane, **kw), sc, probs, range(30))
    started = [t for t, r in enumerate(recs) if r.migrations]
    assert started
    t = started[0]
    assert recs[t].flags & FLAG_MIGRATING and recs[t].in_flight > 0
    for h in (1, 2):
        np.testing.assert_array_equal(recs[t + h].expert_sat, recs[t].expert_sat)  # old placement serves
        assert recs[t + h].in_flight > 0
    assert (recs[t + 3].expert_sat != recs[t].expert_sat).any()
    assert recs[t].migration_time_s >= recs[t].experts_moved * 20.0
    # Same run, but the destinations fail while the weights travel: the moves are cancelled,
    # the experts stay where they are (no forced move: their source is fine) and never land.
    dest = np.unique(recs[t + 3].expert_sat[recs[t + 3].expert_sat != recs[t].expert_sat])
    usable = np.ones(sc.n_sat, dtype=bool)
    usable[dest] = False
    again = run(drive("handover", plane=sc.plane, **kw), sc, probs, range(30),
                usable=lambda s: usable if s > t else None)
    for r in again[t + 1:]:
        assert not np.isin(r.expert_sat, dest).any() and r.forced_migrations == 0
    np.testing.assert_array_equal(again[t + 3].expert_sat, recs[t].expert_sat)


def test_handover_with_infinite_price_is_static_plus_forced_moves():
    sc = RotatingTorus(seed=1)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 1)
    stat = drive("static", plane=sc.plane, **COMMON)
    hand = drive("handover", plane=sc.plane, migration_price=np.inf, **COMMON)
    first = stat.step(0, sc.phase(0), sc.oracle(0), None, probs)
    hand.step(0, sc.phase(0), sc.oracle(0), None, probs)
    dead = np.ones(sc.n_sat, dtype=bool)
    dead[[first.gate_sat[1], first.expert_sat[2, 0]]] = False
    for t in range(1, 30):
        usable = dead if 5 <= t < 15 else None
        a = stat.step(t, sc.phase(t), sc.oracle(t), usable, probs)
        b = hand.step(t, sc.phase(t), sc.oracle(t), usable, probs)
        np.testing.assert_array_equal(a.expert_sat, b.expert_sat)
        np.testing.assert_array_equal(a.gate_sat, b.gate_sat)
        assert a.total_ms == b.total_ms and a.migrations == b.migrations == b.forced_migrations
        assert b.forced_migrations == (2 if t == 5 else 0)


def test_handover_with_free_moves_is_the_fresh_placement_or_better(rotating):
    sc, probs, recs = rotating
    free = dict(COMMON, expert_bytes=0.0, gate_bytes=0.0, migration_price=0.0, min_gain_ratio=0.0)
    hand = run(drive("handover", plane=sc.plane, **free), sc, probs, range(48))
    fresh = np.array([r.candidate_total_ms for r in recs["recompute"]])
    assert (totals(hand) <= fresh + 1e-9).all()
    assert all(r.in_flight == 0 and r.migration_time_s == 0 for r in hand)
    # Where only links change, recompute is exact over every single-move improvement, so they agree.
    fixed = RotatingTorus(deg_per_step=0.0, seed=4, lat_cut=None, jitter=0.4)
    p4 = random_probs(N_LAYERS, N_EXPERTS, 2, 4)
    h = totals(run(drive("handover", plane=fixed.plane, **free), fixed, p4, range(12)))
    r = totals(run(drive("recompute", plane=fixed.plane, **COMMON), fixed, p4, range(12)))
    np.testing.assert_allclose(h, r, rtol=1e-12)


@pytest.mark.parametrize("name", POLICIES)
def test_failed_satellites_are_left_at_once_and_not_used_while_down(name):
    sc = RotatingTorus(seed=2)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 2)
    pol = drive(name, plane=sc.plane, **COMMON)
    recs = run(pol, sc, probs, range(3))
    before = recs[-1]
    down = [int(before.gate_sat[1]), int(before.expert_sat[0, 0]), int(before.expert_sat[3, 2])]
    usable = np.ones(sc.n_sat, dtype=bool)
    usable[down] = False
    on_down = int(np.isin(before.gate_sat, down).sum() + np.isin(before.expert_sat, down).sum())
    assert on_down == 3
    for t in range(3, 20):
        mask = usable if t < 12 else None
        r = pol.step(t, sc.phase(t), sc.oracle(t), mask, probs)
        if t < 12:
            assert not np.isin(r.gate_sat, down).any() and not np.isin(r.expert_sat, down).any()
            Placement(r.subnet, r.gate_sat, r.expert_sat, "space-xnet").check(eligible=usable)
        if t == 3:
            assert r.flags & FLAG_FORCED and r.forced_migrations == 3 and r.feasible
        else:
            assert r.forced_migrations == 0
        recs.append(r)
    if name == "static":
        # The satellites came back but static keeps where the experts went.
        assert not np.isin(recs[-1].expert_sat, down[1:]).any()


@pytest.mark.parametrize("name", POLICIES)
def test_infeasible_and_unreachable_steps_are_flagged_and_the_run_continues(name):
    sc = RotatingTorus(seed=3)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 3)
    pol = drive(name, plane=sc.plane, **COMMON)
    few = np.zeros(sc.n_sat, dtype=bool)
    few[:2 * N_LAYERS] = True  # subnets of two satellites cannot hold a gate and six experts
    recs = []
    for t in range(8):
        usable = few if t in (0, 3) else None
        if t == 5:  # plane 0 loses every link: a disconnected piece of the ring
            sc.removed = set(range(sc.n_slots))
        elif t == 6:
            sc.removed = set()
        r = pol.step(t, sc.phase(t), sc.oracle(t), usable, probs)
        recs.append(r)
        assert isinstance(r, StepRecord)
        if usable is not None:
            assert not np.isin(r.gate_sat[r.gate_sat >= 0], np.flatnonzero(~few)).any()
            assert not np.isin(r.expert_sat[r.expert_sat >= 0], np.flatnonzero(~few)).any()
    assert recs[0].flags & FLAG_INFEASIBLE and recs[0].total_ms == np.inf and not recs[0].feasible
    assert (recs[0].expert_sat == -1).all()  # nothing placed yet: static places at its first feasible step
    assert recs[1].feasible and recs[1].flags & FLAG_PLACED and recs[1].migrations == 0
    assert recs[3].flags & FLAG_INFEASIBLE and not np.isfinite(recs[3].total_ms)
    assert recs[4].feasible
    if name == "static":  # its gates sit on the cut-off plane since the repair at step 3
        assert recs[5].flags & FLAG_UNREACHABLE and recs[5].total_ms == np.inf
    if name == "recompute":  # the strategy avoids unreachable satellites when it can
        assert recs[5].feasible and not np.isin(recs[5].expert_sat, np.arange(sc.n_slots)).any()
    assert recs[6].feasible or name == "handover"  # handover may still land a move decided at step 5
    assert recs[7].feasible
    if name == "static":
        # Experts with nowhere to go at step 3 are unplaced, not left on dead satellites,
        # and are reloaded (forced) when room comes back.
        assert (recs[3].expert_sat == -1).any() and recs[4].forced_migrations > 0


def test_an_unreachable_placement_is_flagged():
    sc = RotatingTorus(seed=3)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 3)
    pol = drive("static", plane=sc.plane, **COMMON)
    first = pol.step(0, sc.phase(0), sc.oracle(0), None, probs)
    sc.removed = {int(first.gate_sat[2])}  # its links are down but the caller still calls it usable
    r = pol.step(1, sc.phase(1), sc.oracle(1), None, probs)
    assert r.flags & FLAG_UNREACHABLE and not r.feasible and r.total_ms == np.inf
    assert np.isinf(r.per_layer_ms[[1, 2]]).all()


@pytest.mark.parametrize("name", POLICIES)
def test_bytes_and_times_follow_the_moves_exactly(name):
    sc = RotatingTorus(seed=5)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 5)
    eb, gb, rate = 3e8, 7e8, 2e10
    kw = dict(COMMON, expert_bytes=eb, gate_bytes=gb, isl_rate_bps=rate, migration_price=0.1)
    pol = drive(name, plane=sc.plane, **kw)
    dead = np.ones(sc.n_sat, dtype=bool)
    dead[[5, 17, 30]] = False
    recs = run(pol, sc, probs, range(24), usable=lambda t: dead if t >= 10 else None)
    assert any(r.migrations for r in recs) or name == "static"
    assert any(r.forced_migrations for r in recs)
    for r in recs:
        assert r.bytes_moved == r.experts_moved * eb + r.gates_moved * gb
        assert r.migrations == r.experts_moved + r.gates_moved
        # Transfer times alone; voluntary moves add their path latency on top.
        transfer = 8 * (r.experts_moved * eb + r.gates_moved * gb) / rate
        assert r.migration_time_s == pytest.approx(transfer, rel=1e-12) if r.migrations == r.forced_migrations \
            else r.migration_time_s > transfer
        # Each migration is listed: what moved, its own time, and 0.1 × its time charged where handover chose it.
        assert len(r.moves) == r.migrations and sum(m.forced for m in r.moves) == r.forced_migrations
        assert sum(m.kind == "gate" for m in r.moves) == r.gates_moved
        assert sum(m.transfer_s for m in r.moves) == pytest.approx(r.migration_time_s, rel=1e-12)
        for m in r.moves:
            assert m.to_sat >= 0 and m.from_sat != m.to_sat and (m.expert == -1) == (m.kind == "gate")
            voluntary_handover = name == "handover" and not m.forced
            assert m.charged_ms == (pytest.approx(0.1 * m.transfer_s * 1000) if voluntary_handover else 0.0)


def line_oracle(weights_ms):
    """A path graph 0 – 1 – … – n−1 with the given link latencies."""
    n = len(weights_ms) + 1
    g = coo_matrix((weights_ms, (np.arange(n - 1), np.arange(1, n))), shape=(n, n)).tocsr()
    return lambda src: dijkstra(g, directed=False, indices=np.asarray(src))


def test_handover_rule_by_hand():
    # Seven satellites on a line, one layer, one expert always active, gate 3 (middle: one gate
    # candidate per subnet, which the spread rule puts at the arc's middle).
    # Step 0, all links 1 ms: the expert sits next to the gate, on 2 (ties to the lower index).
    # Step 1, links 2–3 at 2 ms and 3–4 at 0.5 ms: moving the expert from 2 to 4 takes its
    # layer from 2·2 = 4 ms to 2·0.5 = 1 ms, a gain of 3/4 of the decode time per token.
    # τ = 8 · 1.25e9 / 1e10 + (2 + 0.5) / 1000 = 1.0025 s → lands one step (10 s) later;
    # horizon 50 s = 5 steps, so it serves steps 1…4: G = 4 · 10 s · 1000 · 0.75 = 30 000 ms.
    # Cost = price · 1002.5 ms, so the break-even price is 29.925…
    phase = np.arange(7) * 10.0
    even = line_oracle([1.0] * 6)
    shifted = line_oracle([1.0, 1.0, 2.0, 0.5, 1.0, 1.0])
    kw = dict(expert_bytes=1.25e9, isl_rate_bps=1e10, step_s=10.0, horizon_s=50.0, min_gain_ratio=0.0,
              n_gate_candidates=1)

    def after_step1(lookahead=(), **extra):
        pol = drive("handover", **{**kw, **extra})
        r0 = pol.step(0, phase, even, None, [[1.0]])
        assert r0.gate_sat.tolist() == [3] and r0.expert_sat.tolist() == [[2]]
        return pol, pol.step(1, phase, shifted, None, [[1.0]], lookahead=lookahead)

    _, stay = after_step1(migration_price=29.95)
    assert stay.migrations == 0
    pol, move = after_step1(migration_price=29.90)
    assert move.migrations == 1 and move.in_flight == 1 and move.expert_sat.tolist() == [[2]]
    assert move.bytes_moved == 1.25e9 and move.migration_time_s == pytest.approx(1.0025, rel=1e-12)
    (moved,) = move.moves
    assert (moved.kind, moved.layer, moved.expert, moved.from_sat, moved.to_sat, moved.forced) == \
        ("expert", 0, 0, 2, 4, False)
    assert moved.transfer_s == pytest.approx(1.0025, rel=1e-12)
    assert moved.charged_ms == pytest.approx(29.90 * 1002.5, rel=1e-12)
    landed = pol.step(2, phase, shifted, None, [[1.0]])
    assert landed.expert_sat.tolist() == [[4]] and landed.total_ms == pytest.approx(1.0)
    # Hysteresis: the relative gain is 0.75.
    assert after_step1(migration_price=0.0, min_gain_ratio=0.76)[1].migrations == 0
    assert after_step1(migration_price=0.0, min_gain_ratio=0.74)[1].migrations == 1
    # Lookahead: if the links revert next step, the move would never pay off.
    assert after_step1(migration_price=0.01, lookahead=[even])[1].migrations == 0
    assert after_step1(migration_price=0.01, lookahead=[shifted])[1].migrations == 1


def test_same_seed_same_run_with_a_randomized_strategy():
    sc = RotatingTorus(seed=6)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 6)

    def go(seed, name):
        return run(drive(name, "ring-random", seed=seed, plane=sc.plane, **COMMON), sc, probs, range(8))

    for name in POLICIES:
        a, b, c = go(3, name), go(3, name), go(4, name)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.expert_sat, y.expert_sat)
            assert x.total_ms == y.total_ms and x.migrations == y.migrations
        assert any((x.expert_sat != z.expert_sat).any() for x, z in zip(a, c))


def test_step_oracle_memo_and_relay_bound():
    sc = RotatingTorus(seed=7)
    full = dijkstra(sc.graph(0), directed=False)
    memo = StepOracle(sc.oracle(0), sc.n_sat)
    np.testing.assert_allclose(memo([3, 9, 3]), full[[3, 9, 3]])
    memo([9, 11])
    assert memo.calls == 2 and memo.sources == 3
    a, b = np.arange(sc.n_sat), np.roll(np.arange(sc.n_sat), 5)
    bound = memo.relay_ms(a, b)
    assert (bound >= full[a, b] - 1e-12).all()
    exact = np.isin(a, [3, 9, 11]) | np.isin(b, [3, 9, 11])
    np.testing.assert_allclose(bound[exact], full[a, b][exact])
    assert float(migration_time_s(0.0, 50.0, 1e9)) == 0.0


def test_step_oracle_returns_fresh_rows_in_asked_order_over_many_calls():
    # Rows arrive in several calls (the store grows); answers are copies in the order asked.
    sc = RotatingTorus(seed=3)
    full = dijkstra(sc.graph(0), directed=False)
    memo = StepOracle(sc.oracle(0), sc.n_sat)
    asked = set()
    rng = np.random.default_rng(0)
    for _ in range(6):
        src = rng.integers(0, sc.n_sat, rng.integers(0, 9))
        out = memo(src)
        asked |= set(src.tolist())
        np.testing.assert_array_equal(out, full[src])
        out[:] = -1.0  # the caller owns its copy
    assert memo.sources == len(asked)
    np.testing.assert_array_equal(memo(sorted(asked)), full[sorted(asked)])
    known = np.array(sorted(asked))
    a, b = np.arange(sc.n_sat), np.roll(np.arange(sc.n_sat), 7)
    expect = np.where(a == b, 0.0, (full[known][:, a] + full[known][:, b]).min(axis=0))
    np.testing.assert_array_equal(memo.relay_ms(a, b), expect)
    with pytest.raises(PlacementError, match="source satellite -1 is outside"):
        memo([0, -1])


def test_repair_without_failures_changes_nothing_and_asks_for_the_gates():
    from placement.migration import repair

    sc = RotatingTorus(seed=5)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 0)
    pl = space_xnet(sc.phase(0), sc.oracle(0), probs, plane=sc.plane)
    memo = StepOracle(sc.oracle(0), sc.n_sat)
    allowed = np.ones(sc.n_sat, dtype=bool)
    g, x, gm, xm, ok = repair(pl.subnet, pl.gate_sat, pl.expert_sat, allowed, np.ones(sc.n_sat, np.int64),
                              probs, memo, confined=True)
    np.testing.assert_array_equal(g, pl.gate_sat)
    np.testing.assert_array_equal(x, pl.expert_sat)
    assert g is not pl.gate_sat and x is not pl.expert_sat
    assert not gm.any() and not xm.any() and gm.shape == g.shape and xm.shape == x.shape and ok
    assert memo.sources == N_LAYERS


def test_bad_arguments_name_the_value_and_the_fix():
    sc = RotatingTorus(seed=0)
    probs = random_probs(N_LAYERS, N_EXPERTS, 2, 0)
    with pytest.raises(PlacementError, match="unknown policy 'sticky'.*static, recompute, handover"):
        drive("sticky", **COMMON)
    with pytest.raises(PlacementError, match="lower-bound"):
        Step(0, sc.phase(0), sc.oracle(0), probs, strategy="lower-bound")
    with pytest.raises(PlacementError, match="isl_rate_bps must be a number > 0"):
        drive("handover", **{**COMMON, "isl_rate_bps": 0.0})
    with pytest.raises(PlacementError, match="expert_bytes"):
        drive("handover", **{**COMMON, "expert_bytes": -1.0})
    pol = drive("handover", plane=sc.plane, **COMMON)
    pol.step(0, sc.phase(0), sc.oracle(0), None, probs)
    with pytest.raises(PlacementError, match="t_index 0 does not follow the previous step 0"):
        pol.step(0, sc.phase(0), sc.oracle(0), None, probs)
    with pytest.raises(PlacementError, match="usable must be a boolean array"):
        pol.step(1, sc.phase(1), sc.oracle(1), np.ones(sc.n_sat), probs)
    with pytest.raises(PlacementError, match="make a new policy"):
        pol.step(1, sc.phase(1), sc.oracle(1), None, probs[:, :3])
