"""The model checked against its data in the editor, before Train (issue 14, points 4, 12
and the Samples field of 11)."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.dataset import DatasetPanel
from app.panels.dataset_form import GENERATED_BUILTINS
from engine.project import DatasetSpec, save_project
from engine.templates import load_template
from tests.app.setup.conftest import wait_idle


def _digits_lenet():
    """lenet5 on the 8x8 digits, as choosing the data set leaves it (no image size)."""
    project = load_template("lenet5")
    project.dataset = DatasetSpec(name="digits")
    return project


def _errors(doc):
    return [p for p in doc.problems() if p.severity == "error"]


def test_an_input_that_does_not_fit_the_built_in_data_is_an_error_pinned_to_the_input():
    doc = GraphDocument(_digits_lenet())
    (problem,) = _errors(doc)
    assert (problem.graph, problem.node, problem.fix) == ("model", "image", "fit_model")
    assert "builtin:digits gives [N, 1, 8, 8]" in problem.message
    assert not doc.data_facts_pending()  # built-in sets are known without loading


def test_too_few_outputs_for_the_classes_is_an_error_pinned_to_the_last_layer():
    doc = GraphDocument(load_template("lenet5"))
    assert _errors(doc) == []
    doc.set_param("model", "fc3", "out_features", 7)
    (problem,) = _errors(doc)
    assert problem.node == "fc3" and "has 10 classes: set out_features to 10" in problem.message
    doc.undo()
    assert _errors(doc) == []


def test_the_problems_list_offers_the_fit_and_the_fit_makes_lenet5_fit_the_digits(ws, qtbot):
    doc, problems, panel = ws.document, ws.problems, ws.setup.dataset_panel
    doc.replace_project(_digits_lenet())
    assert any(r[1] == "image" and r[3] == "error" for r in problems.rows())
    assert problems.fix_bar.isVisibleTo(problems)
    asked = []
    problems.fix_requested.connect(asked.append)
    problems.fix_buttons["fit_model"].click()
    row = next(i for i, r in enumerate(problems.rows()) if r[1] == "image")
    problems.tree.itemActivated.emit(problems.item(row), 0)
    assert asked == ["fit_model", "fit_model"]
    # What the workspace does with it (the lead's wiring): the dataset panel's fit.
    count = doc.undo_stack.count()
    panel.fit_model()
    wait_idle(qtbot, panel.loader)
    assert doc.project.dataset.image_size == 28  # the digits are resized; the design kept
    assert doc.graph("model").node("image").params["shape"] == [1, 28, 28]
    assert _errors(doc) == []
    assert problems.rows() == [] and not problems.fix_bar.isVisibleTo(problems)
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.project.dataset.image_size is None and _errors(doc)


def test_train_refuses_a_misfit_before_making_a_run_folder(ws, tmp_path):
    path = tmp_path / "p.lforge"
    save_project(_digits_lenet(), path)
    ws.document.replace_project(load_template("lenet5").model_copy(
        update={"dataset": DatasetSpec(name="digits")}), path=str(path))
    assert ws.training.train() is False
    assert "model/image" in ws.window.statusBar().currentMessage()
    assert not (tmp_path / "runs").exists() and ws.document.project.runs == []


def test_data_in_files_is_read_in_the_background_and_train_waits_for_it(ws, qtbot, tmp_path):
    """Image files the Dataset panel never showed: their facts are read after the project
    opens; Train pressed meanwhile waits for them (no run folder), then tries again and is
    refused for the misfit, which is a problem."""
    from tests.engine.data.helpers import write_png_folder

    folder = write_png_folder(tmp_path / "pics", {"a": 3, "b": 3}, size=(8, 8), mode="L")
    project = load_template("lenet5")
    project.dataset = DatasetSpec(source="folder", path="pics")  # relative to the project
    path = tmp_path / "p.lforge"
    save_project(project, path)
    doc = ws.document
    doc.replace_project(project, path=str(path))
    assert doc.data_facts_pending()  # read in the background: nothing came back yet
    assert ws.training.train() is False
    assert "Reading the data files" in ws.window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not doc.data_facts_pending(), timeout=30000)
    # the Train pressed while they were read was tried again, and refused for the misfit
    qtbot.waitUntil(lambda: "Cannot train: model/image" in
                    ws.window.statusBar().currentMessage())
    facts = doc.data_facts()
    assert facts is not None and facts.input_shape == (1, 8, 8) and folder.is_dir()
    (problem,) = _errors(doc)
    assert problem.node == "image" and problem.fix == "fit_model"
    assert any(r[1] == "image" for r in ws.problems.rows())
    assert ws.training.train() is False
    assert not (tmp_path / "runs").exists()


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(load_template("lenet5"))
    p = DatasetPanel(doc)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


@pytest.mark.parametrize(("name", "shown"), [("spirals", True), ("shapes", True),
                                             ("digits", False), ("pytext", False)])
def test_samples_is_shown_only_for_the_sets_it_sizes(panel, name, shown):
    panel.document.set_field("dataset", "name", name)
    assert panel.source_form.isRowVisible(panel.samples_spin) is shown
    assert (name in GENERATED_BUILTINS) is shown


def test_generated_sets_are_those_samples_sizes():
    from engine.data import builtin

    assert set(builtin._DEFAULT_SAMPLES) == GENERATED_BUILTINS


@pytest.mark.parametrize("source", ["builtin", "download", "csv", "folder"])
def test_the_panel_needs_no_horizontal_scroll_bar_in_a_300_px_dock(panel, qtbot, source, tmp_path):
    """Long names (a download's description, a CSV column) and the button row must not
    widen the panel past a narrow dock."""
    panel.load_catalogue()
    wait_idle(qtbot, panel.catalog)
    doc = panel.document
    doc.set_field("dataset", "source", source)
    if source == "download":
        doc.set_field("dataset", "name", "fashion-mnist")
    if source == "csv":
        long_name = "monthly_average_household_electricity_consumption_kwh"
        csv = tmp_path / "power.csv"
        csv.write_text(f"rooms,{long_name}\n3,210\n4,320\n", encoding="utf-8")
        doc.set_field("dataset", "path", str(csv))
        doc.set_field("dataset", "target", long_name)
        assert panel.target_combo.currentData() == long_name
    panel.resize(300, 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.width() == 300
    # the layout settles on the next turns of the event loop
    qtbot.waitUntil(lambda: panel.horizontalScrollBar().maximum() == 0, timeout=2000)
