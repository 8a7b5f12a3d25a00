"""Choosing a remote host as the device (and its GPU count) in the Hyperparameters panel,
and what Train says when the host cannot be used."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from engine.project import ProjectError, TrainingConfig, parse_project
from engine.train.events import Failed
from tests.app.conftest import chain_project
from tests.e2e.remote.conftest import keygen


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def test_a_remote_device_and_its_gpus_are_undoable_settings(panel):
    doc = panel.document
    panel.hosts = ["lab"]
    panel.set_gpus([])
    gpus = panel.widgets[("training", "gpus")]
    assert not panel.run_form.isRowVisible(gpus)  # only for a remote host
    i = panel.device.findData("remote:lab")
    panel.device.setCurrentIndex(i)
    panel.device.activated.emit(i)
    assert doc.project.training.device == "remote:lab"
    assert panel.run_form.isRowVisible(gpus)
    gpus.setValue(2)
    assert doc.project.training.gpus == 2
    doc.undo()
    assert doc.project.training.gpus == 1 and gpus.value() == 1
    doc.undo()
    assert doc.project.training.device == "auto"
    assert not panel.run_form.isRowVisible(gpus)


def test_the_project_file_takes_remote_devices_and_old_files_get_one_gpu():
    assert TrainingConfig(device="remote:gpu-1.lab").device == "remote:gpu-1.lab"
    for bad in ("remote:", "remote:two words", "remote:../x"):
        with pytest.raises(ValueError, match="remote"):
            TrainingConfig(device=bad)
    old = parse_project('{"schema_version": 1, "training": {"device": "cpu"}}', "old.lforge")
    assert old.training.gpus == 1
    with pytest.raises(ProjectError, match="training.gpus"):
        parse_project('{"schema_version": 1, "training": {"gpus": 0}}', "f.lforge")


def test_a_changed_host_key_fails_the_run_with_the_explanation(qtbot, rw, config_dir, sshd,
                                                               answerer, tmp_path):
    other = keygen(tmp_path / "other_key")  # not the server's key
    config_dir.mkdir(parents=True, exist_ok=True)
    pub = other.with_suffix(".pub").read_text().split()
    (config_dir / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    asked = answerer(True).seen
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000) as ended:
        rw.train_action.trigger()
    ev = ended.args[0]
    assert isinstance(ev, Failed) and "CHANGED" in ev.message and "ssh-keygen -R" in ev.message
    assert asked == []  # a changed key is never offered for trust
    assert "CHANGED" in rw.panel.message.text() and rw.panel.message.isVisibleTo(rw.panel)
    assert rw.train_action.isEnabled()


def test_an_unknown_key_that_is_not_trusted_starts_nothing(qtbot, rw, answerer, tmp_path):
    asked = answerer(False).seen
    with qtbot.waitSignal(rw.runner.run_ended, timeout=60_000) as ended:
        rw.train_action.trigger()
    assert isinstance(ended.args[0], Failed) and "not accepted" in ended.args[0].message
    assert len(asked) == 1
    assert not (tmp_path / "remote" / "runs").exists()
