"""Every zoo architecture, used as a composite under a new head, goes through every export
(ONNX at two batch sizes, safetensors, model.py checked in a fresh process, pt2)."""

from __future__ import annotations

import importlib

import pytest
import torch

from engine.export import export
from engine.export.weights import load_model
from engine.project import Edge, Graph, Node, Project, save_project
from engine.shapes import analyze_project
from tests.engine.zoo.test_convnext import TINY as CONVNEXT
from tests.engine.zoo.test_efficientnet import TINY as EFFICIENTNET
from tests.engine.zoo.test_mobilenet_v2 import TINY as MOBILENET
from tests.engine.zoo.test_resnet import TINY_BASIC as RESNET
from tests.engine.zoo.test_vit import TINY as VIT

CASES = {"resnet": (RESNET, 32), "mobilenet_v2": (MOBILENET, 32),
         "efficientnet": (EFFICIENTNET, 32), "convnext": (CONVNEXT, 32), "vit": (VIT, 32)}


def fine_tuned_project(arch: str) -> Project:
    """Input -> backbone (composite, partly frozen) -> new head, as a user fine-tunes it."""
    config, size = CASES[arch]
    backbone = importlib.import_module(f"engine.zoo.{arch}").build(config, size, layout=False)
    backbone.nodes[1].trainable = False
    model = Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, size, size]}),
                         Node(id="backbone", type="Group", params={"graph": "backbone"}),
                         Node(id="head", type="Linear", params={"out_features": 4}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="image", dst="backbone", dst_port="image"),
                         Edge(src="backbone", dst="head"), Edge(src="head", dst="out")])
    return Project(name=f"{arch} fine-tuned", graphs={"model": model, "backbone": backbone})


@pytest.mark.parametrize("arch", sorted(CASES))
def test_a_fine_tuned_backbone_passes_every_export(tmp_path, arch):
    project = fine_tuned_project(arch)
    assert all(a.ok for a in analyze_project(project).values())
    path = tmp_path / "p.lforge"
    save_project(project, path)
    onnx = export(path, "onnx", tmp_path / "onnx")
    assert set(onnx.max_abs_diff) == {"batch 1", "batch 3"}, onnx.max_abs_diff
    assert onnx.worst_diff <= onnx.tolerance
    code = export(path, "python", tmp_path / "py")  # checked in a fresh process
    text = (tmp_path / "py" / "model.py").read_text()
    assert "self.backbone = Backbone()" in text and "backbone = self.backbone(image)" in text
    assert code.files
    st = export(path, "safetensors", tmp_path / "st")
    module = load_model(st.files[0])
    size = CASES[arch][1]
    x = torch.randn(2, 3, size, size)
    assert module(x).shape == (2, 4)
    pt2 = export(path, "pt2", tmp_path / "pt2")
    assert pt2.files


def test_the_model_card_names_the_backbone_s_source_and_licence(tmp_path):
    """A fine-tuned model keeps its backbone's terms: the card says where the starting
    weights came from and under which licence."""
    from engine.zoo.catalog import entry, info_of, weights_of

    project = fine_tuned_project("resnet")
    e = entry("resnet18")
    project.graphs["backbone"].weights = weights_of(e)
    project.graphs["backbone"].info = info_of(e)
    path = tmp_path / "p.lforge"
    save_project(project, path)
    export(path, "safetensors", tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Pretrained weights" in card
    assert ("- `backbone`: ResNet-18 weights from hf:microsoft/resnet-18 at revision main; "
            "licence: Apache-2.0\n") in card
    assert "this untrained export does not hold them" in card
