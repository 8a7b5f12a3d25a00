"""The Inspector fits a narrow dock: no block's form needs a horizontal scroll bar."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QComboBox, QFormLayout

from app.document import GraphDocument
from app.panels.inspector import InspectorPanel
from engine.blocks import CATALOG
from engine.project import Graph, Node, Project

WIDTH = 280


@pytest.fixture(scope="module")
def all_blocks() -> Project:
    """One node of every block type in the catalog, unconnected."""
    nodes = [Node(id=f"n{i}", type=t, position=(0.0, 100.0 * i))
             for i, t in enumerate(sorted(CATALOG))]
    return Project(name="catalog", graphs={"model": Graph(nodes=nodes)})


@pytest.fixture
def panel(qtbot, qapp, all_blocks):
    from app.theme import ThemeManager

    theme = ThemeManager(qapp, "light")  # the app's style sheet: its paddings take room
    p = InspectorPanel(GraphDocument(all_blocks.model_copy(deep=True)))
    p.resize(WIDTH, 300)  # short, so long forms also show the vertical scroll bar
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    yield p
    theme.deleteLater()


def _settle() -> None:
    # the form's relayout travels up as posted LayoutRequest events, one level at a time
    for _ in range(4):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def test_no_block_needs_a_horizontal_scroll_bar_at_280_px(panel):
    wide = []
    for node in panel.document.graph("model").nodes:
        panel.show_node("model", node.id)
        _settle()
        if panel.horizontalScrollBar().maximum() > 0:
            wide.append((node.type, panel.widget().minimumSizeHint().width(),
                         panel.viewport().width()))
    assert wide == []


def test_long_rows_wrap_and_combos_shrink(panel):
    rnn = next(n.id for n in panel.document.graph("model").nodes if n.type == "RNN")
    panel.show_node("model", rnn)
    assert panel.form.rowWrapPolicy() == QFormLayout.RowWrapPolicy.WrapLongRows
    combos = [e.widget for e in panel.editors.values() if isinstance(e.widget, QComboBox)]
    assert len(combos) == 2  # output, nonlinearity
    for combo in combos:
        assert combo.sizeAdjustPolicy() == (
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
