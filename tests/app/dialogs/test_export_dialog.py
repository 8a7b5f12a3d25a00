"""The Export dialog and the canvas flags, with the real exporter and onnxruntime."""

from __future__ import annotations

import pytest

from app.dialogs.export import UNTRAINED_NOTE, ExportDialog
from engine.blocks import get_block
from engine.templates import load_template

LONG = 120_000  # ms: an ONNX export with verification takes seconds on a busy machine


def _wait(qtbot, dialog: ExportDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)


@pytest.fixture
def mlp(ws):
    ws.document.replace_project(load_template("mlp"))
    return ws


def test_exports_a_verified_onnx_file_of_the_untrained_project(mlp, qtbot, tmp_path):
    dialog = mlp.export.open_export()
    assert dialog.source_path() == ""  # this project
    assert dialog.source_note.text() == UNTRAINED_NOTE
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    out = tmp_path / "mlp.onnx"
    dialog.out.setText(str(out))
    assert dialog.start_export()
    assert not dialog.start_export()  # no double submit while it runs
    assert not dialog.export_button.isEnabled()
    _wait(qtbot, dialog)
    assert dialog.error == ""
    report = dialog.report
    assert report is not None and out.is_file() and out in report.files
    assert report.opset == 18 and not report.trained
    assert set(report.max_abs_diff) >= {"batch 1", "batch 3"}
    text = dialog.log.toPlainText()
    assert "batch 1:" in text and "Max absolute difference" in text
    assert "UNTRAINED" in text  # the untrained-weights warning
    assert "Model card:" in text
    assert dialog.export_button.isEnabled()
    dialog.close()


def test_an_unwritable_target_shows_the_message_and_leaves_no_file(mlp, qtbot, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    dialog = mlp.export.open_export()
    dialog.format.setCurrentIndex(dialog.format.findData("safetensors"))
    dialog.out.setText(str(blocker / "model.safetensors"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert dialog.start_export()
    _wait(qtbot, dialog)
    assert dialog.report is None and dialog.error
    assert "Export failed:" in dialog.log.toPlainText()
    assert "Traceback" not in dialog.log.toPlainText()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert blocker.read_text() == "not a folder"
    dialog.close()


def test_pt2_shows_its_caveat_and_opset_only_applies_to_onnx(mlp):
    dialog = mlp.export.open_export()
    dialog.format.setCurrentIndex(dialog.format.findData("pt2"))
    assert not dialog.caveat.isHidden() and "trust" in dialog.caveat.text()
    assert not dialog.opset.isEnabled()
    assert dialog.out.text().endswith("model.pt2")
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    assert dialog.caveat.isHidden() and dialog.opset.isEnabled()
    dialog.close()


def test_blocks_that_cannot_go_to_onnx_are_flagged_and_listed(ws, monkeypatch):
    reason = "ReLU6 cannot be expressed (test)"
    monkeypatch.setattr(type(get_block("ReLU")), "onnx_issue", reason)
    ws.document.set_label("model", "act", "activation")  # any edit re-analyses the graph
    scene = ws.tabs.view("model").graph_scene
    flagged = scene.nodes["act"].export_badge
    assert flagged is not None and flagged.isVisible()
    assert reason in flagged.toolTip() and "ONNX" in flagged.toolTip()
    assert scene.nodes["fc1"].export_badge is None  # other blocks carry no flag
    assert scene.nodes["act"].badge.isVisible() is False  # not shown as a graph problem

    dialog = ws.export.open_export()
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    assert not dialog.problems.isHidden() and f"act: {reason}" in dialog.problems.text()
    assert not dialog.export_button.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData("safetensors"))
    assert dialog.problems.isHidden() and dialog.export_button.isEnabled()
    dialog.close()

    monkeypatch.setattr(type(get_block("ReLU")), "onnx_issue", None)
    ws.document.undo()
    assert not flagged.isVisible()


def test_flags_follow_a_replaced_project(ws, monkeypatch):
    from tests.app.conftest import chain_project

    monkeypatch.setattr(type(get_block("Linear")), "onnx_issue", "not in this test's ONNX")
    ws.document.replace_project(chain_project())
    scene = ws.tabs.view("model").graph_scene
    flagged = [n for n, item in scene.nodes.items()
               if item.export_badge is not None and item.export_badge.isVisible()]
    assert sorted(flagged) == ["fc1", "fc2"]


def test_a_run_found_on_disk_but_not_recorded_in_the_project_can_be_exported(
        mlp, qtbot, config_dir):
    """A run of an unsaved project lives in <config>/runs and is not in project.runs once
    the project is reopened unsaved; the Runs panel finds it on disk, and so must Export."""
    from app.runs.records import known_run_dirs, new_run_dir
    from engine.data import load_dataset
    from engine.train import RunDir, fit_project, record, train

    doc = mlp.document
    assert doc.path is None and doc.project.runs == []
    run_dir = new_run_dir(doc)  # where the app puts a run of this unsaved project
    project = doc.project.model_copy(deep=True)
    project.dataset = project.dataset.model_copy(update={"samples": 60})
    project.training = project.training.model_copy(update={"epochs": 1, "threads": 1})
    bundle = load_dataset(project.dataset)
    fit_project(project, bundle)
    list(record(train(project, run_dir, bundle=bundle), RunDir(run_dir)))
    assert doc.project.runs == [] and run_dir.resolve() in known_run_dirs(doc)

    dialog = mlp.export.open_export()
    index = dialog.source.findData(str(run_dir.resolve()))
    assert index == 1, [dialog.source.itemText(i) for i in range(dialog.source.count())]
    assert run_dir.name in dialog.source.itemText(index)
    dialog.source.setCurrentIndex(index)
    assert dialog.source_note.text().startswith("Trained weights")
    dialog.format.setCurrentIndex(dialog.format.findData("safetensors"))
    out = config_dir.parent / "trained.safetensors"
    dialog.out.setText(str(out))
    assert dialog.start_export()
    _wait(qtbot, dialog)
    assert dialog.error == "" and dialog.report is not None
    assert dialog.report.trained and out.is_file()
    dialog.close()
