"""A hostile SSH host for the download tests: asyncssh's server on 127.0.0.1, in a thread
with its own event loop, serving SFTP from a folder (chroot) whose listings may be laced
with names no honest host would send (``../../x``, absolute paths, ``a/b``, NUL...).

OpenSSH's sftp-server never lists such names, so it cannot play this part. Every file
request under a laced folder that names nothing real is answered with :data:`PAYLOAD`, so
a client that trusted the listing would really write it (a test can see where). Names in
``gone`` are listed but not there, as a file a running training removes between a
client's listing and its copy. Exec requests succeed with no output (the client's checksum
listing comes back empty).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import asyncssh

from tests.e2e.remote.loop_server import LoopServer

PAYLOAD = b"written by a hostile host\n"


class HostileServer(LoopServer):
    """``port``, ``client_key`` (a private key file the server accepts), ``root`` (what
    SFTP serves), ``extra`` (remote folder -> names added to its listing) and ``gone``
    (remote folder -> names listed that are not there), changeable between connections."""

    def __init__(self, root: Path, key_folder: Path) -> None:
        self.root = root
        self.extra: dict[str, list[str]] = {}
        self.gone: dict[str, list[str]] = {}
        self._payload = key_folder / "payload"
        self._payload.write_bytes(PAYLOAD)
        client = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = key_folder / "client_key"
        client.write_private_key(str(self.client_key))
        authorized = asyncssh.import_authorized_keys(
            client.export_public_key().decode())
        outer = self

        class _SFTP(asyncssh.SFTPServer):
            def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
                super().__init__(chan, chroot=str(outer.root).encode())

            def _laced(self, path: bytes) -> bool:
                return any(path.startswith(d.encode() + b"/") for d in outer.extra)

            def map_path(self, path: bytes) -> bytes:
                local = super().map_path(path)
                if self._laced(path) and not os.path.lexists(local):
                    return str(outer._payload).encode()
                return local

            async def scandir(self, path: bytes):  # type: ignore[override]
                async for name in super().scandir(path):
                    yield name
                folder = posixpath.normpath(path.decode(errors="replace"))
                attrs = asyncssh.SFTPAttrs.from_local(os.stat(outer._payload))
                for name in outer.extra.get(folder, []) + outer.gone.get(folder, []):
                    yield asyncssh.SFTPName(name.encode(), attrs=attrs)

        async def no_output(process: asyncssh.SSHServerProcess) -> None:
            process.exit(0)

        async def listen(key: asyncssh.SSHKey) -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[key],
                authorized_client_keys=authorized, process_factory=no_output,
                sftp_factory=_SFTP, encoding="utf-8")

        super().__init__(listen)
