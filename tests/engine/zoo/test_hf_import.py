"""`layerforge import hf:OWNER/NAME` end to end, against a loopback Hub.

A tiny random ResNet classifier (transformers' own ResNetForImageClassification) is
published on the loopback Hub; the imported project must validate and, with its pretrained
backbone weights and its head file loaded, give the Hub model's logits within 1e-5.
"""

from __future__ import annotations

import json

import pytest
import torch

from engine.compile import compile_graph
from engine.project import load_project
from engine.zoo.weights import pretrained_state
from tests.engine.cli_helpers import run_cli
from tests.engine.zoo.hubserver import hub_fixture, sha256  # noqa: F401 - the hub fixture

transformers = pytest.importorskip("transformers")

REPO = "tiny/resnet-test"
MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def _tiny_resnet(tmp_path):
    """A small ResNet with random weights and batch-norm statistics, saved as the Hub
    stores it: config.json and model.safetensors."""
    torch.manual_seed(0)
    config = transformers.ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic",
        num_labels=3, id2label={0: "cat", 1: "dog", 2: "bird"}, label2id={"cat": 0, "dog": 1, "bird": 2})
    model = transformers.ResNetForImageClassification(config).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    folder = tmp_path / "hf-model"
    model.save_pretrained(folder)
    pre = {"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 32},
           "crop_pct": 0.875, "image_mean": MEAN, "image_std": STD}
    files = {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}
    files["preprocessor_config.json"] = json.dumps(pre).encode()
    return model, files


def test_import_predicts_like_the_hub_model(hub, tmp_path, monkeypatch):
    model, files = _tiny_resnet(tmp_path)
    commit = hub.add(REPO, files)
    out = tmp_path / "proj" / "tiny.lforge"

    result = run_cli("import", f"hf:{REPO}", "-o", str(out))
    assert result.code == 0, result.text
    assert "3 classes" in result.out and "wrote" in result.out
    assert run_cli("validate", str(out)).code == 0

    project = load_project(out)
    backbone = project.graphs["backbone"]
    ref = backbone.weights
    assert ref is not None and ref.source == f"hf:{REPO}" and ref.revision == commit
    assert ref.sha256 == sha256(files["model.safetensors"]) and ref.arch == "resnet"
    assert backbone.preprocess is not None and backbone.preprocess.image_size == 32
    assert project.dataset.image_size == 32
    assert project.dataset.mean == MEAN and project.dataset.std == STD
    assert "0: cat" in project.notes and "2: bird" in project.notes
    assert project.training.init_from == "tiny.head.safetensors"
    model_graph = project.graphs["model"]
    assert [n.type for n in model_graph.nodes] == ["Input", "Group", "Linear", "Output"]

    from safetensors.torch import load_file

    ours = compile_graph(model_graph, "model", library=project.graphs).eval()
    state = pretrained_state(project, "model")
    state.update(load_file(str(out.with_name(project.training.init_from))))
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want = model(pixel_values=x).logits
        got = ours(x)
    assert (got - want).abs().max().item() <= 1e-5

    # the weights come from the cache afterwards, offline too
    before = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = pretrained_state(project, "model")
    assert len(hub.requests) == before
    assert all(torch.equal(again[k], state[k]) for k in again)


def test_import_a_pinned_revision_and_refuse_overwrites(hub, tmp_path, monkeypatch):
    _, files = _tiny_resnet(tmp_path)
    commit = hub.add(REPO, files)
    monkeypatch.chdir(tmp_path)
    result = run_cli("import", f"hf:{REPO}", "--revision", commit)
    assert result.code == 0, result.text
    assert (tmp_path / "resnet_test.lforge").is_file()
    assert (tmp_path / "resnet_test.head.safetensors").is_file()
    again = run_cli("import", f"hf:{REPO}")
    assert again.code == 2 and "already exists (use --force" in again.err
    assert run_cli("import", f"hf:{REPO}", "--force").code == 0
    wrong = run_cli("import", f"hf:{REPO}", "--revision", "nope", "-o", "x.lforge")
    assert wrong.code == 2 and "has no revision 'nope'" in wrong.err
    assert not (tmp_path / "x.lforge").exists()


