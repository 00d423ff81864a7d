"""Element-set files for the examples: which file, which shell, and how many experts share a satellite.

The repository ships a small real excerpt of a CelesTrak Starlink snapshot
(``tests/data/starlink_excerpt_2026-01-31.txt``, 97 satellites: four planes
of the 53.2° / 540 km shell and one plane of the 70° shell; see
``tests/data/README.md``). The examples use it unless given a file, so they
run in a fresh clone. Fresh element sets come from CelesTrak GP
(https://celestrak.org/NORAD/elements/gp.php?GROUP=starlink&FORMAT=tle) or
Space-Track (https://www.space-track.org, free account).

Example
-------
>>> fitting_experts_per_sat(n_sats=1366, n_layers=32, n_experts=16)
1
>>> fitting_experts_per_sat(n_sats=77, n_layers=32, n_experts=16)
16
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from spacexnet.exceptions import user_errors
from spacexnet.scenario import build_constellation

EXCERPT = Path(__file__).resolve().parents[1] / "tests" / "data" / "starlink_excerpt_2026-01-31.txt"


def read_constellation(path):
    """The constellation of a 3LE/2LE file; a missing or malformed file stops the script with one line."""
    try:
        return build_constellation(tle=str(path))
    except user_errors() as err:
        raise SystemExit(f"{Path(sys.argv[0]).name}: {err}") from None


def pick_shell(constellation, inclination_deg=53.2, altitude_km=540.0) -> int:
    """Index of the shell closest to the given inclination and altitude (1° weighs as 10 km)."""
    scores = [abs(s.inclination_deg - inclination_deg) * 10 + abs(s.altitude_km - altitude_km)
              for s in constellation.shells]
    return int(np.argmin(scores))


def fitting_experts_per_sat(n_sats: int, n_layers: int, n_experts: int) -> int:
    """Fewest experts per satellite that let every one of ``n_layers`` ring subnets hold its gate and experts.

    The ring cuts ``n_sats`` satellites into ``n_layers`` arcs of equal count,
    so the smallest arc has ``n_sats // n_layers`` satellites, one of them the
    gate. A shell with fewer than two satellites per layer fits no capacity;
    the placement then reports why.
    """
    spare = n_sats // n_layers - 1
    return max(1, math.ceil(n_experts / spare)) if spare >= 1 else 1


def run(main) -> None:
    """Run an example's ``main``; a user error (bad file, infeasible shell) ends it with one line, exit 1."""
    try:
        main()
    except user_errors() as err:
        raise SystemExit(f"{Path(sys.argv[0]).name}: {err}") from None
