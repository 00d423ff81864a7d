"""The service's answers about one scenario at one instant, as JSON-ready dictionaries.

Each function takes a built scenario and its :class:`~spacexnet.scenario.Snapshot`
and computes with the same library calls as the CLI — ``compare`` for the
latency and comparison rows, ``place`` and ``latency.token_latency`` for
placements — so the service's numbers are the CLI's and the Python API's.
Every number's unit is in its field name; a number that does not exist
(an unreachable path, a failed SGP4 state) is ``null``.

Examples
--------
>>> from spacexnet.service.config import ServiceConfig
>>> from spacexnet.service.store import ScenarioStore
>>> loaded = ScenarioStore(ServiceConfig()).get("default")
>>> t = parse_time("2026-01-01T00:00:00Z", loaded)
>>> answer = satellites(loaded, make_snapshot(loaded, t))
>>> answer["count"], sorted(answer["satellites"][0])[:4]
(1584, ['altitude_km', 'argument_of_latitude_deg', 'eligible', 'latitude_deg'])
"""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime, timezone

import numpy as np

import latency
import orbits
import placement

from ..accuracy import element_set_age_days
from ..compare import DEFAULT_STRATEGIES, compare, ground_user, place, user_deliveries, user_delivery_ms
from ..exceptions import user_errors
from ..scenario import snapshot
from .problems import Problem

__all__ = [
    "parse_time", "time_text", "make_snapshot", "encode", "presets", "satellites", "satellites_geojson", "links",
    "route", "route_end", "placement_answer", "latency_answer", "compare_answer", "strategy_names",
    "check_strategy", "parse_user",
]


def parse_time(text: str | None, loaded) -> np.datetime64:
    """The UTC instant of a ``time`` parameter: ISO 8601 with a zone, ``now``, or (absent) the scenario's epoch.

    The string goes to the library's parser (:func:`orbits.to_datetime64_utc`),
    whose message becomes the 400 problem's detail.
    """
    if text is None or not text.strip():
        return np.datetime64(loaded.constellation.reference_epoch, "ns")
    if text.strip().lower() == "now":
        # To the second: "now" twice within a second is one cached answer.
        return np.datetime64(datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), "ns")
    try:
        return np.datetime64(orbits.to_datetime64_utc(text), "ns")
    except orbits.TimeGridError as exc:
        raise Problem(400, "bad-parameter", str(exc)) from None


def time_text(t: np.datetime64) -> str:
    """ISO 8601 UTC text of ``t``, with a fraction only when there is one."""
    text = np.datetime_as_string(np.datetime64(t, "ns"), unit="us")
    return (text.removesuffix(".000000") if text.endswith(".000000") else text) + "Z"


def make_snapshot(loaded, t: np.datetime64):
    """The scenario's constellation at ``t``: states, links and routing graph (:func:`spacexnet.scenario.snapshot`)."""
    doc = loaded.document
    try:
        return snapshot(loaded.constellation, t, loaded.setup, topology=doc.topology, **doc.link_rules())
    except user_errors() as exc:
        raise Problem(422, "unanswerable", str(exc)) from None


