"""The shells of a constellation and which models each can hold: what ``spacexnet shells`` prints.

A shell holds a model when its satellites in planes (the ones +Grid links
reach) number at least what the ring partition needs,
:func:`placement.satellites_needed`: every layer gets a subnet of one gate
plus enough satellites for its experts, ``L × (1 + ⌈E / q⌉)`` for L layers of
E experts and q experts per satellite. It is the rule ``place``, ``compare``
and ``sweep`` apply (:func:`placement.check_capacity`). It is a count: a
satellite that fails SGP4 or loses its links at some instant is not
eligible then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import latency
import placement

__all__ = ["ShellSummary", "shell_summaries", "satellites_needed", "fit_rows"]


@dataclass(frozen=True)
class ShellSummary:
    """One shell of a constellation, counted from its satellites' labels.

    Attributes
    ----------
    index : int
        Shell index (``--shell``).
    inclination_deg, altitude_km : float
        Nominal (Walker) or observed (median of the members) values.
    kind : str
        ``delta``, ``star`` or ``observed``.
    satellites : int
        Satellites in the shell.
    in_planes : int
        Of those, satellites with a plane and a slot (reached by +Grid links).
    planes : int
        Orbital planes found.
    per_plane_min, per_plane_max : int
        Fewest and most satellites in one plane (0 without planes).
    """

    index: int
    inclination_deg: float
    altitude_km: float
    kind: str
    satellites: int
    in_planes: int
    planes: int
    per_plane_min: int
    per_plane_max: int

    def per_plane(self) -> str:
        """Satellites per plane: ``22``, or the range ``9–12`` when planes differ (``-`` without planes)."""
        if not self.planes:
            return "-"
        if self.per_plane_min == self.per_plane_max:
            return f"{self.per_plane_min}"
        return f"{self.per_plane_min}–{self.per_plane_max}"

    def layout(self) -> str:
        """Planes × satellites per plane, in words: ``72 planes × 22 satellites``, ``28 planes × 9–12 satellites``."""
        if not self.planes:
            return "no planes found"
        return f"{self.planes} planes × {self.per_plane()} satellites"

    def label(self) -> str:
        """One line: ``shell 0: 53.00° 550 km delta, 72 planes × 22 satellites, 1584 satellites``."""
        outside = self.satellites - self.in_planes
        extra = f" ({outside} in no plane)" if outside else ""
        return (f"shell {self.index}: {self.inclination_deg:.2f}° {self.altitude_km:.0f} km {self.kind}, "
                f"{self.layout()}, {self.satellites} satellites{extra}")


def shell_summaries(constellation) -> list[ShellSummary]:
    """One :class:`ShellSummary` per shell of ``constellation`` that has satellites in it.

    Examples
    --------
    >>> import orbits
    >>> [s.label() for s in shell_summaries(orbits.preset("iridium"))]
    ['shell 0: 86.40° 780 km star, 6 planes × 11 satellites, 66 satellites']
    """
    rows = []
    for index, info in enumerate(constellation.shells):
        member = constellation.shell == index
        if not member.any():
            continue
        planes = constellation.plane[member]
        placed = member & (constellation.plane >= 0) & (constellation.slot >= 0)
        sizes = np.unique(planes[planes >= 0], return_counts=True)[1]
        rows.append(ShellSummary(
            index=index, inclination_deg=float(info.inclination_deg), altitude_km=float(info.altitude_km),
            kind=info.kind, satellites=int(member.sum()), in_planes=int(placed.sum()), planes=int(sizes.size),
            per_plane_min=int(sizes.min()) if sizes.size else 0, per_plane_max=int(sizes.max()) if sizes.size else 0))
    return rows


def satellites_needed(model, experts_per_sat: int = 1) -> int:
    """Satellites the ring partition needs for ``model`` (a preset name, a spec file or a ``ModelSpec``).

    Examples
    --------
    >>> satellites_needed("llama-moe-3.5b"), satellites_needed("llama-moe-3.5b", experts_per_sat=2)
    (544, 288)
    """
    spec = latency.load_model(model)
    return placement.satellites_needed(spec.n_layers, spec.n_routed_experts, experts_per_sat)


def fit_rows(constellation, models, experts_per_sat: int = 1) -> list[dict]:
    """Per shell: its layout and, per model, whether its satellites in planes hold it.

    Returns
    -------
    list of dict
        ``shell``, ``inclination_deg``, ``altitude_km``, ``kind``, ``planes``,
        ``satellites_per_plane``, ``satellites``, ``in_planes``, then per
        model name ``fits <name>`` (bool).

    Examples
    --------
    >>> import orbits
    >>> row = fit_rows(orbits.preset("iridium"), ["llama-moe-3.5b"])[0]
    >>> row["in_planes"], row["fits llama-moe-3.5b"]
    (66, False)
    """
    needed = {name: satellites_needed(name, experts_per_sat) for name in models}
    rows = []
    for s in shell_summaries(constellation):
        row = {"shell": s.index, "inclination_deg": s.inclination_deg, "altitude_km": s.altitude_km,
               "kind": s.kind, "planes": s.planes,
               "satellites_per_plane": s.per_plane(),
               "satellites": s.satellites, "in_planes": s.in_planes}
        row.update({f"fits {name}": s.in_planes >= n for name, n in needed.items()})
        rows.append(row)
    return rows
