"""CZML export: the constellation, its links and its gate ring as a CesiumJS document.

:func:`czml_document` propagates a constellation over a time grid with the
library's own SGP4 and frame code (:func:`orbits.propagate`, ITRS positions),
finds its inter-satellite links on the same grid (:func:`orbits.isl_links`)
and writes them as CZML packets (Python lists and dictionaries, ready for
``json.dumps``):

- one ``document`` packet (CZML version 1.0) whose clock spans the grid;
- one packet per satellite with its sampled position in the Earth-fixed
  frame (CZML ``FIXED``, which is ITRS), metres, Lagrange-interpolated;
- one packet per candidate link: a polyline between its two satellites,
  shown over the intervals in which the link is up (each sample holds until
  the next one);
- optionally the ring of layer gates, in layer order, as one closed polyline.

A satellite whose SGP4 state fails at a sample has that sample left out
(its ``availability`` covers its valid samples only); one that never has a
valid state is left out with its links.

Examples
--------
>>> import orbits
>>> c = orbits.walker("53:24/4/1", altitude_km=550, epoch="2026-01-01T00:00:00Z")
>>> doc = czml_document(c, "2026-01-01T00:00:00Z", duration_s=600, step_s=60)
>>> doc[0]["id"], doc[0]["version"], doc[0]["clock"]["interval"]
('document', '1.0', '2026-01-01T00:00:00Z/2026-01-01T00:10:00Z')
>>> position = doc[1]["position"]
>>> position["referenceFrame"], len(position["cartesian"]) // 4
('FIXED', 11)
"""

from __future__ import annotations

import numpy as np

import orbits

__all__ = ["czml_document", "czml_time", "satellite_id", "CZML_VERSION", "INTERPOLATION_DEGREE"]

#: CZML version written in the document packet.
CZML_VERSION = "1.0"
#: Degree of the Lagrange polynomial Cesium interpolates positions with (needs degree + 1 samples).
INTERPOLATION_DEGREE = 5
#: Positions are written to the millimetre: finer digits only make the file larger.
_POSITION_DECIMALS = 3

_SATELLITE_RGBA = [255, 255, 255, 255]
_LINK_RGBA = {"intra": [80, 170, 255, 140], "inter": [255, 190, 60, 140]}
_RING_RGBA = [255, 60, 60, 255]


def czml_time(t) -> str:
    """ISO 8601 UTC text of an instant, to the microsecond when it has a fraction.

    Examples
    --------
    >>> czml_time(np.datetime64("2026-01-01T00:00:30.5"))
    '2026-01-01T00:00:30.500000Z'
    """
    text = np.datetime_as_string(np.datetime64(t, "ns"), unit="us")
    return text.removesuffix(".000000") + "Z"


def satellite_id(norad_id: int) -> str:
    """CZML packet id of a satellite (``sat-NORAD``)."""
    return f"sat-{int(norad_id)}"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges ``(i, j)`` of the runs of True in a 1-D mask."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2])]


def _satellite_packets(state, times, offsets_s) -> tuple[list[dict], np.ndarray]:
    position_m = np.asarray(state["position_itrs_km"].values, dtype=np.float64) * 1000.0
    valid = np.isfinite(position_m).all(axis=2) & (np.asarray(state["sgp4_status"].values) == 0)
    norad = np.asarray(state["norad_id"].values)
    names = np.asarray(state["name"].values)
    packets = []
    for s in range(position_m.shape[1]):
        ok = np.flatnonzero(valid[:, s])
        if ok.size == 0:
            continue
        samples = np.column_stack((offsets_s[ok], np.round(position_m[ok, s], _POSITION_DECIMALS)))
        packets.append({
            "id": satellite_id(norad[s]),
            "name": str(names[s]),
            "availability": f"{czml_time(times[ok[0]])}/{czml_time(times[ok[-1]])}",
            "position": {
                "epoch": czml_time(times[0]),
                "referenceFrame": "FIXED",
                "interpolationAlgorithm": "LAGRANGE",
                "interpolationDegree": INTERPOLATION_DEGREE,
                "cartesian": samples.ravel().tolist(),
            },
            "point": {"pixelSize": 3, "color": {"rgba": _SATELLITE_RGBA}},
        })
    return packets, valid.any(axis=0)


