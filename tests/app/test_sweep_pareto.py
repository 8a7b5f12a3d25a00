"""A two-objective sweep run from the app (validation accuracy up, parameters down,
NSGA-II) on two local workers: the experiment view's Pareto plot shows exactly the trials
no other trial beats on both, labelled; the table has a column per objective and one
naming the lane each trial ran on. Real coordinator, real worker processes, tiny trials
(1 epoch on 300 points)."""

from __future__ import annotations

import math
from pathlib import Path

from engine.project import SweepSpec, load_project, save_project
from engine.templates import load_template

TRIALS = 6
WAIT_MS = 90_000


def two_objective_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    project = load_template("mlp")
    project.dataset.samples = 300
    project.training.epochs = 1
    project.sweep = SweepSpec(
        ranges={"training.lr": "float:0.003..0.1:log", "fc1.out_features": "int:4..64:4"},
        objectives=["val_accuracy:max", "params:min"], trials=TRIALS, seed=5, workers=2)
    path = folder / "front.lforge"
    save_project(project, path)
    return path


def non_dominated(points: dict[int, tuple[float, float]]) -> set[int]:
    """Trials whose (accuracy, params) no other trial matches or betters on both and
    strictly betters on one: accuracy is maximised, params minimised."""
    def beats(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])
    return {n for n, p in points.items()
            if not any(beats(q, p) for m, q in points.items() if m != n)}


def test_two_objective_sweep_shows_its_pareto_front(qtbot, ws, tmp_path):
    path = two_objective_project(tmp_path / "two")
    ws.document.replace_project(load_project(path), str(path))
    sweep, view = ws.sweep, ws.sweep.view
    form = sweep.panel.settings
    assert form.second.currentText() == "params:min"
    qtbot.waitUntil(lambda: not sweep.study_jobs.busy, timeout=WAIT_MS)
    sweep.panel.run_button.click()
    qtbot.waitUntil(lambda: not sweep.running and sweep.thread is None, timeout=WAIT_MS)
    assert sweep.panel.message.text() == ""
    assert "Sweep done" in sweep.panel.status.text()
    assert [o.text() for o in sweep.snapshot.objectives] == ["val_accuracy:max", "params:min"]
    done = {r.number: (r.values["val_accuracy"], r.values["params"])
            for r in view.records if r.state == "complete"}
    assert len(done) == TRIALS  # two objectives are never pruned
    # params: counted by shape analysis, so different widths give different counts
    assert len({p for _, p in done.values()}) > 1

    front = non_dominated(done)
    pareto = view.pareto
    assert view.tabs.isTabVisible(view.tabs.indexOf(pareto))
    assert set(pareto.front_numbers) == front
    # the front's points, joined from the best accuracy down; the rest drawn apart
    xs, ys = pareto.front.getData()
    assert sorted(zip(xs, ys, strict=True)) == sorted(done[n] for n in front)
    ox, oy = pareto.others.getData()
    assert sorted(zip(ox, oy, strict=True)) == sorted(
        p for n, p in done.items() if n not in front)
    assert sorted(label.toPlainText() for label in pareto._labels) == sorted(map(str, front))
    assert "higher is better" in pareto.getPlotItem().getAxis("bottom").labelText
    assert f"{len(front)} trials on the Pareto front" in view.best_label.text()
    # one column per objective, the parameter counts written out whole
    table = view.table
    col = table.column("params")
    assert col > 0
    shown = {table.item(row, col).text() for row in range(table.rowCount())}
    assert shown == {str(int(p)) for _, p in done.values()}
    assert all(math.isfinite(a) for a, _ in done.values())
    # two lanes trained them: the Lane column says which
    lane = table.column("Lane")
    assert lane > 0
    assert {table.item(row, lane).text() for row in range(table.rowCount())} == \
        {"local 1", "local 2"}
