"""Cut the small real Starlink excerpt shipped in tests/data/ from the full snapshot.

The full snapshot (9,489 satellites, CelesTrak GP ``starlink`` group,
element sets of 2026-01-27 to 2026-01-31) is too large to ship with the
repository. The excerpt keeps whole orbital planes, so the shell finder
still sees shells, planes and slots in it:

- four adjacent planes of the 53.2° / ~540 km shell (``--planes``), and
- one plane of the 70° / ~570 km shell (``--polar-plane``), a second shell.

Records are copied byte for byte (name line, line 1, line 2) in the order
of the snapshot, so every checksum and every digit is the publisher's.
Plane numbers are the labels :func:`orbits.find_shells` gives in the full
snapshot with its default settings.

Usage (from the repository root; the snapshot is not part of the repository)::

    python tests/data/cut_starlink_excerpt.py ../shared/data/starlink_tle_snapshot.txt \
        tests/data/starlink_excerpt_2026-01-31.txt

Example
-------
>>> pick_shell([(43.0, 483.0), (53.2, 540.0)], 53.2, 540.0)
1
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from orbits import read_tle

#: (inclination °, mean altitude km) of the shells the excerpt is cut from.
MAIN_SHELL = (53.2, 540.0)
SECOND_SHELL = (70.0, 572.0)


def pick_shell(shells, inclination_deg, altitude_km) -> int:
    """Index of the (inclination, altitude) pair closest to the one asked for (1° weighs as 10 km)."""
    scores = [abs(inc - inclination_deg) * 10 + abs(alt - altitude_km) for inc, alt in shells]
    return int(np.argmin(scores))


def records(text: str) -> list[str]:
    """The snapshot's 3-line records, each as its three lines joined with newlines."""
    lines = text.splitlines()
    if len(lines) % 3:
        raise ValueError(f"expected 3-line records, got {len(lines)} lines")
    return ["\n".join(lines[i:i + 3]) for i in range(0, len(lines), 3)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--planes", default="33,34,35,36", help="planes of the 53.2° / 540 km shell to keep")
    ap.add_argument("--polar-plane", type=int, default=17, help="plane of the 70° / 572 km shell to keep")
    args = ap.parse_args(argv)
    if not args.snapshot.is_file():
        print(f"cut_starlink_excerpt: {args.snapshot}: no such file", file=sys.stderr)
        return 1
    text = args.snapshot.read_text(encoding="ascii")
    constellation = read_tle(args.snapshot)
    shells = [(s.inclination_deg, s.altitude_km) for s in constellation.shells]
    main_shell = pick_shell(shells, *MAIN_SHELL)
    second_shell = pick_shell(shells, *SECOND_SHELL)
    keep = ((constellation.shell == main_shell) & np.isin(constellation.plane, [int(p) for p in args.planes.split(",")])
            | (constellation.shell == second_shell) & (constellation.plane == args.polar_plane))
    wanted = {int(n) for n in constellation.norad_id[keep]}
    # A record's catalogue number is columns 3-7 of its line 1.
    kept = [r for r in records(text) if int(r.splitlines()[1][2:7]) in wanted]
    if len(kept) != len(wanted) or len(kept) > 100:
        print(f"cut_starlink_excerpt: kept {len(kept)} records for {len(wanted)} satellites "
              "(expected equal and at most 100)", file=sys.stderr)
        return 1
    data = ("\n".join(kept) + "\n").encode("ascii")
    args.out.write_bytes(data)
    print(f"{args.out}: {len(kept)} records, {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