def test_unsupported_architecture_and_pickles_are_refused(hub, tmp_path):
    hub.add("acme/bert", {"config.json": json.dumps({"model_type": "bert"}).encode(),
                          "model.safetensors": b"{}"})
    result = run_cli("import", "hf:acme/bert", "-o", str(tmp_path / "b.lforge"))
    assert result.code == 2
    assert "'bert' is not supported" in result.err and "resnet" in result.err and "vit" in result.err
    assert hub.gets("model.safetensors") == []  # refused before the weights were fetched

    hub.add("acme/old", {"config.json": json.dumps({"model_type": "resnet"}).encode(),
                         "pytorch_model.bin": b"not loaded"})
    result = run_cli("import", "hf:acme/old", "-o", str(tmp_path / "o.lforge"))
    assert result.code == 2 and "a pickle file, which LayerForge never loads" in result.err
    assert hub.gets("pytorch_model.bin") == []
    assert not any(tmp_path.glob("*.lforge"))
    assert run_cli("import", "hf:acme/old", "--input-shape", "3").code == 2


TINY = {
    "convnext": lambda: (transformers.ConvNextConfig(num_stages=2, hidden_sizes=[8, 16], depths=[1, 1],
                                                     image_size=32),
                         transformers.ConvNextForImageClassification),
    "vit": lambda: (transformers.ViTConfig(hidden_size=16, num_hidden_layers=1,
                                           num_attention_heads=2, intermediate_size=32,
                                           image_size=32, patch_size=8),
                    transformers.ViTForImageClassification),
    "mobilenet_v2": lambda: (transformers.MobileNetV2Config(depth_multiplier=0.35, image_size=32),
                             transformers.MobileNetV2ForImageClassification),
    "efficientnet": lambda: (transformers.EfficientNetConfig(width_coefficient=0.25,
                                                             depth_coefficient=0.25,
                                                             image_size=32, hidden_dim=320),
                             transformers.EfficientNetForImageClassification),
}


@pytest.mark.parametrize("arch", sorted(TINY))
def test_every_supported_architecture_imports(hub, tmp_path, arch):
    """Without a preprocessor_config.json (ImageNet statistics assumed), each architecture's
    imported project predicts like the transformers model."""
    config, cls = TINY[arch]()
    config.num_labels = 4
    torch.manual_seed(0)
    model = cls(config).eval()
    model.save_pretrained(tmp_path / "hf")
    hub.add(f"tiny/{arch}", {n: (tmp_path / "hf" / n).read_bytes()
                             for n in ("config.json", "model.safetensors")})
    out = tmp_path / f"{arch}.lforge"
    result = run_cli("import", f"hf:tiny/{arch}", "-o", str(out))
    assert result.code == 0, result.text
    assert "ImageNet's mean and std assumed" in result.out

    from safetensors.torch import load_file

    project = load_project(out)
    assert project.dataset.mean == [0.485, 0.456, 0.406]
    ours = compile_graph(project.graphs["model"], "model", library=project.graphs).eval()
    state = pretrained_state(project, "model")
    state.update(load_file(str(out.with_name(project.training.init_from))))
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (ours(x) - model(pixel_values=x).logits).abs().max().item() <= 1e-5


def test_preprocessing_follows_each_image_processor():
    from engine.errors import UserError
    from engine.zoo.hf_import import preprocessing

    convnext = preprocessing({"size": {"shortest_edge": 224}, "crop_pct": 0.875,
                              "image_mean": [0.485, 0.456, 0.406],
                              "image_std": [0.229, 0.224, 0.225]}, {})
    assert convnext.image_size == 224 and convnext.std == [0.229, 0.224, 0.225]
    vit = preprocessing({"size": {"height": 384, "width": 384}, "image_mean": [0.5, 0.5, 0.5],
                         "image_std": [0.5, 0.5, 0.5]}, {"image_size": 224})
    assert vit.image_size == 384 and vit.mean == [0.5] * 3
    mobilenet = preprocessing({"size": {"shortest_edge": 256}, "do_center_crop": True,
                               "crop_size": {"height": 224, "width": 224}}, {})
    assert mobilenet.image_size == 224 and mobilenet.mean == [0.485, 0.456, 0.406]
    # EfficientNet's processor divides by the std twice (include_top): the square in effect
    efficientnet = preprocessing({"image_processor_type": "EfficientNetImageProcessor",
                                  "include_top": True, "do_center_crop": False,
                                  "crop_size": {"height": 289, "width": 289},
                                  "size": {"height": 224, "width": 224},
                                  "image_std": [0.47853944, 0.4732864, 0.47434163]}, {})
    assert efficientnet.image_size == 224
    assert efficientnet.std == pytest.approx([0.229, 0.224, 0.225], abs=1e-4)
    assert preprocessing({}, {"image_size": 96}).image_size == 96
    with pytest.raises(UserError, match="image_mean must be three numbers"):
        preprocessing({"image_mean": [0.5, 0.5]}, {})
    with pytest.raises(UserError, match="image_std must be positive"):
        preprocessing({"image_std": [0.5, 0, 0.5]}, {})