def _link_packets(links, times, present) -> list[dict]:
    up = np.asarray(links["up"].values)
    sat_a, sat_b = np.asarray(links["sat_a"].values), np.asarray(links["sat_b"].values)
    norad_a, norad_b = np.asarray(links["norad_id_a"].values), np.asarray(links["norad_id_b"].values)
    kinds = np.asarray(links["kind"].values)
    whole = f"{czml_time(times[0])}/{czml_time(times[-1])}"
    packets = []
    for k in range(up.shape[1]):
        if not (present[sat_a[k]] and present[sat_b[k]]):
            continue
        # Sample-and-hold: a link up at sample i is drawn until sample i + 1 (the last sample ends the grid).
        shown = [{"interval": f"{czml_time(times[i])}/{czml_time(times[min(j + 1, len(times) - 1)])}",
                  "boolean": True} for i, j in _runs(up[:, k])]
        kind = str(kinds[k])
        packets.append({
            "id": f"isl-{int(norad_a[k])}-{int(norad_b[k])}",
            "name": f"{kind}-plane link {int(norad_a[k])}-{int(norad_b[k])}",
            "availability": whole,
            "polyline": {
                "positions": {"references": [f"{satellite_id(norad_a[k])}#position",
                                             f"{satellite_id(norad_b[k])}#position"]},
                "show": [{"interval": whole, "boolean": False}, *shown],
                "arcType": "NONE",
                "width": 1,
                "material": {"solidColor": {"color": {"rgba": _LINK_RGBA.get(kind, [200, 200, 200, 140])}}},
            },
        })
    return packets


def _ring_packet(norad, gate_sat, present, times) -> dict | None:
    gates = [int(g) for g in gate_sat]
    if not gates or not all(present[g] for g in gates):
        return None
    order = gates + gates[:1]  # closed: the last layer hands the token back to the first
    return {
        "id": "gate-ring",
        "name": f"ring of layer gates ({len(gates)} layers, in layer order)",
        "availability": f"{czml_time(times[0])}/{czml_time(times[-1])}",
        "polyline": {
            "positions": {"references": [f"{satellite_id(norad[g])}#position" for g in order]},
            "arcType": "NONE",
            "width": 3,
            "material": {"solidColor": {"color": {"rgba": _RING_RGBA}}},
        },
    }


def czml_document(constellation, start, duration_s: float, step_s: float, *, topology: str = "plus-grid",
                  link_rules: dict | None = None, gate_sat=None, with_links: bool = True,
                  name: str = "Space-XNet constellation") -> list[dict]:
    """The constellation over ``[start, start + duration_s]`` as a CZML document.

    Parameters
    ----------
    constellation : orbits.Constellation
    start : str or numpy.datetime64
        First instant, UTC.
    duration_s, step_s : float
        Span and spacing of the sampled positions, s (see :func:`orbits.time_grid`).
    topology : str
        ISL topology (``plus-grid`` or ``nearest``), as :func:`orbits.isl_links`.
    link_rules : dict, optional
        Keyword arguments of :func:`orbits.isl_links` (``margin_km``, ``max_range_km``, ...).
    gate_sat : sequence of int, optional
        Satellite index of each layer's gate, in layer order: drawn as a closed ring.
    with_links : bool
        Write the inter-satellite links (default True).
    name : str
        Name of the document.

    Returns
    -------
    list of dict
        CZML packets, the document packet first.
    """
    times = orbits.time_grid(start, duration_s, step_s)
    if times.size < INTERPOLATION_DEGREE + 1:
        raise orbits.TimeGridError(f"duration_s = {duration_s!r} with step_s = {step_s!r} gives {times.size} "
                                   f"sample(s); CZML interpolation of degree {INTERPOLATION_DEGREE} needs at least "
                                   f"{INTERPOLATION_DEGREE + 1}")
    offsets_s = (times - times[0]) / np.timedelta64(1, "s")
    state = orbits.propagate(constellation, times)
    interval = f"{czml_time(times[0])}/{czml_time(times[-1])}"
    document = {
        "id": "document",
        "name": name,
        "version": CZML_VERSION,
        "clock": {"interval": interval, "currentTime": czml_time(times[0]), "multiplier": 60,
                  "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"},
    }
    satellites, present = _satellite_packets(state, times, offsets_s)
    packets = [document, *satellites]
    if with_links:
        links = orbits.isl_links(constellation, state, topology=topology, **(link_rules or {}))
        packets += _link_packets(links, times, present)
    if gate_sat is not None:
        ring = _ring_packet(np.asarray(constellation.norad_id), gate_sat, present, times)
        if ring is not None:
            packets.append(ring)
    return packets
