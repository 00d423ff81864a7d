"""How far each strategy is from the certified lower bound on one scenario, and what the search costs.

Prints, for the placement objective (expected token latency under
independent activations, LM head included): the bound and its method,
space-xnet, joint and anneal, each as a ratio to space-xnet and to the
bound (the gap), and the wall time of the bound and of anneal at its
default budget on this machine.

    PYTHONPATH=. python bench/placement_gap.py [--preset starlink-shell1] [--model llama-moe-3.5b] [--budget 12]
"""

from __future__ import annotations

import argparse
import time

import placement
from placement.anneal import DEFAULT_TIME_BUDGET_S
from spacexnet.scenario import build_constellation, model_setup, snapshot


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--budget", type=float, default=DEFAULT_TIME_BUDGET_S)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    setup = model_setup(model=args.model)
    snap = snapshot(build_constellation(preset=args.preset), "2026-01-01T00:00:00Z", setup)
    kw = setup.strategy_kwargs(snap.plane, eligible=snap.eligible)
    head = setup.times.head_ms

    t0 = time.perf_counter()
    bound = placement.certified_bound(snap.arg_lat_deg, snap.path_ms, setup.probs, **kw)
    t_bound = time.perf_counter() - t0
    rows = {}
    times = {}
    for name in ("space-xnet", "joint", "anneal"):
        t0 = time.perf_counter()
        extra = {"time_budget_s": args.budget} if name == "anneal" else {}
        pl = placement.STRATEGIES[name](snap.arg_lat_deg, snap.path_ms, setup.probs, seed=args.seed, **kw, **extra)
        times[name] = time.perf_counter() - t0
        pl.check(capacity=kw["capacity"], eligible=kw["eligible"])
        rows[name] = placement.evaluate(pl, snap.path_ms, setup.probs, kw["gate_time_ms"],
                                        kw["expert_time_ms"]).total_ms + head
    lb = bound.total_ms + head
    base = rows["space-xnet"]
    print(f"{args.preset or 'starlink-shell1'} · {setup.model.name} · {setup.activation} · "
          f"capacity {setup.experts_per_sat}")
    print(f"bound: {bound.method}")
    print(f"{'strategy':<12} {'expected ms':>12} {'÷ space-xnet':>13} {'÷ bound':>8} {'seconds':>8}")
    print(f"{'lower-bound':<12} {lb:>12.1f} {lb / base:>13.3f} {1.0:>8.3f} {t_bound:>8.1f}")
    for name, value in rows.items():
        print(f"{name:<12} {value:>12.1f} {value / base:>13.3f} {value / lb:>8.3f} {times[name]:>8.1f}")


if __name__ == "__main__":
    main()
