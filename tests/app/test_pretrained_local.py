"""A backbone's weights from a local .safetensors file, from its card: the file is checked
in the background, then the backbone lands in one undo step, its weights pointing at the
file; a file of another network is refused with a sentence and nothing changes."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from app.window.features import pretrained as module
from engine.zoo.catalog import entry as zoo_entry
from engine.zoo.catalog import entry_config

transformers = pytest.importorskip("transformers")


def checkpoint(tmp_path, key: str):
    config = {k: v for k, v in entry_config(zoo_entry(key)).items()
              if k not in ("model_type", "architectures")}
    torch.manual_seed(0)
    net = transformers.ResNetForImageClassification(transformers.ResNetConfig(**config))
    path = tmp_path / f"{key}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def test_use_local_file_adds_the_backbone_with_the_file_as_its_weights(ws, qtbot, tmp_path):
    path = checkpoint(tmp_path, "resnet18")
    feature = ws.pretrained
    feature.pick_weights = lambda: str(path)
    card = feature.show_card("resnet18")
    steps = ws.document.undo_stack.count()
    with qtbot.waitSignal(feature.local_jobs.finished, timeout=60_000):
        card.local_button.click()
    qtbot.waitUntil(lambda: "resnet18" in ws.document.project.graphs)
    ref = ws.document.project.graphs["resnet18"].weights
    assert ref.source == str(path.resolve()) and ref.entry == "resnet18" and ref.sha256
    assert ws.document.project.dataset.mean == [0.485, 0.456, 0.406]
    assert ws.document.undo_stack.count() == steps + 1
    ws.document.undo()
    assert "resnet18" not in ws.document.project.graphs


def test_a_file_of_another_network_is_refused_and_nothing_changes(ws, qtbot, tmp_path,
                                                                   monkeypatch):
    path = checkpoint(tmp_path, "resnet50")
    said = []
    monkeypatch.setattr(module.QMessageBox, "warning",
                        lambda _parent, _title, text: said.append(text))
    before = ws.document.to_json()
    with qtbot.waitSignal(ws.pretrained.local_jobs.failed, timeout=60_000):
        assert ws.pretrained.add_local("resnet18", path=str(path))
    assert said and "is not a ResNet-18 checkpoint" in said[0]
    assert ws.document.to_json() == before
