"""SSH connections (asyncssh) behind a synchronous facade.

:class:`RemoteHost` is the only thing callers need: every method blocks until done and may
be called from any one thread (the CLI's main thread, or a Qt QThread in the app). The
asyncio side runs on one shared background event-loop thread, so no caller needs asyncio.

Authentication is by key file, the SSH agent, the SSH default keys, or (``password: true``)
a password read from the OS keyring (:mod:`engine.remote.secrets`) just before connecting;
keyboard-interactive prompts are switched off, and a host without ``password`` never
sends one.
Host keys are verified as :mod:`engine.remote.hostkeys` describes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from engine.remote.config import HostConfig, RemoteError
from engine.remote.hostkeys import ConfirmHostKey, verify_host_key

T = TypeVar("T")
CONNECT_TIMEOUT = 20.0
BytesProgress = Callable[[str, int, int], None]


def password_options(cfg: HostConfig, password: str | None = None) -> dict[str, Any]:
    """asyncssh options for a password login: ``password`` (a form being tested) or the
    keyring's, and no keys (the user chose the password; offering keys first could count
    as failed attempts and lock the account out)."""
    from engine.remote.secrets import get_password

    if password is None:
        password = get_password(cfg.name)
    if password is None:
        raise RemoteError(f"{cfg.name} logs in with a password, but none is stored in the OS "
                          "keyring for it; enter it in Remote hosts (or `layerforge remote add "
                          f"{cfg.name} ... --password --replace`), or log in with a key")
    return {"password_auth": True, "password": password, "client_keys": None,
            "agent_path": None}


class _LoopThread:
    """One asyncio loop in a daemon thread, shared by every RemoteHost."""

    _instance: _LoopThread | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="remote-ssh").start()

    @classmethod
    def get(cls) -> _LoopThread:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise RemoteError("the remote operation timed out") from None


@dataclass(frozen=True)
class HostInfo:
    """What ``remote test`` shows: the host's Python, torch, CUDA and GPUs."""

    python: str = ""
    python_version: str = ""
    torch: str | None = None
    cuda: bool = False
    gpus: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    base_dir: str = ""  # absolute form of the host's base_dir

    def problem(self, python: str) -> str | None:
        """A sentence when the host cannot run training, else None."""
        if not self.missing:
            return None
        what = "; ".join(self.missing)
        return (f"the host's Python ({python}) cannot run LayerForge training: missing {what}. "
                "Install PyTorch there (and numpy, pydantic, safetensors), or point the host "
                "at an interpreter that has them with `layerforge remote add ... --python PATH`.")


_PROBE = """
import importlib, json, os, sys
info = {"python": sys.executable, "python_version": sys.version.split()[0], "missing": [],
        "base_dir": os.path.abspath(os.path.expanduser(sys.argv[1])), "gpus": []}
for name in ("torch", "numpy", "pydantic", "safetensors"):
    try:
        importlib.import_module(name)
    except Exception as e:
        info["missing"].append(name + " (" + type(e).__name__ + ": " + str(e)[:200] + ")")
try:
    import torch
    info["torch"] = torch.__version__
    info["cuda"] = bool(torch.cuda.is_available())
    if info["cuda"]:
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
except Exception:
    pass
print(json.dumps(info))
"""


_PROBED: dict[str, HostInfo] = {}  # host settings (JSON) -> what the probe found


def _ssh_config() -> list[str]:
    path = Path.home() / ".ssh" / "config"
    return [str(path)] if path.is_file() else []


async def _closed(conn: asyncssh.SSHClientConnection) -> None:
    """Close ``conn`` and wait until it is closed."""
    conn.close()
    await conn.wait_closed()


