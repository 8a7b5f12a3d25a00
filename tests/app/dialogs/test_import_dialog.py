"""Import from PyTorch code: a small nn.Module in a temp .py file becomes the open project."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.dialogs.import_module import InputsError, parse_inputs
from engine.blocks.base import TensorSpec

NET = '''
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 16)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x.flatten(1))))


class Shuffled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))
'''


@pytest.fixture
def code(tmp_path) -> Path:
    path = tmp_path / "nets.py"
    path.write_text(NET)
    return path


def _run(qtbot, dialog) -> None:
    assert dialog.start_import()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=120_000)


def test_imports_a_module_into_the_editor(ws, qtbot, tmp_path, code):
    dialog = ws.export.open_import()
    dialog.target.setText(f"{code}:Net")
    dialog.inputs.setPlainText("1,8,8")
    out = tmp_path / "net.lforge"
    dialog.out.setText(str(out))
    _run(qtbot, dialog)
    assert dialog.error == "" and out.is_file()
    assert ws.document.path == str(out.resolve())
    graph = ws.document.graph("model")
    assert Counter(n.type for n in graph.nodes) == Counter(
        {"Input": 1, "Flatten": 1, "Linear": 2, "ReLU": 1, "Output": 1})
    assert len({tuple(n.position) for n in graph.nodes}) == len(graph.nodes)  # laid out
    assert not ws.document.is_dirty()
    text = dialog.log.toPlainText()
    assert "Imported 6 blocks" in text and "Max absolute difference" in text
    dialog.close()


def test_an_unmapped_layer_is_refused_with_the_reason(ws, qtbot, tmp_path, code):
    before = ws.document.to_json()
    dialog = ws.export.open_import()
    dialog.target.setText(f"{code}:Shuffled")
    dialog.inputs.setPlainText("1,8,8")
    out = tmp_path / "shuffled.lforge"
    dialog.out.setText(str(out))
    _run(qtbot, dialog)
    assert dialog.result is None
    assert "PixelShuffle" in dialog.error and "PixelShuffle" in dialog.log.toPlainText()
    assert not out.exists()
    assert ws.document.to_json() == before


def test_unsaved_changes_are_respected(ws, qtbot, tmp_path, code, monkeypatch):
    import app.window.files as files

    ws.document.set_label("model", "act", "edited")
    monkeypatch.setattr(files, "ask_save_changes", lambda *_a: "cancel")
    before = ws.document.to_json()
    dialog = ws.export.open_import()
    dialog.target.setText(f"{code}:Net")
    dialog.inputs.setPlainText("1,8,8")
    dialog.out.setText(str(tmp_path / "kept.lforge"))
    _run(qtbot, dialog)
    assert dialog.result is not None  # imported and written, but the user kept their edits
    assert ws.document.to_json() == before and ws.document.is_dirty()
    assert "not opened" in dialog.log.toPlainText()
    ws.document.undo()


def test_bad_input_is_explained_before_running(ws):
    dialog = ws.export.open_import()
    dialog.target.setText("no_colon_here")
    assert not dialog.start_import()
    assert "MODULE:CALLABLE" in dialog.log.toPlainText()
    dialog.target.setText("pkg.mod:make")
    dialog.inputs.setPlainText("1,x,3")
    assert not dialog.start_import()
    assert "whole numbers" in dialog.log.toPlainText()


def test_parse_inputs():
    assert parse_inputs("1,28,28\n\n-1 long 100\n") == [
        TensorSpec((1, 28, 28)), TensorSpec((None,), "long", 100)]
    for bad in ("", "0,3", "4 long", "4 int", "4 float 3"):
        with pytest.raises(InputsError):
            parse_inputs(bad)
