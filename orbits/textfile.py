"""Reading a user's text file with one clear error per problem (missing, directory, binary, not UTF-8)."""

from __future__ import annotations

from pathlib import Path


def read_text_file(path, error: type[Exception], expected: str, missing: str = "no such file") -> tuple[str, bytes]:
    """Text and raw bytes of ``path``; problems raise ``error("path[:line]: reason")``.

    Parameters
    ----------
    path : str or path-like
    error : exception class
        The caller's domain error (``TLEFormatError``, ``OMMFormatError``, …).
    expected : str
        What the file should be, for the messages (``"a TLE text file"``).
    missing : str
        Message for a file that does not exist.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "wb").write(b"ok\\n\\x00")
    >>> try:
    ...     read_text_file(p, ValueError, "a TLE text file")
    ... except ValueError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    NUL byte (found binary data, expected a TLE text file)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory (expected {expected})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if b"\x00" in data:
        lineno = data[:data.index(b"\x00")].count(b"\n") + 1
        raise error(f"{path}:{lineno}: NUL byte (found binary data, expected {expected})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = data[:exc.start].count(b"\n") + 1
        raise error(f"{path}:{lineno}: not UTF-8 text (found byte 0x{data[exc.start]:02x}, expected {expected})") \
            from None
    return text, data
