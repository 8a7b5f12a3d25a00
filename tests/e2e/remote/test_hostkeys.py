"""Host keys against a real sshd: unknown keys need consent, changed keys are refused."""

from __future__ import annotations

import pytest

from engine.remote.hostkeys import HostKeyError, managed_known_hosts
from engine.remote.ssh import RemoteHost
from tests.e2e.remote.conftest import host_config, keygen


def test_unknown_key_refused_without_consent(sshd, env) -> None:
    asked = []

    def refuse(host: str, key_type: str, fp: str) -> bool:
        asked.append((host, key_type, fp))
        return False

    with pytest.raises(HostKeyError, match="not known and was not accepted"):
        RemoteHost(host_config("h", sshd, env.remote_base), refuse).connect()
    assert asked and asked[0][0] == f"[127.0.0.1]:{sshd.port}"
    assert asked[0][1] == "ssh-ed25519" and asked[0][2].startswith("SHA256:")
    assert not managed_known_hosts().exists()


def test_accepted_key_is_recorded_and_not_asked_again(sshd, env) -> None:
    calls = []
    with RemoteHost(host_config("h", sshd, env.remote_base),
                    lambda *a: calls.append(a) or True) as host:
        assert host.run("echo hi")[:2] == (0, "hi\n")
    assert len(calls) == 1
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in managed_known_hosts().read_text()

    def never(*a: str) -> bool:
        raise AssertionError("asked again about a recorded key")

    with RemoteHost(host_config("h", sshd, env.remote_base), never) as host:
        assert host.run("true")[0] == 0


def test_changed_key_is_refused_with_a_way_out(sshd, env, tmp_path) -> None:
    other = keygen(tmp_path / "other_host_key")
    pub = (tmp_path / "other_host_key.pub").read_text().split()[:2]
    managed_known_hosts().parent.mkdir(parents=True, exist_ok=True)
    managed_known_hosts().write_text(f"[127.0.0.1]:{sshd.port} {' '.join(pub)}\n")
    assert other.exists()

    def never(*a: str) -> bool:
        raise AssertionError("a changed key must not be offered for consent")

    with pytest.raises(HostKeyError) as e:
        RemoteHost(host_config("h", sshd, env.remote_base), never).connect()
    msg = str(e.value)
    assert "CHANGED" in msg and "man-in-the-middle" in msg
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {managed_known_hosts()}" in msg


def test_user_known_hosts_is_trusted(sshd, env) -> None:
    from pathlib import Path

    ssh_dir = Path.home() / ".ssh"
    ssh_dir.mkdir()
    pub = (sshd.host_key.parent / "host_key.pub").read_text().split()[:2]
    (ssh_dir / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {' '.join(pub)}\n")
    with RemoteHost(host_config("h", sshd, env.remote_base), None) as host:
        assert host.run("true")[0] == 0


def test_the_name_local_is_reserved_for_runs_on_this_machine():
    from engine.project import ProjectError
    from engine.remote.config import check_name

    for name in ("local", "LOCAL"):
        with pytest.raises(ProjectError, match="reserved for runs on this machine"):
            check_name(name)
    assert check_name("local-gpu") == "local-gpu"
