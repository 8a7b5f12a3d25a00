"""Real deploy exports through the Export dialog, of a LeNet-5 trained here on digits: int8,
quantized by ONNX Runtime with the calibration count the dialog's spin box set and the
report's tables filled from what the engine measured; and a server folder, whose start
command the dialog shows."""

from __future__ import annotations

import json

import onnx
import pytest

from app.dialogs.export import ExportDialog
from app.document import GraphDocument
from engine.templates import load_template

pytest.importorskip("engine.deploy.quantize")  # written at the same time as this dialog
pytest.importorskip("engine.deploy.bundle")

LONG = 120_000  # ms: the export measures latency and per-block sensitivity


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """A LeNet-5 run on 600 digits, one epoch: trained weights and training data to
    calibrate with, in a few seconds."""
    from engine.data import load_dataset
    from engine.train import RunDir, fit_project, record, train

    run_dir = tmp_path_factory.mktemp("int8") / "lenet-1"
    project = load_template("lenet5")
    project.dataset = project.dataset.model_copy(update={"samples": 600})
    project.training = project.training.model_copy(update={"epochs": 1, "threads": 1,
                                                           "device": "cpu"})
    bundle = load_dataset(project.dataset)
    fit_project(project, bundle)
    list(record(train(project, run_dir, bundle=bundle), RunDir(run_dir)))
    return run_dir


def _dialog(qtbot, run_dir) -> ExportDialog:
    dialog = ExportDialog(GraphDocument(load_template("lenet5")))
    qtbot.addWidget(dialog)
    dialog.add_run_source(str(run_dir))
    return dialog


def test_an_int8_export_of_a_trained_run_reports_what_it_measured(lenet_run, qtbot, tmp_path):
    dialog = _dialog(qtbot, lenet_run)
    dialog.format.setCurrentIndex(dialog.format.findData("onnx-int8"))
    dialog.calibration.setValue(48)
    out = tmp_path / "lenet.int8.onnx"
    dialog.out.setText(str(out))
    assert dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)
    assert dialog.error == "", dialog.error
    assert out.is_file() and out in dialog.report.files

    quantization = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(quantization["layerforge.quantization"])["calibration"] == 48

    tables = dialog.tables.tables
    comparison = tables["comparison"]
    models = [comparison.item(r, 0).text() for r in range(comparison.rowCount())]
    assert models == ["fp32", "int8"]
    assert comparison.horizontalHeaderItem(2).text() == "accuracy"
    sizes = {row["model"]: row["bytes"] for row in dialog.report.details["comparison"]}
    assert sizes["int8"] < sizes["fp32"]
    assert "smaller" in dialog.tables.summary.text()
    sensitivity = tables["sensitivity"]
    blocks = {sensitivity.item(r, 0).text() for r in range(sensitivity.rowCount())}
    assert {"conv1", "conv2", "fc1", "fc2", "fc3"} <= blocks
    assert "Traceback" not in dialog.log.toPlainText()
    dialog.close()


def test_a_server_export_names_the_folder_to_start_it_in(lenet_run, qtbot, tmp_path):
    dialog = _dialog(qtbot, lenet_run)
    dialog.format.setCurrentIndex(dialog.format.findData("server"))
    folder = tmp_path / "lenet server"
    dialog.out.setText(str(folder))
    assert dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LONG)
    assert dialog.error == "", dialog.error
    assert (folder / "server.py").is_file() and (folder / "Dockerfile").is_file()
    commands = dialog.tables.commands.text()
    assert f"cd '{folder}'\n" in commands and "\npython -I server.py\n" in commands
    assert f"layerforge serve '{folder}'" in commands
    dialog.close()
