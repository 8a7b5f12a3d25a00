"""The four panels are docks of the editor window and follow its document."""

from __future__ import annotations

from app.panels.dataset import DatasetPanel
from app.panels.evaluation import EvaluationPanel
from app.panels.hyperparams import HyperparamsPanel
from app.panels.samples import SamplesPanel
from tests.app.setup.conftest import wait_idle


def test_panels_are_docks_of_the_workspace(window, ws, qtbot, mlp_run):
    assert isinstance(ws.dataset_panel, DatasetPanel)
    assert isinstance(ws.hyperparams_panel, HyperparamsPanel)
    assert isinstance(ws.evaluation_panel, EvaluationPanel)
    assert isinstance(ws.samples_panel, SamplesPanel)
    names = {d.objectName() for d in window.docks()}
    assert {"dock_dataset", "dock_hyperparams", "dock_evaluation", "dock_samples"} <= names
    assert ws.dataset_panel.document is ws.document
    ws.hyperparams_panel.widgets[("training", "epochs")].setValue(12)
    assert ws.document.project.training.epochs == 12
    ws.document.undo()
    assert ws.hyperparams_panel.widgets[("training", "epochs")].value() == 10
    ws.evaluation_panel.show_run(str(mlp_run))
    wait_idle(qtbot, ws.evaluation_panel.jobs)
    assert ws.evaluation_panel.matrix.total() == 60
    ws.setup_wiring.shutdown()
