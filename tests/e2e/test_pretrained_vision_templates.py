"""The pretrained vision templates ("U-Net, pretrained ResNet-18 encoder" and "Detector,
pretrained ResNet-18 backbone"), as a new user gets them: ``layerforge new --template``, the
ResNet-18 weights from the (loopback) Hub on first use, shared by the encoder's stage
composites, and a short run offline-trained on the built-in scenes. The shipped files are
what :func:`engine.vision.encoders.pretrained_template` makes from the base templates."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from engine.project import load_project
from engine.templates import list_templates, load_template
from engine.vision.encoders import PRETRAINED_TEMPLATES, pretrained_template
from tests.engine.cli_helpers import run_cli
from tests.engine.zoo.hubserver import hub_fixture, publish_resnet18  # noqa: F401 - the hub fixture

transformers = pytest.importorskip("transformers")

SHIPPED = [n for n, (base, _, _) in PRETRAINED_TEMPLATES.items() if base in list_templates()]



@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_pretrained_templates_are_what_the_generator_makes(name):
    want = pretrained_template(name).model_dump(mode="json")
    assert load_template(name).model_dump(mode="json") == want, (
        f"resources/examples/{name}.lforge differs from what its base template now gives; "
        "rewrite it with `python -m engine.vision.encoders`")


@pytest.mark.parametrize("name", SHIPPED)
def test_a_pretrained_template_chains_stages_of_one_checkpoint_into_its_decoder(name):
    project = load_template(name)
    model = project.graphs["model"]
    groups = [n for n in model.nodes if n.type == "Group"]
    assert [n.id for n in groups] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert all(not n.trainable and n.lr_mult == 0.1 for n in groups)
    assert project.training.unfreeze == [n.id for n in groups]
    assert 0 < project.training.unfreeze_epoch <= project.training.epochs
    refs = [project.graphs[n.params["graph"]].weights for n in groups]
    assert all(r == refs[0] for r in refs) and refs[0].source == "hf:microsoft/resnet-18"
    assert project.dataset.mean == [0.485, 0.456, 0.406]
    assert project.dataset.std == [0.229, 0.224, 0.225]
    # skip connections: stage outputs feed the decoder's Concat blocks, not only the next stage
    skips = {e.src for e in model.edges if model.node(e.dst).type == "Concat"
             and model.node(e.src).type == "Group"}
    assert {"layer1", "layer2", "layer3"} <= skips


def test_the_pretrained_unet_fetches_its_encoder_and_trains_offline(hub, tmp_path, monkeypatch):
    """One short epoch: the encoder (frozen throughout) keeps the Hub's tensors exactly."""
    if "unet_resnet18" not in SHIPPED:
        pytest.skip("the U-Net template is not there yet")
    state = publish_resnet18(hub)
    monkeypatch.chdir(tmp_path)
    assert run_cli("new", "u.lforge", "--template", "unet_resnet18").code == 0
    project = load_project(tmp_path / "u.lforge")
    project.dataset.samples = 40
    project.training = project.training.model_copy(update={
        "batch_size": 8, "threads": 1, "device": "cpu", "epochs": 1, "unfreeze_epoch": 0, "unfreeze": []})
    (tmp_path / "u.lforge").write_text(project.model_dump_json())
    assert run_cli("validate", "u.lforge").code == 0
    result = run_cli("train", "u.lforge", "--out", "run")
    assert result.code == 0, result.err
    # the five stages read one checkpoint: named together, once
    assert ("Loading the pretrained weights of resnet18_stem, resnet18_layer1, resnet18_layer2, "
            "resnet18_layer3, resnet18_layer4 (hf:microsoft/resnet-18)") in result.err
    report = json.loads((tmp_path / "run" / "init.json").read_text())
    loaded = report["reports"][0]["loaded"]
    assert "stem.stem_conv.weight" in loaded and "layer4.s4_b1_conv2.weight" in loaded
    assert not any(k.startswith("up") for k in loaded)  # the decoder starts fresh
    final = load_file(str(tmp_path / "run" / "weights.safetensors"))
    hub_layer4 = state["resnet.encoder.stages.3.layers.1.layer.1.convolution.weight"]
    assert torch.equal(final["model/model/layer4.s4_b1_conv2.weight"], hub_layer4)  # frozen
    with (tmp_path / "run" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and 0.0 <= float(rows[-1]["val_miou"]) <= 1.0
