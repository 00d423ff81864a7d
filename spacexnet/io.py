"""NetCDF output: CF metadata, provenance, and atomic writes.

A dataset is written to a temporary file beside the target and renamed into
place only when complete, so an interrupted run never leaves a file under
the final name that looks finished (rename is atomic on POSIX filesystems).
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import xarray as xr

from . import __version__
from .exceptions import OutputError

__all__ = ["write_dataset", "atomic_write_text", "atomic_target", "interrupts_deferred", "check_target", "provenance_attrs", "command_line"]

#: CF conventions version our datasets follow.
CONVENTIONS = "CF-1.11"


def check_target(path, overwrite: bool = False, flag: str | None = None) -> Path:
    """Refuse an output path that cannot be written: it exists (without ``overwrite``) or its folder is missing.

    Commands call it before any work (see ``spacexnet.cli._options.checks_outputs``)
    and :func:`atomic_target` again at the moment of writing.

    Parameters
    ----------
    path : str or path-like
    overwrite : bool
        An existing file may be replaced.
    flag : str, optional
        The command-line option that named the path, for the message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError

    Examples
    --------
    >>> check_target("/no/such/folder/out.nc", flag="--out")
    Traceback (most recent call last):
    ...
    spacexnet.exceptions.OutputError: /no/such/folder/out.nc (--out): directory /no/such/folder does not exist
    """
    path = Path(path)
    named = f"{path} ({flag})" if flag else str(path)
    if path.is_dir():
        raise OutputError(f"{named}: is a directory; give a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{named}: file exists; pass --overwrite to replace it")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{named}: directory {directory} does not exist")
    return path


@contextmanager
def atomic_target(path, overwrite: bool = False):
    """Yield a temporary path beside ``path``; on success it becomes ``path``, on any failure it vanishes.

    The finished file is flushed to disk, given the user's usual permissions
    (``mkstemp`` creates it 0600) and renamed into place, which is atomic on
    POSIX filesystems: a crash, a full disk or Ctrl-C never leaves a partial
    file under the final name. ``OSError`` becomes :class:`OutputError` naming
    the path.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_target(target) as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open(target).read()
    'done'
    """
    path = check_target(path, overwrite)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: could not write ({exc.strerror or exc})") from exc
        raise


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) back until the block ends, then raise it.

    A ``KeyboardInterrupt`` raised inside a NetCDF write can leave the
    writer's (non-reentrant) lock held, and the clean-up that follows then
    waits on that lock for ever. Writes of a part or of the final file are
    short, so they finish first and the interrupt is raised right after.
    Outside the main thread (where no signal handler can be set) the block
    runs unchanged.

    Examples
    --------
    >>> with interrupts_deferred():
    ...     total = sum(range(10))
    >>> total
    45
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def command_line(python_call: str | None = None) -> str:
    """The running ``spacexnet`` command as a shell line that runs it again, with every option in force.

    Rebuilt from click's parsed parameters rather than ``sys.argv``, so it
    reads the same whether the command ran from a shell, a script or a test
    runner; each option under its own flag, with the value it had (given or
    default: a later version's other defaults do not change what it
    reproduces), quoted for a POSIX shell.

    Parameters
    ----------
    python_call : str, optional
        Outside a ``spacexnet`` command (a Python program calling the API),
        what was called; the line then says it is a Python call, not a
        command.

    Examples
    --------
    >>> command_line("spacexnet.sweep.sweep(...)").startswith("Python call spacexnet.sweep.sweep(...) in ")
    True
    """
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        program = shlex.join([Path(sys.executable).name, *sys.argv])
        return f"Python call {python_call or 'of the spacexnet API'} in `{program}` (not a spacexnet command)"
    names = []
    node = ctx
    while node.parent is not None:
        names.append(node.info_name)
        node = node.parent
    words = ["spacexnet", *reversed(names)]
    positional = []
    for param in ctx.command.params:
        if param.name not in ctx.params:
            continue
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            if value is not None:
                positional.extend(_words(value))
            continue
        words.extend(_option_words(param, value))
    if any(word.startswith("-") for word in positional):
        words.append("--")
    return shlex.join(words + positional)


def _option_words(option, value) -> list[str]:
    """Shell words of one parsed click option: its longest-lived flag and its value as click reads it back."""
    flag = next((o for o in option.opts if o.startswith("--")), option.opts[0])
    if value is None:
        return []
    if option.is_flag and option.is_bool_flag:
        if option.secondary_opts:
            return [flag if value else option.secondary_opts[0]]
        return [flag] if value else []
    if option.is_flag:
        return [flag] if value == option.flag_value else []
    if option.count:
        return [flag] * int(value)
    if option.multiple:
        return [word for item in value for word in [flag, *_words(item, option.nargs)]]
    return [flag, *_words(value, option.nargs)]


def _words(value, nargs: int = 1) -> list[str]:
    if isinstance(value, (tuple, list)):
        items = [_word(v) for v in value]
        # One value that a callback turned into a list (``--policy static,handover``) goes back as it came.
        return items if nargs != 1 else [",".join(items)]
    return [_word(value)]


def _word(value) -> str:
    # repr of a float is the shortest text that reads back as the same float.
    return repr(value) if isinstance(value, float) else str(value)


def provenance_attrs(source: str = "", command: str | None = None, **extra) -> dict:
    """Global attributes every Space-XNet dataset carries.

    Parameters
    ----------
    source : str
        What the data was computed from (constellation, TLE file and epochs).
    command : str, optional
        The command line; defaults to the running ``spacexnet`` command with
        its effective options (:func:`command_line`).
    **extra
        Further attributes (model, profiles, policy, seed); ``None`` values are dropped.

    Examples
    --------
    >>> attrs = provenance_attrs("walker 53:1584/72/1 550 km", command="spacexnet propagate")
    >>> attrs["Conventions"]
    'CF-1.11'
    """
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = command if command is not None else command_line()
    attrs = {
        "Conventions": CONVENTIONS,
        "title": "Space-XNet dataset",
        "institution": "Space-XNet",
        "source": source or "space-xnet",
        "history": f"{now} {command}",
        "software": f"space-xnet {__version__}",
    }
    for key, value in extra.items():
        if value is None:
            continue
        attrs[key] = value if isinstance(value, (str, int, float)) else str(value)
    return attrs


def write_dataset(ds: xr.Dataset, path, overwrite: bool = False) -> Path:
    """Write ``ds`` to NetCDF at ``path`` atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset; ``time`` coordinates are CF-encoded as seconds since
        1970-01-01 UTC.
    path : str or path-like
        Target file.
    overwrite : bool
        Replace an existing file; without it an existing file is an error.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        When the file exists and ``overwrite`` is false, or the directory is
        missing or not writable.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile, os
    >>> ds = xr.Dataset({"x_km": ("t", np.arange(3.0), {"units": "km"})})
    >>> p = write_dataset(ds, os.path.join(tempfile.mkdtemp(), "x.nc"))
    >>> float(xr.open_dataset(p)["x_km"].sum())
    3.0
    """
    encoding = {}
    for name, var in ds.variables.items():
        if var.dtype.kind == "M":
            encoding[name] = {"units": "seconds since 1970-01-01T00:00:00Z", "calendar": "standard",
                              "dtype": "float64"}
    with atomic_target(path, overwrite) as tmp, interrupts_deferred():
        ds.to_netcdf(tmp, encoding=encoding)
    return Path(path)


def atomic_write_text(path, text: str, overwrite: bool = False) -> Path:
    r"""Write ``text`` to ``path`` through a temporary file and a rename (see :func:`write_dataset`).

    Examples
    --------
    >>> import tempfile, os
    >>> p = atomic_write_text(os.path.join(tempfile.mkdtemp(), "t.csv"), "a,b\n1,2\n")
    >>> p.read_text()
    'a,b\n1,2\n'
    """
    with atomic_target(path, overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    return Path(path)
