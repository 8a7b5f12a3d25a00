"""The sweep at 1280x800 in the Train perspective: the settings and Run / Resume / Stop in
the right column, the experiment view in a tab beside Plots with every column of its table
readable (none cut, no sideways scrolling), the Lane column once trials name their lane,
and the remote hosts chooser. The trials here are made up (records as the engine reports
them), so that the layout is checked without training."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QScrollArea

from engine.remote.config import HostConfig, add_host
from engine.sweep.results import TrialRecord
from engine.sweep.space import parse_spec
from engine.sweep.study import parse_objective
from engine.templates import load_template

SPACE = {k: parse_spec(k, v) for k, v in {
    "training.lr": "float:0.001..0.1:log", "fc1.out_features": "int:8..64:8",
    "fc2.out_features": "int:8..64:8"}.items()}


@dataclass(frozen=True)
class LaneRecord(TrialRecord):
    """A stand-in for TrialRecord once it names its lane (helper S2 adds ``lane``)."""

    lane: str = ""


def records(objectives: list[str], lanes: bool = False) -> list[TrialRecord]:
    out = []
    for n in range(12):
        values = {"val_accuracy": 0.5 + n * 0.037}
        if len(objectives) > 1:
            values["params"] = float(200 + 137 * n)
        state = ("complete", "pruned", "running", "infeasible")[n % 4]
        params = {"training.lr": 0.001 * (1 + n), "fc1.out_features": 8 * (1 + n % 8),
                  "fc2.out_features": 64}
        kw = dict(values=values if state != "infeasible" else {}, epochs=6 if n % 4 == 0 else 2,
                  seconds=4.2 + n, run_dir="")
        if lanes:
            out.append(LaneRecord(n, state, params, lane="local 1" if n % 2 else "gpu1", **kw))
        else:
            out.append(TrialRecord(n, state, params, **kw))
    return out


def shown(widget) -> bool:
    """On screen: a dock behind another's tab stays "visible" to Qt, moved out of sight."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def train_at_1280(qtbot, ws):
    ws.window.resize(1280, 800)
    ws.document.replace_project(load_template("mlp"))
    ws.perspectives.switch("train")
    ws.perspectives.reset()
    qtbot.waitUntil(lambda: not ws.perspectives.settling, timeout=5000)


def assert_readable(qtbot, table) -> None:
    qtbot.wait(50)  # the header sizes its sections on the next layout pass
    total = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert total <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    for c in range(table.columnCount()):  # every value and title whole
        assert table.columnWidth(c) >= table.sizeHintForColumn(c), \
            table.horizontalHeaderItem(c).text()


def test_experiment_view_has_room_beside_plots_at_1280x800(qtbot, ws):
    train_at_1280(qtbot, ws)
    sweep, view = ws.sweep, ws.sweep.view
    # the Sweep tab in the right column, Plots in front in the middle
    qtbot.waitUntil(lambda: shown(ws.training.plots) and not shown(view), timeout=5000)
    sweep.dock.raise_()
    qtbot.waitUntil(lambda: shown(sweep.panel), timeout=5000)
    assert sweep.dock.width() < 420  # the narrow right column
    scroll = sweep.panel.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible()
    sweep.panel.show_button.click()
    qtbot.waitUntil(lambda: shown(view) and not shown(ws.training.plots), timeout=5000)
    assert view.width() >= 540  # the middle column
    assert ws.window.tabifiedDockWidgets(sweep.view_dock) == [ws.training.plots_dock]

    for objectives in (["val_accuracy:max"], ["val_accuracy:max", "params:min"]):
        objs = [parse_objective(o) for o in objectives]
        view.set_results(records(objectives), objs, SPACE)
        assert_readable(qtbot, view.table)
        assert view.table.column("Lane") == -1
    assert view.tabs.isTabVisible(view.tabs.indexOf(view.pareto))
    # sorting by any column keeps it readable (the sorted one gets its arrow's room)
    view.table.sortItems(view.table.column("fc1.out_features"))
    assert_readable(qtbot, view.table)
    col = view.table.column("val_accuracy")
    view.table.sortItems(col)
    texts = [view.table.item(r, col).text() for r in range(view.table.rowCount())]
    numbers = [float(t) for t in texts if t]
    assert numbers == sorted(numbers) and texts[-1] == ""  # numbers as numbers, blanks last


def test_lane_column_shows_where_each_trial_trained(qtbot, ws):
    train_at_1280(qtbot, ws)
    view = ws.sweep.view
    ws.sweep.show_view()
    view.set_results(records(["val_accuracy:max"], lanes=True),
                     [parse_objective("val_accuracy:max")], SPACE)
    col = view.table.column("Lane")
    assert col == view.table.columnCount() - 1
    lanes = {view.table.item(r, 0).text().split()[0]: view.table.item(r, col).text()
             for r in range(view.table.rowCount())}
    assert lanes["1"] == "local 1" and lanes["2"] == "gpu1"
    assert_readable(qtbot, view.table)


def test_remote_hosts_are_chosen_from_the_configured_ones(qtbot, ws):
    add_host(HostConfig(name="gpu1", host="gpu1.lab"))
    add_host(HostConfig(name="gpu2", host="gpu2.lab"))
    sweep, doc = ws.sweep, ws.document
    chooser = sweep.panel.settings.hosts
    sweep.refresh_hosts()
    qtbot.waitUntil(lambda: list(chooser.boxes) == ["gpu1", "gpu2"], timeout=5000)
    assert not chooser.empty.isVisible()
    chooser.boxes["gpu2"].click()
    assert doc.project.sweep.hosts == ["gpu2"]
    chooser.boxes["gpu1"].click()
    assert doc.project.sweep.hosts == ["gpu1", "gpu2"]
    doc.undo()  # the ticks of one field merge into one step, as a spin box's do
    assert doc.project.sweep.hosts == []
    assert not any(box.isChecked() for box in chooser.boxes.values())  # the form follows
