"""SSH host-key verification against known_hosts, with explicit consent for new keys.

Trusted keys come from LayerForge's own known_hosts file (in the config dir) and the user's
``~/.ssh/known_hosts``. Before authenticating, the server's key is fetched and classified:

- known: the connection proceeds, still strictly verified by asyncssh against the same list;
- changed (the host has recorded keys, none matching): refused, naming the file to clean;
- unknown: ``confirm_host_key(host, key_type, sha256_fingerprint)`` decides; an accepted key
  is appended to LayerForge's known_hosts, so the next connection does not ask.

Nothing is ever accepted silently, and verification is never switched off.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import asyncssh

from engine.remote.config import KNOWN_HOSTS, RemoteError, config_dir

ConfirmHostKey = Callable[[str, str, str], bool]
DEFAULT_PORT = 22


class HostKeyError(RemoteError):
    """The host key is changed, revoked, or was not accepted."""


def managed_known_hosts() -> Path:
    """LayerForge's own known_hosts file."""
    return config_dir() / KNOWN_HOSTS


def known_hosts_files() -> list[Path]:
    """Every file whose keys are trusted, LayerForge's first."""
    return [managed_known_hosts(), Path.home() / ".ssh" / "known_hosts"]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError:
        return ""


def load_known_hosts() -> asyncssh.SSHKnownHosts:
    """All trusted keys as one asyncssh known-hosts object."""
    return asyncssh.import_known_hosts("\n".join(_read_text(p) for p in known_hosts_files()))


def host_pattern(host: str, port: int) -> str:
    """The known_hosts spelling of host and port (``[host]:port`` off port 22)."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def _addr(host: str, port: int) -> str:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
    except OSError:
        return host


def _match(text: str, host: str, addr: str, port: int) -> tuple[list, list]:
    kh = asyncssh.import_known_hosts(text)
    found = kh.match(host, addr, None if port == DEFAULT_PORT else port)
    return list(found[0]), list(found[2])


def record_host_key(host: str, port: int, key: asyncssh.SSHKey) -> None:
    """Append ``key`` for host:port to LayerForge's known_hosts."""
    path = managed_known_hosts()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f"{host_pattern(host, port)} {key.export_public_key('openssh').decode().strip()}\n"
    with path.open("a", encoding="utf-8") as f:
        f.write(line)


async def verify_host_key(host: str, port: int, confirm: ConfirmHostKey | None,
                          ssh_config: list[str], timeout: float) -> asyncssh.SSHKnownHosts:
    """Classify the server's key (see the module doc) and return the trusted keys to connect
    with. Raises :class:`HostKeyError` for a changed, revoked or refused key."""
    addr = _addr(host, port)
    texts = [(p, _read_text(p)) for p in known_hosts_files()]
    trusted, revoked = _match("\n".join(t for _, t in texts), host, addr, port)
    algs = sorted({a.decode() for k in trusted for a in k.sig_algorithms})
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(
            host, port, server_host_key_algs=algs or (), config=ssh_config), timeout)
    except (OSError, asyncssh.Error, TimeoutError) as e:
        raise RemoteError(f"cannot reach {host}:{port}: {e}") from None
    if key is None:
        raise HostKeyError(f"{host}:{port} presented no host key; LayerForge cannot verify it")
    key_type = key.get_algorithm()
    fp = key.get_fingerprint("sha256")
    pattern = host_pattern(host, port)
    if any(k.public_data == key.public_data for k in revoked):
        raise HostKeyError(f"the host key of {pattern} ({key_type} {fp}) is marked revoked in "
                           "known_hosts; refusing to connect")
    if any(k.public_data == key.public_data for k in trusted):
        return load_known_hosts()
    if trusted:
        holders = [str(p) for p, t in texts if _match(t, host, addr, port)[0]]
        fixes = "; ".join(f"ssh-keygen -R '{pattern}' -f {h}" for h in holders)
        raise HostKeyError(
            f"the host key of {pattern} has CHANGED: it now presents {key_type} {fp}, which "
            "does not match the key recorded in known_hosts. Someone may be intercepting the "
            "connection (a man-in-the-middle attack), or the host was reinstalled. Refusing "
            "to connect. If you have verified the new key with the host's administrator, "
            f"remove the old one ({fixes}) and connect again to be asked about the new one.")
    if confirm is None or not confirm(pattern, key_type, fp):
        raise HostKeyError(f"the host key of {pattern} ({key_type} {fp}) is not known and was "
                           "not accepted; refusing to connect")
    record_host_key(host, port, key)
    return load_known_hosts()
