"""One writer per run folder: an OS lock held for as long as a process writes the run.

The lock is ``fcntl.flock`` on ``RUN/.lock``. The kernel releases it when the holder's
last descriptor closes, which includes the process dying by any means (SIGKILL, OOM
killer): a dead writer's lock is therefore never stale, and the next writer simply takes
it. The file's content (pid, host, command, start time as JSON) only serves the message a
refused writer shows; what it says about a process that is gone is overwritten by the next
holder. The file itself stays (empty) in the run folder: deleting it on release would let a
writer that opened the old file lock it while another locks a new one.

Within one process the lock is re-entrant for the thread that holds it, so the recorder
(:func:`engine.train.rundir.record`) and the loop (:func:`engine.train.loop.train`) can
both hold it around the same run. Only writers lock; evaluate, export and sample read.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import RunTimeError, os_reason

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are not locked there
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
#: What the holder is, for the message another writer shows.
WRITER = "layerforge train"


class RunBusy(RunTimeError):
    """Another process is writing the run folder; the message names it."""


class RunLockError(RunTimeError):
    """The run folder's lock file cannot be created (the folder cannot be written)."""


class _Held:
    def __init__(self, fd: int, thread: int) -> None:
        self.fd, self.thread, self.count = fd, thread, 1


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def _host() -> str:
    return os.uname().nodename if hasattr(os, "uname") else "this computer"


def acquire(folder: str | os.PathLike[str], what: str = WRITER) -> str:
    """Lock ``folder`` (created if missing) for this process; the key for :func:`release`.

    Raises :class:`RunBusy` when another process (or another thread of this one) holds it,
    :class:`RunLockError` when the lock file cannot be created."""
    path = Path(folder)
    key = os.path.realpath(path)
    me = threading.get_ident()
    with _guard:
        held = _held.get(key)
        if held is not None:
            if held.thread != me:
                raise RunBusy(_busy_message(path, _info_of(held.fd)))
            held.count += 1
            return key
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                         0o666)
        except OSError as e:
            raise RunLockError(f"cannot write the run folder {path}: {os_reason(e)}") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _info_of(fd)
            os.close(fd)
            raise RunBusy(_busy_message(path, info)) from None
        except OSError:
            pass  # a file system without locks (some network shares): write unlocked
        try:
            data = json.dumps({"pid": os.getpid(), "host": _host(), "command": what,
                               "started": time.time()}).encode()
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, data)
        except OSError:
            pass  # the lock holds without its note; a refused writer names no process
        _held[key] = _Held(fd, me)
        return key


def release(key: str) -> None:
    """Undo one :func:`acquire`; the last one unlocks the folder."""
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _held[key]
        try:
            os.ftruncate(held.fd, 0)  # says nothing once nobody holds it
        except OSError:
            pass
        os.close(held.fd)  # closing the descriptor releases the flock


@contextmanager
def hold_run(folder: str | os.PathLike[str], what: str = WRITER) -> Iterator[None]:
    """Hold the run folder's lock for the ``with`` block (see :func:`acquire`)."""
    key = acquire(folder, what)
    try:
        yield
    finally:
        release(key)


def holder(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What the lock file says about its holder (None when it says nothing readable). It
    may describe a process that is gone: only a refused :func:`acquire` proves a holder."""
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _info_of(fd)
    finally:
        os.close(fd)


def _info_of(fd: int) -> dict[str, Any] | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096) or b"null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _busy_message(folder: Path, info: dict[str, Any] | None) -> str:
    if not info or not isinstance(info.get("pid"), int):
        # the holder took the lock a moment ago and has not written its note yet
        return f"run {folder} is being written by another process; wait for it or stop it"
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["started"])))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        started = "at an unknown time"
    else:
        started = f"started {started}"
    command = _printable(str(info.get("command") or "layerforge")[:80])
    host = _printable(str(info.get("host") or "an unknown host")[:255])
    return (f"run {folder} is being written by process {info['pid']} ({command}, {started}) "
            f"on host {host}; wait for it or stop it")


def _printable(text: str) -> str:
    """``text`` with control characters replaced (it is printed to a terminal)."""
    return "".join(c if c.isprintable() else "?" for c in text)
