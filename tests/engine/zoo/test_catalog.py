"""The zoo catalog: the palette's pretrained backbones, listed without torch, each building
a composite whose card, weights reference and preprocessing are filled in, and whose Hub
weights load into a project's model (loopback Hub, random weights)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from engine.errors import UserError
from engine.project import Edge, Graph, Node, Project
from engine.shapes import analyze_graph
from engine.zoo import ARCHES, arch_module
from engine.zoo.catalog import ENTRIES, composite_graph, entry, entry_config, fetch_weights
from tests.engine.zoo.hubserver import hub_fixture, sha256  # noqa: F401 - the hub fixture

transformers = pytest.importorskip("transformers")


def test_listing_the_zoo_imports_nothing_heavy():
    code = ("import sys, engine.zoo.catalog as c; "
            "print([e.title for e in c.ENTRIES]); "
            "print(sorted(m for m in ('torch', 'huggingface_hub', 'safetensors', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    titles, heavy = out.stdout.splitlines()
    assert titles == str(["ResNet-18", "ResNet-50", "ConvNeXt-Tiny", "MobileNetV2",
                          "EfficientNet-B0", "ViT-B/16"])
    assert heavy == "[]"


def test_every_entry_is_complete():
    assert len({e.key for e in ENTRIES}) == len(ENTRIES)
    for e in ENTRIES:
        assert e.arch in ARCHES
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", e.repo)
        assert e.revision == "main" or re.fullmatch(r"[0-9a-f]{40}", e.revision), e.key
        assert e.licence and e.accuracy and e.source and e.title
        assert len(e.mean) == len(e.std) == 3 and all(s > 0 for s in e.std)
        assert e.image_size == 224 and e.params > 1_000_000


@pytest.mark.parametrize("e", ENTRIES, ids=[e.key for e in ENTRIES])
def test_composite_of_each_entry(e):
    graph = composite_graph(e)
    analysis = analyze_graph(graph, e.key)
    assert analysis.ok, analysis.errors[:1]
    assert [n.id for n in graph.nodes if n.type == "Input"] == ["image"]
    assert analysis.input_specs()[0].shape == (3, 224, 224)
    (features,) = analysis.output_specs()[0].shape
    # the card's count is the published classifier's: our backbone plus its head
    labels = entry_config(e).get("num_labels", 1000)
    assert analysis.total_params + features * labels + labels == e.params
    assert graph.weights.source == f"hf:{e.repo}" and graph.weights.revision == e.revision
    assert graph.weights.arch == e.arch and graph.weights.prefix == arch_module(e.arch).PREFIX
    assert graph.preprocess.mean == list(e.mean) and graph.preprocess.std == list(e.std)
    assert graph.info.title == e.title and graph.info.licence == e.licence
    assert graph.info.accuracy == e.accuracy


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(UserError, match=r"'bert' is not supported; .*resnet.*vit"):
        arch_module("bert")
    with pytest.raises(UserError, match=r"no pretrained model 'resnet19' .*resnet18"):
        entry("resnet19")


def test_zoo_weights_from_the_hub_load_into_the_model(hub, tmp_path):
    """ResNet-18's entry, its weights served by the loopback Hub (random, the real shapes):
    the project's model gives the transformers model's pooled features."""
    e = entry("resnet18")
    config = transformers.ResNetConfig(**{k: v for k, v in entry_config(e).items()
                                          if k not in ("model_type", "architectures")})
    torch.manual_seed(1)
    reference = transformers.ResNetForImageClassification(config).eval()
    folder = tmp_path / "hf"
    reference.save_pretrained(folder)
    files = {n: (folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    commit = hub.add(e.repo, files, commit="0" * 40 if e.revision == "main" else e.revision)

    seen = []
    ref = fetch_weights(e, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] == len(files["model.safetensors"])  # progress to the end
    assert ref.revision == commit and ref.sha256 == sha256(files["model.safetensors"])
    backbone = composite_graph(e, image_size=64).model_copy(update={"weights": ref})
    model = Graph(nodes=[Node(id="image", type="Input", params={"shape": [3, 64, 64]}),
                         Node(id="resnet", type="Group", params={"graph": "resnet18"}),
                         Node(id="features", type="Output")],
                  edges=[Edge(src="image", dst="resnet", dst_port="image"),
                         Edge(src="resnet", dst="features")])
    project = Project(graphs={"model": model, "resnet18": backbone})
    from engine.compile import compile_graph
    from engine.zoo.weights import pretrained_state

    before = len(hub.requests)
    state = pretrained_state(project, "model")  # from the cache, pinned to the commit
    assert len(hub.requests) == before  # not even a HEAD
    ours = compile_graph(model, "model", library=project.graphs).eval()
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = reference.resnet(pixel_values=x).pooler_output.flatten(1)
        got = ours(x)
    assert (got - want).abs().max().item() <= 1e-5
