"""ResNet built from our blocks gives what transformers' ResNetModel gives, weight for weight."""

import pytest
import torch
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from engine.shapes import analyze_graph
from engine.zoo import resnet
from engine.zoo.common import MappingError
from tests.engine.zoo import (
    assert_conventions,
    assert_reproduces,
    compare,
    hf_config,
    randomize_norms,
    shapes_match_analysis,
)

TINY_BASIC = {**resnet.RESNET18_CONFIG, "embedding_size": 8, "hidden_sizes": [8, 16],
              "depths": [1, 2]}
TINY_BOTTLENECK = {**resnet.DEFAULT_CONFIG, "embedding_size": 8, "hidden_sizes": [16, 32],
                   "depths": [2, 1]}


def _model(config, seed=0):
    torch.manual_seed(seed)
    model = ResNetModel(hf_config(ResNetConfig, config))
    randomize_norms(model)
    return model.eval()


@pytest.mark.parametrize("config", [
    TINY_BASIC,
    TINY_BOTTLENECK,
    {**TINY_BOTTLENECK, "downsample_in_bottleneck": True},
    {**TINY_BASIC, "downsample_in_first_stage": True},
    {**TINY_BOTTLENECK, "downsample_in_first_stage": True, "hidden_act": "gelu"},
], ids=["basic", "bottleneck", "stride-in-1x1", "first-stage-down", "gelu"])
def test_tiny_variants_match_transformers(config):
    model = _model(config)
    got, graph = assert_reproduces(resnet, model, config, 32, 10)


def test_resnet50_matches_transformers_and_its_shapes():
    model = _model(resnet.DEFAULT_CONFIG)
    want, got, gm, graph = compare(resnet, model, resnet.DEFAULT_CONFIG, 64, batch=1)
    assert got.shape == (1, 2048)
    assert (want - got).abs().max().item() <= 1e-5
    # the stride sits in the 3x3 of the bottleneck (ResNet v1.5), the shortcut is 1x1
    assert graph.node("s2_b0_conv2").params["stride"] == 2
    assert graph.node("s2_b0_conv1").params["stride"] == 1
    assert graph.node("s2_b0_down_conv").params["kernel_size"] == 1
    assert shapes_match_analysis(gm, graph) > 150
    assert analyze_graph(graph).total_params == sum(p.numel() for p in model.parameters())


def test_resnet18_at_224_matches_transformers():
    config = resnet.RESNET18_CONFIG
    model = _model(config)
    want, got, _, graph = compare(resnet, model, config, 224, batch=1)
    assert got.shape == (1, 512)
    assert (want - got).abs().max().item() <= 1e-5
    assert_conventions(graph, 224, 512)
    # readable ids: a basic block and its shortcut
    ids = {n.id for n in graph.nodes}
    assert {"stem_conv", "stem_bn", "stem_relu", "stem_pool", "s1_b0_conv1", "s1_b0_bn1",
            "s1_b0_relu1", "s1_b0_conv2", "s1_b0_bn2", "s1_b0_add", "s1_b0_relu",
            "s2_b0_down_conv", "s2_b0_down_bn", "pool", "flatten"} <= ids
    assert "s1_b0_down_conv" not in ids  # same size and channels: identity shortcut


def test_default_config_is_what_transformers_reads():
    cfg = hf_config(ResNetConfig, resnet.DEFAULT_CONFIG)
    assert cfg.layer_type == "bottleneck" and cfg.hidden_sizes == [256, 512, 1024, 2048]
    assert cfg.num_labels == 1000
    assert resnet.build(resnet.DEFAULT_CONFIG).node("image").params["shape"] == [3, 224, 224]


def test_prefix_and_head_name_the_classification_checkpoint():
    torch.manual_seed(0)
    full = ResNetForImageClassification(hf_config(ResNetConfig, {**TINY_BASIC, "num_labels": 5}))
    state = full.state_dict()
    backbone = {k[len(resnet.PREFIX):]: v for k, v in state.items()
                if k.startswith(resnet.PREFIX)}
    head = {k for k in state if not k.startswith(resnet.PREFIX)}
    assert head == {resnet.HEAD + ".weight", resnet.HEAD + ".bias"}
    assert state[resnet.HEAD + ".weight"].shape == (5, 16)
    mapped = resnet.map_keys(backbone, TINY_BASIC)
    assert len(mapped) == len(backbone)  # every checkpoint tensor used, none twice


def test_missing_extra_and_misshapen_tensors_are_named():
    state = _model(TINY_BASIC).state_dict()
    missing = dict(state)
    del missing["encoder.stages.1.layers.0.shortcut.convolution.weight"]
    with pytest.raises(MappingError, match=r"no tensor 'encoder\.stages\.1\.layers\.0\.shortcut"):
        resnet.map_keys(missing, TINY_BASIC)
    extra = {**state, "encoder.stages.1.layers.7.layer.0.convolution.weight": torch.zeros(1)}
    with pytest.raises(MappingError, match=r"does not use: 'encoder\.stages\.1\.layers\.7"):
        resnet.map_keys(extra, TINY_BASIC)
    bad = {**state, "embedder.embedder.convolution.weight": torch.zeros(8, 3, 3, 3)}
    with pytest.raises(MappingError, match=r"'embedder\.embedder\.convolution\.weight' "
                       r"\(block 'stem_conv\.weight'\) has shape \[8, 3, 3, 3\] but the graph "
                       r"needs \[8, 3, 7, 7\]"):
        resnet.map_keys(bad, TINY_BASIC)


def test_a_checkpoint_of_another_depth_is_refused():
    state = _model(TINY_BASIC).state_dict()
    with pytest.raises(MappingError, match="does not match this architecture"):
        resnet.map_keys(state, {**TINY_BASIC, "depths": [2, 2]})
    with pytest.raises(MappingError, match="does not use"):
        resnet.map_keys(state, {**TINY_BASIC, "depths": [1, 1]})


def test_checkpoints_without_batch_counters_still_load():
    model = _model(TINY_BASIC)
    state = {k: v for k, v in model.state_dict().items() if "num_batches_tracked" not in k}
    mapped = resnet.map_keys(state, TINY_BASIC)
    assert int(mapped["stem_bn.num_batches_tracked"]) == 0


@pytest.mark.parametrize(("change", "needle"), [
    ({"layer_type": "preact"}, "layer_type 'preact' is not one of basic, bottleneck"),
    ({"hidden_act": "mish"}, "hidden_act 'mish' has no block here: use one of"),
    ({"depths": [1]}, "depths and hidden_sizes differ in length"),
])
def test_a_config_we_cannot_build_says_which_field(change, needle):
    with pytest.raises(MappingError, match=needle):
        resnet.build({**TINY_BASIC, **change})
