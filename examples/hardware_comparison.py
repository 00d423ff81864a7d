"""Compare two satellite hardware profiles for the same constellation, model and placement.

Runs Space-XNet's placement at one instant with an embedded module (Jetson
AGX Orin) and a data-centre accelerator (H100) on board, and prints the
token latency split into propagation, transmission, forwarding and compute:
the network dominates unless the links are short.

Usage::

    python examples/hardware_comparison.py [--walker 53:1584/72/1] [--altitude-km 550]
"""

from __future__ import annotations

import argparse

import latency
from spacexnet.compare import place
from spacexnet.scenario import build_constellation, model_setup, snapshot


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walker", default="53:1584/72/1")
    parser.add_argument("--altitude-km", type=float, default=550.0)
    parser.add_argument("--model", default="llama-moe-3.5b")
    args = parser.parse_args(argv)
    constellation = build_constellation(walker=args.walker, altitude_km=args.altitude_km)
    print(f"{constellation.source}, {args.model}")
    print(f"{'hardware':22s} {'token ms':>9s} {'tokens/s':>9s} {'propagation':>12s} {'transmission':>13s} "
          f"{'forwarding':>11s} {'compute':>8s}")
    for hardware in latency.hardware_names():
        setup = model_setup(args.model, hardware=hardware)
        snap = snapshot(constellation, constellation.reference_epoch, setup)
        pl = place(snap, setup)
        result = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
        b = result.breakdown
        print(f"{hardware:22s} {result.expected_ms:9.1f} {1e3 / result.expected_ms:9.3f} {b.propagation_ms:12.1f} "
              f"{b.transmission_ms:13.2f} {b.forwarding_ms:11.1f} {b.compute_ms:8.1f}")


if __name__ == "__main__":
    main()
