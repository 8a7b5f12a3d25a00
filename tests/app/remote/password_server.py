"""A real SSH server that checks passwords, for the password-login tests: asyncssh's server
on 127.0.0.1, in a thread with its own event loop. OpenSSH's sshd checks only system users'
passwords, which a test cannot add; this one accepts one user and one password, runs exec
requests with the local shell and serves SFTP on the local file system, so a whole remote
run can go through it."""

from __future__ import annotations

import asyncio

import asyncssh

from tests.e2e.remote.loop_server import LoopServer


class _Server(asyncssh.SSHServer):
    def __init__(self, user: str, password: str, tried: list[str]) -> None:
        self._user, self._password, self._tried = user, password, tried

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self._tried.append(password)
        return username == self._user and password == self._password


async def _run_command(process: asyncssh.SSHServerProcess) -> None:
    """An exec request, run by the local shell (no PTY, stdin from /dev/null)."""
    proc = await asyncio.create_subprocess_shell(
        process.command or "true", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    process.stdout.write(out.decode(errors="replace"))
    process.stderr.write(err.decode(errors="replace"))
    process.exit(proc.returncode or 0)


class PasswordServer(LoopServer):
    """``port``, ``tried`` (every password offered, in order), ``trust`` and ``close``."""

    def __init__(self, user: str, password: str) -> None:
        self.tried: list[str] = []

        async def listen(key: asyncssh.SSHKey) -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                lambda: _Server(user, password, self.tried), "127.0.0.1", 0,
                server_host_keys=[key], process_factory=_run_command,
                sftp_factory=True, encoding="utf-8")

        super().__init__(listen)
