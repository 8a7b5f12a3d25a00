"""PathField: the one "path + Browse…" row of the dataset panel and the dialogs."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from app.widgets.path_field import PathField, PathMode


@pytest.fixture
def asked(monkeypatch):
    """Stand-in file dialogs: record what was asked, answer with ``asked["answer"]``."""
    record: dict = {"answer": ""}

    def fake(kind):
        def dialog(_parent, caption, start, *rest):
            record.update(kind=kind, caption=caption, start=start, filter=rest[0] if rest else "")
            return record["answer"] if kind == "folder" else (record["answer"], "")
        return staticmethod(dialog)

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake("open"))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake("save"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake("folder"))
    return record


def test_a_saved_file_gets_the_suffix_and_is_reported(qtbot, asked):
    field = PathField(PathMode.SAVE_FILE, "Save as", name_filter="ONNX (*.onnx)",
                      suffix=".onnx")
    qtbot.addWidget(field)
    field.setText("/start/model.onnx")
    edited, committed = [], []
    field.edited.connect(edited.append)
    field.committed.connect(committed.append)
    asked["answer"] = "/out/net"
    field.button.click()
    assert asked["kind"] == "save" and asked["start"] == "/start/model.onnx"
    assert asked["filter"] == "ONNX (*.onnx)"
    assert field.text() == "/out/net.onnx"
    assert edited == committed == ["/out/net.onnx"]


def test_a_cancelled_browse_changes_nothing(qtbot, asked):
    field = PathField(PathMode.OPEN_FILE, "Open")
    qtbot.addWidget(field)
    field.setText("kept")
    edited = []
    field.edited.connect(edited.append)
    assert field.browse() == ""
    assert field.text() == "kept" and edited == []


def test_the_mode_follows_the_owner(qtbot, asked):
    field = PathField(PathMode.OPEN_FILE, "Open")
    qtbot.addWidget(field)
    field.set_mode(PathMode.FOLDER, "Choose the data folder", start_dir=lambda: "/data")
    asked["answer"] = "/data/images"
    field.browse()
    assert (asked["kind"], asked["caption"], asked["start"]) == (
        "folder", "Choose the data folder", "/data")
    assert field.text() == "/data/images"


def test_typing_is_edited_per_key_and_committed_once_stripped(qtbot):
    field = PathField()
    qtbot.addWidget(field)
    edited, committed = [], []
    field.edited.connect(edited.append)
    field.committed.connect(committed.append)
    field.setText("set by code")  # not the user's doing: no signal
    assert edited == []
    field.clear()
    qtbot.keyClicks(field.edit, " a.csv ")
    field.edit.editingFinished.emit()
    assert edited[-1] == " a.csv " and len(edited) == 7
    assert committed == ["a.csv"]