class RemoteHost:
    """A synchronous connection to one configured host.

    ``confirm_host_key(host, key_type, sha256_fingerprint) -> bool`` is asked about an
    unknown host key (None refuses every unknown key). Connects lazily; ``close`` ends it.
    A host with ``password`` logs in with the OS keyring's password for it (or
    ``password``, given while a host form is tested); the password is kept in memory only.
    """

    def __init__(self, cfg: HostConfig, confirm_host_key: ConfirmHostKey | None = None,
                 timeout: float = CONNECT_TIMEOUT, password: str | None = None) -> None:
        self.cfg = cfg
        self._password = password  # only for a host form being tested; else the keyring
        #: called (on the caller's thread) when a call finds the connection closed by the
        #: other side and is about to re-open it; follow() reports it as a lost link
        self.on_drop: Callable[[], None] | None = None
        self.confirm = confirm_host_key
        self.timeout = timeout
        self._loop = _LoopThread.get()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._info: HostInfo | None = None

    def __repr__(self) -> str:
        return f"RemoteHost({self.cfg.name!r})"

    # --- connection ------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the connection (verifying the host key) unless it is open."""
        if self._conn is None or self._conn.is_closed():
            if self._conn is not None and self.on_drop is not None:
                self.on_drop()
            self._conn, self._sftp = None, None
            self._conn = self._call(self._connect(), self.timeout * 3)

    def close(self) -> None:
        """Close the connection (remote runs keep going)."""
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            try:
                # on the loop's thread: asyncssh is not thread-safe, and a close from here
                # raced the connection's own clean-up when the host had just ended it
                self._loop.run(_closed(conn), 5)
            except (RemoteError, OSError, asyncssh.Error):
                pass

    def abort(self) -> None:
        """Drop the connection from any thread: a call blocked on it fails at once with a
        RemoteError (used to detach a follower that waits on a dead link)."""
        conn = self._conn
        if conn is not None:
            self._loop.loop.call_soon_threadsafe(conn.abort)

    def __enter__(self) -> RemoteHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _connect(self) -> asyncssh.SSHClientConnection:
        cfg, conf = self.cfg, _ssh_config()
        resolved = await asyncssh.SSHClientConnectionOptions.construct(
            config=conf, host=cfg.host, port=cfg.port or (), known_hosts=b"")
        host, port = resolved.host, resolved.port
        known = await verify_host_key(host, port, self.confirm, conf, self.timeout)
        kwargs: dict[str, Any] = {"password_auth": False}
        if cfg.user:
            kwargs["username"] = cfg.user
        if cfg.password:
            kwargs.update(password_options(cfg, self._password))
        elif cfg.key:
            kwargs.update(client_keys=[str(Path(cfg.key).expanduser())], agent_path=None)
        elif cfg.agent and not os.environ.get("SSH_AUTH_SOCK"):
            raise RemoteError(f"{cfg.name} authenticates with the SSH agent, but no agent is "
                              "running (SSH_AUTH_SOCK is not set)")
        try:
            return await asyncssh.connect(
                cfg.host, port=port, config=conf, known_hosts=known, kbdint_auth=False, connect_timeout=self.timeout, keepalive_interval=15,
                keepalive_count_max=4, **kwargs)
        except asyncssh.HostKeyNotVerifiable as e:
            raise RemoteError(f"{host}:{port}: host key verification failed: {e}") from None
        except asyncssh.PermissionDenied:
            if cfg.password:
                raise RemoteError(f"{cfg.name}: the host refused the password stored in the OS "
                                  "keyring (permission denied, or the host does not allow "
                                  "password logins); enter it again in Remote hosts, or log "
                                  "in with a key") from None
            how = f"key {cfg.key}" if cfg.key else ("the SSH agent" if cfg.agent else "the default SSH keys")
            raise RemoteError(f"{cfg.name}: the host refused {how} (permission denied); add the "
                              "public key to the host's authorized_keys") from None
        except asyncssh.KeyImportError as e:
            raise RemoteError(f"{cfg.name}: cannot use key {cfg.key} ({e}); LayerForge does not "
                              "ask for passphrases: load the key into ssh-agent and use --agent") from None
        except (OSError, asyncssh.Error) as e:
            raise RemoteError(f"cannot connect to {cfg.name} ({host}:{port}): {e}") from None

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        try:
            return self._loop.run(coro, timeout)
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, BrokenPipeError,
                ConnectionError) as e:
            self._conn, self._sftp = None, None
            raise RemoteError(f"the connection to {self.cfg.name} was lost ({e})") from None
        except (asyncssh.ChannelOpenError, asyncssh.SFTPError, asyncssh.ProcessError) as e:
            raise RemoteError(f"{self.cfg.name}: the remote operation failed: {e}") from None

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            assert self._conn is not None
            self._sftp = await self._conn.start_sftp_client()
        return self._sftp

    # --- commands --------------------------------------------------------------------------
    def run(self, command: str, timeout: float | None = 120) -> tuple[int, str, str]:
        """Run a shell command on the host (no PTY); (exit status, stdout, stderr)."""
        self.connect()

        async def go() -> tuple[int, str, str]:
            assert self._conn is not None
            r = await self._conn.run(command, check=False, timeout=timeout)
            if r.exit_status is None and r.exit_signal is None:
                # the channel closed without the command's status: the link went down while
                # it ran (not an exit code of the command: "the run's process is gone" must
                # not be read from it)
                raise asyncssh.ConnectionLost("the channel closed before the command ended")
            code = r.exit_status if r.exit_status is not None else 255
            return code, str(r.stdout or ""), str(r.stderr or "")

        return self._call(go(), None if timeout is None else timeout + 10)

    def probe(self, refresh: bool = False) -> HostInfo:
        """The host's Python, torch, CUDA and GPUs. Cached per host settings for the life of
        the process (probing imports torch there, seconds); ``refresh`` asks again."""
        key = self.cfg.model_dump_json()
        if self._info is None and not refresh:
            self._info = _PROBED.get(key)
        if self._info is None or refresh:
            py = self.cfg.python
            code, out, err = self.run(f"{shlex.quote(py)} -c {shlex.quote(_PROBE)} "
                                      f"{shlex.quote(self.cfg.base_dir)}")
            if code != 0:
                why = "was not found" if code == 127 else f"failed ({err.strip()[-300:]})"
                raise RemoteError(f"{self.cfg.name}: the Python interpreter {py!r} {why}; set "
                                  "one with `layerforge remote add ... --python PATH`")
            d = json.loads(out.strip().splitlines()[-1])
            self._info = HostInfo(**{k: v for k, v in d.items() if k in HostInfo.__dataclass_fields__})
            if not self._info.missing:  # a host that lacks something is asked again
                _PROBED[key] = self._info
        return self._info

    # --- files -----------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        self.connect()

        async def go() -> bool:
            return await (await self._sftp_client()).exists(path)

        return self._call(go(), 60)

    def makedirs(self, path: str) -> None:
        self.connect()

        async def go() -> None:
            await (await self._sftp_client()).makedirs(path, exist_ok=True)

        self._call(go(), 60)

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a file atomically (temp file + rename)."""
        self.connect()

        async def go() -> None:
            sftp = await self._sftp_client()
            tmp = f"{path}.part"
            async with sftp.open(tmp, "wb") as f:
                await f.write(data)
            await sftp.posix_rename(tmp, path)

        self._call(go(), 300)

    def append_text(self, path: str, text: str) -> None:
        self.connect()

        async def go() -> None:
            async with (await self._sftp_client()).open(path, "a") as f:
                await f.write(text)

        self._call(go(), 60)

    def read_from(self, path: str, offset: int, size: int = 1 << 20) -> bytes:
        """Up to ``size`` bytes of a file from ``offset`` (b"" at the end or when absent)."""
        self.connect()

        async def go() -> bytes:
            sftp = await self._sftp_client()
            try:
                async with sftp.open(path, "rb") as f:
                    return await f.read(size, offset)
            except asyncssh.SFTPNoSuchFile:
                return b""

        return self._call(go(), 120)

    def put(self, local: Path, remote: str, progress: BytesProgress | None = None) -> None:
        """Upload one file (``progress(name, done, total)`` as it goes)."""
        self.connect()

        def handler(src: bytes, dst: bytes, done: int, total: int) -> None:
            if progress is not None:
                progress(local.name, done, total)

        async def go() -> None:
            await (await self._sftp_client()).put(str(local), remote, progress_handler=handler)

        self._call(go(), None)

    def get(self, remote: str, local: Path,
            same: Callable[[str, Path], bool] | None = None) -> bool:
        """Download a file, or a folder recursively, to ``local`` (the file's or the
        folder's own new path); False when it does not exist. See :meth:`get_all`."""
        return self.get_all([(remote, Path(local))], Path(local), same)[0]

    def get_all(self, pairs: list[tuple[str, Path]], inside: Path,
                same: Callable[[str, Path], bool] | None = None) -> list[bool]:
        """Download each ``(remote path, local path)``, a file or a folder recursively;
        per pair, whether the host had it. The host is not trusted with local paths: its
        whole listing is checked first (plain names only, no remote symbolic link, every
        target inside ``inside``) and anything wrong refuses the whole download, before a
        byte is written, with a :class:`engine.remote.fetch.DownloadError`. Each file
        arrives under a temporary name and is renamed into place, so a dropped link never
        leaves a torn file. ``same(remote_file, local_file)`` True skips a file already
        here."""
        from engine.remote.fetch import download

        self.connect()

        async def go() -> list[bool]:
            return await download(await self._sftp_client(), self.cfg.name, pairs, inside, same)

        return self._call(go(), None)
