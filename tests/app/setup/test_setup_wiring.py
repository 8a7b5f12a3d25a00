"""The four panels are docks of the editor window and follow its document."""

from __future__ import annotations

from app.panels.dataset import DatasetPanel
from app.panels.evaluation import EvaluationPanel
from app.panels.hyperparams import HyperparamsPanel
from app.panels.samples import SamplesPanel
from tests.app.setup.conftest import wait_idle


def test_panels_are_docks_of_the_workspace(window, ws, qtbot, mlp_run):
    assert isinstance(ws.setup.dataset_panel, DatasetPanel)
    assert isinstance(ws.setup.hyperparams_panel, HyperparamsPanel)
    assert isinstance(ws.setup.evaluation_panel, EvaluationPanel)
    assert isinstance(ws.setup.samples_panel, SamplesPanel)
    names = {d.objectName() for d in window.docks()}
    assert {"dock_dataset", "dock_hyperparams", "dock_evaluation", "dock_samples"} <= names
    assert ws.setup.dataset_panel.document is ws.document
    ws.setup.hyperparams_panel.widgets[("training", "epochs")].setValue(12)
    assert ws.document.project.training.epochs == 12
    ws.document.undo()
    assert ws.setup.hyperparams_panel.widgets[("training", "epochs")].value() == 10
    ws.setup.evaluation_panel.show_run(str(mlp_run))
    wait_idle(qtbot, ws.setup.evaluation_panel.jobs)
    assert ws.setup.evaluation_panel.matrix.total() == 60
    ws.setup.shutdown()


def test_the_tabs_of_every_dock_group_show_whole_titles(window, ws, qtbot):
    """In each perspective, tabbed docks ("Inspector" | "Dataset", "Hyperparameters" |
    "Dataset", "Runs" | "Sweep" | "Problems", "Evaluation" | "Samples" | "Try it") are wide
    enough that no tab title is elided ("Inspec…", "Data…")."""
    from PySide6.QtWidgets import QTabBar

    def groups() -> dict[tuple[str, ...], QTabBar]:
        return {tuple(bar.tabText(i) for i in range(bar.count())): bar
                for bar in window.findChildren(QTabBar)
                if bar.parent() is window and bar.isVisible()}

    def whole(bar: QTabBar) -> bool:
        return all(bar.tabRect(i).width() >= bar.tabSizeHint(i).width()
                   for i in range(bar.count()))

    seen = set()
    for name in ("design", "train", "evaluate"):
        ws.perspectives.switch(name)
        qtbot.waitUntil(lambda: not ws.perspectives.settling)
        qtbot.waitUntil(lambda: groups() and all(whole(b) for b in groups().values()))
        seen |= set(groups())
    assert {("Inspector", "Dataset"), ("Hyperparameters", "Dataset"), ("Runs", "Sweep", "Health", "Problems"),
            ("Evaluation", "Samples", "Try it", "Explain")} <= seen


def test_a_close_the_user_cancels_leaves_a_fit_in_flight_alone(window, ws, qtbot, monkeypatch):
    """Closing asks "Save changes?"; Cancel keeps the window, and everything in it goes on:
    the fit in flight still lands (before, the setup feature shut its jobs down on the
    Close event itself, so the fit was dropped and Fit stayed disabled)."""
    asked: list[str] = []
    monkeypatch.setattr("app.window.files.ask_save_changes",
                        lambda _parent, name: asked.append(name) or "cancel")
    panel = ws.setup.dataset_panel
    ws.document.set_field("dataset", "name", "spirals")  # unsaved: the close asks
    panel.fit_model()
    assert panel.fitting and not panel.fit_button.isEnabled()
    window.close()
    assert asked and window.isVisible()
    qtbot.waitUntil(lambda: not panel.fitting, timeout=60_000)
    assert panel.fit_button.isEnabled() and panel.error.isHidden()
    assert "Fitting" not in panel.fit_label.text()  # it says what the fit changed


def test_a_panel_behind_another_tab_starts_no_work_until_it_is_seen(window, ws, qtbot):
    """Perspectives show a tabbed dock for a moment while they arrange it: the Dataset
    panel behind Inspector or Hyperparameters must not load its catalogue then (that
    imported torch in the GUI process while the first run started)."""
    panel = ws.setup.dataset_panel
    for name in ("train", "evaluate", "design"):
        ws.perspectives.switch(name)
        qtbot.waitUntil(lambda: not ws.perspectives.settling)
    assert panel.builtin == {} and not panel.catalog.busy
    ws.perspectives.dock("dataset").raise_()
    qtbot.waitUntil(lambda: bool(panel.builtin), timeout=30000)
    wait_idle(qtbot, panel.loader)
