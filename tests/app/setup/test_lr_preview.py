"""The hyperparameter panel as a first-time user meets it: the learning-rate preview shows
a constant rate as a flat line at its value, and the form fits a narrow dock."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QComboBox

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from tests.app.conftest import chain_project
from tests.app.setup.conftest import wait_idle


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def _tick_strings(plot) -> list[str]:
    axis = plot.getAxis("left")
    lo, hi = plot.getViewBox().viewRange()[1]
    strings = []
    for spacing, values in axis.tickValues(lo, hi, axis.height() or 150):
        strings += axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
    return strings


def test_a_constant_rate_is_a_flat_line_inside_the_axis_not_at_zero(panel, qtbot):
    panel.resize(420, 1000)
    panel.activate()
    doc = panel.document
    doc.set_field("training", "lr", 0.001)
    doc.set_field("training", "epochs", 20)
    panel.update_curve()
    wait_idle(qtbot, panel.lr_jobs)
    assert min(panel.curve_y) == max(panel.curve_y) == pytest.approx(0.001)
    lo, hi = panel.plot.getViewBox().viewRange()[1]
    assert lo < 0.001 < hi
    assert 0.001 - lo > 0.2 * (hi - lo) and hi - 0.001 > 0.05 * (hi - lo)  # not on an edge
    strings = _tick_strings(panel.plot)
    assert strings and any(s.strip("0.-") for s in strings), strings
    # the range follows the rate: a tenfold smaller one is not drawn on the same axis
    doc.set_field("training", "lr", 0.0001)
    panel.update_curve()
    wait_idle(qtbot, panel.lr_jobs)
    lo, hi = panel.plot.getViewBox().viewRange()[1]
    assert lo < 0.0001 < hi < 0.001


def test_the_form_needs_no_horizontal_scroll_bar_in_a_300_px_dock(panel, qtbot):
    doc = panel.document
    doc.set_field("training", "schedule", "step")
    doc.set_field("training", "early_stopping", True)
    panel.resize(300, 900)
    with qtbot.waitExposed(panel):
        panel.show()
    QApplication.processEvents()
    panel.widget().adjustSize()
    QApplication.processEvents()
    assert panel.horizontalScrollBar().maximum() == 0
    assert all(w.width() <= panel.viewport().width() for w in panel.findChildren(QComboBox)
               if w.isVisible())
