"""The Sweep dock (settings, Run / Resume / Stop) and the experiment view (the Experiment
dock: trials table and plots) on real sweeps: the spirals MLP template with tiny settings,
the real coordinator and real worker processes.

One sweep is run by the engine once for the module (a finished 3-trial study the view
opens); one is run from the view itself, stopped, reopened and resumed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.panels.sweep_table import BEST_MARK, NUMBER_ROLE, short_key
from engine.project import SweepSpec, load_project, save_project
from engine.templates import load_template

TRIALS = 3
RANGES = {"training.lr": "float:0.001..0.1:log", "fc1.out_features": "int:8..64:8"}
WAIT_MS = 60_000


def tiny_mlp(folder: Path) -> Path:
    """The MLP template, 2 epochs on 300 points, searched over lr and fc1's width."""
    folder.mkdir(parents=True, exist_ok=True)
    project = load_template("mlp")
    project.dataset.samples = 300
    project.training.epochs = 2
    project.sweep = SweepSpec(ranges=dict(RANGES), trials=TRIALS, pruner="none", seed=3)
    path = folder / "spirals.lforge"
    save_project(project, path)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A project whose 3-trial sweep has finished (run by the engine, as the CLI does)."""
    from engine.sweep.config import coordinator_from_project

    path = tiny_mlp(tmp_path_factory.mktemp("done"))
    records = coordinator_from_project(load_project(path), path).run()
    assert [r.state for r in records] == ["complete"] * TRIALS
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def open_project(qtbot, ws, path: Path) -> None:
    ws.document.replace_project(load_project(path), str(path))
    qtbot.waitUntil(lambda: ws.sweep.snapshot is not None and not ws.sweep.study_jobs.busy,
                    timeout=WAIT_MS)


def shown(widget) -> bool:
    """On screen: a dock behind another's tab stays "visible" to Qt, moved out of sight."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def row_of(table, number: int) -> int:
    for row in range(table.rowCount()):
        if table.item(row, 0).data(NUMBER_ROLE) == number:
            return row
    raise AssertionError(f"trial {number} is not in the table")


def test_run_stop_reopen_resume_finishes_exactly_n_trials(qtbot, ws, tmp_path):
    import optuna

    path = tiny_mlp(tmp_path / "live")
    ws.document.replace_project(load_project(path), str(path))
    sweep, panel, view = ws.sweep, ws.sweep.panel, ws.sweep.view
    ws.perspectives.switch("train")
    qtbot.waitUntil(lambda: not sweep.study_jobs.busy, timeout=WAIT_MS)
    assert not panel.resume_button.isEnabled()  # no study yet
    panel.run_button.click()
    assert sweep.running and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: shown(view), timeout=5000)  # Run brings the trials forward
    # the table fills live: the first trial's row, complete, while the sweep goes on
    qtbot.waitUntil(lambda: any(r.state == "complete" for r in view.records), timeout=WAIT_MS)
    assert sweep.running
    assert view.table.rowCount() >= 1
    state = view.table.column("State")
    assert view.table.item(0, state).text() in ("complete", "running")
    assert view.table.column("Lane") == -1  # the engine names no lane (yet)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    assert "Stopped" in panel.status.text()
    assert panel.resume_button.isEnabled()
    done_before = sum(r.state == "complete" for r in view.records)
    assert 1 <= done_before < TRIALS

    # reopening the project offers Resume sweep and shows the trials so far
    ws.document.replace_project(load_project(path), str(path))
    qtbot.waitUntil(lambda: sweep.snapshot is not None and not sweep.study_jobs.busy,
                    timeout=WAIT_MS)
    assert panel.resume_button.isEnabled()
    assert view.table.rowCount() >= done_before

    panel.resume_button.click()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    assert panel.message.text() == ""
    assert "Sweep done" in panel.status.text()
    assert not panel.resume_button.isEnabled()
    numbers = sorted(r.number for r in view.records)
    assert numbers == list(range(TRIALS))
    assert all(r.state not in ("running", "waiting") for r in view.records)
    study = optuna.load_study(study_name="spirals", storage=sweep.snapshot.storage)
    assert len(study.trials) == TRIALS  # none run twice, none lost
    # the best trial is marked, and only it
    best = max((r for r in view.records if r.state == "complete"),
               key=lambda r: r.values["val_accuracy"])
    assert view.best_number == best.number
    marked = [row for row in range(view.table.rowCount())
              if view.table.item(row, 0).text().endswith(BEST_MARK)]
    assert marked == [row_of(view.table, best.number)]
    assert view.table.item(marked[0], 0).font().bold()


