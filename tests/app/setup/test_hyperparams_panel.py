"""The task and hyperparameter panel edits through the document; the LR curve follows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from tests.app.conftest import chain_project
from tests.app.setup.conftest import choose, wait_idle


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    p.resize(420, 1000)
    qtbot.addWidget(p)
    p.activate()
    yield p
    p.shutdown()


def _visible(panel, form, field: str) -> bool:
    return form.isRowVisible(panel.widgets[("training", field)])


def test_typing_a_learning_rate_is_one_undo_step(panel, qtbot):
    doc = panel.document
    box = panel.widgets[("training", "lr")]
    count = doc.undo_stack.count()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.05")
    assert doc.project.training.lr == pytest.approx(0.05)
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.project.training.lr == pytest.approx(1e-3)
    assert box.value() == pytest.approx(1e-3)


def test_optimizer_shows_only_its_own_settings_and_undo_restores_it(panel):
    doc, form = panel.document, panel.opt_form
    assert _visible(panel, form, "beta1") and not _visible(panel, form, "momentum")
    choose(panel.widgets[("training", "optimizer")], "sgd")
    assert doc.project.training.optimizer == "sgd"
    assert _visible(panel, form, "momentum") and _visible(panel, form, "nesterov")
    assert not _visible(panel, form, "beta1") and not _visible(panel, form, "beta2")
    panel.widgets[("training", "nesterov")].setChecked(True)
    assert doc.project.training.nesterov
    doc.undo()
    doc.undo()
    assert doc.project.training.optimizer == "adam"
    assert panel.widgets[("training", "optimizer")].currentData() == "adam"
    assert _visible(panel, form, "beta1")


def test_other_settings_go_through_the_document(panel):
    doc = panel.document
    panel.widgets[("training", "epochs")].setValue(25)
    panel.widgets[("training", "batch_size")].setValue(32)
    panel.widgets[("training", "early_stopping")].setChecked(True)
    assert panel.run_form.isRowVisible(panel.widgets[("training", "patience")])
    choose(panel.widgets[("task", "kind")], "regression")
    choose(panel.widgets[("task", "loss")], "huber")
    p = doc.project
    assert (p.training.epochs, p.training.batch_size, p.training.early_stopping) == (25, 32, True)
    assert (p.task.kind, p.task.loss) == ("regression", "huber")
    doc.set_field("training", "epochs", 7)  # e.g. a script or another panel
    assert panel.widgets[("training", "epochs")].value() == 7
    for _ in range(6):
        doc.undo()
    assert doc.project.training == chain_project().training
    assert doc.project.task == chain_project().task


VISION_FIELDS = {"segmentation": {"ignore_index"},
                 "detection": {"size_weight", "max_detections", "min_score", "nms_iou"}}


def _task_rows_shown(panel) -> set[str]:
    every = {"label_smoothing", "latent_dim", "d_steps", *set().union(*VISION_FIELDS.values())}
    return {f for f in every if panel.task_form.isRowVisible(panel.widgets[("task", f)])}


def test_vision_tasks_show_only_their_own_settings(panel):
    doc = panel.document
    assert _task_rows_shown(panel) == {"label_smoothing"}  # classification
    choose(panel.widgets[("task", "kind")], "segmentation")
    assert doc.project.task.kind == "segmentation"
    assert _task_rows_shown(panel) == VISION_FIELDS["segmentation"]
    losses = panel.widgets[("task", "loss")]
    assert [losses.itemData(i) for i in range(losses.count())] == ["", "ce+dice", "ce"]
    choose(panel.widgets[("task", "kind")], "detection")
    assert _task_rows_shown(panel) == VISION_FIELDS["detection"]
    choose(panel.widgets[("task", "kind")], "gan")
    assert _task_rows_shown(panel) == {"latent_dim", "d_steps"}


def test_detection_settings_go_through_the_document_and_undo(panel):
    doc = panel.document
    choose(panel.widgets[("task", "kind")], "detection")
    count = doc.undo_stack.count()
    panel.widgets[("task", "max_detections")].setValue(20)
    panel.widgets[("task", "min_score")].setValue(0.3)
    panel.widgets[("task", "nms_iou")].setValue(0.6)
    panel.widgets[("task", "size_weight")].setValue(0.25)
    t = doc.project.task
    assert (t.max_detections, t.min_score, t.nms_iou, t.size_weight) == (20, 0.3, 0.6, 0.25)
    assert doc.undo_stack.count() == count + 4
    doc.undo()
    assert doc.project.task.size_weight == 0.1
    assert panel.widgets[("task", "size_weight")].value() == pytest.approx(0.1)
    choose(panel.widgets[("task", "kind")], "segmentation")
    panel.widgets[("task", "ignore_index")].setValue(0)
    assert doc.project.task.ignore_index == 0
    doc.set_field("task", "ignore_index", 254)  # e.g. a script: the field follows
    assert panel.widgets[("task", "ignore_index")].value() == 254


def test_lr_curve_follows_the_schedule(panel, qtbot):
    doc = panel.document
    doc.set_field("training", "epochs", 20)
    panel.update_curve()
    wait_idle(qtbot, panel.lr_jobs)
    flat = list(panel.curve_y)
    assert flat and max(flat) == pytest.approx(min(flat)) == pytest.approx(1e-3)
    choose(panel.widgets[("training", "schedule")], "cosine")
    qtbot.waitUntil(lambda: panel.curve_y != flat and not panel.lr_jobs.busy, timeout=10000)
    cosine = list(panel.curve_y)
    assert cosine[0] == pytest.approx(1e-3) and cosine[-1] < 1e-5
    choose(panel.widgets[("training", "schedule")], "step")
    assert panel.sched_form.isRowVisible(panel.widgets[("training", "step_size")])
    panel.widgets[("training", "step_size")].setValue(5)
    qtbot.waitUntil(lambda: panel.curve_y not in (flat, cosine) and not panel.lr_jobs.busy,
                    timeout=10000)
    values = sorted({round(v, 12) for v in panel.curve_y})
    assert values == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3])
    x, y = panel.curve.getData()
    assert list(y) == pytest.approx(panel.curve_y)


def test_nothing_needs_torch_until_the_panel_is_shown(qtbot):
    p = HyperparamsPanel(GraphDocument(chain_project()))
    qtbot.addWidget(p)
    p.show()
    p.document.set_field("training", "schedule", "cosine")
    assert not p._curve_timer.isActive()  # no curve scheduled
    assert not p.lr_jobs.busy and not p.device_jobs.busy and p.curve_y == []
    p.activate()
    qtbot.waitUntil(lambda: p.curve_y != [], timeout=20000)
    p.shutdown()


def test_device_list_has_auto_and_cpu(panel, qtbot):
    panel.load_devices()
    wait_idle(qtbot, panel.device_jobs)
    box = panel.device
    data = [box.itemData(i) for i in range(box.count())]
    assert data[:2] == ["auto", "cpu"]
    choose(box, "cpu")
    assert panel.document.project.training.device == "cpu"
    assert box.currentData() == "cpu"


def test_remote_hosts_are_listed_and_selectable(panel):
    panel.hosts = ["lab"]
    panel.set_gpus(["Test GPU"])
    box = panel.device
    i = box.findData("remote:lab")
    assert i >= 0 and box.findData("cuda:0") == 2
    assert box.model().item(i).isEnabled()
    assert "lab" in box.itemData(i, Qt.ItemDataRole.ToolTipRole)


def test_the_lr_curve_and_the_device_list_need_no_torch_in_the_editor():
    """The schedule preview uses the engine's own schedule, torch-free; the CUDA devices
    come from the warm worker (a torch import in the GUI process competed with the first
    run for the GIL when the Train perspective first showed the panel)."""
    import subprocess
    import sys

    code = ("import sys; from app.panels.hyperparams_jobs import lr_curve, remote_hosts; "
            "from engine.project import TrainingConfig; "
            "x, y = lr_curve(TrainingConfig(schedule='cosine', epochs=3), 10); "
            "assert len(x) == len(y) > 10; remote_hosts(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_the_devices_a_warm_worker_reports_are_listed(ws):
    ws.training.warm.gpus_found.emit(["Test GPU", "Other GPU"])
    box = ws.setup.hyperparams_panel.device
    assert box.findData("cuda:0") >= 0 and box.findData("cuda:1") >= 0
    assert "Test GPU" in box.itemText(box.findData("cuda:0"))
