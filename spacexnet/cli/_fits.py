"""When the model does not fit: the one error line also says what would (``sweep``, ``check-step``)."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager

import latency
import placement

from ..exceptions import SpaceXNetError
from ..scenario import model_setup
from ..sweep import check_fits
from ._options import constellation_from_kwargs

__all__ = ["says_what_fits", "what_fits"]


@contextmanager
def says_what_fits(given: dict, setup):
    """Turn a :class:`placement.InfeasiblePlacementError` into one line that names what would fit.

    ``given`` holds the command's options as given (constellation options,
    ``shell``, ``start`` and, when the command has it, ``belt_planes``).
    """
    try:
        yield
    except placement.InfeasiblePlacementError as exc:
        # Raised before any heavy work (the commands check first); say what would fit.
        whole = constellation_from_kwargs({**given, "shell": None}, quiet=True)
        raise SpaceXNetError(f"{exc}; {what_fits(whole, given.get('shell'), setup, given)}") from None


def what_fits(whole, shell_index, setup, kw) -> str:
    """What would fit instead: other shells, more experts per satellite, smaller model presets (one clause)."""

    def fits(constellation, candidate):
        try:
            check_fits(constellation, candidate, kw.get("start"), kw.get("belt_planes"))
        except placement.PlacementError:
            return False
        return True

    ideas = []
    if len(whole.shells) > 1:
        others = [i for i in range(len(whole.shells)) if i != shell_index
                  and fits(whole.subset(whole.shell == i), setup)]
        if others:
            ideas.append("--shell " + ", ".join(f"{i} ({int((whole.shell == i).sum()):,} satellites)" for i in others))
    constellation = whole if shell_index is None else whole.subset(whole.shell == shell_index)
    n_experts = setup.probs.shape[1]
    room = int(setup.hardware.memory_bytes // setup.model.expert_bytes)
    for per_sat in range(setup.experts_per_sat + 1, min(n_experts, room) + 1):
        if fits(constellation, dataclasses.replace(setup, experts_per_sat=per_sat)):
            ideas.append(f"--experts-per-sat {per_sat} (experts of {setup.model.expert_bytes / 1e6:,.0f} MB; the "
                         f"memory of {setup.hardware.name} holds {room:,})")
            break
    models = [name for name in latency.model_names() if name != setup.model.name
              and fits(constellation, model_setup(name, hardware=setup.hardware.name,
                                                  link_profile=setup.link_profile.name, activation="uniform",
                                                  experts_per_sat=setup.experts_per_sat))]
    if models:
        ideas.append(f"--model {' or '.join(models)}")
    if not ideas:
        return f"no shell, --experts-per-sat or model preset fits {len(constellation)} satellites"
    return "what fits: " + "; or ".join(ideas)
