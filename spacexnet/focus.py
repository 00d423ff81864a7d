"""The satellites whose routing a sweep's steps need: the linked group that holds the placement.

A sweep places the model on the largest connected part of the up links
(:func:`spacexnet.scenario.largest_component`). A connected part never
leaves a *group*: the satellites joined by candidate links (up or not) of
the topology, fixed for the whole sweep. +Grid never links two shells, so
on a real snapshot a group is (at most) one shell and most satellites lie
in groups that cannot hold the placement. While the largest part found
inside the placed group holds more satellites than any other group has at
all, it is provably the largest part of the whole graph, so the routing
graph, the usable satellites, the searches, the placement and the latency
of a step need only that group's satellites (:class:`Focus`).

What the other groups still give the dataset is their count of up links
(``links_up`` counts every link) and the satellites whose SGP4 state
failed: their positions are propagated and their links' up flags computed
at every step, nothing else. Satellites without a candidate link (no
plane, or no shell) are not propagated at every step at all: alone, they
are a part of one satellite, never the largest while the placed part has
two or more.

Outputs are in the constellation's indices: :meth:`Focus.widen` maps a
policy's record (gates, experts, subnets, moves) back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import orbits

__all__ = ["Focus", "FocusLost", "focus_of"]


class FocusLost(RuntimeError):
    """The largest part of a step's graph may lie outside the focus group: the step needs every satellite."""


@dataclass(frozen=True)
class Focus:
    """The placed group's satellites, the other linked ones, and each one's links renumbered.

    Attributes
    ----------
    index : ndarray of int64
        Constellation indices of the group's satellites, ascending (its
        local index ``i`` is the constellation's ``index[i]``).
    topology : orbits.Topology
        The group's candidate links, in local indices.
    rest : ndarray of int64
        Constellation indices of the satellites with a link in another group, ascending.
    rest_topology : orbits.Topology
        Those groups' links, in indices into ``rest``.
    other_max : int
        Satellites of the largest other group (1 for a satellite without
        links, 0 when there is none): the bound a step's largest part must
        exceed.
    n_sat : int
        Satellites of the whole constellation.

    Examples
    --------
    Two rings of 6 and 4 satellites, and one satellite without links:

    >>> ring = lambda lo, n: [(lo + i, lo + (i + 1) % n) for i in range(n)]
    >>> pairs = np.array(ring(0, 6) + ring(6, 4))
    >>> topo = orbits.Topology("plus-grid", pairs[:, 0], pairs[:, 1], np.zeros(10, dtype=bool))
    >>> f = focus_of(topo, 11, np.arange(11) < 6)
    >>> f.index.tolist(), f.rest.tolist(), f.other_max
    ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9], 4)
    """

    index: np.ndarray
    topology: orbits.Topology
    rest: np.ndarray
    rest_topology: orbits.Topology
    other_max: int
    n_sat: int

    def holds(self, usable_count: int) -> bool:
        """Whether a largest part of ``usable_count`` satellites inside the group is provably the whole graph's."""
        return usable_count > max(self.other_max, 1)

    def check(self, usable_count: int) -> None:
        """Raise :class:`FocusLost` unless a step's largest part (``usable_count`` satellites) is provably its own.

        A part of another group has at most ``other_max`` satellites; one of
        more is the largest of the whole graph, the same one (no tie).
        """
        if not self.holds(usable_count):
            raise FocusLost(f"the placed part has {usable_count} satellites, another group up to {self.other_max}")

    def widen(self, rec):
        """A policy's record (:class:`placement.StepRecord`) in the constellation's satellite indices."""
        subnet = np.full(self.n_sat, -1, dtype=rec.subnet.dtype)
        subnet[self.index] = rec.subnet
        return dataclasses.replace(rec, subnet=subnet, gate_sat=self._sat(rec.gate_sat),
                                   expert_sat=self._sat(rec.expert_sat),
                                   moves=tuple(dataclasses.replace(m, from_sat=int(self._sat(m.from_sat)),
                                                                   to_sat=int(self._sat(m.to_sat)))
                                               for m in rec.moves))

    def _sat(self, local):
        """Local satellite indices to the constellation's; −1 (none) stays −1."""
        local = np.asarray(local)
        return np.where(local >= 0, self.index[np.clip(local, 0, None)], local)


def _renumber(topology, members, n_sat):
    """``topology``'s links with both ends in ``members`` (ascending), in indices into ``members``."""
    local = np.full(n_sat, -1, dtype=np.int64)
    local[members] = np.arange(members.size)
    keep = (local[topology.sat_a] >= 0) & (local[topology.sat_b] >= 0)
    return dataclasses.replace(topology, sat_a=local[topology.sat_a[keep]], sat_b=local[topology.sat_b[keep]],
                               inter_plane=topology.inter_plane[keep])


def focus_of(topology, n_sat: int, usable) -> Focus | None:
    """The :class:`Focus` of the group holding ``usable`` (a step's largest part), or None when it is everything.

    Parameters
    ----------
    topology : orbits.Topology
        The sweep's candidate links.
    n_sat : int
        Satellites of the constellation.
    usable : ndarray of bool, shape (n_sat,)
        The largest connected part at one step (one group holds it all).
    """
    usable = np.asarray(usable, dtype=bool)
    if not usable.any():
        return None
    graph = coo_matrix((np.ones(len(topology)), (topology.sat_a, topology.sat_b)), shape=(n_sat, n_sat))
    _, group = connected_components(graph, directed=False)
    placed = np.unique(group[usable])
    if placed.size != 1:  # pragma: no cover - a connected part lies in one group
        return None
    inside = group == placed[0]
    if inside.all():
        return None
    index = np.flatnonzero(inside)
    rest = np.flatnonzero(~inside & (topology.degree(n_sat) > 0))
    focus = Focus(index=index, topology=_renumber(topology, index, n_sat), rest=rest,
                  rest_topology=_renumber(topology, rest, n_sat),
                  other_max=int(np.bincount(group[~inside]).max()), n_sat=int(n_sat))
    # Another group as large already (shells of equal size): not provably the largest at every step, so
    # every step needs every satellite.
    return focus if focus.holds(int(np.count_nonzero(usable))) else None
