"""The Fairness tab of the Evaluation panel on a real run: a small MLP trained on a CSV
file whose groups differ by construction (tests/engine/fairness/fair_data.py: group B's
labels are noisy, group C is tiny), with the groupings edited through the document."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.project import FairnessSpec, Grouping, load_project
from tests.app.setup.conftest import wait_idle
from tests.app.trained_runs import train_run
from tests.engine.fairness.fair_data import csv_project, write_csv

GROUP = Grouping(name="group", kind="column", column="group")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The run, trained once for the module, and the engine's report of its validation
    split (written to its fairness.json, as ``layerforge evaluate`` does)."""
    from engine.fairness import evaluate_run

    root = tmp_path_factory.mktemp("fair")
    project = csv_project(write_csv(root / "people.csv", n=800), groupings=[GROUP])
    project.training = project.training.model_copy(update={"epochs": 6})
    run = train_run(project, root / "run")
    return run, evaluate_run(run, split="val")["group"]["group"]


@pytest.fixture(scope="module")
def fair_run(trained) -> Path:
    return trained[0]


@pytest.fixture(scope="module")
def engine_report(trained):
    return trained[1]


@pytest.fixture
def bare_run(fair_run, tmp_path) -> Path:
    """The same run without its saved report."""
    run = Path(shutil.copytree(fair_run, tmp_path / "bare"))
    (run / "fairness.json").unlink()
    return run


@pytest.fixture
def document(fair_run):
    from app.document import GraphDocument

    return GraphDocument(load_project(fair_run / "project.lforge"))


@pytest.fixture
def panel(qtbot, document):
    from app.panels.evaluation import EvaluationPanel

    p = EvaluationPanel(document=document)
    p.resize(1280, 700)
    qtbot.addWidget(p)
    p.show()
    p.views.setCurrentWidget(p.fairness)
    yield p
    p.shutdown()


def _table(view, name: str) -> dict[str, list[str]]:
    section = next(s for s in view.sections if s.report.name == name)
    t = section.table
    return {t.item(r, 0).text(): t.row_texts(r) for r in range(t.rowCount())}


def test_saved_report_is_shown_without_computing(panel, fair_run):
    panel.show_run(str(fair_run))
    view = panel.fairness
    assert not view.jobs.busy  # read from fairness.json, nothing computed
    assert view.result is not None and view.result.saved
    assert "fairness.json" in view.status.text()
    assert set(_table(view, "group")) == {"All samples", "A", "B", "C"}


def test_compute_fills_the_table_with_the_engines_numbers(panel, qtbot, bare_run,
                                                          engine_report):
    panel.show_run(str(bare_run))
    view = panel.fairness
    assert view.result is None and not view.sections
    assert view.compute_button.isEnabled()
    view.compute_button.click()
    wait_idle(qtbot, view.jobs)
    assert not view.error.isVisibleTo(view), view.error.text()
    rows = _table(view, "group")
    for group, figures in engine_report.groups.items():
        row = rows[group]
        assert int(row[1]) == int(figures["count"])
        for col, key in enumerate(("accuracy", "precision", "recall", "f1",
                                   "selection_rate"), start=2):
            assert float(row[col]) == pytest.approx(figures[key], abs=5e-4)
    gaps = engine_report.gaps
    assert f"{gaps['demographic_parity_difference']:.3f}" in view.sections[0].parity.text()
    assert f"{gaps['equalized_odds_ratio']:.3f}" in view.sections[0].parity.text()
    # the gap built into the data: group B (noisy labels) does worse than A
    assert float(rows["B"][2]) < float(rows["A"][2]) - 0.2


def test_small_groups_are_flagged_not_ranked(panel, fair_run, engine_report):
    panel.show_run(str(fair_run))
    view = panel.fairness
    rows = _table(view, "group")
    assert engine_report.small == ["C"]
    assert rows["C"][-1] == "too small to judge (n < 30)"
    assert rows["A"][-1] == rows["B"][-1] == ""
    table = view.sections[0].table
    assert [table.item(r, 0).text() for r in range(table.rowCount())][-1] == "C"  # last
    assert "1 is too small to judge" in view.sections[0].note.text()
    chart = view.sections[0].chart
    assert len(chart.values) == 3 and chart.overall is not None


