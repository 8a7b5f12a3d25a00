"""Reading a user's file, with one sentence for every way it can fail.

Project files, recovery files, run metadata and data files (CSV, IDX, text corpora) are all
read the same way: the OS error or the bad encoding becomes an error of the caller's own
:class:`~engine.errors.UserError` family (``ProjectError``, ``DataError``, ``ExportError``)
whose message names the file and the reason, e.g. ``data.csv: no such file`` or
``notes.txt: not UTF-8 text: byte 0xff at byte offset 14 (line 2) is invalid; save the file
as UTF-8``. Callers add what only they know (``hint``: what the user can do about it).
Readers that must open the file themselves (a ``.gz`` unpacked as it is read) take the same
sentences from :func:`file_size` and :func:`read_error_message`.

This module imports nothing heavy, so the engine core and the app can use it before torch.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import UserError, os_reason

_BOM = "\ufeff"


def _sentence(path: str | os.PathLike[str], reason: str, hint: str) -> str:
    return f"{path}: {reason}" + (f"; {hint}" if hint else "")


def _fail(error: type[UserError], path: Path, reason: str, hint: str) -> UserError:
    return error(_sentence(path, reason, hint))


def read_error_message(path: str | os.PathLike[str], e: OSError, *, what: str = "a file",
                       hint: str = "") -> str:
    """The sentence for the OS error ``e`` met while reading ``path`` ("data.csv: no such
    file"), for a reader that opens the file itself; ``what`` and ``hint`` as in
    :func:`read_bytes`, which says the same."""
    if isinstance(e, FileNotFoundError):
        reason = "no such file"
    elif isinstance(e, IsADirectoryError):
        reason = f"is a folder, not {what}"
    else:
        reason = f"cannot read the file ({os_reason(e)})"
    return _sentence(path, reason, hint)


def file_size(path: str | os.PathLike[str], error: type[UserError], *, what: str = "a file",
              hint: str = "") -> int:
    """The size in bytes of the file ``path``, or ``error`` when it is missing, a folder or
    cannot be examined (the sentences of :func:`read_bytes`)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise error(read_error_message(p, e, what=what, hint=hint)) from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(error, p, f"is a folder, not {what}", hint)
    return st.st_size


def read_bytes(path: str | os.PathLike[str], error: type[UserError], *, what: str = "a file",
               max_bytes: int | None = None, hint: str = "") -> bytes:
    """The bytes of ``path``, or ``error`` with a sentence naming the file and the reason.

    ``what`` is what the file should be ("a project file"), for the messages about a folder
    or a file that is too large; ``max_bytes`` refuses larger files before reading them (a
    project file is parsed whole in memory); ``hint`` is appended to every message.
    """
    p = Path(path)
    if max_bytes is not None:
        size = file_size(p, error, what=what, hint=hint)
        if size > max_bytes:
            raise _fail(error, p, f"{size} bytes is too large for {what}", hint)
    try:
        return p.read_bytes()
    except OSError as e:
        raise error(read_error_message(p, e, what=what, hint=hint)) from None


def decode_text(data: bytes, path: str | os.PathLike[str], error: type[UserError], *,
                strip_bom: bool = False, hint: str = "") -> str:
    """``data`` (read from ``path``) as UTF-8 text, or ``error`` naming the first bad byte,
    its offset and line. ``strip_bom`` drops a leading byte order mark (Windows editors
    write one into CSV and text files); JSON formats keep it and refuse it as JSON does."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        reason = (f"not UTF-8 text: byte 0x{data[e.start]:02x} at byte offset {e.start} "
                  f"(line {line}) is invalid; save the file as UTF-8")
        raise _fail(error, Path(path), reason, hint) from None
    return text.removeprefix(_BOM) if strip_bom else text


def read_text(path: str | os.PathLike[str], error: type[UserError], *,
              what: str = "a text file", max_bytes: int | None = None,
              strip_bom: bool = False, hint: str = "") -> str:
    """The UTF-8 text of ``path``: :func:`read_bytes`, then :func:`decode_text`."""
    data = read_bytes(path, error, what=what, max_bytes=max_bytes, hint=hint)
    return decode_text(data, path, error, strip_bom=strip_bom, hint=hint)


__all__ = ["decode_text", "file_size", "read_bytes", "read_error_message", "read_text"]
