"""Zoo tests: each architecture's graph against the transformers model it reproduces.

Shared checks (used by the test_<arch>.py files): ``randomize_norms`` gives BatchNorm
layers non-trivial statistics, so that a mix-up between weights and running statistics
shows; ``compare`` builds our graph, loads the mapped transformers weights strictly and
returns both pooled outputs; ``shapes_match_analysis`` then checks every block's analysed
shape against the real tensor of that run.
"""

from __future__ import annotations

import torch
from torch.fx.passes.shape_prop import ShapeProp

from engine.compile import compile_graph
from engine.shapes import analyze_graph


def randomize_norms(model: torch.nn.Module) -> None:
    """Random scale, shift and running statistics for every BatchNorm (in place)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


def hf_config(cls, config: dict):
    """A transformers config object from a zoo config dict."""
    return cls(**{k: v for k, v in config.items() if k not in ("model_type", "architectures")})


def compare(zoo, hf_model, config: dict, size: int, batch: int = 2, seed: int = 0):
    """(transformers pooled features, ours, compiled graph, graph) for one random batch."""
    hf_model.eval()
    graph = zoo.build(config, size)
    gm = compile_graph(graph, "backbone")
    gm.load_state_dict(zoo.map_keys(hf_model.state_dict(), config), strict=True)
    gm.eval()
    torch.manual_seed(seed)
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        want = hf_model(pixel_values=x).pooler_output.flatten(1)
        got = ShapeProp(gm).propagate(x)  # records each block's output shape
    return want, got, gm, graph


def shapes_match_analysis(gm, graph) -> int:
    """Assert every block's analysed shape equals its real output in the last run of
    ``compare``; returns the number of blocks checked."""
    analysis = analyze_graph(graph, "backbone")
    assert analysis.ok, analysis.errors
    checked = 0
    for node in gm.graph.nodes:
        info = analysis.nodes.get(node.name)
        if info is None or info.out is None or "tensor_meta" not in node.meta:
            continue
        assert tuple(node.meta["tensor_meta"].shape[1:]) == info.out.shape, node.name
        checked += 1
    return checked


def assert_conventions(graph, size: int, channels: int) -> None:
    """Input ``image`` [3, S, S], one Output ``features`` [C], laid out top to bottom."""
    analysis = analyze_graph(graph, "backbone")
    assert analysis.ok, analysis.errors
    inputs = [n for n in graph.nodes if n.type == "Input"]
    outputs = [n for n in graph.nodes if n.type == "Output"]
    assert [n.id for n in inputs] == ["image"] and inputs[0].params["shape"] == [3, size, size]
    assert [n.id for n in outputs] == ["features"]
    assert analysis.nodes["features"].out.shape == (channels,)
    assert graph.flow == "down"
    positions = [n.position for n in graph.nodes]
    assert len(set(positions)) == len(positions), "blocks laid on top of each other"


def assert_reproduces(zoo, hf_model, config: dict, size: int, blocks: int, batch: int = 2):
    """Our graph of ``config`` gives ``hf_model``'s features within 1e-5, more than
    ``blocks`` analysed shapes equal the real ones, and the parameter counts agree.
    Returns (features, graph)."""
    want, got, gm, graph = compare(zoo, hf_model, config, size, batch=batch)
    assert (want - got).abs().max().item() <= 1e-5
    assert shapes_match_analysis(gm, graph) > blocks
    assert analyze_graph(graph).total_params == sum(p.numel() for p in hf_model.parameters())
    return got, graph


def assert_every_shape(graph, analysis, gm, x: torch.Tensor) -> None:
    """Run ``x`` through ``gm``: every block's real output shape is its analysed one."""
    ShapeProp(gm).propagate(x)
    seen = 0
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        assert tuple(node.meta["tensor_meta"].shape[1:]) == analysis.nodes[node.name].out.shape
        seen += 1
    assert seen == len(graph.nodes) - 2


def assert_head_reads_the_features(zoo, hf_classifier, gm, config: dict, x: torch.Tensor) -> None:
    """The ``...ForImageClassification`` state dict is the backbone under ``zoo.PREFIX`` plus
    the head ``zoo.HEAD``, and that head on our features gives its logits."""
    state = hf_classifier.state_dict()
    backbone = {k[len(zoo.PREFIX):]: v for k, v in state.items() if k.startswith(zoo.PREFIX)}
    assert {k for k in state if not k.startswith(zoo.PREFIX)} == {
        f"{zoo.HEAD}.weight", f"{zoo.HEAD}.bias"}
    gm.load_state_dict(zoo.map_keys(backbone, config), strict=True)
    with torch.no_grad():
        logits = gm(x) @ state[f"{zoo.HEAD}.weight"].T + state[f"{zoo.HEAD}.bias"]
        torch.testing.assert_close(logits, hf_classifier(x).logits, atol=1e-5, rtol=0)