def _clean(value):
    # JSON has no NaN or infinity: a number that does not exist is null.
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def encode(answer) -> bytes:
    """Compact JSON bytes of ``answer`` (non-finite numbers as null)."""
    return json.dumps(_clean(answer), separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")


def strategy_names(with_bound: bool) -> list[str]:
    """Placement strategies a request may name (the lower bound only where rows are measured)."""
    return list(placement.STRATEGIES if with_bound else placement.PLACING)


def check_strategy(name: str, with_bound: bool, what: str = "strategy") -> str:
    """``name`` if it is a strategy (400 problem naming the choices otherwise)."""
    names = strategy_names(with_bound)
    if name not in names:
        raise Problem(400, "bad-parameter", f"{what}: unknown placement strategy {name!r}; choose from "
                                            f"{', '.join(names)}")
    return name


@functools.lru_cache(maxsize=1)
def presets() -> dict:
    """Names the scenario document and the query parameters accept (made once: it is answered on the event loop)."""
    from ..sweep import POLICIES

    return {
        "constellations": [{"name": n, "description": orbits.preset_info(n).get("description", "")}
                           for n in orbits.preset_names()],
        "models": latency.model_names(),
        "hardware": latency.hardware_names(),
        "link_profiles": latency.link_profile_names(),
        "activations": ["uniform", "zipf:S", "dirichlet:A"],
        "topologies": ["plus-grid", "nearest"],
        "strategies": strategy_names(with_bound=True),
        "default_strategies": list(DEFAULT_STRATEGIES),
        "policies": list(POLICIES),
    }


#: Element-set age beyond which an answer carries a warning, days (the CLI's --max-tle-age-days default).
MAX_ELEMENT_AGE_DAYS = 3.0


def _head(loaded, snap) -> dict:
    head = {"scenario": loaded.id, "time_utc": time_text(snap.time)}
    age_days = element_set_age_days(loaded.constellation, np.array([snap.time]))
    if age_days > MAX_ELEMENT_AGE_DAYS:
        head["warnings"] = [f"time is up to {age_days:.1f} days from the element-set epochs; SGP4 position "
                            "errors grow with age, about a kilometre a day in LEO and more for manoeuvring "
                            "satellites"]
    return head


def _satellite_ref(constellation, index: int) -> dict:
    return {"norad_id": int(constellation.norad_id[index]), "name": str(constellation.name[index])}


def satellites(loaded, snap) -> dict:
    """Every satellite's identity, orbit labels, ITRS position, geodetic position and SGP4 status."""
    c = loaded.constellation
    state = snap.state.isel(time=0)
    meanings = snap.state["sgp4_status"].attrs["flag_meanings"].split()
    position = state["position_itrs_km"].values
    lat, lon = state["latitude_deg"].values, state["longitude_deg"].values
    alt, u = state["altitude_km"].values, state["argument_of_latitude_deg"].values
    status = state["sgp4_status"].values
    rows = []
    for i in range(len(c)):
        code = int(status[i])
        rows.append({
            "norad_id": int(c.norad_id[i]), "name": str(c.name[i]),
            "shell": int(c.shell[i]), "plane": int(c.plane[i]), "slot": int(c.slot[i]),
            "position_itrs_km": position[i], "latitude_deg": lat[i], "longitude_deg": lon[i], "altitude_km": alt[i],
            "argument_of_latitude_deg": u[i],
            "sgp4_status": code, "sgp4_status_meaning": meanings[code] if 0 <= code < len(meanings) else "unknown",
            "eligible": bool(snap.eligible[i]),
        })
    return {**_head(loaded, snap), "count": len(rows), "satellites": rows}


def satellites_geojson(loaded, snap) -> dict:
    """:func:`satellites` as a GeoJSON FeatureCollection (points at longitude, latitude; altitude a property)."""
    answer = satellites(loaded, snap)
    features = []
    for row in answer["satellites"]:
        lon, lat = _clean(row["longitude_deg"]), _clean(row["latitude_deg"])
        geometry = None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "id": row["norad_id"], "geometry": geometry, "properties": row})
    head = {k: v for k, v in answer.items() if k not in ("count", "satellites")}
    return {"type": "FeatureCollection", **head, "features": features}


def links(loaded, snap, ground_min_elevation_deg: float | None = None) -> dict:
    """Every candidate inter-satellite link: end points, kind, length and up flag, with the rules used.

    With ``ground_min_elevation_deg``, also the shipped ground stations'
    visible satellites (:func:`orbits.ground_links`, as ``spacexnet links``).
    """
    ds = snap.links
    distance = ds["distance_km"].values[0]
    up = ds["up"].values[0]
    a, b, kind = ds["norad_id_a"].values, ds["norad_id_b"].values, ds["kind"].values
    rows = [{"norad_id_a": int(a[i]), "norad_id_b": int(b[i]), "kind": str(kind[i]), "distance_km": distance[i],
             "up": bool(up[i])} for i in range(distance.size)]
    rules = {k.removeprefix("isl_"): v for k, v in ds.attrs.items()}
    answer = {**_head(loaded, snap), "rules": rules, "count": len(rows), "up_count": int(up.sum()), "links": rows}
    if ground_min_elevation_deg is not None:
        answer["ground"] = _ground(snap, ground_min_elevation_deg)
    return answer


