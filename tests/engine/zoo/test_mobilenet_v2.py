"""MobileNetV2 built from our blocks gives what transformers' MobileNetV2Model gives."""

import pytest
import torch
from transformers import (
    MobileNetV2Config,
    MobileNetV2ForImageClassification,
    MobileNetV2Model,
)

from engine.zoo import mobilenet_v2 as zoo
from engine.zoo.common import MappingError
from tests.engine.zoo import (
    assert_conventions,
    assert_reproduces,
    hf_config,
    randomize_norms,
)

TINY = {**zoo.DEFAULT_CONFIG, "depth_multiplier": 0.25, "image_size": 32}


def _model(config, seed=0):
    torch.manual_seed(seed)
    model = MobileNetV2Model(hf_config(MobileNetV2Config, config))
    randomize_norms(model)
    return model.eval()


@pytest.mark.parametrize(("config", "size"), [
    (TINY, 32),
    (TINY, 33),  # odd sides: TensorFlow pads a stride-2 window evenly
    ({**TINY, "tf_padding": False}, 32),
    ({**TINY, "output_stride": 8, "first_layer_is_expansion": False}, 32),  # dilation
    ({**TINY, "finegrained_output": False, "expand_ratio": 4}, 32),
], ids=["tf-padding", "odd-size", "torch-padding", "dilated", "coarse-head"])
def test_tiny_variants_match_transformers(config, size):
    model = _model(config)
    got, graph = assert_reproduces(zoo, model, config, size, 100)


def test_full_model_matches_transformers_and_its_shapes():
    config = zoo.DEFAULT_CONFIG
    model = _model(config)
    got, graph = assert_reproduces(zoo, model, config, 96, 150, batch=1)
    assert got.shape == (1, 1280)
    assert_conventions(graph, 96, 1280)


def test_tensorflow_padding_becomes_explicit_blocks():
    graph = zoo.build(zoo.DEFAULT_CONFIG)
    assert graph.node("image").params["shape"] == [3, 224, 224]
    pad = graph.node("stem_pad")  # 224 is even: one extra row and column after
    assert (pad.type, pad.params) == ("ZeroPad2d", {"left": 0, "right": 1, "top": 0,
                                                   "bottom": 1})
    assert graph.node("stem_conv").params["padding"] == 0
    assert graph.node("b0_expand_pad") is None  # 1x1 convolutions are not padded
    assert graph.node("b0_dw_pad").params == {"left": 0, "right": 1, "top": 0, "bottom": 1}
    assert graph.node("b0_dw_conv").params["groups"] == 96
    assert graph.node("b1_dw_pad") is None  # stride 1: even padding folds into the conv
    assert graph.node("b1_dw_conv").params["padding"] == [1, 1]
    bn = graph.node("b0_dw_bn").params
    assert (bn["eps"], bn["momentum"]) == (0.001, 0.997)
    assert graph.node("b0_dw_relu6").type == "ReLU6"
    assert graph.node("b0_add") is None and graph.node("b1_add").type == "Add"
    odd = zoo.build(zoo.DEFAULT_CONFIG, 225, layout=False)
    assert odd.node("stem_pad") is None and odd.node("stem_conv").params["padding"] == [1, 1]


def test_default_config_is_the_checkpoints():
    cfg = hf_config(MobileNetV2Config, zoo.DEFAULT_CONFIG)
    assert cfg.tf_padding and cfg.layer_norm_eps == 0.001 and cfg.hidden_act == "relu6"
    assert cfg.num_labels == 1001  # Google's checkpoints keep a "background" class


def test_prefix_and_head_name_the_classification_checkpoint():
    torch.manual_seed(0)
    full = MobileNetV2ForImageClassification(hf_config(MobileNetV2Config,
                                                       {**TINY, "num_labels": 3}))
    state = full.state_dict()
    backbone = {k[len(zoo.PREFIX):]: v for k, v in state.items() if k.startswith(zoo.PREFIX)}
    assert {k for k in state if not k.startswith(zoo.PREFIX)} == {
        zoo.HEAD + ".weight", zoo.HEAD + ".bias"}
    assert len(zoo.map_keys(backbone, TINY)) == len(backbone)


def test_missing_extra_and_misshapen_tensors_are_named():
    state = _model(TINY).state_dict()
    missing = {k: v for k, v in state.items() if not k.startswith("layer.3.conv_3x3.")}
    with pytest.raises(MappingError, match=r"no tensor 'layer\.3\.conv_3x3\.convolution\.weight'"):
        zoo.map_keys(missing, TINY)
    with pytest.raises(MappingError, match=r"does not use: 'layer\.16\.expand_1x1"):
        zoo.map_keys({**state, "layer.16.expand_1x1.convolution.weight": torch.zeros(1)}, TINY)
    bad = {**state, "conv_1x1.normalization.running_var": torch.ones(7)}
    with pytest.raises(MappingError, match=r"'conv_1x1\.normalization\.running_var' \(block "
                       r"'head_bn\.running_var'\) has shape \[7\] but the graph needs \[1280\]"):
        zoo.map_keys(bad, TINY)
    with pytest.raises(MappingError, match="has shape"):  # a checkpoint of another width
        zoo.map_keys(state, {**TINY, "depth_multiplier": 0.5})
