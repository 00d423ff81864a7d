"""Turn user options into the objects the layers work on (constellation, time grid)."""

from __future__ import annotations

import orbits

from .exceptions import SpaceXNetError

__all__ = ["build_constellation", "DEFAULT_PRESET"]

#: The built-in default constellation: a Starlink-like 72×22 Walker-delta shell at 550 km, 53°.
DEFAULT_PRESET = "starlink-shell1"


def build_constellation(preset=None, walker=None, altitude_km=None, star=False, epoch=None,
                        tle=None, omm=None, skip_invalid=False):
    """Build a constellation from exactly one of ``preset``, ``walker``, ``tle`` or ``omm``.

    With none given, the default preset (Starlink shell 1) is used.

    Examples
    --------
    >>> len(build_constellation())
    1584
    >>> len(build_constellation(walker="86.4:66/6/2", altitude_km=780, star=True))
    66
    """
    chosen = [name for name, value in (("--preset", preset), ("--walker", walker), ("--tle", tle),
                                       ("--omm", omm)) if value]
    if len(chosen) > 1:
        raise SpaceXNetError(f"give only one of {', '.join(chosen)}")
    if walker is None and (altitude_km is not None or star):
        raise SpaceXNetError("--altitude-km and --star apply only with --walker")
    if tle:
        return orbits.read_tle(tle, skip_invalid=skip_invalid)
    if omm:
        return orbits.read_omm(omm, skip_invalid=skip_invalid)
    if walker:
        if altitude_km is None:
            raise SpaceXNetError("--walker needs --altitude-km (for example --altitude-km 550)")
        return orbits.walker(walker, altitude_km=altitude_km, star=star, epoch=epoch)
    return orbits.preset(preset or DEFAULT_PRESET, epoch=epoch)
