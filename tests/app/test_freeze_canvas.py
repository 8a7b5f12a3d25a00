"""Freezing blocks: a per-block trainable flag set from the selection, one undo step, and a
frozen block that looks frozen on the canvas in both themes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from app.document import GraphDocument
from app.document.errors import GroupError
from app.theme import DARK, LIGHT
from tests.app.conftest import chain_project


def render(item, theme) -> QImage:
    """The item painted alone on the scene background of ``theme``."""
    scene = item.scene()
    old = scene.theme
    scene.set_theme(theme)
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(QColor(theme.color("canvas")))
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    scene.set_theme(old)
    return image


def test_set_trainable_is_one_undo_step_with_exact_undo(qapp):
    doc = GraphDocument(chain_project())
    before = doc.to_json()
    assert doc.set_trainable("model", ["fc1", "fc2", "act"], False) == 3
    assert doc.undo_stack.count() == 1
    assert [n.trainable for n in doc.graph("model").nodes] == [True, False, False, False, True]
    assert '"trainable": false' in doc.to_json()
    assert doc.set_trainable("model", ["fc1"], False) == 0  # nothing to change, nothing pushed
    assert doc.undo_stack.count() == 1
    doc.undo()
    assert doc.to_json() == before  # the default is left out of the file again
    doc.redo()
    assert doc.set_trainable("model", ["fc1", "fc2"], True) == 2
    assert [n.id for n in doc.graph("model").nodes if not n.trainable] == ["act"]


def test_set_lr_mult_is_checked_and_undoable(qapp):
    doc = GraphDocument(chain_project())
    before = doc.to_json()
    assert doc.set_lr_mult("model", ["fc1", "fc2"], 0.1) == 2
    assert doc.node("model", "fc1").lr_mult == 0.1
    with pytest.raises(GroupError, match="above 0 and at most 1000"):
        doc.set_lr_mult("model", ["fc1"], 0)
    doc.undo()
    assert doc.to_json() == before


def test_a_frozen_block_looks_frozen_and_undo_thaws_it(ws):
    scene = ws.view().graph_scene
    item = scene.nodes["fc1"]
    plain = {t.name: render(item, t) for t in (LIGHT, DARK)}
    scene.select_nodes(["fc1", "fc2"])
    assert ws.actions.freeze.isEnabled() and not ws.actions.unfreeze.isEnabled()
    ws.actions.freeze.trigger()
    assert item.view.frozen and scene.nodes["fc2"].view.frozen
    assert not scene.nodes["act"].view.frozen
    assert "Frozen" in item.toolTip()
    assert ws.actions.unfreeze.isEnabled() and not ws.actions.freeze.isEnabled()
    scene.clearSelection()  # (a selected block's border differs too)
    for t in (LIGHT, DARK):  # hatching and the snowflake change the picture in each theme
        assert render(item, t) != plain[t.name]
    scene.clearSelection()
    ws.document.undo()
    assert not item.view.frozen
    assert render(item, LIGHT) == plain["light"]
    ws.document.redo()
    scene.select_nodes(["fc1"])
    ws.actions.unfreeze.trigger()
    assert not item.view.frozen and scene.nodes["fc2"].view.frozen


def test_the_learning_rate_multiplier_shows_on_the_block(ws):
    ws.document.set_lr_mult("model", ["fc1"], 0.1)
    assert "lr ×0.1" in ws.view().graph_scene.nodes["fc1"].view.summary


def test_a_frozen_composite_looks_frozen_too(ws):
    name, gid = ws.document.group("model", ["fc1", "act"], "block")
    ws.document.set_trainable("model", [gid], False)
    item = ws.view().graph_scene.nodes[gid]
    assert item.view.composite and item.view.frozen
    assert render(item, DARK).width() > 150  # the stacked card shows behind it