def test_reopened_sweep_shows_its_plots_and_overlays_a_clicked_trial(qtbot, ws, finished):
    open_project(qtbot, ws, finished)
    view = ws.sweep.view
    assert view.table.rowCount() == TRIALS
    assert not ws.sweep.panel.resume_button.isEnabled()  # nothing left to finish
    assert view.best_label.text().startswith(f"Best: trial {view.best_number}")
    # best so far: one point per completed trial, a step line that never gets worse
    xs, ys = view.best_plot.points.getData()
    assert list(xs) == [0.0, 1.0, 2.0]
    _, best_line = view.best_plot.line.getData()
    assert list(best_line[:-1]) == [max(ys[: i + 1]) for i in range(len(ys))]
    # parallel coordinates: one line per trial over the two ranges and the objective
    assert len(view.parallel.lines) == TRIALS
    for line in view.parallel.lines:
        _, y = line.getData()
        assert len(y) == 3 and all(0.0 <= v <= 1.0 for v in y)
    # importance: computed off the GUI thread once 3 trials completed
    qtbot.waitUntil(lambda: bool(view.importance.items), timeout=WAIT_MS)
    assert {name for name, _ in view.importance.items} <= {short_key(k) for k in RANGES}
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.pareto))  # one objective

    view.table.selectRow(row_of(view.table, 1))
    plots = ws.training.plots
    assert plots.overlay_count() == 1
    curves = [(item.xData, item.yData) for item in plots.metric_plot.listDataItems()]
    assert any(x is not None and len(x) == 2 for x, _ in curves)  # its two epochs
    # Curves brings Plots (a tab beside the experiment view) forward, with the overlay
    ws.perspectives.switch("train")
    ws.sweep.show_view()
    qtbot.waitUntil(lambda: shown(view) and not shown(plots), timeout=5000)
    view.curves_button.click()
    qtbot.waitUntil(lambda: shown(plots) and not shown(view), timeout=5000)


def test_apply_to_project_is_one_undo_step(qtbot, ws, finished):
    open_project(qtbot, ws, finished)
    view, doc = ws.sweep.view, ws.document
    assert not view.apply_button.isEnabled()  # no trial chosen
    number = view.best_number
    params = next(r.params for r in view.records if r.number == number)
    view.table.selectRow(row_of(view.table, number))
    before = doc.project.model_copy(deep=True)
    steps = doc.undo_stack.count()
    view.apply_button.click()
    assert doc.project.training.lr == pytest.approx(params["training.lr"])
    fc1 = doc.node("model", "fc1") or next(
        n for g in doc.project.graphs.values() for n in g.nodes if n.id == "fc1")
    assert fc1.params["out_features"] == params["fc1.out_features"]
    assert doc.undo_stack.count() == steps + 1
    doc.undo()
    assert doc.project.model_dump() == before.model_dump()


def test_a_sweep_that_cannot_start_says_why(qtbot, ws, tmp_path):
    path = tiny_mlp(tmp_path / "bad")
    project = load_project(path)
    project.sweep = SweepSpec(ranges={"nothere.out_features": "int:8..64"}, trials=2)
    save_project(project, path)
    ws.document.replace_project(load_project(path), str(path))
    sweep, panel = ws.sweep, ws.sweep.panel
    panel.run_button.click()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    text = panel.message.text()
    assert "nothere" in text and "Traceback" not in text
    assert panel.run_button.isEnabled()


def test_sweep_settings_are_edited_through_the_document(qtbot, ws):
    form, doc = ws.sweep.panel.settings, ws.document
    form.trials.setValue(7)
    form.trials.editingFinished.emit()
    assert doc.project.sweep.trials == 7
    form.second.setCurrentText("params:min")
    form.second.activated.emit(form.second.currentIndex())
    assert doc.project.sweep.objectives == ["val_accuracy:max", "params:min"]
    doc.undo()
    doc.undo()
    assert doc.project.sweep == SweepSpec()
    assert form.trials.value() == 20  # the form follows the document
