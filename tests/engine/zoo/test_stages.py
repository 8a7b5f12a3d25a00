"""A zoo backbone cut into stage composites (for a U-Net's encoder): the chain, loaded with
the real checkpoint from the (loopback) Hub, computes what the whole backbone computes and
what transformers' ResNetModel gives at every stage; each stage takes only its own
tensors from the shared checkpoint."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save, save_file

from engine.compile import compile_graph
from engine.errors import UserError
from engine.project import Edge, Graph, Node, Project
from engine.zoo.catalog import composite_graph, entry, entry_config, local_weights
from engine.zoo.stages import backbone_stages
from engine.zoo.weights import pretrained_state
from tests.engine.zoo import hf_config, randomize_norms
from tests.engine.zoo.hubserver import hub_fixture  # noqa: F401 - the hub fixture

transformers = pytest.importorskip("transformers")
SIZE = 64


def _publish_resnet18(hub) -> torch.nn.Module:
    """A random ResNet-18 (random BatchNorm statistics too) published as microsoft/resnet-18."""
    torch.manual_seed(0)
    model = transformers.ResNetForImageClassification(
        hf_config(transformers.ResNetConfig, entry_config(entry("resnet18"))))
    randomize_norms(model)
    hub.add("microsoft/resnet-18", {"model.safetensors": save(
        {k: v.contiguous() for k, v in model.state_dict().items()})})
    return model.eval()


def _chain(stages, pooled: bool) -> Graph:
    """image -> stage 1 -> ... -> stage n (-> pool -> flatten) -> Output."""
    nodes = [Node(id="image", type="Input", params={"shape": [3, SIZE, SIZE]})]
    edges, src, port = [], "image", "image"
    for s in stages:
        nid = s.name.rpartition("_")[2]
        nodes.append(Node(id=nid, type="Group", params={"graph": s.name}))
        edges.append(Edge(src=src, dst=nid, dst_port=port))
        src, port = nid, "x"
    if pooled:
        nodes += [Node(id="pool", type="AdaptiveAvgPool2d", params={"output_size": 1}),
                  Node(id="flatten", type="Flatten")]
        edges += [Edge(src=src, dst="pool"), Edge(src="pool", dst="flatten")]
        src = "flatten"
    nodes.append(Node(id="out", type="Output"))
    edges.append(Edge(src=src, dst="out"))
    return Graph(nodes=nodes, edges=edges)


def _whole(backbone: str = "resnet18") -> Graph:
    return Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, SIZE, SIZE]}),
                        Node(id="backbone", type="Group", params={"graph": backbone}),
                        Node(id="out", type="Output")],
                 edges=[Edge(src="image", dst="backbone", dst_port="image"),
                        Edge(src="backbone", dst="out")])


def _loaded(project: Project, name: str, state=None) -> torch.nn.Module:
    module = compile_graph(project.graphs[name], name, library=project.graphs)
    module.load_state_dict(state or pretrained_state(project, name), strict=True)
    return module.eval()


def test_resnet18_stages_have_the_strides_and_channels_a_decoder_needs():
    stages = backbone_stages("resnet18", SIZE)
    assert [(s.name, s.channels, s.stride) for s in stages] == [
        ("resnet18_stem", 64, 2), ("resnet18_layer1", 64, 4), ("resnet18_layer2", 128, 8),
        ("resnet18_layer3", 256, 16), ("resnet18_layer4", 512, 32)]
    whole = composite_graph(entry("resnet18"), SIZE)
    inner = [n.id for s in stages for n in s.graph.nodes if n.type not in ("Input", "Output")]
    assert inner == [n.id for n in whole.nodes][1:-3]  # every block once, the pooled tail left out
    for s in stages:
        assert s.graph.weights == whole.weights  # one checkpoint file for all
        assert s.graph.node("features").type == "Output"
    assert stages[1].graph.node("x").params["shape"] == [64, SIZE // 2, SIZE // 2]


def test_the_stage_chain_with_the_hub_weights_computes_the_whole_backbone(hub):
    hf = _publish_resnet18(hub)
    stages = backbone_stages("resnet18", SIZE)
    graphs = {"chain": _chain(stages, pooled=True), "features": _chain(stages, pooled=False),
              "whole": _whole(), "resnet18": composite_graph(entry("resnet18"), SIZE),
              **{s.name: s.graph for s in stages}}
    project = Project(graphs=graphs)
    state = pretrained_state(project, "chain")
    assert {k.partition(".")[0] for k in state} == {"stem", "layer1", "layer2", "layer3",
                                                    "layer4"}
    assert "stem.stem_conv.weight" in state and "layer4.s4_b1_bn2.running_var" in state
    assert not any(k.startswith("layer1.stem_") for k in state)  # only each stage's own
    chain, whole = _loaded(project, "chain", state), _loaded(project, "whole")
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        assert (chain(x) - whole(x)).abs().max().item() <= 1e-5
        want = hf.resnet(x, output_hidden_states=True).hidden_states  # stride 4, 4, 8, 16, 32
        got, h = {}, x
        for s in stages:
            h = getattr(chain, s.name.rpartition("_")[2])(h)
            got[s.stride] = h
    assert got[2].shape == (2, 64, SIZE // 2, SIZE // 2)
    for i, stride in enumerate((4, 8, 16, 32), start=1):
        assert (got[stride] - want[i]).abs().max().item() <= 1e-5, stride


def test_a_partial_composite_takes_its_own_tensors_and_a_stranger_none(hub):
    _publish_resnet18(hub)
    stages = backbone_stages("resnet18", SIZE)
    layer2 = stages[2]
    model = Graph(nodes=[Node(id="x", type="Input", params={"shape": [64, 16, 16]}),
                         Node(id="l2", type="Group", params={"graph": layer2.name}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="x", dst="l2", dst_port="x"), Edge(src="l2", dst="out")])
    project = Project(graphs={"model": model, layer2.name: layer2.graph})
    state = pretrained_state(project, "model")
    own = {n.id for n in layer2.graph.nodes}
    assert state and {k.split(".")[1] for k in state} <= own
    assert "l2.s2_b0_down_conv.weight" in state  # the stride-2 shortcut of layer2
    compile_graph(model, "model", library=project.graphs).load_state_dict(state, strict=True)
    # a composite with none of the architecture's blocks is refused with a sentence
    stranger = layer2.graph.model_copy(deep=True)
    for n in stranger.nodes:
        n.id = "my_" + n.id
    for e in stranger.edges:
        e.src, e.dst = "my_" + e.src, "my_" + e.dst
    model.edges[0].dst_port = "my_x"
    project.graphs[layer2.name] = stranger
    with pytest.raises(UserError, match=r"none of the \d+ pretrained tensors is for one of its "
                                        r"blocks .* which the model does not have"):
        pretrained_state(project, "model")


def test_bad_cuts_and_a_vit_are_refused_with_a_sentence():
    with pytest.raises(UserError, match="'s1_b0_conv2'.*a residual connection jumps over it"):
        backbone_stages("resnet18", SIZE, cuts=["stem_relu", "s1_b0_conv2"])
    with pytest.raises(UserError, match="not in the backbone's order"):
        backbone_stages("resnet18", SIZE, cuts=["s2_b1_relu", "s1_b1_relu"])
    with pytest.raises(UserError, match="ViT-B/16 has no convolutional stages"):
        backbone_stages("vit_b16", 224)
    custom = backbone_stages("resnet18", SIZE, cuts=["s1_b1_relu", "s4_b1_relu"])
    assert [(s.name, s.stride) for s in custom] == [("resnet18_stem", 4), ("resnet18_layer1", 32)]


def test_mobilenet_v2_stages_end_at_block_outputs_and_chain_to_the_whole(tmp_path):
    """Inverted residuals: a stage ends at a block's output, not inside the next block's
    expansion; the chain, with a local copy of the checkpoint, equals the whole backbone."""
    stages = backbone_stages("mobilenet_v2", SIZE)
    assert [(s.channels, s.stride) for s in stages] == [(16, 2), (24, 4), (32, 8), (96, 16),
                                                        (1280, 32)]
    torch.manual_seed(0)
    hf = transformers.MobileNetV2ForImageClassification(
        hf_config(transformers.MobileNetV2Config, entry_config(entry("mobilenet_v2"))))
    randomize_norms(hf)
    path = tmp_path / "mobilenet.safetensors"
    save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, str(path))
    ref = local_weights(entry("mobilenet_v2"), str(path))
    graphs = {"chain": _chain(stages, pooled=True), "whole": _whole("mobilenet_v2"),
              "mobilenet_v2": composite_graph(entry("mobilenet_v2"), SIZE)}
    graphs.update({s.name: s.graph for s in stages})
    for name in graphs:
        if graphs[name].weights is not None:
            graphs[name] = graphs[name].model_copy(update={"weights": ref})
    project = Project(graphs=graphs)
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        got, want = _loaded(project, "chain")(x), _loaded(project, "whole")(x)
    assert (got - want).abs().max().item() <= 1e-5
