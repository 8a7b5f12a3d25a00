"""The Task group for sequence to sequence and speech: the beam width (and label
smoothing, which the seq2seq loss uses), none of the vision or GAN settings."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from app.panels.hyperparams_task import TASK_ROWS
from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose


@pytest.fixture
def panel(qtbot):
    p = HyperparamsPanel(GraphDocument(chain_project()))
    p.resize(420, 1000)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def _rows_shown(panel) -> set[str]:
    return {r.field for r in TASK_ROWS
            if panel.task_form.isRowVisible(panel.widgets[("task", r.field)])}


@pytest.mark.parametrize(("kind", "name", "losses", "rows"), [
    ("seq2seq", "Sequence to sequence", ["", "cross_entropy"], {"beam_width", "label_smoothing"}),
    ("speech", "Speech to text", ["", "ctc"], {"beam_width"})])
def test_decoding_tasks_show_the_beam_width_and_no_vision_settings(panel, kind, name, losses,
                                                                   rows):
    doc = panel.document
    kinds = panel.widgets[("task", "kind")]
    assert kinds.itemText(kinds.findData(kind)) == name
    choose(kinds, kind)
    assert doc.project.task.kind == kind
    assert _rows_shown(panel) == rows
    loss = panel.widgets[("task", "loss")]
    assert [loss.itemData(i) for i in range(loss.count())] == losses
    count = doc.undo_stack.count()
    panel.widgets[("task", "beam_width")].setValue(4)
    assert doc.project.task.beam_width == 4 and doc.undo_stack.count() == count + 1
    doc.undo()
    assert panel.widgets[("task", "beam_width")].value() == 1
    choose(kinds, "classification")
    assert "beam_width" not in _rows_shown(panel)
