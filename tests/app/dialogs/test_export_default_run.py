"""The Export dialog starts on the newest finished run's trained weights, not untrained ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.dialogs.export import PROJECT_SOURCE, ExportDialog
from app.document import GraphDocument
from app.runs.records import add_run_ref
from engine.project import save_project
from engine.train.events import Failed, Finished, RunStarted
from engine.train.rundir import EVENTS, SNAPSHOT, WEIGHTS
from tests.app.conftest import chain_project


def _run(folder: Path, started: float, ending: object, weights: bool = True) -> Path:
    """A run folder as training leaves it: snapshot, events and (when it got that far)
    weights, its snapshot dated ``started`` (the order the dialog lists runs in)."""
    folder.mkdir(parents=True)
    save_project(chain_project(), folder / SNAPSHOT)
    events = [RunStarted(run_dir=str(folder), seq=1), ending]
    (folder / EVENTS).write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    if weights:
        (folder / WEIGHTS).write_bytes(b"weights")
    os.utime(folder / SNAPSHOT, (started, started))
    return folder


@pytest.fixture
def doc(qapp):
    return GraphDocument(chain_project())


def _dialog(qtbot, doc: GraphDocument) -> ExportDialog:
    dialog = ExportDialog(doc)
    qtbot.addWidget(dialog)
    return dialog


def test_the_newest_finished_run_is_the_default_source(doc, qtbot, tmp_path):
    older = _run(tmp_path / "runs" / "chain-1", 1_000, Finished(seq=2))
    newer = _run(tmp_path / "runs" / "chain-2", 2_000, Finished(seq=2))
    failed = _run(tmp_path / "runs" / "chain-3", 3_000, Failed(message="boom", seq=2),
                  weights=False)
    for run in (older, newer, failed):
        add_run_ref(doc, run)
    dialog = _dialog(qtbot, doc)
    assert Path(dialog.source_path()) == newer.resolve()
    assert dialog.source_note.text().startswith("Trained weights")


def test_without_a_finished_run_the_untrained_project_is_the_default(doc, qtbot, tmp_path):
    add_run_ref(doc, _run(tmp_path / "runs" / "chain-1", 1_000, Failed(message="boom", seq=2),
                          weights=False))
    dialog = _dialog(qtbot, doc)
    assert dialog.source.count() == 2  # the failed run is listed, only not chosen
    assert dialog.source_path() == PROJECT_SOURCE


def test_a_long_run_name_does_not_widen_the_dialog_past_the_screen(doc, qtbot, tmp_path):
    name = "chain-" + "very-long-experiment-name-" * 8
    add_run_ref(doc, _run(tmp_path / "runs" / name, 1_000, Finished(seq=2)))
    dialog = _dialog(qtbot, doc)
    assert name in dialog.source.currentText()
    assert dialog.minimumSizeHint().width() < 1280
