"""Password logins: the password goes to the OS keyring (an in-memory keyring backend
here), never to hosts.json; it reaches asyncssh's connect only for a password host.

OpenSSH's sshd checks only system users' passwords (through PAM or /etc/shadow), which a
test cannot add: against it the options asyncssh connects with are captured and the
password attempt is refused. A whole password login, from a refused wrong password to a
finished run with its artifacts downloaded, goes through asyncssh's own SSH server
(tests/app/remote/password_server.py), which checks one user's password."""

from __future__ import annotations

import getpass
import sys

import asyncssh
import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from app.dialogs.hosts import HostsDialog
from engine.remote.config import HOSTS_FILE, HostConfig, RemoteError, add_host, load_hosts
from engine.remote.runs import download_artifacts, follow, start_run
from engine.remote.secrets import SERVICE, keyring_problem
from engine.remote.ssh import RemoteHost
from tests.app.remote.conftest import trust_host_key
from tests.app.remote.password_server import PasswordServer
from tests.engine.train.helpers import tiny_mlp

SECRET = "correct horse battery staple"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process only (tests)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(before)


def _fill_password_host(d: HostsDialog, name: str, port: int = 22) -> None:
    d.new_host()
    d.name.setText(name)
    d.host.setText("127.0.0.1")
    d.port.setValue(port)
    d.user.setText(getpass.getuser())
    d.auth.setCurrentIndex(d.auth.findData("password"))
    d.python.setText(sys.executable)


def _config_text(config_dir) -> str:
    return "".join(p.read_text(errors="replace") for p in config_dir.rglob("*") if p.is_file())


def test_the_password_goes_to_the_keyring_and_never_to_a_file(dialog, memory_keyring,
                                                              config_dir, monkeypatch):
    _fill_password_host(dialog, "pw")
    assert dialog.password.isVisibleTo(dialog) and dialog.password.isEnabled()
    assert not dialog.save_host()  # no password typed and none stored
    assert "enter the password" in dialog.result.toPlainText()
    dialog.password.setText(SECRET)
    assert dialog.save_host(), dialog.result.toPlainText()
    assert load_hosts()["pw"].password is True
    assert memory_keyring.store == {(SERVICE, "pw"): SECRET}
    assert SECRET not in _config_text(config_dir)
    assert '"password": true' in (config_dir / HOSTS_FILE).read_text()
    assert dialog.password.text() == ""  # not kept in the form either
    # renaming moves it; removing the host forgets it
    dialog.name.setText("pw2")
    assert dialog.save_host()
    assert memory_keyring.store == {(SERVICE, "pw2"): SECRET}
    monkeypatch.setattr("app.dialogs.hosts.confirm_remove", lambda parent, name: True)
    dialog.reload(select="pw2")
    assert dialog.remove_selected()
    assert memory_keyring.store == {}


def test_without_a_usable_keyring_the_dialog_points_to_keys(dialog, config_dir):
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert keyring_problem() is not None
        _fill_password_host(dialog, "pw")
        text = dialog.result.toPlainText()
        assert "no usable OS keyring" in text and "key" in text and "agent" in text
        assert not dialog.password.isEnabled()
        dialog.password.setText(SECRET)
        assert not dialog.save_host()
        assert "no usable OS keyring" in dialog.result.toPlainText()
        assert "pw" not in load_hosts()
        assert SECRET not in _config_text(config_dir)
    finally:
        keyring.set_keyring(before)


def test_the_keyring_password_is_what_ssh_sends(memory_keyring, sshd, config_dir, monkeypatch):
    trust_host_key(config_dir, sshd)
    seen: list[dict] = []
    real_connect = asyncssh.connect

    async def spy(*args, **kwargs):
        seen.append(kwargs)
        return await real_connect(*args, **kwargs)

    monkeypatch.setattr(asyncssh, "connect", spy)
    user = getpass.getuser()
    add_host(HostConfig(name="pw", host="127.0.0.1", port=sshd.port, user=user, password=True))
    with pytest.raises(RemoteError, match="none is stored in the OS keyring"):
        RemoteHost(load_hosts()["pw"]).connect()
    assert seen == []  # nothing was sent without a password to send
    keyring.set_password(SERVICE, "pw", SECRET)
    with pytest.raises(RemoteError, match="refused the password stored in the OS keyring"):
        RemoteHost(load_hosts()["pw"]).connect()
    assert seen[-1]["password"] == SECRET and seen[-1]["password_auth"] is True
    assert seen[-1]["client_keys"] is None  # the password only, as the user chose
    # a key host never sends a password
    add_host(HostConfig(name="key", host="127.0.0.1", port=sshd.port, user=user,
                        key=str(sshd.client_key), python=sys.executable))
    host = RemoteHost(load_hosts()["key"])
    host.connect()
    host.close()
    assert seen[-1]["password_auth"] is False and "password" not in seen[-1]
    assert SECRET not in _config_text(config_dir)


@pytest.fixture
def password_server():
    server = PasswordServer(getpass.getuser(), SECRET)
    yield server
    server.close()


def test_a_password_host_logs_in_and_trains_a_whole_run(memory_keyring, password_server,
                                                        config_dir, tmp_path):
    password_server.trust(config_dir)
    add_host(HostConfig(name="pw", host="127.0.0.1", port=password_server.port,
                        user=getpass.getuser(), password=True, python=sys.executable,
                        base_dir=str(tmp_path / "remote")))
    keyring.set_password(SERVICE, "pw", "a wrong one")
    with pytest.raises(RemoteError, match="refused the password stored in the OS keyring"):
        RemoteHost(load_hosts()["pw"]).connect()
    keyring.set_password(SERVICE, "pw", SECRET)  # as entering it again in Remote hosts does
    project = tiny_mlp(dataset__samples=200, training__epochs=2)
    with RemoteHost(load_hosts()["pw"]) as host:
        info = host.probe()
        assert info.torch and not info.missing
        rec = start_run(host, project, tmp_path / "run")
        events = list(follow(host, rec))
        download_artifacts(host, rec)
    assert events[-1].type == "finished", events[-1]
    assert (tmp_path / "run" / "weights.safetensors").is_file()
    assert password_server.tried[0] == "a wrong one" and password_server.tried[-1] == SECRET
    assert SECRET not in _config_text(config_dir)
