"""Atomic file writes, and the errors of reading and writing project files.

Every save in LayerForge (projects, run records, exports' staged files) goes through
:func:`atomic_write_bytes`: a temporary file in the same folder, fsync, replace, fsync the
folder, so a crash never leaves a half-written file behind. ``engine.project`` re-exports
these names.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from engine.errors import EXIT_FAILED, UserError, os_reason
from engine.tempfiles import create_temp, sweep_once


class ProjectError(UserError):
    """A project file cannot be read, understood or written. The message is for the user."""


class WriteFailed(ProjectError):
    """A file could not be written for a reason of the machine, not of the input (a full or
    read-only disk, an I/O error): a failure at run time, exit code 1."""

    exit_code = EXIT_FAILED


#: OS errors that say the path itself is wrong (bad input, exit 2), not the machine
_BAD_PATH = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.EINVAL)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, never a mix."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a
    torn one: temp file in the same folder, fsync, replace, fsync the folder.

    A new file gets the permissions the process umask gives (0666 & ~umask); a replaced
    file keeps its mode. Temp files that killed writers left in the folder are removed
    on this process's first write there (see :func:`engine.tempfiles.sweep_once`). Every OS failure is a :class:`ProjectError`
    naming ``path``, and the temp file is gone."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path()
    sweep_once(folder)
    tmp: Path | None = None
    try:
        fd, tmp = create_temp(folder, target.name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = target.stat().st_mode
        except FileNotFoundError:
            mode = None  # a new file: create_temp already applied the umask
        if mode is not None:
            try:
                os.chmod(tmp, mode & 0o777)
            except OSError:
                pass  # not ours to chmod (another user's file we may replace): umask mode
        os.replace(tmp, target)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError):
            error = ProjectError if e.errno in _BAD_PATH else WriteFailed
            raise error(_write_failure(e, target, folder)) from None
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the replace is still atomic


def _write_failure(e: OSError, target: Path, folder: Path) -> str:
    """The sentence for an OS error while writing ``target`` (the temp file's own name in
    the error means nothing to the user)."""
    if isinstance(e, FileNotFoundError) and not folder.is_dir():
        return f"cannot write {target}: the folder {folder} does not exist"
    return f"cannot write {target}: {os_reason(e)}"
