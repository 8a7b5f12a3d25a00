"""Private training's check in the window: with privacy on, a BatchNorm shows in Problems
with a Fix button that replaces it by a GroupNorm in one undo step, and Train is refused
with the sentence (offering the same fix) until the model is fixed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.project import Edge, Node
from engine.templates import load_template
from engine.train.privacy_check import PRIVACY_FIX


def bn_project(private: bool = True):
    """The mlp template with a BatchNorm1d between fc1 and relu1."""
    p = load_template("mlp")
    g = p.graphs["model"]
    g.nodes.insert(2, Node(id="bn1", type="BatchNorm1d", position=(150.0, 120.0)))
    g.edges = [e for e in g.edges if e.src != "fc1"] + [Edge(src="fc1", dst="bn1"),
                                                         Edge(src="bn1", dst="relu1")]
    p.dataset = p.dataset.model_copy(update={"samples": 300})
    p.training.privacy = p.training.privacy.model_copy(update={"enabled": private})
    return p


@pytest.fixture
def ws(window, qtbot):
    ws = window.content
    ws.document.replace_project(bn_project())
    qtbot.waitUntil(lambda: not ws.document.data_facts_pending(), timeout=30000)
    return ws


def _bn_row(ws) -> int:
    rows = ws.problems.rows()
    return next(i for i, r in enumerate(rows) if r[:2] == ("model", "bn1"))


def _types(ws) -> dict[str, str]:
    return {n.id: n.type for n in ws.document.graph("model").nodes}


def test_problems_show_the_finding_only_while_privacy_is_on(ws):
    i = _bn_row(ws)
    assert "GroupNorm" in ws.problems.rows()[i][2]
    assert ws.problems.fixes()[i] == PRIVACY_FIX
    assert ws.problems.fix_buttons[PRIVACY_FIX].isVisibleTo(ws.problems)
    spec = ws.document.project.training.privacy
    ws.document.set_field("training", "privacy", spec.model_copy(update={"enabled": False}))
    assert not any(r[:2] == ("model", "bn1") for r in ws.problems.rows())
    assert not ws.problems.fix_buttons[PRIVACY_FIX].isVisibleTo(ws.problems)


def test_the_fix_button_replaces_the_batch_norm_in_one_undo_step(ws, qtbot):
    doc = ws.document
    wires = sorted((e.src, e.dst) for e in doc.graph("model").edges)
    count = doc.undo_stack.count()
    qtbot.mouseClick(ws.problems.fix_buttons[PRIVACY_FIX], Qt.MouseButton.LeftButton)
    assert _types(ws)["bn1"] == "GroupNorm"
    gn = doc.node("model", "bn1")
    assert 64 % gn.params["num_groups"] == 0 and gn.params["num_groups"] > 1
    assert sorted((e.src, e.dst) for e in doc.graph("model").edges) == wires
    assert doc.undo_stack.count() == count + 1
    assert not any(r[:2] == ("model", "bn1") for r in ws.problems.rows())
    doc.undo()
    assert _types(ws)["bn1"] == "BatchNorm1d"
    assert sorted((e.src, e.dst) for e in doc.graph("model").edges) == wires
    assert ws.problems.fixes()[_bn_row(ws)] == PRIVACY_FIX


def test_train_is_refused_with_the_sentence_until_fixed(ws):
    tf = ws.training
    tf.private.answer = "cancel"  # the dialog's Cancel
    runs = list(ws.document.project.runs)
    assert tf.train() is False
    shown = tf.panel.message.text()  # stays in the Training panel until the next run
    assert "Cannot train privately" in shown and "bn1" in shown and "GroupNorm" in shown
    assert ws.document.project.runs == runs  # no run folder was made
    assert _types(ws)["bn1"] == "BatchNorm1d"
    tf.private.answer = "fix"  # "Fix and Train": the fix, then the run may start
    count = ws.document.undo_stack.count()
    assert tf.private.allows_training() is True
    assert _types(ws)["bn1"] == "GroupNorm"
    assert ws.document.undo_stack.count() == count + 1
    assert "GroupNorm" in ws.window.statusBar().currentMessage()


def test_what_no_fix_can_change_is_refused_after_the_fixes(ws):
    doc = ws.document
    doc.set_field("training", "grad_clip", 1.0)  # a warning: fixed along, never blocks
    doc.set_field("task", "kind", "segmentation")  # not a task DP-SGD supports here
    tf = ws.training
    tf.private.answer = "fix"
    assert tf.private.allows_training() is False
    assert _types(ws)["bn1"] == "GroupNorm"
    assert doc.project.training.grad_clip == 0.0
    assert "task.kind" in tf.panel.message.text()
    doc.undo()
    doc.undo()  # the task back to classification: only the warning is left
    doc.set_field("training", "grad_clip", 1.0)
    assert tf.private.allows_training() is True