def _ground(snap, min_elevation_deg: float) -> dict:
    gsl = orbits.ground_links(snap.state, min_elevation_deg=min_elevation_deg)
    station = gsl["station"].values
    norad = gsl["sat_norad_id"].values
    s, k = gsl["station_index"].values, gsl["sat_index"].values
    elevation, azimuth, range_km = (gsl[v].values for v in ("elevation_deg", "azimuth_deg", "range_km"))
    return {
        "rules": {k.removeprefix("gsl_"): v for k, v in gsl.attrs.items()},
        "stations": [{"name": str(n), "latitude_deg": lat, "longitude_deg": lon, "altitude_m": alt,
                      "visible_count": int(count)}
                     for n, lat, lon, alt, count in zip(station, gsl["station_latitude_deg"].values,
                                                        gsl["station_longitude_deg"].values,
                                                        gsl["station_altitude_m"].values,
                                                        gsl["visible_count"].values[0])],
        "links": [{"station": str(station[s[i]]), "norad_id": int(norad[k[i]]), "elevation_deg": elevation[i],
                   "azimuth_deg": azimuth[i], "range_km": range_km[i]} for i in range(s.size)],
    }


def _hop_km(graph, u: int, v: int) -> float:
    lo, hi = min(u, v), max(u, v)
    hit = np.flatnonzero((graph.sat_a == lo) & (graph.sat_b == hi))
    return float(graph.distance_km[hit[0]])


def route_end(text: str, what: str):
    """A route end: a NORAD id (int) or a ground point (:class:`latency.GroundUser`); 400 problem otherwise."""
    text = text.strip()
    if "," in text:
        return parse_user(text, what)
    try:
        return int(text)
    except ValueError:
        raise Problem(400, "bad-parameter", f"{what} {text!r} is neither a NORAD id nor LAT,LON "
                                            f"(e.g. {what}=80000 or {what}=48.85,2.35)") from None


def route(loaded, snap, from_end, to_end) -> dict:
    """Shortest path between two satellites, a satellite and a ground point, or two ground points.

    Between satellites: the hidden state's path over the ISLs. With a
    ground point (:class:`latency.GroundUser`) at one end: the token's
    delivery as the latency layer models it (:func:`latency.ground_latency_ms`:
    a few bytes over the ISLs to the best satellite in view, then the
    ground link); links are symmetric, so ground to satellite is the same
    path reversed. Between ground points: the token up to a satellite in
    view, over the ISLs and down (:func:`latency.ground_relay_latency_ms`).
    """
    ground_ends = [isinstance(e, latency.GroundUser) for e in (from_end, to_end)]
    if all(ground_ends):
        return _ground_relay_route(loaded, snap, from_end, to_end)
    if any(ground_ends):
        return _ground_route(loaded, snap, from_end, to_end)
    from_norad, to_norad = from_end, to_end
    src = loaded.satellite(from_norad, "from")
    dst = loaded.satellite(to_norad, "to")
    graph = snap.graph
    try:
        nodes = graph.path(src, dst)
    except latency.NoRouteError as exc:
        raise Problem(422, "unanswerable", f"no route from NORAD {from_norad} to NORAD {to_norad}: {exc}") from None
    bd = graph.breakdown_from([src])
    c = loaded.constellation
    path = _path_entries(loaded, graph, nodes)
    return {
        **_head(loaded, snap),
        "from": _satellite_ref(c, src), "to": _satellite_ref(c, dst),
        "hops": len(nodes) - 1,
        "latency_ms": bd.latency_ms[0, dst], "propagation_ms": bd.propagation_ms[0, dst],
        "transmission_ms": bd.transmission_ms[0, dst], "forwarding_ms": bd.forwarding_ms[0, dst],
        "distance_km": sum(p["hop_distance_km"] for p in path),
        "payload_bytes": graph.payload_bytes,
        "path": path,
    }


def _path_entries(loaded, graph, nodes) -> list:
    path = []
    for k, node in enumerate(nodes):
        entry = _satellite_ref(loaded.constellation, node)
        entry["hop_distance_km"] = 0.0 if k == 0 else _hop_km(graph, nodes[k - 1], node)
        path.append(entry)
    return path


