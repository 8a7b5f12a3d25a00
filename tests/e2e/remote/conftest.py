"""A real OpenSSH server on 127.0.0.1 with a throw-away host key and client key.

The "remote" host is this machine: each test gets its own config dir, HOME (so the user's
~/.ssh is never read or written) and remote base folder.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    port: int
    proc: subprocess.Popen
    client_key: Path
    host_key: Path

    def session_pids(self) -> list[int]:
        """Per-connection sshd processes (children of the listener)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def start_sshd(folder: Path, extra_config: str = "") -> Sshd:
    """An sshd on a free port of 127.0.0.1 serving ``folder``'s keys; ``extra_config``:
    more sshd_config lines (the Slurm tests' login node sets SLURM_CONF with them)."""
    if not os.path.exists(SSHD):
        pytest.skip("OpenSSH server not installed (run packaging/system-deps.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    host_key = keygen(folder / "host_key")
    client_key = keygen(folder / "client_key")
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder}/sshd.pid\n"
        f"AuthorizedKeysFile {folder}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nLogLevel ERROR\nSubsystem sftp internal-sftp\n"
        + extra_config)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                            stderr=open(folder / "sshd.log", "w"))  # noqa: SIM115 - the server writes it all its life
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return Sshd(port, proc, client_key, host_key)
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(folder / 'sshd.log').read_text()}")
            time.sleep(0.1)
    proc.kill()
    pytest.fail("sshd did not start listening")


def stop_sshd(d: Sshd) -> None:
    d.proc.terminate()
    try:
        d.proc.wait(5)
    except subprocess.TimeoutExpired:
        d.proc.kill()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    d = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield d
    stop_sshd(d)


@dataclass
class Env:
    root: Path
    env: dict[str, str]
    remote_base: Path

    def lf(self, *args: str, timeout: float = 200, check: bool = False) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "engine", *args], cwd=self.root, env=self.env,
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=self.root,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)


@pytest.fixture
def env(tmp_path, monkeypatch) -> Env:
    """Isolated config dir and HOME, for in-process calls and CLI subprocesses alike."""
    home, config = tmp_path / "home", tmp_path / "config"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(config))
    e = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "HOME": str(home), "LAYERFORGE_CONFIG_DIR": str(config), "USER": getpass.getuser()}
    return Env(tmp_path, e, tmp_path / "remote")


def host_config(name: str, d: Sshd, base: Path, python: str = sys.executable):
    from engine.remote.config import HostConfig

    return HostConfig(name=name, host="127.0.0.1", port=d.port, user=getpass.getuser(),
                      key=str(d.client_key), python=python, base_dir=str(base))
