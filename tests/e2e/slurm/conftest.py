"""A real one-node Slurm cluster (tests/e2e/slurm/cluster.py) whose login node is this
machine reached over a loopback sshd, as a LayerForge host of kind ``slurm``.

The sshd sets ``SLURM_CONF`` for its sessions (``SetEnv``), so the Slurm commands the
engine runs there find the test cluster; on a real cluster the login node's own
configuration does that. Each test gets its own config folder and HOME (the ``env``
fixture of the remote tests) and remote base folder.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.remote.conftest import SSHD, Env, Sshd, _free_port, env, keygen, stop_sshd
from tests.e2e.slurm.cluster import Cluster, installed, start_cluster, stop_cluster

__all__ = ["env"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    why = installed()
    if why:
        pytest.skip(why)
    c = start_cluster(tmp_path_factory.mktemp("slurm"))
    yield c
    stop_cluster(c)


@pytest.fixture(scope="module")
def login(tmp_path_factory, cluster: Cluster) -> Iterator[Sshd]:
    """The cluster's login node: an sshd on 127.0.0.1 whose sessions see SLURM_CONF."""
    import socket
    import time

    if not Path(SSHD).exists():
        pytest.skip("OpenSSH server not installed (run packaging/system-deps.sh)")
    folder = tmp_path_factory.mktemp("login")
    host_key, client_key = keygen(folder / "host_key"), keygen(folder / "client_key")
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder}/sshd.pid\n"
        f"AuthorizedKeysFile {folder}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nLogLevel ERROR\nSubsystem sftp internal-sftp\n"
        f"SetEnv SLURM_CONF={cluster.conf}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                            stderr=open(folder / "sshd.log", "w"))  # noqa: SIM115 - for its life
    d = Sshd(port, proc, client_key, host_key)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(folder / 'sshd.log').read_text()}")
            time.sleep(0.1)
    yield d
    stop_sshd(d)


def add_cluster(env: Env, login: Sshd, name: str = "c1", *extra: str, python: str = "") -> None:
    """`layerforge remote add NAME --kind slurm --partition cpu ...` for the test cluster."""
    import sys

    env.lf("remote", "add", name, "--host", "127.0.0.1", "--port", str(login.port), "--key",
           str(login.client_key), "--python", python or sys.executable, "--base-dir",
           str(env.remote_base), "--kind", "slurm", "--partition", "cpu", *extra, check=True)
