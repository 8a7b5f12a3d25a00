"""Crash recovery with the real app: edit, autosave, SIGKILL, restart, restore."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.window.recovery import RecoveryStore
from engine.project import load_project
from tests.app.conftest import write_chain

ROOT = Path(__file__).resolve().parents[2]


def launch(project: Path, config: Path, script: list[dict], **env: str) -> subprocess.Popen:
    full = dict(os.environ, QT_QPA_PLATFORM="offscreen", LAYERFORGE_CONFIG_DIR=str(config),
                LAYERFORGE_SCRIPT=json.dumps(script), **env)
    return subprocess.Popen([sys.executable, "-m", "app", str(project)], cwd=ROOT,
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_an_autosaved_edit_survives_sigkill_and_is_restored(tmp_path):
    project = write_chain(tmp_path / "net.lforge")
    config = tmp_path / "config"
    recovery = RecoveryStore(config / "recovery").file_for(str(project.resolve()))
    app = launch(project, config, [{"op": "add_node", "type": "Dropout", "id": "survivor"}],
                 LAYERFORGE_AUTOSAVE_MS="200")
    try:
        assert wait_for(lambda: recovery.is_file() and "survivor" in recovery.read_text(), 60), \
            app.stderr.read() if app.poll() is not None else "no recovery file"
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(10)
    assert app.returncode == -signal.SIGKILL

    out = tmp_path / "restored.lforge"
    again = launch(project, config, [{"op": "save", "path": str(out)}, {"op": "quit"}],
                   LAYERFORGE_RECOVERY="restore")
    try:
        _, err = again.communicate(timeout=60)
    finally:
        again.kill()
    assert again.returncode == 0, err
    assert "layerforge-script-error" not in err
    assert load_project(out).graphs["model"].node("survivor") is not None
    assert load_project(project).graphs["model"].node("survivor") is None  # never saved there
    assert not recovery.exists()  # saved and closed normally: nothing left to offer


def test_a_recovery_can_be_discarded(ws, tmp_path):
    project = write_chain(tmp_path / "net.lforge")
    store = ws.autosave.store
    crashed = ws.document.__class__(load_project(project), str(project.resolve()))
    crashed.add_node("model", "Dropout", node_id="lost")
    file = store.write(crashed)
    data = json.loads(file.read_text())
    data["pid"] = 2**22 + 12345  # a process that is not running
    file.write_text(json.dumps(data))
    ws.files.recovery_answer = "discard"  # as LAYERFORGE_RECOVERY=discard sets it
    ws.files.open_path(str(project), confirm=False)
    assert ws.document.node("model", "lost") is None
    assert not file.exists()


def test_a_recovery_file_of_a_running_session_is_not_offered(ws, tmp_path):
    project = write_chain(tmp_path / "net.lforge")
    other = ws.document.__class__(load_project(project), str(project.resolve()))
    other.add_node("model", "Dropout")
    file = ws.autosave.store.write(other)
    data = json.loads(file.read_text())
    data["pid"] = os.getppid()  # alive: another LayerForge still editing this project
    file.write_text(json.dumps(data))
    assert ws.autosave.store.find(str(project)) is None
    data["pid"] = 2**22 + 12345
    file.write_text(json.dumps(data))
    assert ws.autosave.store.find(str(project)).file == file
