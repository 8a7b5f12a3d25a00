"""EfficientNet built from our blocks gives what transformers' EfficientNetModel gives."""

import pytest
import torch
from transformers import EfficientNetConfig, EfficientNetForImageClassification, EfficientNetModel

from engine.shapes import analyze_graph
from engine.zoo import efficientnet as zoo
from engine.zoo.common import MappingError
from tests.engine.zoo import (
    assert_conventions,
    assert_reproduces,
    hf_config,
    randomize_norms,
)

# width 0.25 makes every stage 8 channels wide; depth 0.5 keeps 1-2 blocks per stage
TINY = {**zoo.DEFAULT_CONFIG, "width_coefficient": 0.25, "depth_coefficient": 0.5,
        "hidden_dim": 320, "image_size": 32}


def _model(config, seed=0):
    torch.manual_seed(seed)
    model = EfficientNetModel(hf_config(EfficientNetConfig, config))
    randomize_norms(model)
    return model.eval()


@pytest.mark.parametrize(("config", "size"), [
    (TINY, 32),
    (TINY, 33),
    ({**TINY, "pooling_type": "max", "depthwise_padding": [1, 3]}, 32),
    ({**TINY, "hidden_act": "relu", "squeeze_expansion_ratio": 0.5}, 32),
], ids=["tiny", "odd-size", "max-pool-even-padding", "relu"])
def test_tiny_variants_match_transformers(config, size):
    model = _model(config)
    got, graph = assert_reproduces(zoo, model, config, size, 50)


def test_b0_matches_transformers_and_its_shapes():
    config = zoo.DEFAULT_CONFIG
    model = _model(config)
    got, graph = assert_reproduces(zoo, model, config, 64, 200, batch=1)
    assert got.shape == (1, 1280)
    assert_conventions(graph, 64, 1280)


def test_blocks_follow_the_original():
    graph = zoo.build(zoo.DEFAULT_CONFIG)
    assert graph.node("image").params["shape"] == [3, 224, 224]
    assert graph.node("stem_pad").params == {"left": 0, "right": 1, "top": 0, "bottom": 1}
    assert graph.node("stem_conv").params["padding"] == 0
    # stride-2 depthwise convolutions: one row and column fewer on the top and left
    assert graph.node("b1_dw_pad").params == {"left": 0, "right": 1, "top": 0, "bottom": 1}
    assert graph.node("b3_dw_pad").params == {"left": 1, "right": 2, "top": 1, "bottom": 2}
    assert graph.node("b2_dw_pad") is None and graph.node("b2_dw_conv").params["padding"] == [1, 1]
    assert graph.node("b0_expand_conv") is None  # expand ratio 1
    assert graph.node("b1_add") is None and graph.node("b2_add").type == "Add"
    a = analyze_graph(graph)
    assert [str(s) for s in a.nodes["b2_se_scale"].ins] == ["[N, 144, 56, 56]", "[N, 144, 1, 1]"]
    assert a.nodes["b2_se_reduce"].out.shape == (6, 1, 1)  # a quarter of the block's input
    assert graph.node("b2_dw_silu").type == "SiLU"
    assert graph.node("b2_dw_bn").params["momentum"] == 0.99
    assert graph.node("b2_expand_bn").params.get("momentum", 0.1) == 0.1
    assert sum(n.type == "Multiply" for n in graph.nodes) == 16


def test_prefix_and_head_name_the_classification_checkpoint():
    torch.manual_seed(0)
    full = EfficientNetForImageClassification(hf_config(EfficientNetConfig,
                                                        {**TINY, "num_labels": 3}))
    state = full.state_dict()
    backbone = {k[len(zoo.PREFIX):]: v for k, v in state.items() if k.startswith(zoo.PREFIX)}
    assert {k for k in state if not k.startswith(zoo.PREFIX)} == {
        zoo.HEAD + ".weight", zoo.HEAD + ".bias"}
    assert len(zoo.map_keys(backbone, TINY)) == len(backbone)
    assert hf_config(EfficientNetConfig, zoo.DEFAULT_CONFIG).num_labels == 1000


def test_missing_extra_and_misshapen_tensors_are_named():
    state = _model(TINY).state_dict()
    missing = {k: v for k, v in state.items() if "blocks.2.squeeze_excite.reduce" not in k}
    with pytest.raises(MappingError, match=r"'encoder\.blocks\.2\.squeeze_excite\.reduce\.weight'"):
        zoo.map_keys(missing, TINY)
    with pytest.raises(MappingError, match=r"does not use: 'encoder\.blocks\.99"):
        zoo.map_keys({**state, "encoder.blocks.99.projection.project_conv.weight":
                      torch.zeros(1)}, TINY)
    bad = {**state, "encoder.top_conv.weight": torch.zeros(320, 8, 3, 3)}
    with pytest.raises(MappingError, match=r"'encoder\.top_conv\.weight' \(block "
                       r"'head_conv\.weight'\) has shape \[320, 8, 3, 3\]"):
        zoo.map_keys(bad, TINY)


def test_keys_a_config_leaves_out_mean_what_transformers_reads():
    graph = zoo.build({"model_type": "efficientnet"}, layout=False)  # EfficientNet-B7
    cfg = EfficientNetConfig()
    assert graph.node("image").params["shape"] == [3, cfg.image_size, cfg.image_size]
    assert analyze_graph(graph).nodes["features"].out.shape == (cfg.hidden_dim,)
    with pytest.raises(MappingError, match="pooling_type 'median' is not one of mean, max"):
        zoo.build({**TINY, "pooling_type": "median"})
