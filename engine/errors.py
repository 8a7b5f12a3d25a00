"""The one base of every error a user may see, and the one way to turn any error into words.

Every user-facing exception in the engine and the app derives from :class:`UserError`; its
message is already a sentence that names the file, field or block and what to do. The CLI
prints :func:`user_message` and exits with the error's ``exit_code``; the app shows the same
sentence. Anything else reaching the surface is a defect in LayerForge: it is still shown as
one line (its type and first line), never as a traceback.

This module imports nothing heavy, so the app and the CLI can use it before torch loads.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_FAILED = 1  # the input was fine, the work failed at run time (disk full, link down, ...)
EXIT_BAD_INPUT = 2  # the input (a file, an option, a value) is wrong; the message says which


class UserError(Exception):
    """An error whose message is for the user: one or two sentences, no traceback."""

    exit_code = EXIT_BAD_INPUT


class UsageError(UserError):
    """A command-line option or argument is wrong."""


class RunTimeError(UserError):
    """The input was valid but the work failed at run time (exit code 1)."""

    exit_code = EXIT_FAILED


_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EEXIST: "it already exists",
    errno.EIO: "an input/output error (a failing disk or a dropped network share)",
}


def os_reason(e: OSError) -> str:
    """The plain-words reason of an OS error ("the disk is full")."""
    reason = _OS_REASONS.get(e.errno or 0)
    if reason:
        return reason
    return (e.strerror or str(e) or type(e).__name__).strip().rstrip(".").lower()


def os_error_message(e: OSError, action: str = "") -> str:
    """One sentence for an OS error: what was being done, to which file, and why it failed."""
    where = e.filename if e.filename is not None else ""
    subject = f"{action} {where}".strip() if action else str(where)
    return f"{subject}: {os_reason(e)}" if subject else os_reason(e)


def user_message(exc: BaseException) -> str:
    """The sentence the CLI prints and the app shows for ``exc``.

    A :class:`UserError` is shown as it is. An ``OSError`` becomes "FILE: reason". Anything
    else is a defect: it is named by its type and its message's first line.
    """
    if isinstance(exc, UserError):
        return str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: the data or the network is too large for this machine"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def exit_code(exc: BaseException) -> int:
    """The CLI's exit code for ``exc``: 2 for bad input, 1 for a failure at run time."""
    if isinstance(exc, UserError):
        return exc.exit_code
    return EXIT_FAILED
