"""Downloads from a host that is trusted with its files' contents, never with local paths.

A host's SFTP listing decides which local files a download creates, so a hostile or broken
host could name ``../../.ssh/authorized_keys`` or an absolute path and write anywhere the
user can (the class of scp's CVE-2019-6111). A download therefore runs in two phases:

1. *plan*: walk every requested remote path with ``lstat`` and the listing's own attributes
   (never following a remote symbolic link), accept only plain names (no ``/``, ``\\`` or
   NUL, not empty; the listing's ``.`` and ``..`` entries are skipped), and check that every
   local target, resolved, stays inside the destination folder;
2. *fetch*: only when the whole plan is sound, copy each file under a temporary name and
   rename it into place (a dropped link never leaves a torn file; a local symbolic link is
   never created).

Anything wrong refuses the whole download before a single byte is written locally, with a
:class:`DownloadError` naming the host and the entry.

A run that still trains writes while it is downloaded: a checkpoint is written under a
temp name and renamed into place. Such temp names (:func:`engine.tempfiles.is_temp_name`)
are not downloaded, and a file the host removes between the listing and its copy is
skipped: what it was is gone from the run, and a later download brings what replaced it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh
from asyncssh import (
    FILEXFER_TYPE_DIRECTORY,
    FILEXFER_TYPE_REGULAR,
    FILEXFER_TYPE_SYMLINK,
    FILEXFER_TYPE_UNKNOWN,
)

from engine.errors import RunTimeError, os_error_message
from engine.remote.config import RemoteError
from engine.tempfiles import is_temp_name

if TYPE_CHECKING:
    from engine.remote.ssh import RemoteHost

#: a run folder holds a few hundred files; a listing beyond these is refused (a host
#: that lists without end, or nests folders without end, must not eat the machine)
MAX_ENTRIES = 100_000
MAX_DEPTH = 16
Same = Callable[[str, Path], bool]
#: what an SFTP server answers for a path that is not (or no longer) there
_GONE = (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath)


class DownloadError(RemoteError, RunTimeError):
    """A download was refused (the host listed an unsafe entry) or could not be written
    locally. The command was fine, the transfer failed: exit code 1."""


def name_problem(name: str) -> str | None:
    """Why ``name`` (one entry of a remote folder listing) is not a plain file name, or None.

    ``.`` and ``..`` are refused here too: callers skip them before asking, as every SFTP
    server lists them."""
    if not name:
        return "is empty"
    if "\0" in name:
        return "holds a NUL character"
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if name in (".", ".."):
        return "names a folder, not an entry in it"
    return None


def shown(text: str) -> str:
    """A remote name as a message shows it: quoted, control characters escaped."""
    return repr(text)


@dataclass(frozen=True)
class _Item:
    remote: str
    local: Path
    is_dir: bool


class _Planner:
    """Phase 1: the list of folders and files to create, or a DownloadError."""

    def __init__(self, sftp: asyncssh.SFTPClient, host: str, root: Path) -> None:
        self.sftp, self.host = sftp, host
        self.root = Path(os.path.realpath(root))
        self.items: list[_Item] = []

    def refuse(self, what: str) -> DownloadError:
        return DownloadError(f"{self.host}: download refused: {what}. Nothing was downloaded; "
                             "the host may be compromised or misconfigured: check its run "
                             "folder before downloading again")

    async def top(self, remote: str, local: Path) -> bool:
        """Plan one requested path; False when the host has nothing there."""
        try:
            attrs = await self.sftp.lstat(remote)
        except _GONE:
            return False
        await self.walk(remote, local, attrs, 0)
        return True

    async def walk(self, remote: str, local: Path, attrs: asyncssh.SFTPAttrs, depth: int) -> None:
        self.check_inside(remote, local)
        kind = attrs.type
        if kind == FILEXFER_TYPE_UNKNOWN:  # a listing without permissions: ask the host
            try:
                kind = (await self.sftp.lstat(remote)).type
            except _GONE:  # removed since it was listed
                return
        if kind == FILEXFER_TYPE_SYMLINK:
            try:
                target = shown(await self.sftp.readlink(remote))
            except asyncssh.SFTPError:
                target = "an unreadable target"
            raise self.refuse(f"{shown(remote)} is a symbolic link (to {target}); LayerForge "
                              "never follows a link on the host when downloading")
        if kind == FILEXFER_TYPE_REGULAR:
            self.add(_Item(remote, local, False))
            return
        if kind != FILEXFER_TYPE_DIRECTORY:
            raise self.refuse(f"{shown(remote)} is neither a plain file nor a folder")
        if depth >= MAX_DEPTH:
            raise self.refuse(f"{shown(remote)} is nested more than {MAX_DEPTH} folders deep")
        self.add(_Item(remote, local, True))
        children = []
        try:
            async for entry in self.sftp.scandir(remote):
                name = entry.filename
                if name in (".", ".."):
                    continue
                problem = name_problem(name) if isinstance(name, str) else "is not text"
                if problem:
                    raise self.refuse(f"the listing of {shown(remote)} holds the entry "
                                      f"{shown(str(name))}, which {problem}; only plain file "
                                      "names are accepted")
                if is_temp_name(name):  # a write in progress on the host
                    continue
                children.append(entry)
                if len(self.items) + len(children) > MAX_ENTRIES:
                    raise self.refuse(f"{shown(remote)} lists more than {MAX_ENTRIES} entries")
        except asyncssh.SFTPBadMessage as e:  # e.g. a name that is not UTF-8
            raise self.refuse(f"the listing of {shown(remote)} is malformed ({e})") from None
        except _GONE:  # the folder was removed since it was listed
            return
        for entry in sorted(children, key=lambda e: e.filename):
            await self.walk(f"{remote}/{entry.filename}", local / entry.filename, entry.attrs,
                            depth + 1)

    def add(self, item: _Item) -> None:
        if len(self.items) >= MAX_ENTRIES:
            raise self.refuse(f"more than {MAX_ENTRIES} entries were listed")
        self.items.append(item)

    def check_inside(self, remote: str, local: Path) -> None:
        """Plain names cannot climb out lexically; this also catches a drive-relative name
        (Windows) and a local link inside the folder that leads out of it."""
        target = Path(os.path.realpath(local))
        if not target.is_relative_to(self.root):
            raise self.refuse(f"{shown(remote)} would be written to {target}, outside the "
                              f"folder {self.root}")


async def _fetch(sftp: asyncssh.SFTPClient, items: list[_Item], same: Same | None) -> None:
    """Phase 2: create the planned folders and files."""
    loop = asyncio.get_running_loop()
    for item in items:
        dest = item.local
        try:
            if item.is_dir:
                dest.mkdir(parents=True, exist_ok=True)
                continue
            if same is not None and dest.is_file() and await loop.run_in_executor(
                    None, same, item.remote, dest):  # hashing: off the shared loop
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(f".{dest.name}.part")
            part.unlink(missing_ok=True)  # never write through something already there
            try:
                # follow_symlinks: whatever the host does between the plan and now, the
                # local result is a plain file, never a link
                try:
                    await sftp.get(item.remote, str(part), follow_symlinks=True)
                except _GONE:  # removed on the host since the listing (see the docstring)
                    continue
                os.replace(part, dest)
            finally:
                part.unlink(missing_ok=True)
        except OSError as e:
            raise DownloadError(os_error_message(e, "cannot write")) from None


async def download(sftp: asyncssh.SFTPClient, host: str, pairs: list[tuple[str, Path]],
                   inside: Path, same: Same | None = None) -> list[bool]:
    """Download each ``(remote path, local path)`` (a file, or a folder recursively), every
    local target staying inside ``inside``; per pair, whether the host had it. The whole
    listing is checked before anything is written (see the module's docstring)."""
    planner = _Planner(sftp, host, inside)
    found = [await planner.top(remote, Path(local)) for remote, local in pairs]
    await _fetch(sftp, planner.items, same)
    return found


def remote_checksums(host: RemoteHost, root: str, names: tuple[str, ...]) -> dict[str, str]:
    """SHA-256 of the files under ``root``/``names`` on the host, by path relative to
    ``root`` (empty when the host has no ``sha256sum``: then everything is downloaded)."""
    listed = " ".join(shlex.quote(n) for n in names)
    _, out, _ = host.run(f"cd {shlex.quote(root)} && find {listed} -type f "
                         "-exec sha256sum {} + 2>/dev/null", timeout=300)
    sums = {}
    for line in out.splitlines():
        digest, _, path = line.partition("  ")
        if len(digest) == 64 and path:
            sums[path.removeprefix("./")] = digest
    return sums
