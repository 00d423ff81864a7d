"""Does Space-XNet give "at least a threefold latency reduction"? Measured over a grid.

arXiv 2605.00515 claims that Space-XNet cuts token latency at least 3× compared
with random placement and with the ablations that keep half of its method
(ring layers + random experts; random layers + sorted experts) on a
thousand-satellite constellation. This script measures the ratio

    expected token latency of a strategy ÷ expected token latency of space-xnet

for the three baselines (``random``, ``ring-random``, ``random-optimized``),
for ``joint`` (beyond the paper: gates and experts placed together) and for
the ``lower-bound`` (a floor no placement can beat), across activation skew,
constellation, model, belt, hardware, ISL profile and instant. It prints one
markdown table per group and a verdict: the claim *holds* on a row when all
three baseline ratios are ≥ 3.

Nothing is tuned: every row is one call of :func:`spacexnet.compare.compare`
on one snapshot with the package's default link rules. Ratios use the exact
expected latency under exactly-k routing (``expected_ms``: k experts per
token and layer, conditional-Bernoulli law); the last column gives the
verdict under the paper's approximation, independent activations
(``expected_independent_ms``). The Monte Carlo tail is not used, so few
samples are drawn. A row's baseline ratio is
the mean over activation seeds of [mean over ``--seeds`` random placements ÷
space-xnet]; activation seeds are 0, 100, 200, … so that the seeds of the
random placements (activation seed + i) never repeat between them.

Run::

    python examples/paper_claim.py            # full grid (86 rows), about 5 min on 2 busy cores
    python examples/paper_claim.py --quick    # 3 rows, a few seconds (used by the tests)
    python examples/paper_claim.py --readme   # the full grid laid out as in docs/paper_claim.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace

import numpy as np

from placement.gates import DEFAULT_GATE_CANDIDATES
from spacexnet.compare import compare
from spacexnet.scenario import build_constellation, model_setup, snapshot

BASELINES = ("random", "ring-random", "random-optimized")
STRATEGIES = ("space-xnet", "joint", *BASELINES, "lower-bound")
#: Ratio every baseline must reach for the paper's claim to hold on a row.
CLAIM = 3.0
#: The gate-candidates axis: fewer than the default, the default, every satellite of an arc (≤ 64).
GATE_K = (4, DEFAULT_GATE_CANDIDATES, 64)
#: Groups docs/paper_claim.md shows open (``--readme``); the others are folded. Titles start with these.
README_OPEN = ("Activation skew", "Gate candidates")
SKEWS = ("uniform", "zipf:0.5", "zipf:1.0", "zipf:1.5", "zipf:2.0", "dirichlet:1.0", "dirichlet:0.1")

COLUMNS = ("constellation", "model", "experts/sat", "hardware", "ISL", "belt", "instant", "gate cand.",
           "activation", "top-k share", "space-xnet ms", "joint ÷", "random ÷", "ring-random ÷", "random-optimized ÷", "lower-bound ÷",
           "claim ≥3×", "claim ≥3×, indep.")


@dataclass(frozen=True)
class Case:
    """One row of the grid: everything that defines a scenario."""

    preset: str = "starlink-shell1"  # ignored when ``walker`` is given
    walker: str | None = None  # Walker-delta "i:T/P/F" at ``altitude_km`` instead of a preset
    altitude_km: float = 550.0
    model: str = "llama-moe-3.5b"
    experts_per_sat: int = 1
    hardware: str = "jetson-agx-orin-64gb"
    link_profile: str = "laser-100g"
    belt_planes: int | None = None
    offset_min: float = 0.0
    activation: str = "zipf:1.0"
    gate_candidates: int | None = None  # K of the gate rule; None: what compare() uses (placement's default)


    @property
    def constellation(self) -> str:
        return self.preset if self.walker is None else f"walker {self.walker} {self.altitude_km:g} km"


@dataclass
class Row:
    case: Case
    space_xnet_ms: float
    ratios: dict  # strategy -> mean ratio over activation seeds
    breakdown_ms: dict  # space-xnet's time split, first activation seed
    planes_per_subnet: float  # space-xnet, mean distinct planes per subnet
    gate_ring_ms: float = float("nan")  # space-xnet, sum over layers of path(g_l -> g_{l+1})
    topk_share: float = float("nan")  # see top_k_share()
    error: str | None = None
    ratios_independent: dict | None = None  # the same under independent activations

    @property
    def holds(self) -> bool:
        return self.error is None and all(self.ratios[b] >= CLAIM for b in BASELINES)

    @property
    def holds_independent(self) -> bool:
        return self.error is None and all(self.ratios_independent[b] >= CLAIM for b in BASELINES)

    def cells(self) -> list[str]:
        c = self.case
        head = [c.constellation, c.model, str(c.experts_per_sat), c.hardware.split("-")[0], c.link_profile,
                "-" if c.belt_planes is None else f"{c.belt_planes} planes", f"+{c.offset_min:g} min",
                f"default ({DEFAULT_GATE_CANDIDATES})" if c.gate_candidates is None else str(c.gate_candidates), c.activation, "-" if math.isnan(self.topk_share) else f"{self.topk_share:.2f}"]
        if self.error is not None:
            return head + ["infeasible"] + ["-"] * 5 + [self.error, "-"]
        rat = [f"{self.ratios[s]:.2f}" for s in ("joint", *BASELINES, "lower-bound")]
        return head + [f"{self.space_xnet_ms:,.1f}"] + rat + [_verdict(self.ratios, self.holds),
                                                             _verdict(self.ratios_independent, self.holds_independent)]


def _verdict(ratios, holds) -> str:
    worst = min(BASELINES, key=ratios.get)
    return "holds" if holds else f"fails ({worst} {ratios[worst]:.2f})"


@dataclass
class _ExpectedRow:
    """The fields of :class:`spacexnet.compare.StrategyRow` that this script reads."""

    strategy: str
    expected_ms: float
    expected_independent_ms: float
    ratio_to_space_xnet: float = float("nan")
    ratio_independent: float = float("nan")
    breakdown_ms: dict | None = None
    placements: list | None = None


def compare_gate_candidates(snap, setup, n_gate_candidates, n_seeds, belt_planes=None):
    """The expected-latency part of :func:`spacexnet.compare.compare` with the gate rule's K set.

    ``compare`` calls each strategy with placement's default of
    ``DEFAULT_GATE_CANDIDATES`` (8) gate candidates per subnet, spread evenly
    over its arc from the first to the last satellite; every K uses that same
    spread rule. This calls the same registry functions with the same
    arguments and seeds, plus ``n_gate_candidates``, and measures them with
    the same :func:`latency.token_latency` (with the default K it reproduces
    ``compare``'s expected values exactly). ``random`` and
    ``random-optimized`` draw their gates at random and ignore K.
    """
    import latency
    import placement

    kwargs = dict(setup.strategy_kwargs(snap.plane, belt_planes, snap.eligible),
                  n_gate_candidates=int(n_gate_candidates))
    out = {}
    for name in STRATEGIES:
        fn = placement.STRATEGIES[name]
        if name == "lower-bound":
            g = snap.graph
            nearest = np.full(g.n_sat, np.inf)
            np.minimum.at(nearest, g.sat_a, g.edge_ms)
            np.minimum.at(nearest, g.sat_b, g.edge_ms)
            ev = fn(snap.arg_lat_deg, snap.path_ms, setup.probs, nearest_ms=nearest, **kwargs)
            bound = float(ev.total_ms + setup.times.head_ms)  # independent, hence also an exactly-k bound
            out[name] = _ExpectedRow(name, bound, bound)
            continue
        seeds = [setup.seed + i for i in range(n_seeds)] if name in placement.RANDOMIZED else [None]
        pls = [fn(snap.arg_lat_deg, snap.path_ms, setup.probs, seed=seed, **kwargs) for seed in seeds]
        exact = [latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
                 for pl in pls]
        out[name] = _ExpectedRow(name, float(np.mean([e.expected_ms for e in exact])),
                                 float(np.mean([e.expected_independent_ms for e in exact])),
                                 breakdown_ms=exact[0].breakdown.as_dict(), placements=pls)
    for row in out.values():
        row.ratio_to_space_xnet = row.expected_ms / out["space-xnet"].expected_ms
        row.ratio_independent = row.expected_independent_ms / out["space-xnet"].expected_independent_ms
    return list(out.values())


def top_k_share(probs) -> float:
    """How skewed a profile is: the share of a token's k picks that go to its layer's k most
    popular experts, averaged over MoE layers (k/E for a uniform profile, 0.25 for 4 of 16; 1 when the same k experts always fire)."""
    p = np.asarray(probs, dtype=float)
    p = p[p.sum(axis=1) > 0]
    k = int(round(p[0].sum()))
    top = -np.sort(-p, axis=1)[:, :k]
    return float(np.mean(top.sum(axis=1) / k))


class Runner:
    """Measures cases, caching constellations and snapshots (a snapshot depends on
    the constellation, the instant, the payload size and the ISL profile only)."""

    def __init__(self, act_seeds, n_seeds, n_samples, log):
        self.act_seeds, self.n_seeds, self.n_samples, self.log = act_seeds, n_seeds, n_samples, log
        self._const, self._snap = {}, {}

    def _snapshot(self, case: Case, setup):
        name = case.constellation
        if name not in self._const:
            self._const[name] = (build_constellation(case.preset) if case.walker is None
                                 else build_constellation(walker=case.walker, altitude_km=case.altitude_km))
        const = self._const[name]
        key = (name, case.offset_min, setup.model.hidden_state_bytes, case.link_profile)
        if key not in self._snap:
            when = np.datetime64(const.reference_epoch, "ns") + np.timedelta64(int(case.offset_min * 60e9), "ns")
            self._snap[key] = snapshot(const, when, setup)
        return self._snap[key]

    def run(self, case: Case, n_act=None) -> Row:
        t0 = time.perf_counter()
        per_seed, per_seed_ind, sx_ms, shares = [], [], [], []
        breakdown, planes, ring_ms = {}, float("nan"), float("nan")
        for act_seed in self.act_seeds[:n_act]:
            setup = model_setup(case.model, hardware=case.hardware, link_profile=case.link_profile,
                                activation=case.activation, seed=act_seed, experts_per_sat=case.experts_per_sat)
            snap = self._snapshot(case, setup)
            try:
                if case.gate_candidates is None:
                    rows = compare(snap, setup, strategies=STRATEGIES, n_seeds=self.n_seeds,
                                   n_samples=self.n_samples, belt_planes=case.belt_planes)
                else:
                    rows = compare_gate_candidates(snap, setup, case.gate_candidates, self.n_seeds, case.belt_planes)
            except Exception as exc:  # an infeasible partition is a result, reported as such
                msg = str(exc).split(";")[0]
                self.log(f"  {case}: {type(exc).__name__}: {msg}")
                return Row(case, float("nan"), {}, {}, float("nan"), error=f"{type(exc).__name__}: {msg}")
            by = {r.strategy: r for r in rows}
            per_seed.append({s: by[s].ratio_to_space_xnet for s in STRATEGIES})
            per_seed_ind.append({s: by[s].ratio_independent for s in STRATEGIES})
            sx_ms.append(by["space-xnet"].expected_ms)
            shares.append(top_k_share(setup.probs))
            if not breakdown:
                breakdown = dict(by["space-xnet"].breakdown_ms)
                pl = by["space-xnet"].placements[0]
                planes = float(np.mean([np.unique(snap.plane[pl.subnet == l]).size for l in range(setup.n_layers)]))
                gates = np.asarray(pl.gate_sat)
                from_gate = snap.path_ms(gates)
                ring_ms = float(sum(from_gate[l, gates[(l + 1) % gates.size]] for l in range(gates.size)))
        ratios = {s: float(np.mean([r[s] for r in per_seed])) for s in STRATEGIES}
        ratios_ind = {s: float(np.mean([r[s] for r in per_seed_ind])) for s in STRATEGIES}
        self.log(f"  {case.constellation} {case.model} {case.activation} belt={case.belt_planes} {case.hardware} "
                 f"{case.link_profile} +{case.offset_min:g}min: random {ratios['random']:.2f} "
                 f"({time.perf_counter() - t0:.1f} s)")
        return Row(case, float(np.mean(sx_ms)), ratios, breakdown, planes, ring_ms, float(np.mean(shares)),
                   ratios_independent=ratios_ind)


def markdown(rows, columns=COLUMNS) -> str:
    """A markdown table of ``rows``, dropping the columns that are constant across them
    (they are stated in the table's caption instead)."""
    cells = [r.cells() for r in rows]
    keep = [i for i, name in enumerate(columns)
            if i >= columns.index("space-xnet ms") or len({c[i] for c in cells}) > 1]
    lines = ["| " + " | ".join(columns[i] for i in keep) + " |",
             "|" + "|".join("---" if i < columns.index("space-xnet ms") or columns[i].startswith("claim") else "---:"
                            for i in keep) + "|"]
    lines += ["| " + " | ".join(c[i] for i in keep) + " |" for c in cells]
    return "\n".join(lines)


def caption(rows) -> str:
    cells = [r.cells() for r in rows]
    fixed = [f"{COLUMNS[i]} = {cells[0][i]}" for i in range(COLUMNS.index("space-xnet ms"))
             if len({c[i] for c in cells}) == 1]
    return "; ".join(fixed)


def groups(quick: bool):
    """The grid: (title, cases, activation seeds: None = all of ``--act-seeds``, 1 = the first only)."""
    base = Case()
    kuiper = replace(base, preset="kuiper-630")
    if quick:
        return [("quick", [replace(base, activation="uniform"), base, replace(kuiper, activation="zipf:1.0")], None)]
    # Qwen3-30B-A3B: 48 layers × 128 experts. One expert per satellite would need 48 × 129 = 6,192
    # satellites; Starlink shell 1 gives 33 per subnet (32 × 4 = 128 slots: 4 per satellite),
    # Kuiper 24 (23 × 6 = 138 ≥ 128: 6 per satellite). 9 MiB each, far below a satellite's memory.
    model_cases = []
    for const, qwen_eps in ((base, 4), (kuiper, 6)):
        for act in ("uniform", "zipf:1.0", "dirichlet:0.1"):
            model_cases += [replace(const, model="mixtral-8x7b", activation=act),
                            replace(const, model="qwen3-30b-a3b", experts_per_sat=qwen_eps, activation=act),
                            replace(const, model="olmoe-1b-7b", activation=act)]
    model_cases.append(replace(base, model="qwen3-30b-a3b", experts_per_sat=1))  # infeasible, shown as such
    return [
        ("Activation skew, Starlink shell 1 (the paper's setting)", [replace(base, activation=a) for a in SKEWS], None),
        ("Activation skew, Kuiper 630 km", [replace(kuiper, activation=a) for a in SKEWS], None),
        ("Other models", model_cases, 1),
        ("Belt of adjacent planes (beyond the paper)",
         [replace(c, belt_planes=b, activation=a) for c in (base,) for b in (26, 36, 48)
          for a in ("uniform", "zipf:1.0", "dirichlet:0.1")]
         + [replace(kuiper, belt_planes=b) for b in (17, 24)], 1),
        ("Hardware and ISL profile",
         [replace(c, hardware="h100-sxm", activation=a) for c in (base, kuiper) for a in ("uniform", "zipf:1.0",
                                                                                         "dirichlet:0.1")]
         + [replace(base, link_profile=lp) for lp in ("laser-25g-mini", "fso-800g")], 1),
        ("Other shells of 588-1,584 satellites (the paper's \"thousand-satellite\" scale)",
         [replace(base, preset="oneweb", activation=a) for a in ("uniform", "zipf:1.0", "dirichlet:0.1")]
         + [replace(base, walker=w, activation=a) for w in ("53:1000/10/1", "53:1584/24/1", "53:1584/36/1")
            for a in ("uniform", "zipf:1.0", "dirichlet:0.1")], 1),
        (f"Gate candidates per subnet (the gate rule's K, spread evenly over each arc; "
         f"`spacexnet compare` uses {DEFAULT_GATE_CANDIDATES})",
         [replace(c, gate_candidates=k, activation=a) for c in (base, kuiper)
          for a in ("uniform", "zipf:1.0", "dirichlet:0.1") for k in GATE_K], 1),
        ("Instant (the constellation moves; minutes after the epoch)",
         [replace(c, offset_min=m) for c in (base, kuiper) for m in (7.0, 31.0)], 1),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 3-row grid in a few seconds (for tests)")
    ap.add_argument("--act-seeds", type=int, default=None,
                    help="activation profiles per row (seeds 0, 100, ...); default 3, 1 with --quick")
    ap.add_argument("--seeds", type=int, default=None,
                    help="random placements per baseline and activation seed; default 5, 2 with --quick")
    ap.add_argument("--samples", type=int, default=None,
                    help="Monte Carlo tokens per placement (not used by the ratios); default 2000, 200 with --quick")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--readme", action="store_true",
                    help="docs/paper_claim.md's layout: headings one level deeper, the groups after the first few and the "
                         "summary folded (python docs/build.py pastes it)")
    args = ap.parse_args(argv)
    heading = "####" if args.readme else "###"
    n_act = args.act_seeds or (1 if args.quick else 3)
    n_seeds = args.seeds or (2 if args.quick else 5)
    n_samples = args.samples or (200 if args.quick else 2000)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    runner = Runner([100 * i for i in range(n_act)], n_seeds, n_samples, log)

    t0 = time.perf_counter()
    all_rows = []
    print(f"Ratio = expected token latency ÷ that of space-xnet (> 1: slower than space-xnet), exactly k "
          f"experts per token and layer. Baselines: mean over the activation seeds of a row × {n_seeds} random "
          f"placements each. Claim holds on a row when random, ring-random and random-optimized are all "
          f"≥ {CLAIM:g}; the last column applies the same test to the paper's approximation (experts active "
          f"independently).\n")
    tables = []
    for title, cases, group_act in groups(args.quick):
        log(f"{title} ...")
        rows = [runner.run(c, group_act) for c in cases]
        all_rows += rows
        used = min(group_act or n_act, n_act)
        tables.append((title, f"{heading} {title}\n\nFixed: {caption(rows)}. Activation seeds per row: {used}; "
                              f"random placements per seed: {n_seeds}.\n\n{markdown(rows)}\n"))
    shown = [text for title, text in tables if not args.readme or title.startswith(README_OPEN)]
    folded = [text for title, text in tables if args.readme and not title.startswith(README_OPEN)]
    if shown:
        print("\n".join(shown))
    if folded:
        print("<details><summary>The other groups (click to open)</summary>\n\n" + "\n".join(folded)
              + "\n</details>\n")

    ok = [r for r in all_rows if r.error is None]
    holds = [r for r in ok if r.holds]
    if args.readme:
        print("The script ends with this summary (one \"holds on\" line per row where the claim holds):\n\n"
              "<details><summary>The script's summary (click to open)</summary>\n")
    else:
        print(f"{heading} Verdict\n")
    print(f"- The claim (all three baselines ≥ {CLAIM:g}×) holds on {len(holds)} of {len(ok)} feasible rows"
          f" ({len(all_rows) - len(ok)} infeasible); under independent activations on "
          f"{sum(r.holds_independent for r in ok)}.")
    flips = [r for r in ok if r.holds != r.holds_independent]
    print(f"- The two expectations give different verdicts on {len(flips)} of {len(ok)} rows"
          + "".join(f"; {r.case.constellation}, {r.case.model}, {r.case.activation}"
                    + (f", {r.case.gate_candidates} gate candidates" if r.case.gate_candidates else "")
                    + f": {'holds' if r.holds else 'fails'} under exactly-k routing" for r in flips) + ".")
    for b in (*BASELINES, "joint"):
        vals = np.array([r.ratios[b] for r in ok])
        count = (f"≥ {CLAIM:g} on {int(np.sum(vals >= CLAIM))}" if b != "joint"
                 else f"< 1 (faster than space-xnet) on {int(np.sum(vals < 1 - 1e-9))}")
        print(f"- {b} ÷ space-xnet: min {vals.min():.2f}, median {np.median(vals):.2f}, max {vals.max():.2f}; "
              f"{count} of {len(ok)} rows.")
    for r in holds:
        c = r.case
        where = ", ".join(x for x in (c.constellation, c.model, c.activation, c.hardware,
                                      c.link_profile != Case.link_profile and c.link_profile,
                                      c.belt_planes and f"belt {c.belt_planes} planes",
                                      c.offset_min and f"+{c.offset_min:g} min",
                                      c.gate_candidates and f"{c.gate_candidates} gate candidates") if x)
        print(f"- holds on {where}: " + ", ".join(f"{b} {r.ratios[b]:.2f}" for b in BASELINES) + ".")
    diagnosed = [replace(Case(), preset=p, gate_candidates=k) for p in ("starlink-shell1", "kuiper-630")
                 for k in (None, 64)]
    for case in diagnosed:  # the default scenario (and with every arc member a gate candidate): why
        r = next((r for r in ok if r.case == case), None)
        if r is None:
            continue
        bd = r.breakdown_ms
        total = sum(bd.values())
        k = f"default {DEFAULT_GATE_CANDIDATES}" if r.case.gate_candidates is None else r.case.gate_candidates
        print(f"- {r.case.preset}, {r.case.model}, {r.case.activation}, {k} gate candidates: space-xnet's {r.space_xnet_ms:,.1f} ms = "
              + ", ".join(f"{k.removesuffix('_ms')} {v:,.1f} ms ({100 * v / total:.0f}%)" for k, v in bd.items())
              + f"; its gate ring alone (sum of path(g_l → g_l+1)) is {r.gate_ring_ms:,.1f} ms; "
              f"its subnets span {r.planes_per_subnet:.1f} orbital planes on average.")
    if args.readme:
        print("\n</details>")
    log(f"done in {time.perf_counter() - t0:.0f} s")
    bad = [r for r in ok if not all(math.isfinite(v) and v > 0 for v in r.ratios.values())]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
