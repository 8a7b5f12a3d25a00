"""A zoo backbone's weights from a local .safetensors file (the Hub's file kept elsewhere):
checked when chosen, then loaded at a run's start like the Hub's."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine.compile import compile_graph
from engine.project import Edge, Graph, Node, Project
from engine.zoo import ZooError
from engine.zoo.catalog import composite_graph, entry, entry_config, local_weights
from engine.zoo.weights import pretrained_state

transformers = pytest.importorskip("transformers")


def hub_checkpoint(key: str):
    config = {k: v for k, v in entry_config(entry(key)).items()
              if k not in ("model_type", "architectures")}
    torch.manual_seed(0)
    return transformers.ResNetForImageClassification(transformers.ResNetConfig(**config)).eval()


def test_a_local_copy_of_a_zoo_checkpoint_loads_like_the_hub_one(tmp_path):
    hf = hub_checkpoint("resnet18")
    path = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, str(path))
    ref = local_weights(entry("resnet18"), str(path))
    assert ref.source == str(path) and ref.entry == "resnet18" and len(ref.sha256) == 64
    backbone = composite_graph(entry("resnet18"), image_size=64).model_copy(
        update={"weights": ref})
    model = Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, 64, 64]}),
                         Node(id="backbone", type="Group", params={"graph": "resnet18"}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="image", dst="backbone", dst_port="image"),
                         Edge(src="backbone", dst="out")])
    project = Project(graphs={"model": model, "resnet18": backbone})
    gm = compile_graph(model, "model", library=project.graphs)
    gm.load_state_dict(pretrained_state(project, "model"), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = hf.resnet(pixel_values=x).pooler_output.flatten(1)
        assert (gm.eval()(x) - want).abs().max() <= 1e-5


def test_a_file_of_another_network_is_refused_with_its_name(tmp_path):
    other = tmp_path / "resnet50.safetensors"
    save_file({k: v.contiguous() for k, v in hub_checkpoint("resnet50").state_dict().items()},
              str(other))
    with pytest.raises(ZooError, match="resnet50.safetensors is not a ResNet-18 checkpoint"):
        local_weights(entry("resnet18"), str(other))
    junk = tmp_path / "junk.safetensors"
    save_file({"x": torch.zeros(3)}, str(junk))
    with pytest.raises(ZooError, match="junk.safetensors is not a ResNet-18 checkpoint"):
        local_weights(entry("resnet18"), str(junk))
