"""The mouse wheel over a form scrolls the form; a field takes it only when it has focus."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QSpinBox, QWidget

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from app.widgets.wheel_guard import install_wheel_guard
from tests.app.conftest import chain_project


@pytest.fixture
def guard(qapp):
    g = install_wheel_guard(qapp)
    yield g
    qapp.removeEventFilter(g)  # the application outlives this test
    g.deleteLater()


@pytest.fixture
def panel(qtbot, guard):
    p = HyperparamsPanel(GraphDocument(chain_project()))
    p.resize(320, 260)  # short, so the form scrolls
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


def _wheel_down(widget: QWidget) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(),
                        QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _first_spin(panel: HyperparamsPanel) -> QSpinBox:
    spins = [w for w in panel.widgets.values() if isinstance(w, QSpinBox) and w.isVisible()
             and w.value() > w.minimum()]
    assert spins
    return spins[0]


def test_wheel_over_an_unfocused_spin_box_scrolls_the_panel(panel):
    spin = _first_spin(panel)
    bar = panel.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    before = spin.value()
    _wheel_down(spin)
    assert spin.value() == before
    assert bar.value() > 0


def test_wheel_over_a_focused_spin_box_changes_its_value(panel, qtbot):
    spin = _first_spin(panel)
    panel.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    before = spin.value()
    _wheel_down(spin)
    assert spin.value() < before
    assert panel.verticalScrollBar().value() == 0


def test_the_wheel_does_not_give_a_spin_box_focus(panel):
    assert _first_spin(panel).focusPolicy() == Qt.FocusPolicy.StrongFocus