def _ground_route(loaded, snap, from_end, to_end) -> dict:
    ground_first = isinstance(from_end, latency.GroundUser)
    user, norad = (from_end, to_end) if ground_first else (to_end, from_end)
    sat = loaded.satellite(norad, "to" if ground_first else "from")
    graph = snap.graph
    ground = latency.ground_latency_ms(graph, sat, user)
    point = {"latitude_deg": user.lat_deg, "longitude_deg": user.lon_deg}
    if not ground.reachable:
        raise Problem(422, "unanswerable", f"no satellite in view of {user.lat_deg:g},{user.lon_deg:g} (elevation "
                                           f">= {graph.link_profile.gsl_min_elevation_deg:g}°) can be reached from "
                                           f"NORAD {norad} at this time")
    path = _path_entries(loaded, graph, graph.path(sat, ground.serving_sat))
    path.append({**point, "hop_distance_km": ground.slant_km})
    if ground_first:  # the same links the other way: distances move with the hop they belong to
        hops = [p["hop_distance_km"] for p in path]
        path = [{**p, "hop_distance_km": d} for p, d in zip(path[::-1], [0.0] + hops[:0:-1])]
    sat_ref = _satellite_ref(loaded.constellation, sat)
    return {
        **_head(loaded, snap),
        "from": point if ground_first else sat_ref, "to": sat_ref if ground_first else point,
        "ground": {**point, "serving_norad_id": int(loaded.constellation.norad_id[ground.serving_sat]),
                   "elevation_deg": ground.elevation_deg, "slant_km": ground.slant_km},
        "hops": len(path) - 1,
        "latency_ms": ground.latency_ms, **ground.breakdown.as_dict(),
        "distance_km": sum(p["hop_distance_km"] for p in path),
        "payload_bytes": latency.token.TOKEN_BYTES,
        "path": path,
    }


def _ground_relay_route(loaded, snap, origin, destination) -> dict:
    graph, c = snap.graph, loaded.constellation
    relay = latency.ground_relay_latency_ms(graph, origin, destination)
    ends = [{"latitude_deg": p.lat_deg, "longitude_deg": p.lon_deg} for p in (origin, destination)]
    if not relay.reachable:
        raise Problem(422, "unanswerable", f"no satellite in view of {origin.lat_deg:g},{origin.lon_deg:g} reaches "
                                           f"one in view of {destination.lat_deg:g},{destination.lon_deg:g} "
                                           f"(elevation >= {graph.link_profile.gsl_min_elevation_deg:g}°) at this time")
    path = [{**ends[0], "hop_distance_km": 0.0}, *_path_entries(loaded, graph, graph.path(relay.up_sat, relay.down_sat)),
            {**ends[1], "hop_distance_km": relay.down_slant_km}]
    path[1]["hop_distance_km"] = relay.up_slant_km
    links = [{**end, "norad_id": int(c.norad_id[sat]), "elevation_deg": elevation, "slant_km": slant}
             for end, sat, elevation, slant in ((ends[0], relay.up_sat, relay.up_elevation_deg, relay.up_slant_km),
                                                (ends[1], relay.down_sat, relay.down_elevation_deg,
                                                 relay.down_slant_km))]
    return {
        **_head(loaded, snap),
        "from": ends[0], "to": ends[1], "uplink": links[0], "downlink": links[1],
        "hops": len(path) - 1,
        "latency_ms": relay.latency_ms, **relay.breakdown.as_dict(),
        "distance_km": sum(p["hop_distance_km"] for p in path),
        "payload_bytes": latency.token.TOKEN_BYTES,
        "path": path,
    }


def _placement(loaded, snap, strategy: str):
    doc = loaded.document
    try:
        return place(snap, loaded.setup, strategy, seed=loaded.setup.seed, belt_planes=doc.belt_planes)
    except user_errors() as exc:
        raise Problem(422, "unanswerable", str(exc)) from None


