"""Pretrained weights of composites from a local safetensors file: keyed like the compiled
model for every use (nested too), the prefix stripped, and any mismatch named."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine.compile import compile_graph
from engine.errors import UserError
from engine.project import Edge, Graph, Node, Project, WeightsRef
from engine.zoo.hub import file_sha256
from engine.zoo.weights import pretrained_state


def _encoder(ref: WeightsRef | None) -> Graph:
    return Graph(nodes=[Node(id="x", type="Input", params={"shape": [4]}),
                        Node(id="fc", type="Linear", params={"out_features": 3}),
                        Node(id="y", type="Output")],
                 edges=[Edge(src="x", dst="fc"), Edge(src="fc", dst="y")], weights=ref)


def _project(ref: WeightsRef) -> Project:
    """model: two uses of ``enc`` side by side, and ``outer`` (which uses ``enc``), added."""
    outer = Graph(nodes=[Node(id="x", type="Input", params={"shape": [4]}),
                         Node(id="inner", type="Group", params={"graph": "enc"}),
                         Node(id="y", type="Output")],
                  edges=[Edge(src="x", dst="inner", dst_port="x"), Edge(src="inner", dst="y")])
    model = Graph(nodes=[Node(id="image", type="Input", params={"shape": [4]}),
                         Node(id="a", type="Group", params={"graph": "enc"}),
                         Node(id="b", type="Group", params={"graph": "enc"}),
                         Node(id="o", type="Group", params={"graph": "outer"}),
                         Node(id="sum", type="Add"), Node(id="sum2", type="Add"),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="image", dst="a", dst_port="x"),
                         Edge(src="image", dst="b", dst_port="x"),
                         Edge(src="image", dst="o", dst_port="x"),
                         Edge(src="a", dst="sum", dst_port="in0"), Edge(src="b", dst="sum", dst_port="in1"),
                         Edge(src="sum", dst="sum2", dst_port="in0"),
                         Edge(src="o", dst="sum2", dst_port="in1"), Edge(src="sum2", dst="out")])
    return Project(graphs={"model": model, "enc": _encoder(ref), "outer": outer})


def _file(path, **extra):
    torch.manual_seed(0)
    tensors = {"encoder.fc.weight": torch.randn(3, 4), "encoder.fc.bias": torch.randn(3),
               "decoder.fc.weight": torch.randn(4, 3), **extra}
    save_file(tensors, str(path))
    return tensors


def test_every_use_gets_the_weights_keyed_like_the_compiled_model(tmp_path):
    tensors = _file(tmp_path / "enc.safetensors")
    ref = WeightsRef(source="enc.safetensors", prefix="encoder.",
                     sha256=file_sha256(tmp_path / "enc.safetensors"))
    project = _project(ref)
    state = pretrained_state(project, "model", base=tmp_path)
    assert sorted(state) == ["a.fc.bias", "a.fc.weight", "b.fc.bias", "b.fc.weight",
                             "o.inner.fc.bias", "o.inner.fc.weight"]
    model = compile_graph(project.graphs["model"], "model", library=project.graphs)
    model.load_state_dict(state, strict=True)
    x = torch.randn(2, 4)
    one = x @ tensors["encoder.fc.weight"].T + tensors["encoder.fc.bias"]
    assert torch.allclose(model(x), 3 * one, atol=1e-6)


def test_mismatches_are_named(tmp_path):
    path = tmp_path / "enc.safetensors"
    _file(path)
    cases = [
        (WeightsRef(source=str(path), prefix="encoder.", sha256="0" * 64), "the project records"),
        (WeightsRef(source=str(path), prefix="enc0der."), "no tensor whose name starts with"),
        (WeightsRef(source=str(path), prefix="decoder."), r"'a\.fc\.weight' has shape \[4, 3\] "
                                                          r"but block 'a' needs \[3, 4\]"),
        (WeightsRef(source=str(tmp_path / "nope.safetensors")), "does not exist"),
        (WeightsRef(source=str(tmp_path / "enc.bin")), "never loads pickled weights"),
        (WeightsRef(source=str(path), prefix=""), "which the model does not have"),
    ]
    for ref, message in cases:
        with pytest.raises(UserError, match=message):
            pretrained_state(_project(ref), "model")


def test_a_graph_without_pretrained_composites_gives_nothing():
    project = _project(WeightsRef(source="x.safetensors"))
    project.graphs["enc"] = _encoder(None)
    assert pretrained_state(project, "model") == {}
    with pytest.raises(UserError, match="no graph 'nope'"):
        pretrained_state(project, "nope")
