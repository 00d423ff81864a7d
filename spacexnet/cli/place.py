"""``spacexnet place``: one placement at one instant, as a table or JSON.

Lists each layer's gate and the satellites of its experts (catalogue
numbers), with the layer's expected latency.

Example::

    spacexnet place --strategy joint --format json > placement.json
"""

from __future__ import annotations

import json

import click
import numpy as np

import latency

from ..compare import place, user_deliveries
from ..io import atomic_write_text
from ..scenario import model_setup, snapshot
from ._options import (
    checks_outputs,
    constellation_from_kwargs,
    constellation_options,
    model_options,
    placement_options,
    quiet_option,
    start_option,
    strategy_option,
    user_option,
)
from ._scenario import scenario_option
from ._tables import render

__all__ = ["command"]


@click.command("place")
@scenario_option
@constellation_options
@start_option("Instant of the placement")
@model_options
@strategy_option()
@placement_options
@user_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the output to this file.")
@click.option("--overwrite", is_flag=True, default=False, help="Replace --out if it exists.")
@quiet_option
@checks_outputs("out")
def command(**kw):
    """One placement of the model at one instant: gates and experts per layer."""
    quiet = kw.pop("quiet")
    constellation = constellation_from_kwargs(kw, quiet=quiet)
    setup = model_setup(kw["model"], kw["model_file"], kw["hardware"], kw["link_profile"], kw["activation"],
                        kw["seed"], kw["context_tokens"], kw["experts_per_sat"])
    snap = snapshot(constellation, kw["start"] or constellation.reference_epoch, setup, topology=kw["topology"])
    pl = place(snap, setup, kw["strategy"], seed=setup.seed, belt_planes=kw["belt_planes"])
    result = latency.token_latency(snap.graph, pl.gate_sat, pl.expert_sat, setup.probs, setup.times)
    norad = constellation.norad_id
    layers = []
    for layer in range(pl.n_layers):
        order = np.argsort(-setup.probs[layer], kind="stable")
        layers.append({
            "layer": layer,
            "gate_sat": int(pl.gate_sat[layer]),
            "gate_norad_id": int(norad[pl.gate_sat[layer]]),
            "expected_ms": float(result.layer_ms[layer]),
            "experts_by_probability": [
                {"expert": int(e), "probability": float(setup.probs[layer, e]), "sat": int(pl.expert_sat[layer, e]),
                 "norad_id": int(norad[pl.expert_sat[layer, e]])} for e in order],
        })
    delivery = None
    if kw["user"] is not None:  # the same model as compare's column and the service's latency?user=
        ground = user_deliveries(snap, [pl], kw["user"])[0]
        delivery = {"latitude_deg": kw["user"].lat_deg, "longitude_deg": kw["user"].lon_deg,
                    "user_delivery_ms": ground.latency_ms,
                    "serving_norad_id": int(norad[ground.serving_sat]) if ground.serving_sat >= 0 else None,
                    "elevation_deg": ground.elevation_deg, "slant_km": ground.slant_km,
                    "breakdown_ms": ground.breakdown.as_dict()}
    if kw["fmt"] == "json":
        text = json.dumps({
            "strategy": pl.strategy,
            "time": f"{str(snap.time)[:19]}Z",
            "constellation": constellation.source,
            **setup.attrs(),
            "expected_token_ms": result.expected_ms,
            "lm_head_ms": result.head_ms,
            "breakdown_ms": result.breakdown.as_dict(),
            "layers": layers,
            **({"ground_user": delivery} if delivery is not None else {}),
        }, indent=2) + "\n"
    else:
        rows = [{"layer": d["layer"], "gate NORAD": d["gate_norad_id"], "expected ms": d["expected_ms"],
                 "experts (NORAD, most frequent first)": " ".join(str(x["norad_id"])
                                                                  for x in d["experts_by_probability"])}
                for d in layers]
        text = render(rows, "table")
        text += f"expected token latency {result.expected_ms:,.1f} ms ({pl.strategy}, {str(snap.time)[:19]}Z)\n"
        if delivery is not None:
            text += (f"delivery of each token to the user at {delivery['latitude_deg']:g},"
                     f"{delivery['longitude_deg']:g}: {delivery['user_delivery_ms']:,.1f} ms (via NORAD "
                     f"{delivery['serving_norad_id']})\n")
    click.echo(text, nl=False)
    if kw["out"]:
        atomic_write_text(kw["out"], text, overwrite=kw["overwrite"])
