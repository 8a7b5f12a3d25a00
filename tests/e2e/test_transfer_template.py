"""The "Transfer learning" template, as a new user runs it: the ResNet-18 weights come from
the (loopback) Hub on first use, phase 1 trains only the head, phase 2 unfreezes the
backbone at a tenth of the learning rate, and the frozen phase leaves the backbone exact."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from engine.project import load_project, save_project
from engine.templates import load_template
from tests.engine.cli_helpers import run_cli
from tests.engine.zoo.hubserver import hub_fixture, publish_resnet18  # noqa: F401 - the hub fixture

transformers = pytest.importorskip("transformers")



def test_the_transfer_template_fetches_its_backbone_and_trains_in_two_phases(hub, tmp_path,
                                                                               monkeypatch):
    state = publish_resnet18(hub)
    monkeypatch.chdir(tmp_path)
    project = load_template("transfer")
    project.dataset.samples = 96
    project.training.batch_size = 16
    project.training.threads = 1
    project.training.device = "cpu"
    save_project(project, tmp_path / "t.lforge")
    assert run_cli("validate", "t.lforge").code == 0
    result = run_cli("train", "t.lforge", "--epochs", "3", "--out", "run")
    assert result.code == 0, result.err
    assert "loaded" in result.out.lower() and "unfroze" in result.out.lower()
    assert "Loading the pretrained weights of resnet18 (hf:microsoft/resnet-18)" in result.err
    report = json.loads((tmp_path / "run" / "init.json").read_text())
    loaded = report["reports"][0]["loaded"]
    assert "backbone.stem_conv.weight" in loaded and len(loaded) > 100
    final = load_file(str(tmp_path / "run" / "weights.safetensors"))
    stem = final["model/model/backbone.stem_conv.weight"]
    hub_stem = state["resnet.embedder.embedder.convolution.weight"]
    assert stem.shape == hub_stem.shape
    assert not torch.equal(stem, hub_stem)  # phase 2 trained the backbone too
    # the run recorded the backbone's preprocessing for every export
    data = json.loads((tmp_path / "run" / "data.json").read_text())
    assert data["mean"] == [0.485, 0.456, 0.406] and data["normalization"] == "fixed"
    assert load_project(tmp_path / "t.lforge").graphs["resnet18"].weights.source == \
        "hf:microsoft/resnet-18"
