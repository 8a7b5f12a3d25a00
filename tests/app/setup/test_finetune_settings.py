"""Fine-tuning settings in the panels: the Hyperparameters panel's Fine-tuning group, the
dataset panel's fixed normalisation, the status bar's trainable/total parameters, and the
training panel's report of where a run's weights came from."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from app.document import GraphDocument
from app.panels.dataset import DatasetPanel
from app.panels.hyperparams import HyperparamsPanel
from app.panels.training import TrainingPanel
from app.window.features.pretrained import PretrainedFeature
from engine.project import load_project, save_project
from engine.train.events import RunStarted, Unfrozen, WeightsLoaded
from engine.zoo.catalog import BY_KEY, composite_graph
from tests.app.conftest import chain_project


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    p.resize(420, 1200)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def _list(panel) -> list[tuple[str, bool]]:
    blocks = panel.finetune.blocks
    return [(blocks.item(i).data(Qt.ItemDataRole.UserRole),
             blocks.item(i).checkState() == Qt.CheckState.Checked)
            for i in range(blocks.count())]


def test_each_fine_tuning_edit_is_one_undo_step(panel, qtbot):
    doc, ft = panel.document, panel.finetune
    count = doc.undo_stack.count()
    ft.init_from.edit.setText("/data/runs/r1/weights.safetensors")
    ft.init_from.edit.editingFinished.emit()
    assert doc.project.training.init_from == "/data/runs/r1/weights.safetensors"
    ft.freeze_bn.setChecked(False)
    assert doc.project.training.freeze_bn is False
    ft.unfreeze_epoch.setValue(3)
    assert doc.project.training.unfreeze_epoch == 3
    assert doc.undo_stack.count() == count + 3
    panel.show()
    qtbot.waitExposed(panel)
    clear = ft.init_from.edit.findChild(QToolButton)  # the field's clear button
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert doc.project.training.init_from == ""
    assert ft.init_from.text() == ""
    doc.undo()
    assert ft.init_from.text() == "/data/runs/r1/weights.safetensors"


def test_a_file_inside_a_run_folder_initialises_from_the_run(panel, tmp_path):
    run = tmp_path / "run1"
    run.mkdir()
    (run / "events.jsonl").write_text("")
    (run / "weights.safetensors").write_bytes(b"")
    ft = panel.finetune
    ft.init_from.committed.emit(str(run / "weights.safetensors"))
    assert panel.document.project.training.init_from == str(run)
    loose = tmp_path / "backbone.safetensors"
    loose.write_bytes(b"")
    ft.init_from.committed.emit(str(loose))
    assert panel.document.project.training.init_from == str(loose)


def test_blocks_to_unfreeze_list_the_model_and_follow_freezing(panel, qtbot):
    doc = panel.document
    with qtbot.waitExposed(panel):
        panel.show()
    assert _list(panel) == [("fc1", False), ("act", False), ("fc2", False)]
    assert not panel.finetune.blocks.isEnabled()  # no second phase yet
    doc.set_field("training", "unfreeze_epoch", 2)
    assert panel.finetune.blocks.isEnabled()
    doc.set_trainable("model", ["fc1"], False)
    assert "frozen" in panel.finetune.blocks.item(0).text()
    count = doc.undo_stack.count()
    panel.finetune.blocks.item(0).setCheckState(Qt.CheckState.Checked)
    assert doc.project.training.unfreeze == ["fc1"]
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.project.training.unfreeze == []
    assert _list(panel)[0] == ("fc1", False)
    # edits made while the panel is hidden show when it comes back
    panel.hide()
    doc.set_trainable("model", ["fc2"], False)
    panel.show()
    assert "frozen" in panel.finetune.blocks.item(2).text()


def test_fine_tuning_settings_survive_saving_and_reopening(panel, qtbot, tmp_path):
    doc, ft = panel.document, panel.finetune
    ft.init_from.committed.emit("runs/base")
    ft.freeze_bn.setChecked(False)
    ft.unfreeze_epoch.setValue(4)
    ft.blocks.item(2).setCheckState(Qt.CheckState.Checked)
    assert doc.project.training.unfreeze == ["fc2"]
    path = tmp_path / "ft.lforge"
    save_project(doc.project, path)
    fresh = HyperparamsPanel(GraphDocument(load_project(path)))
    qtbot.addWidget(fresh)
    f = fresh.finetune
    assert f.init_from.text() == "runs/base"
    assert not f.freeze_bn.isChecked()
    assert f.unfreeze_epoch.value() == 4
    assert f.checked_blocks() == ["fc2"]
    fresh.shutdown()


def test_dataset_panel_shows_the_backbone_normalisation_and_can_drop_it(qtbot):
    doc = GraphDocument(chain_project())
    p = DatasetPanel(doc)
    qtbot.addWidget(p)
    prep = p.prep_box
    assert not prep.form.isRowVisible(prep.fixed_norm)
    entry = BY_KEY["resnet18"]
    doc.insert_composite("model", "resnet18", composite_graph(entry), (0.0, 300.0),
                         dataset={"image_size": 224, "mean": list(entry.mean),
                                  "std": list(entry.std)})
    assert prep.form.isRowVisible(prep.fixed_norm)
    assert prep.fixed_norm.text() == ("Normalised as ResNet-18 expects: mean [0.485, 0.456, "
                                      "0.406], std [0.229, 0.224, 0.225], 224×224")
    count = doc.undo_stack.count()
    qtbot.mouseClick(prep.own_stats, Qt.MouseButton.LeftButton)
    assert (doc.project.dataset.mean, doc.project.dataset.std) == (None, None)
    assert not prep.form.isRowVisible(prep.fixed_norm)
    assert doc.undo_stack.count() == count + 1
    doc.undo()
    assert doc.project.dataset.mean == list(entry.mean)
    p.shutdown()


def test_status_bar_shows_trainable_of_total_parameters_after_freezing(ws):
    assert ws.totals.text().startswith("model: 5 blocks · 259 parameters")
    ws.document.set_trainable("model", ["fc1"], False)  # 4*32+32 = 160 frozen
    assert "trainable 99 of 259 parameters" in ws.totals.text()
    ws.document.undo()
    assert "trainable" not in ws.totals.text()


def test_status_bar_counts_a_frozen_composite_as_frozen(ws):
    name, gid = ws.document.group("model", ["fc1", "act"], "hidden")
    assert "259 parameters" in ws.totals.text()
    ws.document.set_trainable(name, ["fc1"], False)  # frozen inside the composite
    assert "trainable 99 of 259" in ws.totals.text()


def test_training_panel_reports_the_loaded_weights_until_the_next_fresh_run(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.on_event(RunStarted(parameters=1000, trainable_parameters=10, device="cpu"))
    assert "Training 10 of 1,000 parameters" in panel.status.text()
    ev = WeightsLoaded(source="hf:microsoft/resnet-18", loaded=62, skipped=2, new=2,
                       skipped_keys=["head.weight: shape [10, 512] vs [1000, 512]",
                                     "head.bias: shape [10] vs [1000]"])
    panel.on_event(ev)
    panel.on_event(Unfrozen(epoch=3, blocks=["backbone"], trainable_parameters=1000))
    assert panel.init_line.isVisibleTo(panel)
    assert panel.init_lines == [
        "Loaded 62 tensors from hf:microsoft/resnet-18, skipped 2 (head.weight: shape "
        "[10, 512] vs [1000, 512]; head.bias: shape [10] vs [1000]), 2 new (freshly "
        "initialised)",
        "Epoch 3: unfroze 1 block(s) (backbone); 1,000 parameters train now"]
    panel.on_event(RunStarted(parameters=1000))
    assert panel.init_lines == []


def test_initialise_from_file_sets_the_training_field_in_one_step(ws, tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")
    feature = PretrainedFeature(ws.window, ws.document, ws.tabs, ws.palette,
                                before=ws.actions.quit, pick_init=lambda: str(weights))
    count = ws.document.undo_stack.count()
    feature.init_action.trigger()
    assert ws.document.project.training.init_from == str(weights)
    assert ws.document.undo_stack.count() == count + 1
    feature.shutdown()
