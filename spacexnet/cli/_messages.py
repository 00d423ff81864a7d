"""What a command prints when something goes wrong: one line, in command-line words.

The layers below (``orbits``, ``latency``, ``placement``) name their Python
parameters in messages (``belt_planes``, ``topology='nearest'``,
``duration_s=inf``). A command-line user has flags instead, so
:func:`cli_wording` rewrites those names into the running command's flags,
taken from the command's own click parameters: one mapping, in this one
place. Warnings go through :func:`one_line_warnings`, which prints each as
``spacexnet: warning: ...`` instead of Python's two-line ``file:line:
UserWarning`` form.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager

import click

__all__ = ["PARAMETER_ALIASES", "FLAG_VALUES", "option_flags", "cli_wording", "one_line_warnings"]

#: Library parameters whose command-line option has another name.
PARAMETER_ALIASES = {"capacity": "experts_per_sat"}

#: Library ``name=value`` settings that a command spells as a flag of its own.
FLAG_VALUES = {"check_checksum=False": "--no-checksum"}

_PACKAGES = ("orbits", "latency", "placement", "spacexnet")


def option_flags(command) -> dict[str, str]:
    """Parameter name → the command's flag (``belt_planes`` → ``--belt-planes``, ``map_png`` → ``--map``).

    Library parameters named in :data:`PARAMETER_ALIASES` map to their option's flag too.
    """
    flags = {}
    for param in getattr(command, "params", ()):
        if isinstance(param, click.Option) and param.name and param.opts:
            long = [opt for opt in param.opts if opt.startswith("--")]
            flags[param.name] = (long or param.opts)[0]
    for library, cli in PARAMETER_ALIASES.items():
        if cli in flags:
            flags[library] = flags[cli]
    return flags


def cli_wording(message: str, command=None) -> str:
    """``message`` with library parameter names replaced by ``command``'s flags, on one line.

    A ``name=value`` setting becomes ``--flag value``; a bare name becomes
    ``--flag`` when it is a snake_case identifier or an alias, words that
    never occur as plain prose.

    Examples
    --------
    >>> @click.command()
    ... @click.option("--belt-planes", type=int)
    ... @click.option("--topology")
    ... def cmd(belt_planes, topology):
    ...     pass
    >>> cli_wording("use belt_planes ≤ 72, or topology='nearest'", cmd)
    'use --belt-planes ≤ 72, or --topology nearest'
    """
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    for setting, flag in FLAG_VALUES.items():
        text = text.replace(setting, flag)
    flags = option_flags(command)
    for name in sorted(flags, key=len, reverse=True):
        flag = flags[name]
        setting = re.compile(rf"(?<![\w.-]){re.escape(name)}=('([^']*)'|\"([^\"]*)\"|([^\s,;)]+))")
        text = setting.sub(lambda m, f=flag: f"{f} {next(g for g in m.groups()[1:] if g is not None)}", text)
        if "_" in name or name in PARAMETER_ALIASES:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w(])", flag, text)
    return text


def _show(command):
    def show(message, category, filename, lineno, file=None, line=None):
        ctx = click.get_current_context(silent=True)
        text = cli_wording(message, command if command is not None or ctx is None else ctx.command)
        # Our own warnings speak for themselves; a library's needs its category to be understood.
        if not category.__module__.split(".")[0] in _PACKAGES and category is not UserWarning:
            text = f"{category.__name__}: {text}"
        click.echo(f"spacexnet: warning: {text}", err=True)

    return show


@contextmanager
def one_line_warnings(command=None):
    """While a command runs, print every warning as one ``spacexnet: warning: ...`` line (stderr).

    Library parameter names in the warning become the flags of ``command`` (default: the command
    running when the warning is issued), as in :func:`cli_wording`.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _show(command)
        yield
