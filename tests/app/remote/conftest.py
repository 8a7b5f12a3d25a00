"""Remote runs from the real window against a real OpenSSH server on 127.0.0.1 (see
tests/e2e/remote/conftest.py): the "remote host" is this machine, with its own base folder."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from engine.remote.config import add_host
from tests.app.host_fixtures import answerer, dialog  # noqa: F401 (fixtures)
from tests.app.training.conftest import open_small_mlp
from tests.e2e.remote.conftest import host_config, start_sshd, stop_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    d = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield d
    stop_sshd(d)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A HOME of its own: the user's ~/.ssh is never read or written."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


def trust_host_key(config_dir: Path, sshd) -> None:
    """Record the test server's key, as an earlier Trust would have."""
    config_dir.mkdir(parents=True, exist_ok=True)
    key = Path(f"{sshd.host_key}.pub").read_text().split()
    with (config_dir / "known_hosts").open("a") as f:
        f.write(f"[127.0.0.1]:{sshd.port} {key[0]} {key[1]}\n")


@pytest.fixture
def rw(window, tmp_path, sshd, config_dir):
    """The window's training UI on a saved copy of the mlp template whose device is the
    host "loop" (the test sshd). The remote runner is shut down and joined in teardown."""
    add_host(host_config("loop", sshd, tmp_path / "remote"))
    ui = open_small_mlp(window, tmp_path)
    ui.document.set_field("training", "threads", 1)
    ui.document.set_field("training", "batch_size", 32)
    ui.document.set_field("training", "device", "remote:loop")
    yield ui
    ui.shutdown()
    assert not ui.runner.isRunning()
    stop_agents(tmp_path / "remote")


def stop_agents(base: Path) -> None:
    """End the detached agents a failed test left behind (paused ones would run forever)."""
    for pid_file in base.glob("runs/*/agent.pid"):
        if (pid_file.parent / "exit.json").exists():
            continue
        try:
            pid = json.loads(pid_file.read_text())["pid"]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"engine.remote.agent" in cmdline and str(pid_file.parent).encode() in cmdline:
                os.kill(pid, signal.SIGKILL)  # only that run's own agent
        except (OSError, ValueError, KeyError):
            pass


