"""Temporary files and folders whose owner can be told from their name, and their cleanup.

A writer that is killed (SIGKILL, power loss) between creating its temp file and renaming it
into place leaves the temp file behind. Every temp name here carries the writer's pid and a
tag of its host, so the next writer into the same folder can remove the ones whose writer is
gone: ``.NAME.<pid>-<host>.<random>.tmp`` for an atomic save, and
``.layerforge-export-<pid>-<host>-<random>`` for an export's staging folder. A live writer's
files (its pid still runs on this host) are never touched; a file of another host, or one
named before this scheme (no pid), is removed only when it is older than :data:`STALE_AGE_S`.

Nothing here imports more than the standard library.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
import zlib
from pathlib import Path

#: Age after which a temp file whose writer cannot be checked (another host, an old name)
#: counts as abandoned: no save or export takes a day.
STALE_AGE_S = 24 * 3600
EXPORT_PREFIX = ".layerforge-export-"
_NAME_BYTES = 120  # of the target's name kept in a temp name (the whole must stay < 255)

_RAND = r"[a-z0-9_]{6,16}"
_OURS = re.compile(rf"^\..+\.(?P<pid>\d+)-(?P<host>[0-9a-f]{{6}})\.{_RAND}\.tmp$", re.S)
_OLD = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$", re.S)  # tempfile.mkstemp names (no pid)
_EXPORT = re.compile(rf"^{re.escape(EXPORT_PREFIX)}(?P<pid>\d+)-(?P<host>[0-9a-f]{{6}})-{_RAND}$")
_OLD_EXPORT = re.compile(rf"^{re.escape(EXPORT_PREFIX)}[a-z0-9_]{{8}}$")


@functools.cache
def host_tag() -> str:
    """Six hex digits naming this host (a pid means nothing on another machine sharing the
    folder, e.g. a network home directory)."""
    if hasattr(os, "uname"):
        name = os.uname().nodename
    else:  # Windows
        import platform

        name = platform.node()
    name = name or "localhost"
    return f"{zlib.crc32(name.encode('utf-8', 'replace')):08x}"[:6]


def temp_name(target: str) -> str:
    """A hidden temp name beside ``target`` that records this process and host."""
    base = target.encode("utf-8", "surrogateescape")[:_NAME_BYTES].decode("utf-8", "ignore")
    return f".{base}.{os.getpid()}-{host_tag()}.{os.urandom(4).hex()}.tmp"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of the names above: a writer's temp file or an export's
    staging folder, which is renamed into place or removed at any moment."""
    return any(p.match(name) for p in (_OURS, _OLD, _EXPORT, _OLD_EXPORT))


def export_prefix() -> str:
    """The prefix of an export staging folder made by this process (for ``mkdtemp``)."""
    return f"{EXPORT_PREFIX}{os.getpid()}-{host_tag()}-"


def create_temp(folder: Path, target: str) -> tuple[int, Path]:
    """Create a new temp file for ``target`` in ``folder``; (fd open for writing, path).

    The file is created with mode 0666 so that the process umask decides its permissions,
    as for any file the user's programs create (mkstemp's 0600 would hide a saved project
    from the group the user shares it with)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        path = folder / temp_name(target)
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue  # 32 random bits collided: draw again


_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # elsewhere the only way is to set it and put it back
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _abandoned(match: re.Match[str] | None, path: Path, now: float) -> bool:
    """Whether the temp entry ``path`` (matched by one of our patterns) has no live writer."""
    if match is not None and match.group("host") == host_tag():
        return not pid_alive(int(match.group("pid")))
    try:
        return now - path.lstat().st_mtime > STALE_AGE_S
    except OSError:
        return False


_swept: set[str] = set()
_swept_lock = threading.Lock()


def sweep_once(folder: str | os.PathLike[str]) -> None:
    """:func:`clean_stale_temps` the first time this process writes into ``folder``. Stale
    temp files are left by processes that died; one that dies while this process runs is
    swept by the next process that writes there (a resumed worker, the next app start), so
    a save in a hot loop (a checkpoint, a sample each epoch) need not list its folder each
    time."""
    key = str(Path(folder).absolute())
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    clean_stale_temps(folder)


def clean_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temp files and export staging folders in ``folder`` whose writer is gone;
    the paths removed. Never raises: cleanup must not make a save or an export fail."""
    folder = Path(folder)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
                m = _OURS.match(name)
                if (m or _OLD.match(name)) and _abandoned(m, path, now):
                    path.unlink()
                    removed.append(path)
            elif name.startswith(EXPORT_PREFIX) and entry.is_dir(follow_symlinks=False):
                m = _EXPORT.match(name)
                if (m or _OLD_EXPORT.match(name)) and _abandoned(m, path, now):
                    import shutil

                    shutil.rmtree(path)
                    removed.append(path)
        except OSError:
            continue  # gone meanwhile, or not ours to remove: leave it
    return removed
