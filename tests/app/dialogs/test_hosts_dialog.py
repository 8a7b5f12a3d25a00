"""Remote hosts dialog: hosts.json in an isolated config folder, the host-key question asked
on the GUI thread from a background thread, and a real sshd for "Test connection"."""

from __future__ import annotations

import getpass
import sys
import threading

import pytest
from PySide6.QtCore import Qt

import app.dialogs.hosts as hosts_module
from app.dialogs.host_key import HostKeyAsker
from app.dialogs.hosts import HostsDialog
from engine.remote.config import load_hosts


def _fill(d: HostsDialog, name: str, host: str, **fields) -> None:
    d.new_host()
    d.name.setText(name)
    d.host.setText(host)
    for attr, value in fields.items():
        widget = getattr(d, attr)
        if attr == "port":
            widget.setValue(value)
        elif attr == "auth":
            widget.setCurrentIndex(widget.findData(value))
        else:
            widget.setText(value)


def test_adds_edits_and_removes_hosts(dialog, monkeypatch, config_dir):
    _fill(dialog, "gpu1", "gpu1.example.org", port=2222, user="me", auth="key",
          key="/keys/id_ed25519", python="/opt/venv/bin/python", base_dir="/scratch/lf")
    assert dialog.save_host()
    assert (config_dir / "hosts.json").is_file()
    h = load_hosts()["gpu1"]
    assert (h.host, h.port, h.user, h.key, h.agent, h.python, h.base_dir) == (
        "gpu1.example.org", 2222, "me", "/keys/id_ed25519", False, "/opt/venv/bin/python",
        "/scratch/lf")
    _fill(dialog, "gpu2", "10.0.0.2", auth="agent")
    assert dialog.save_host()
    assert load_hosts()["gpu2"].agent and load_hosts()["gpu2"].port is None
    assert [dialog.list.item(i).text() for i in range(dialog.list.count())] == ["gpu1", "gpu2"]

    dialog.list.setCurrentRow(0)  # edit gpu1: rename it and switch to the agent
    assert dialog.name.text() == "gpu1" and dialog.key.text() == "/keys/id_ed25519"
    dialog.name.setText("big-gpu")
    dialog.auth.setCurrentIndex(dialog.auth.findData("agent"))
    assert dialog.save_host()
    stored = load_hosts()
    assert sorted(stored) == ["big-gpu", "gpu2"]
    assert stored["big-gpu"].agent and stored["big-gpu"].key is None

    monkeypatch.setattr(hosts_module, "confirm_remove", lambda *_a: True)
    dialog.list.setCurrentItem(dialog.list.findItems("gpu2", Qt.MatchFlag.MatchExactly)[0])
    assert dialog.remove_selected()
    assert sorted(load_hosts()) == ["big-gpu"]


def test_refuses_bad_entries_with_a_sentence(dialog):
    _fill(dialog, "bad name!", "h")
    assert not dialog.save_host()
    assert "not a usable host name" in dialog.result.toPlainText()
    _fill(dialog, "ok", "h", auth="key")
    assert not dialog.save_host()
    assert "key file" in dialog.result.toPlainText()
    _fill(dialog, "ok", "h")
    assert dialog.save_host()
    _fill(dialog, "ok", "other")
    assert not dialog.save_host()  # a new entry must not silently replace another
    assert load_hosts()["ok"].host == "h"


@pytest.mark.parametrize("trust", [True, False])
def test_host_key_question_reaches_the_gui_and_back(qtbot, answerer, trust):
    asker = HostKeyAsker()  # Python-owned: freed on this thread when the test ends
    answers: list[bool] = []
    worker = threading.Thread(target=lambda: answers.append(
        asker.ask("gpu1.example.org", "ssh-ed25519", "SHA256:abcDEF123")))
    seen = answerer(trust).seen
    worker.start()
    qtbot.waitUntil(lambda: bool(answers), timeout=60_000)
    worker.join(10)
    assert answers == [trust]
    assert "SHA256:abcDEF123" in seen[0] and "ssh-ed25519" in seen[0]


def test_a_refused_connection_is_reported(dialog, qtbot):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _fill(dialog, "nowhere", "127.0.0.1", port=port)
    assert dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=60_000)
    assert dialog.probe_ok is False
    assert dialog.result.toPlainText().startswith("Connection failed:")


@pytest.fixture
def sshd(tmp_path, monkeypatch):
    from tests.e2e.remote.conftest import start_sshd, stop_sshd

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # never read or write the user's ~/.ssh
    d = start_sshd(tmp_path / "sshd")
    yield d
    stop_sshd(d)


@pytest.mark.parametrize("trust", [True, False])
def test_test_connection_asks_about_the_key_and_probes(dialog, qtbot, sshd, tmp_path, config_dir,
                                                      answerer, trust):
    _fill(dialog, "box", "127.0.0.1", port=sshd.port, user=getpass.getuser(), auth="key",
          key=str(sshd.client_key), python=sys.executable, base_dir=str(tmp_path / "base"))
    seen = answerer(trust).seen
    assert dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=90_000)
    assert len(seen) == 1 and "SHA256:" in seen[0]
    result = dialog.result.toPlainText()
    known = config_dir / "known_hosts"
    if trust:
        assert dialog.probe_ok, result
        assert "PyTorch: " + __import__("torch").__version__ in result
        assert "CUDA: " in result and "GPUs: " in result
        assert known.is_file() and f"[127.0.0.1]:{sshd.port}" in known.read_text()
    else:
        assert dialog.probe_ok is False and result.startswith("Connection failed:")
        assert not known.exists() or str(sshd.port) not in known.read_text()


def test_a_changed_host_key_is_refused_with_the_explanation(dialog, qtbot, sshd, tmp_path,
                                                            config_dir, answerer):
    from tests.e2e.remote.conftest import keygen

    other = keygen(tmp_path / "other_host_key")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "known_hosts").write_text(
        f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other_host_key.pub').read_text()}")
    assert other.exists()
    _fill(dialog, "box", "127.0.0.1", port=sshd.port, user=getpass.getuser(), auth="key",
          key=str(sshd.client_key), python=sys.executable, base_dir=str(tmp_path / "base"))
    asked = answerer(True).seen
    assert dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=90_000)
    assert asked == []  # a changed key is never offered for trust
    result = dialog.result.toPlainText()
    assert dialog.probe_ok is False and "CHANGED" in result and "ssh-keygen -R" in result