def test_chart_follows_the_metric_chosen(panel, fair_run):
    panel.show_run(str(fair_run))
    view = panel.fairness
    i = view.metric_combo.findData("selection_rate")
    view.metric_combo.setCurrentIndex(i)
    view.metric_combo.activated.emit(i)
    report = view.sections[0].report
    assert view.sections[0].chart.values == [g.metrics["selection_rate"]
                                             for g in report.judged + report.small]
    assert view.sections[0].chart.overall.value() == report.overall["selection_rate"]


def test_switching_run_clears_the_view_and_drops_a_late_report(panel, qtbot, fair_run,
                                                               bare_run):
    view = panel.fairness
    panel.show_run(str(fair_run))
    assert view.sections
    view.compute()  # still computing for fair_run when the user picks another run
    panel.show_run(str(bare_run))
    assert not view.sections and view.result is None
    wait_idle(qtbot, view.jobs)
    assert not view.sections and view.result is None  # the late report was dropped
    assert "Compute" in view.status.text()
    panel.reset()  # another project
    assert view.run_dir is None and not view.sections
    assert not view.compute_button.isEnabled()


def test_adding_a_grouping_is_one_undo_step_and_is_saved(panel, document, tmp_path):
    editor = panel.fairness.editor
    before = document.undo_stack.count()
    editor.add_grouping(Grouping(name="group again", kind="column", column="group"))
    editor.add_grouping(Grouping(name="site", kind="file", file="sites.csv", column="site"))
    assert document.undo_stack.count() == before + 2
    assert [g.name for g in document.project.fairness.groupings] == ["group", "group again",
                                                                     "site"]
    assert editor.table.rowCount() == 3
    document.undo()
    assert [g.name for g in document.project.fairness.groupings] == ["group", "group again"]
    assert editor.table.rowCount() == 2
    editor.add_intersection(["group", "group again"])
    assert editor.table.item(2, 0).text() == "group x group again"
    path = tmp_path / "saved.lforge"
    document.save(path)
    loaded = load_project(path).fairness
    assert loaded == document.project.fairness
    assert loaded.intersections == [["group", "group again"]]
    editor.remove_row(1)  # the grouping and the intersection naming it: one step
    assert document.project.fairness.intersections == []
    document.undo()
    assert document.project.fairness.intersections == [["group", "group again"]]


def test_a_csv_column_grouping_leaves_the_column_out_of_the_inputs(qtbot):
    from app.document import GraphDocument
    from app.panels.fairness_editor import GroupingsEditor

    project = csv_project(Path("people.csv"))
    project.dataset = project.dataset.model_copy(update={"options": {"task": "class"}})
    document = GraphDocument(project)
    editor = GroupingsEditor()
    qtbot.addWidget(editor)
    editor.set_document(document)
    editor.add_grouping(GROUP)
    assert document.project.dataset.options["ignore_columns"] == ["group"]
    assert "left out of the model's inputs" in editor.note.text()
    document.undo()  # one step: the grouping and the column together
    assert document.project.fairness == FairnessSpec()
    assert "ignore_columns" not in document.project.dataset.options


def test_the_dialog_says_what_is_missing(qtbot):
    from app.panels.fairness_dialogs import GroupingDialog

    dialog = GroupingDialog(["x1", "group"], taken=["sex"])
    qtbot.addWidget(dialog)
    assert dialog.grouping() == "Give the grouping a name."
    dialog.name.setText("sex")
    assert "exists already" in dialog.grouping()
    dialog.name.setText("region")
    dialog.set_kind("file")
    assert dialog.grouping() == "Choose the metadata file."
    dialog.file.setText("meta.csv")
    assert dialog.grouping() == Grouping(name="region", kind="file", file="meta.csv")
    dialog.set_kind("column")
    dialog.column.setCurrentText("group")
    assert dialog.grouping() == Grouping(name="region", kind="column", column="group")


def test_without_a_document_the_runs_own_groupings_are_shown_read_only(qtbot, fair_run):
    from app.panels.evaluation import EvaluationPanel

    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    try:
        panel.show_run(str(fair_run))
        editor = panel.fairness.editor
        assert editor.table.item(0, 0).text() == "group"
        assert not editor.add_button.isEnabled() and not editor.min_group.isEnabled()
        assert panel.fairness.compute_button.isEnabled()  # with the run's groupings
    finally:
        panel.shutdown()
