"""The Block health panel: a sortable table of the blocks' latest statistics, the doctor's
findings, whose Fix buttons change the project in one undo step each, and whose click
selects the block on the canvas."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt

from app.canvas.health_stats import HealthHistory
from app.panels.block_health_table import COLUMNS, BlockHealthTable
from engine.train.doctor import Fix
from tests.app.conftest import chain_project
from tests.app.health_runs import block_values, fix_doctor, recorded_run
from tests.app.test_health_badges import show_in_runs


def _history() -> HealthHistory:
    h = HealthHistory()
    h.add_stats(10, {
        "model/a": block_values(10, dead=0.2, ratio=5e-3, grad=0.5),
        "model/b": block_values(10, dead=None, ratio=None, grad=1e-4, params=False),
        "model/c": block_values(10, dead=0.9, ratio=1e-4, grad=2.0),
        "model/d": {**block_values(10, ratio=2e-3, grad=0.01), "act_mean": -1.0,
                    "act_std": 0.2},
    })
    return h


@pytest.mark.parametrize("column", range(3, len(COLUMNS)))
def test_the_table_sorts_by_every_statistic_blanks_last(qtbot, column):
    table = BlockHealthTable()
    qtbot.addWidget(table)
    table.stats.set_history(_history())
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        table.sortByColumn(column, order)
        values = table.column_values(column)
        known = [v for v in values if v is not None]
        assert values == known + [None] * (len(values) - len(known))  # blanks at the end
        assert known == sorted(known, reverse=order == Qt.SortOrder.DescendingOrder)
        assert len(set(known)) > 1, COLUMNS[column]  # the order says something


def test_the_selection_stays_on_its_block_when_the_order_changes(qtbot):
    table = BlockHealthTable()
    qtbot.addWidget(table)
    h = _history()
    table.stats.set_history(h)
    table.select_key("model/c")
    table.sortByColumn(6, Qt.SortOrder.AscendingOrder)  # grad out
    assert table.selected_key() == "model/c"
    h.add_stats(20, {**{k: h.latest(k) for k in h.blocks},
                     "model/c": block_values(20, grad=1e-6)})  # now the smallest
    table.stats.refresh()
    assert table.stats.keys[0] == "model/c" and table.selected_key() == "model/c"


@pytest.fixture
def health(ws, qtbot, tmp_path, monkeypatch):
    """The Health panel showing a recorded run of the window's project, with the fixed
    findings, on screen in the Train perspective."""
    fix_doctor(monkeypatch)
    ws.perspectives.switch("train")
    feature = ws.setup.health
    feature.dock.raise_()
    show_in_runs(ws, recorded_run(tmp_path / "runs" / "r", chain_project(), [1, 50], sick=True))
    qtbot.waitUntil(lambda: len(feature.panel.findings.rows) == 4, timeout=5000)
    return feature


def test_findings_are_sentences_with_a_fix_button_where_there_is_a_fix(health):
    rows = health.panel.findings.rows
    assert [r.finding.kind for r in rows] == ["dead_units", "lr_high", "exploding",
                                               "overfitting"]
    assert [r.fix_button is not None for r in rows] == [True, True, True, False]
    assert rows[0].text.text().startswith("95% of the units after act are dead")


def test_clicking_a_finding_selects_its_block_on_the_canvas(health, ws, qtbot):
    row = health.panel.findings.rows[1]  # about fc2
    qtbot.mouseClick(row.text, Qt.MouseButton.LeftButton)
    scene = ws.tabs.view("model").graph_scene
    assert scene.selected_node_ids() == ["fc2"]
    assert health.panel.table.selected_key() == "model/fc2"
    assert health.panel.plot.key == "model/fc2"


def _click_fix(qtbot, health, index: int) -> None:
    button = health.panel.findings.rows[index].fix_button
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_setting_fix_is_one_undo_step(health, ws, qtbot):
    doc = ws.document
    before, steps = doc.to_json(), doc.undo_stack.count()
    doc.set_field("training", "lr", 0.02)  # the user's own edit of the same field
    _click_fix(qtbot, health, 1)
    assert doc.project.training.lr == pytest.approx(0.003)
    assert doc.undo_stack.count() == steps + 2  # the fix did not merge into the user's edit
    doc.undo()
    assert doc.project.training.lr == pytest.approx(0.02)
    doc.undo()
    assert doc.to_json() == before


def test_a_block_parameter_fix_is_one_undo_step(health, ws, qtbot):
    doc = ws.document
    before, steps = doc.to_json(), doc.undo_stack.count()
    _click_fix(qtbot, health, 2)
    assert doc.node("model", "fc1").params["out_features"] == 16
    assert doc.undo_stack.count() == steps + 1
    doc.undo()
    assert doc.to_json() == before


def test_an_insert_fix_wires_the_new_block_between_the_block_and_its_successors(
        health, ws, qtbot):
    doc = ws.document
    doc.add_node("model", "Linear", (440.0, 200.0), node_id="side")
    doc.connect("model", "fc1", "side")  # fc1 now feeds two blocks
    before, steps = doc.to_json(), doc.undo_stack.count()
    _click_fix(qtbot, health, 0)
    g = doc.graph("model")
    new = [n for n in g.nodes if n.type == "BatchNorm1d"]
    assert len(new) == 1
    bn = new[0].id
    wires = {(e.src, e.dst) for e in g.edges}
    assert ("fc1", bn) in wires and (bn, "act") in wires and (bn, "side") in wires
    assert ("fc1", "act") not in wires and ("fc1", "side") not in wires
    assert not [p for p in doc.problems() if p.severity == "error"]
    assert doc.undo_stack.count() == steps + 1
    doc.undo()
    assert doc.to_json() == before
    doc.redo()
    assert doc.graph("model").node(bn) is not None


def test_a_fix_for_a_block_that_is_gone_says_so_and_changes_nothing(health, ws, qtbot):
    doc = ws.document
    doc.rename_node("model", "fc1", "dense")
    before, steps = doc.to_json(), doc.undo_stack.count()
    assert not health.apply(Fix("Give fc1 16 units", "set_param", "model/fc1.out_features", 16))
    assert not health.apply(Fix("Add BatchNorm1d after fc1", "insert_after", "model/fc1",
                                "BatchNorm1d"))
    assert doc.to_json() == before and doc.undo_stack.count() == steps
    assert "fc1" in ws.window.statusBar().currentMessage()


def test_the_plot_shows_the_chosen_statistic_of_the_selected_block(health, qtbot):
    panel = health.panel
    panel.select_block("model/act")
    box = panel.plot.stat_box
    box.setCurrentIndex(box.findData("dead"))
    xs, ys = panel.plot.curve.getData()
    assert list(xs) == [1, 50] and all(math.isclose(y, 0.95) for y in ys)
