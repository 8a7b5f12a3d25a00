"""Host passwords in the keyring follow the host entries: a refused `remote add --password`
(a reserved or bad name, an existing host without --replace, a bad field) leaves the stored
passwords as they were, a host that stops using a password and a removed host lose theirs.

The real `layerforge` runs on a pseudo-terminal (the password is only ever typed there),
with a keyring backend in a file that the test reads (tests/e2e/remote/file_keyring.py).
The Remote hosts dialog follows the same order."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time

import keyring
import pytest

from engine.remote.config import HOSTS_FILE, config_dir, load_hosts
from engine.remote.secrets import SERVICE
from tests.e2e.remote.conftest import ROOT, Env
from tests.e2e.remote.file_keyring import ENV, FileKeyring

S1, S2 = "first secret", "second secret"


@pytest.fixture
def kr(env: Env, tmp_path, monkeypatch) -> FileKeyring:
    """The file keyring, for this process and the `layerforge` subprocesses alike."""
    path = str(tmp_path / "keyring.json")
    env.env |= {"PYTHON_KEYRING_BACKEND": "tests.e2e.remote.file_keyring.FileKeyring", ENV: path}
    monkeypatch.setenv(ENV, path)
    before = keyring.get_keyring()
    backend = FileKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def lf_tty(env: Env, *args: str, password: str = "", timeout: float = 60) -> tuple[int, str]:
    """Run `layerforge ARGS` on a pseudo-terminal, typing ``password`` if it is asked for;
    (exit code, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling terminal
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "engine", *args], env.env)
    out, asked = b"", False
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, 9)
                pytest.fail(f"layerforge {' '.join(args)} hung: {out!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not asked and b"Password for" in out:
                os.write(fd, password.encode() + b"\n")
                asked = True
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def _add(env: Env, name: str, *extra: str, password: str = S1) -> tuple[int, str]:
    return lf_tty(env, "remote", "add", name, "--host", "gpu.example.org", *extra,
                  password=password)


def _hosts_text() -> str:
    return (config_dir() / HOSTS_FILE).read_text()


def test_re_adding_a_host_without_replace_keeps_its_password(env, kr) -> None:
    code, out = _add(env, "pw", "--password")
    assert code == 0, out
    assert kr.get_password(SERVICE, "pw") == S1
    before = _hosts_text()
    code, out = _add(env, "pw", "--password", "--port", "2222", password=S2)
    assert code == 2, out
    assert kr.get_password(SERVICE, "pw") == S1  # the refused add changed nothing
    assert "exists already" in out and "Traceback" not in out
    assert _hosts_text() == before
    code, out = _add(env, "pw", "--password", "--replace", password=S2)
    assert code == 0, out
    assert kr.get_password(SERVICE, "pw") == S2


@pytest.mark.parametrize("name", ["local", "bad name", "LOCAL"])
def test_a_refused_name_stores_no_password(env, kr, name) -> None:
    code, out = _add(env, name, "--password")
    assert code == 2, out
    assert kr.entries() == {}
    assert "Password for" not in out  # refused before the password was asked for
    assert not (config_dir() / HOSTS_FILE).exists()


def test_a_bad_field_is_a_sentence_and_stores_no_password(env, kr) -> None:
    code, out = _add(env, "pw", "--password", "--port", "70000")
    assert code == 2, out
    assert "--port" in out and "Traceback" not in out
    assert kr.entries() == {}


def test_removing_a_host_or_its_password_login_forgets_the_password(env, kr) -> None:
    assert _add(env, "pw", "--password")[0] == 0
    assert _add(env, "other", "--password", password=S2)[0] == 0
    code, out = _add(env, "pw", "--agent", "--replace")  # no password login any more
    assert code == 0, out
    assert kr.entries() == {f"{SERVICE}/other": S2}
    code, out = lf_tty(env, "remote", "remove", "other")
    assert code == 0, out
    assert kr.entries() == {}
    assert set(load_hosts()) == {"pw"}


def test_the_hosts_dialog_stores_the_password_only_after_the_host(qtbot, env, kr) -> None:
    from app.dialogs.hosts import HostsDialog

    assert _add(env, "pw", "--password")[0] == 0
    dialog = HostsDialog()
    qtbot.addWidget(dialog)
    assert dialog.name.text() == "pw"
    (config_dir() / HOSTS_FILE).write_text("{not json")  # the host cannot be saved now
    dialog.password.setText(S2)
    assert not dialog.save_host()
    assert "unreadable" in dialog.result.toPlainText()
    assert kr.get_password(SERVICE, "pw") == S1
    (config_dir() / HOSTS_FILE).write_text(json.dumps({"version": 1, "hosts": [
        {"name": "pw", "host": "gpu.example.org", "password": True}]}))
    dialog.reload(select="pw")
    dialog.name.setText("local")  # refused: the reserved name
    dialog.password.setText(S2)
    assert not dialog.save_host()
    assert kr.entries() == {f"{SERVICE}/pw": S1}
    dialog.name.setText("pw")
    assert dialog.save_host(), dialog.result.toPlainText()
    assert kr.entries() == {f"{SERVICE}/pw": S2}
    dialog.close()
