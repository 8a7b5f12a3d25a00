"""The Export dialog's deploy formats: int8 ONNX and a prediction server folder.

What the user sets (calibration samples, the server's int8 model, where it goes), the
refusal for the untrained project, and the report's tables. The engine's call is replaced
here by one that records its arguments and returns a report shaped like the real ones (the
real int8 export through the dialog is in test_export_dialog_int8.py), so these tests stay
quick and pin the dialog's side of the contract.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractItemView

import engine.export
from app.dialogs.export import ExportDialog
from app.dialogs.export_report import comparison_summary
from app.document import GraphDocument
from app.widgets.path_field import PathMode
from engine.export import DEFAULT_CALIBRATION, ExportReport
from tests.app.conftest import chain_project
from tests.app.runfolders import write_run

DETAILS = {
    "flags": [{"block": "lstm", "ops": ["LSTM"], "severity": "error",
               "reason": "ONNX Runtime keeps LSTM in float"},
              {"block": "attn", "ops": ["Softmax"], "severity": "warning",
               "reason": "softmax outputs are dominated by a few large values"}],
    "sensitivity": [{"block": "fc1", "metric": "accuracy", "value": 0.9, "delta": -0.0123},
                    {"block": "fc2", "metric": "accuracy", "value": 0.91, "delta": 0.0}],
    "comparison": [{"model": "fp32", "bytes": 262_144, "metric": "accuracy", "value": 0.912,
                    "latency_ms_b1": 0.40, "latency_ms_b32": 3.2},
                   {"model": "int8", "bytes": 69_000, "metric": "accuracy", "value": 0.908,
                    "latency_ms_b1": 0.20, "latency_ms_b32": float("nan")}],
}


@pytest.fixture
def dialog(qtbot, tmp_path):
    """The dialog on an unsaved project with one finished run (chosen by default)."""
    run = write_run(tmp_path / "runs" / "chain-1", chain_project())
    (run / "weights.safetensors").write_bytes(b"weights")
    doc = GraphDocument(chain_project())
    found = ExportDialog(doc)
    found.add_run_source(str(run))
    qtbot.addWidget(found)
    yield found
    found.wait()


@pytest.fixture
def fake_export(monkeypatch):
    """engine.export.export replaced: records its calls, returns ``answer[0]``."""
    calls: list[tuple[tuple, dict]] = []
    answer: list[ExportReport] = []

    def export(*args, **kwargs):
        calls.append((args, kwargs))
        return answer[0]

    monkeypatch.setattr(engine.export, "export", export)
    return calls, answer


def _choose(dialog: ExportDialog, fmt: str) -> None:
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))


def _rows(table) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def _export(qtbot, dialog: ExportDialog) -> None:
    assert dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=10_000)


def test_calibration_is_offered_for_int8_and_for_a_server_with_an_int8_model(dialog):
    assert dialog.calibration.value() == DEFAULT_CALIBRATION
    assert (dialog.calibration.minimum(), dialog.calibration.maximum()) == (1, 10_000)
    shown = dialog.form.isRowVisible
    _choose(dialog, "onnx")
    assert not shown(dialog.calibration) and not shown(dialog.int8)
    _choose(dialog, "onnx-int8")
    assert shown(dialog.calibration) and not shown(dialog.int8)
    assert dialog.opset.isEnabled()
    _choose(dialog, "server")
    assert shown(dialog.int8) and not dialog.int8.isChecked() and not shown(dialog.calibration)
    dialog.int8.setChecked(True)
    assert shown(dialog.calibration)
    _choose(dialog, "safetensors")
    assert not shown(dialog.calibration) and not shown(dialog.int8)


def test_int8_and_server_need_a_trained_run(dialog):
    dialog.source.setCurrentIndex(dialog.source.findData(""))  # this project, untrained
    for fmt, what in (("onnx-int8", "An int8 model"), ("server", "A prediction server")):
        _choose(dialog, fmt)
        assert not dialog.export_button.isEnabled(), fmt
        assert not dialog.problems.isHidden()
        assert dialog.problems.text().startswith(f"{what} needs a trained run")
        assert not dialog.start_export()
    _choose(dialog, "onnx")  # the untrained project still exports as plain ONNX
    assert dialog.export_button.isEnabled() and dialog.problems.isHidden()
    _choose(dialog, "server")
    dialog.source.setCurrentIndex(1)  # the run
    assert dialog.export_button.isEnabled() and dialog.problems.isHidden()


def test_destinations_follow_the_format(dialog, tmp_path):
    _choose(dialog, "onnx-int8")
    assert dialog.out.text().endswith("model.int8.onnx")  # not over the fp32 model.onnx
    assert dialog.out.mode is PathMode.SAVE_FILE and dialog.out.suffix == ".int8.onnx"
    _choose(dialog, "server")
    assert dialog.out.text().endswith("model-server") and dialog.out.mode is PathMode.FOLDER
    # a path the user typed keeps its folder and name; only the ending follows the format
    dialog.out.edit.setText(str(tmp_path / "deploy" / "lenet.onnx"))
    dialog.out.edit.textEdited.emit(dialog.out.edit.text())
    _choose(dialog, "onnx")
    assert Path(dialog.out.text()) == tmp_path / "deploy" / "lenet.onnx"
    _choose(dialog, "onnx-int8")
    assert Path(dialog.out.text()) == tmp_path / "deploy" / "lenet.int8.onnx"
    _choose(dialog, "server")
    assert Path(dialog.out.text()) == tmp_path / "deploy" / "lenet-server"
    _choose(dialog, "onnx")
    assert Path(dialog.out.text()) == tmp_path / "deploy" / "lenet.onnx"
    dialog.out.edit.setText(str(tmp_path / "somewhere"))  # a folder is kept as typed
    _choose(dialog, "onnx-int8")
    assert Path(dialog.out.text()) == tmp_path / "somewhere"


def test_an_int8_report_shows_flags_sensitivity_and_comparison_tables(
        dialog, qtbot, fake_export, tmp_path):
    calls, answer = fake_export
    out = tmp_path / "lenet.int8.onnx"
    answer.append(ExportReport("onnx-int8", "model", files=[out], trained=True, opset=18,
                               details=DETAILS))
    _choose(dialog, "onnx-int8")
    dialog.calibration.setValue(64)
    dialog.out.setText(str(out))
    _export(qtbot, dialog)
    (args, kwargs), = calls
    assert args[1:] == ("onnx-int8", str(out)) and kwargs["calibration"] == 64
    assert kwargs["int8"] is False
    assert dialog.error == "" and not dialog.tables.isHidden()

    tables = dialog.tables.tables
    assert _rows(tables["flags"]) == [
        ["lstm", "not quantized", "ONNX Runtime keeps LSTM in float"],
        ["attn", "may quantize badly", "softmax outputs are dominated by a few large values"]]
    assert _rows(tables["sensitivity"]) == [["fc1", "0.9000", "-0.0123"],
                                            ["fc2", "0.9100", "+0.0000"]]
    assert tables["sensitivity"].horizontalHeaderItem(1).text() == "accuracy"
    assert _rows(tables["comparison"]) == [
        ["fp32", "256 kB", "0.9120", "0.400 ms", "3.20 ms"],
        ["int8", "67.4 kB", "0.9080", "0.200 ms", "–"]]  # a figure it lacks: a dash
    for table in tables.values():
        assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
        # sized to its rows: the dialog scrolls, never the table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        assert table.height() >= rows + table.horizontalHeader().height()
    summary = dialog.tables.summary.text()
    assert "3.8x smaller" in summary and "2.0x faster at batch 1" in summary
    assert "accuracy -0.0040" in summary and "batch 32" not in summary
    assert dialog.tables.commands is None  # a file, not a server
    assert "lenet.int8.onnx" in dialog.log.toPlainText()


def test_a_server_report_says_how_to_start_it(dialog, qtbot, fake_export, tmp_path):
    calls, answer = fake_export
    folder = tmp_path / "my server"
    answer.append(ExportReport("server", "model", trained=True,
                               files=[folder / n for n in ("model.onnx", "server.py",
                                                           "requirements.txt", "Dockerfile")]))
    _choose(dialog, "server")
    dialog.int8.setChecked(True)
    dialog.calibration.setValue(32)
    dialog.out.setText(str(folder))
    _export(qtbot, dialog)
    (args, kwargs), = calls
    assert args[1:] == ("server", str(folder))
    assert kwargs["int8"] is True and kwargs["calibration"] == 32
    text = dialog.tables.commands.text()
    assert "python -I server.py" in text and f"cd '{folder}'" in text
    assert f"layerforge serve '{folder}'" in text
    assert dialog.tables.tables == {}  # no details, no tables


def test_a_plain_report_shows_no_tables_and_a_new_export_clears_old_ones(
        dialog, qtbot, fake_export, tmp_path):
    _calls, answer = fake_export
    answer.append(ExportReport("onnx-int8", "model", files=[tmp_path / "a.onnx"],
                               details={"comparison": DETAILS["comparison"]}))
    _choose(dialog, "onnx-int8")
    _export(qtbot, dialog)
    assert list(dialog.tables.tables) == ["comparison"]
    answer[0] = ExportReport("onnx", "model", files=[tmp_path / "b.onnx"])
    _choose(dialog, "onnx")
    _export(qtbot, dialog)
    assert dialog.tables.isHidden() and dialog.tables.tables == {}


def test_the_summary_says_when_int8_is_slower_and_needs_both_models():
    # ONNX Runtime's int8 kernels can lose to fp32 on a tiny model: say so, plainly
    rows = [{**DETAILS["comparison"][0], "latency_ms_b1": 0.025},
            {**DETAILS["comparison"][1], "latency_ms_b1": 0.125}]
    assert "5.0x slower at batch 1" in comparison_summary(rows)
    assert comparison_summary(DETAILS["comparison"][:1]) == ""