def placement_answer(loaded, snap, strategy: str) -> dict:
    """One placement (as ``spacexnet place --format json``) with each subnet's capacity use.

    ``expert_slots`` = satellites of the subnet that may host × experts per
    satellite; ``capacity_use_ratio`` = experts placed in the subnet ÷ slots.
    """
    setup, c = loaded.setup, loaded.constellation
    pl = _placement(loaded, snap, strategy)
    result = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
    norad = c.norad_id
    layers = []
    for layer in range(pl.n_layers):
        order = np.argsort(-setup.probs[layer], kind="stable")
        members = (pl.subnet == layer) & snap.eligible
        in_subnet = int(np.isin(pl.expert_sat[layer], np.flatnonzero(members)).sum())
        slots = int(members.sum()) * setup.experts_per_sat
        layers.append({
            "layer": layer,
            "gate_sat": int(pl.gate_sat[layer]),
            "gate_norad_id": int(norad[pl.gate_sat[layer]]),
            "expected_ms": float(result.layer_ms[layer]),
            "subnet_satellites": int(members.sum()),
            "experts_in_subnet": in_subnet,
            "expert_slots": slots,
            "capacity_use_ratio": in_subnet / slots if slots else float("nan"),
            "experts_by_probability": [
                {"expert": int(e), "probability": float(setup.probs[layer, e]), "sat": int(pl.expert_sat[layer, e]),
                 "norad_id": int(norad[pl.expert_sat[layer, e]])} for e in order],
        })
    return {
        **_head(loaded, snap),
        "strategy": pl.strategy,
        "constellation": c.source,
        **setup.attrs(),
        "expected_token_ms": result.expected_ms,
        "lm_head_ms": result.head_ms,
        "breakdown_ms": result.breakdown.as_dict(),
        "layers": layers,
    }


def _rows(loaded, snap, strategies, n_seeds, n_samples, time_budget_s=None):
    try:
        return compare(snap, loaded.setup, strategies=strategies, n_seeds=n_seeds, n_samples=n_samples,
                       belt_planes=loaded.document.belt_planes, time_budget_s=time_budget_s)
    except user_errors() as exc:
        raise Problem(422, "unanswerable", str(exc)) from None


def parse_user(text: str | None, what: str = "user"):
    """A ground point from ``lat,lon`` in degrees (400 problem naming ``what`` when it is not one)."""
    if text is None:
        return None
    try:
        return ground_user(text, what)
    except ValueError as exc:
        raise Problem(400, "bad-parameter", str(exc)) from None


def _delivery(loaded, snap, placements, user) -> dict:
    # The library's ground-user model, the same as ``spacexnet compare --user``'s column.
    runs = []
    for ground in user_deliveries(snap, placements, user):
        runs.append({"delivery_ms": ground.latency_ms,
                     "serving_norad_id": int(loaded.constellation.norad_id[ground.serving_sat])
                     if ground.serving_sat >= 0 else None,
                     "elevation_deg": ground.elevation_deg, "slant_km": ground.slant_km,
                     "breakdown_ms": ground.breakdown.as_dict()})
    return {"latitude_deg": user.lat_deg, "longitude_deg": user.lon_deg,
            "delivery_ms": user_delivery_ms(snap, placements, user), "runs": runs}


def latency_answer(loaded, snap, strategy: str, n_seeds: int, n_samples: int, user=None) -> dict:
    """Token latency of one strategy: ``spacexnet compare``'s row for it, plus each layer's expected time.

    Per-layer times are the exact expectation of each placement the row
    measured, averaged over the runs of a randomized strategy (none for the
    lower bound, which is not a placement). With a ground ``user``
    (:class:`latency.GroundUser`), the delivery of each token to the user
    is reported on its own, never added to the row's numbers.
    """
    row = [r for r in _rows(loaded, snap, (strategy,), n_seeds, n_samples) if r.strategy == strategy][0]
    setup = loaded.setup
    layer_ms = None
    if row.placements:
        per_run = [latency.token_latency(snap.graph, p.gate_sat, p.expert_sat, setup.probs, setup.times).layer_ms
                   for p in row.placements]
        layer_ms = np.mean(per_run, axis=0)
    answer = {
        **_head(loaded, snap),
        **row.as_dict(),
        "samples": n_samples,
        "lm_head_ms": setup.times.head_ms,
        "layers": None if layer_ms is None else [{"layer": i, "expected_ms": v} for i, v in enumerate(layer_ms)],
    }
    if user is not None and row.placements:  # the lower bound has no placement to deliver from
        answer["ground_user"] = _delivery(loaded, snap, row.placements, user)
    return answer


def compare_answer(loaded, snap, strategies, n_seeds: int, n_samples: int, time_budget_s=None) -> dict:
    """The ``spacexnet compare`` table: one row per strategy, the fields of ``--format json``.

    ``time_budget_s`` is ``compare --time-budget-s`` (None: anneal's own budget).
    """
    rows = _rows(loaded, snap, tuple(strategies), n_seeds, n_samples, time_budget_s)
    return {**_head(loaded, snap), "seeds": n_seeds, "samples": n_samples, "rows": [r.as_dict() for r in rows]}
