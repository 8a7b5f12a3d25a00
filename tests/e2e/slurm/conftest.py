"""A real one-node Slurm cluster (tests/e2e/slurm/cluster.py) whose login node is this
machine reached over a loopback sshd, as a LayerForge host of kind ``slurm``.

The sshd sets ``SLURM_CONF`` for its sessions (``SetEnv``), so the Slurm commands the
engine runs there find the test cluster; on a real cluster the login node's own
configuration does that. Each test gets its own config folder and HOME (the ``env``
fixture of the remote tests) and remote base folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.remote.conftest import Env, Sshd, env, start_sshd, stop_sshd
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
    d = start_sshd(tmp_path_factory.mktemp("login"), f"SetEnv SLURM_CONF={cluster.conf}\n")
    yield d
    stop_sshd(d)


def add_cluster(env: Env, login: Sshd, name: str = "c1", *extra: str, python: str = "") -> None:
    """`layerforge remote add NAME --kind slurm --partition cpu ...` for the test cluster."""
    import sys

    env.lf("remote", "add", name, "--host", "127.0.0.1", "--port", str(login.port), "--key",
           str(login.client_key), "--python", python or sys.executable, "--base-dir",
           str(env.remote_base), "--kind", "slurm", "--partition", "cpu", *extra, check=True)
