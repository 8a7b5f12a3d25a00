"""MobileNetV2 (Sandler et al. 2018) as Hugging Face ``transformers.MobileNetV2Model``
builds it.

A stem (3x3 convolution at stride 2, then a depthwise 3x3 and a 1x1 projection), sixteen
inverted residual blocks (1x1 expand, depthwise 3x3, 1x1 project; a shortcut where the
size and channels stay), a 1x1 convolution to 1280 channels and global average pooling.
The Google checkpoints were converted from TensorFlow: ``tf_padding`` pads each
convolution the way TensorFlow's "SAME" does (one extra row and column at the bottom and
right before a stride-2 window on an even size), BatchNorm has eps 0.001 and the
activation is ReLU6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.project import Graph
from engine.zoo.common import (
    GraphBuilder,
    KeyMap,
    act_type,
    conv_bn_act,
    expected_state,
    pooled_features,
    tf_pad,
)
from engine.zoo.common import image_size as side

ARCH = "mobilenet_v2"
PREFIX = "mobilenet_v2."
HEAD = "classifier"

#: config.json of google/mobilenet_v2_1.0_224 (1001 classes: "background" and ImageNet's)
DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": "mobilenet_v2",
    "architectures": ["MobileNetV2ForImageClassification"],
    "num_channels": 3,
    "image_size": 224,
    "depth_multiplier": 1.0,
    "depth_divisible_by": 8,
    "min_depth": 8,
    "expand_ratio": 6,
    "output_stride": 32,
    "first_layer_is_expansion": True,
    "finegrained_output": True,
    "hidden_act": "relu6",
    "tf_padding": True,
    "classifier_dropout_prob": 0.2,
    "initializer_range": 0.02,
    "layer_norm_eps": 0.001,
    "semantic_loss_ignore_index": 255,
    "num_labels": 1001,
}

_CHANNELS = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320]
_STRIDES = [2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]
_MOMENTUM = 0.997  # what transformers gives every BatchNorm here (PyTorch's meaning)


def _cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in DEFAULT_CONFIG.items() if k != "architectures"}, **config}


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    if min_value is None:
        min_value = divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return int(new)


def _depth(c: Mapping[str, Any], channels: int) -> int:
    return make_divisible(int(round(channels * c["depth_multiplier"])),
                          c["depth_divisible_by"], c["min_depth"])


def _blocks(c: Mapping[str, Any]):
    """(index, in channels, out channels, stride, dilation) of the 16 inverted residuals."""
    channels = [_depth(c, x) for x in _CHANNELS]
    current, dilation = 2, 1
    for i in range(16):
        if current == c["output_stride"]:
            stride, layer_dilation = 1, dilation
            dilation *= _STRIDES[i]
        else:
            stride, layer_dilation = _STRIDES[i], 1
            current *= stride
        yield i, channels[i], channels[i + 1], stride, layer_dilation


def _head_channels(c: Mapping[str, Any]) -> int:
    if c["finegrained_output"] and c["depth_multiplier"] < 1.0:
        return 1280
    return _depth(c, 1280)


def build(config: Mapping[str, Any], image_size: int | None = None, *,
          layout: bool = True) -> Graph:
    """The backbone: Input ``image`` [3, S, S] -> ... -> Output ``features`` [1280]."""
    c = _cfg(config)
    act = act_type(c["hidden_act"], ARCH)
    s = side(c, image_size)
    b = GraphBuilder()
    norm = {"eps": c["layer_norm_eps"], "momentum": _MOMENTUM}

    def conv(src: str, name: str, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             use_act: bool = True, dilation: int = 1) -> str:
        if c["tf_padding"]:
            where = {"pad": tf_pad(b, src, kernel, stride, dilation)}
        else:
            where = {"padding": (kernel - 1) // 2 * dilation}
        return conv_bn_act(b, src, name, cout, kernel, stride=stride, groups=groups,
                           act=act if use_act else None, dilation=dilation, **where, **norm)

    x = b.add("Input", "image", {"shape": [c["num_channels"], s, s]})
    stem = _depth(c, 32)
    x = conv(x, "stem", stem, 3, stride=2)
    if not c["first_layer_is_expansion"]:
        x = conv(x, "stem_expand", stem, 1)
    x = conv(x, "stem_dw", stem, 3, groups=stem)
    x = conv(x, "stem_project", _depth(c, 16), 1, use_act=False)
    for i, cin, cout, stride, dilation in _blocks(c):
        mid = make_divisible(int(round(cin * c["expand_ratio"])), c["depth_divisible_by"],
                             c["min_depth"])
        y = conv(x, f"b{i}_expand", mid, 1)
        y = conv(y, f"b{i}_dw", mid, 3, stride=stride, groups=mid, dilation=dilation)
        y = conv(y, f"b{i}_project", cout, 1, use_act=False)
        x = b.add("Add", f"b{i}_add", {}, [x, y]) if stride == 1 and cin == cout else y
    x = conv(x, "head", _head_channels(c), 1)
    pooled_features(b, x)
    return b.graph(layout)


def map_keys(state: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """``MobileNetV2Model`` tensors (no ``mobilenet_v2.`` prefix) -> the graph's keys."""
    c = _cfg(config)
    m = KeyMap(state, ARCH)

    def layer(src: str, dst: str) -> None:
        m.conv(f"{src}.convolution", f"{dst}_conv")
        m.bn(f"{src}.normalization", f"{dst}_bn")

    layer("conv_stem.first_conv", "stem")
    if not c["first_layer_is_expansion"]:
        layer("conv_stem.expand_1x1", "stem_expand")
    layer("conv_stem.conv_3x3", "stem_dw")
    layer("conv_stem.reduce_1x1", "stem_project")
    for i, *_ in _blocks(c):
        layer(f"layer.{i}.expand_1x1", f"b{i}_expand")
        layer(f"layer.{i}.conv_3x3", f"b{i}_dw")
        layer(f"layer.{i}.reduce_1x1", f"b{i}_project")
    layer("conv_1x1", "head")
    return m.finish(expected_state(build(c, layout=False), ARCH))
