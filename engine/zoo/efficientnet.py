"""EfficientNet (Tan and Le 2019) as Hugging Face ``transformers.EfficientNetModel``
builds it.

A stem (zero padding on the right and bottom, a 3x3 convolution at stride 2), MBConv
blocks (1x1 expand, depthwise convolution, squeeze-and-excitation, 1x1 project; a
shortcut on every block of a stage but its first), a 1x1 convolution to 1280 channels
scaled by the width, and global average pooling. The activation is swish (SiLU). Like the
TensorFlow original, a stride-2 depthwise convolution is preceded by uneven zero padding
(one row and column fewer on the top and left). BatchNorm takes eps and momentum from
the config, except in the expansion, which transformers leaves at PyTorch's momentum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.project import Graph
from engine.zoo.common import (
    GraphBuilder,
    KeyMap,
    MappingError,
    act_type,
    conv_bn_act,
    expected_state,
    pooled_features,
)
from engine.zoo.common import image_size as side

ARCH = "efficientnet"
PREFIX = "efficientnet."
HEAD = "classifier"

#: config.json of google/efficientnet-b0 (the label names left out, only their number)
DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": "efficientnet",
    "architectures": ["EfficientNetForImageClassification"],
    "num_channels": 3,
    "image_size": 224,
    "width_coefficient": 1.0,
    "depth_coefficient": 1.0,
    "depth_divisor": 8,
    "kernel_sizes": [3, 3, 5, 3, 5, 5, 3],
    "in_channels": [32, 16, 24, 40, 80, 112, 192],
    "out_channels": [16, 24, 40, 80, 112, 192, 320],
    "depthwise_padding": [],
    "strides": [1, 2, 2, 2, 1, 2, 1],
    "num_block_repeats": [1, 2, 2, 3, 3, 4, 1],
    "expand_ratios": [1, 6, 6, 6, 6, 6, 6],
    "squeeze_expansion_ratio": 0.25,
    "hidden_act": "swish",
    "hidden_dim": 1280,
    "pooling_type": "mean",
    "initializer_range": 0.02,
    "batch_norm_eps": 0.001,
    "batch_norm_momentum": 0.99,
    "dropout_rate": 0.2,
    "drop_connect_rate": 0.2,
    "num_labels": 1000,
}


#: where EfficientNetConfig's own defaults (EfficientNet-B7's) differ from B0's: a config
#: that leaves a key out means what transformers would read
_TRANSFORMERS_DEFAULTS = {"image_size": 600, "width_coefficient": 2.0, "depth_coefficient": 3.1,
                          "hidden_dim": 2560, "dropout_rate": 0.5}


def _cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    base = {k: v for k, v in DEFAULT_CONFIG.items() if k != "architectures"}
    c = {**base, **_TRANSFORMERS_DEFAULTS, **config}
    if c["pooling_type"] not in ("mean", "max"):
        raise MappingError(f"the efficientnet config's pooling_type {c['pooling_type']!r} is "
                           "not one of mean, max: correct it in config.json")
    return c


def round_filters(c: Mapping[str, Any], channels: int) -> int:
    divisor = c["depth_divisor"]
    channels *= c["width_coefficient"]
    new = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if new < 0.9 * channels:
        new += divisor
    return int(new)


def _blocks(c: Mapping[str, Any]):
    """(number, in channels, out channels, stride, kernel, expand ratio, first of its stage,
    adjust padding) of every MBConv block, in order."""
    n = 0
    for i in range(len(c["in_channels"])):
        cin = round_filters(c, c["in_channels"][i])
        cout = round_filters(c, c["out_channels"][i])
        for j in range(int(math.ceil(c["depth_coefficient"] * c["num_block_repeats"][i]))):
            yield (n, cin if j == 0 else cout, cout, c["strides"][i] if j == 0 else 1,
                   c["kernel_sizes"][i], c["expand_ratios"][i], j == 0,
                   n not in c["depthwise_padding"])
            n += 1


def _dw_pad(kernel: int, stride: int, adjust: bool) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) zeros before the depthwise convolution."""
    if stride == 2:
        half = kernel // 2
        return (half - 1, half, half - 1, half) if adjust else (half, half, half, half)
    # PyTorch's padding="same" at stride 1: the odd one out goes right and bottom
    total = kernel - 1
    return total // 2, total - total // 2, total // 2, total - total // 2


def build(config: Mapping[str, Any], image_size: int | None = None, *,
          layout: bool = True) -> Graph:
    """The backbone: Input ``image`` [3, S, S] -> ... -> Output ``features`` [C]."""
    c = _cfg(config)
    act = act_type(c["hidden_act"], ARCH)
    s = side(c, image_size)
    norm = {"eps": c["batch_norm_eps"], "momentum": c["batch_norm_momentum"]}
    b = GraphBuilder()
    x = b.add("Input", "image", {"shape": [c["num_channels"], s, s]})
    x = conv_bn_act(b, x, "stem", round_filters(c, 32), 3, stride=2, pad=(0, 1, 0, 1),
                    act=act, **norm)
    for n, cin, cout, stride, kernel, ratio, first, adjust in _blocks(c):
        name = f"b{n}"
        y = x
        mid = cin * ratio
        if ratio != 1:
            y = conv_bn_act(b, y, f"{name}_expand", mid, 1, padding=0, act=act,
                            eps=c["batch_norm_eps"])
        y = conv_bn_act(b, y, f"{name}_dw", mid, kernel, stride=stride, groups=mid,
                        pad=_dw_pad(kernel, stride, adjust), act=act, **norm)
        y = _squeeze_excite(b, y, name, max(1, int(cin * c["squeeze_expansion_ratio"])), act)
        y = conv_bn_act(b, y, f"{name}_project", cout, 1, padding=0, act=None, **norm)
        x = y if first or stride != 1 else b.add("Add", f"{name}_add", {}, [x, y])
    x = conv_bn_act(b, x, "head", round_filters(c, 1280), 1, padding=0, act=act, **norm)
    if c["pooling_type"] == "max":
        _, h, w = b.spec(x).shape
        x = b.add("MaxPool2d", "pool", {"kernel_size": [h, w]}, [x])
        x = b.add("Flatten", "flatten", {}, [x])
        b.add("Output", "features", {}, [x])
    else:
        pooled_features(b, x)
    return b.graph(layout)


def _squeeze_excite(b: GraphBuilder, x: str, name: str, squeezed: int, act: str) -> str:
    """Average each channel, squeeze to ``squeezed`` channels and back, and scale ``x`` by
    the sigmoid of the result (a gate [C, 1, 1] for every position)."""
    channels = b.channels(x)
    g = b.add("AdaptiveAvgPool2d", f"{name}_se_pool", {"output_size": 1}, [x])
    g = b.add("Conv2d", f"{name}_se_reduce", {"out_channels": squeezed, "kernel_size": 1,
                                               "padding": 0}, [g])
    g = b.add(act, f"{name}_se_{act.lower()}", {}, [g])
    g = b.add("Conv2d", f"{name}_se_expand", {"out_channels": channels, "kernel_size": 1,
                                               "padding": 0}, [g])
    g = b.add("Sigmoid", f"{name}_se_sigmoid", {}, [g])
    return b.add("Multiply", f"{name}_se_scale", {}, [x, g])


def map_keys(state: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """``EfficientNetModel`` tensors (no ``efficientnet.`` prefix) -> the graph's keys."""
    c = _cfg(config)
    m = KeyMap(state, ARCH)
    m.conv("embeddings.convolution", "stem_conv")
    m.bn("embeddings.batchnorm", "stem_bn")
    for n, _cin, _cout, _stride, _kernel, ratio, *_ in _blocks(c):
        src, dst = f"encoder.blocks.{n}", f"b{n}"
        if ratio != 1:
            m.conv(f"{src}.expansion.expand_conv", f"{dst}_expand_conv")
            m.bn(f"{src}.expansion.expand_bn", f"{dst}_expand_bn")
        m.conv(f"{src}.depthwise_conv.depthwise_conv", f"{dst}_dw_conv")
        m.bn(f"{src}.depthwise_conv.depthwise_norm", f"{dst}_dw_bn")
        m.conv(f"{src}.squeeze_excite.reduce", f"{dst}_se_reduce", bias=True)
        m.conv(f"{src}.squeeze_excite.expand", f"{dst}_se_expand", bias=True)
        m.conv(f"{src}.projection.project_conv", f"{dst}_project_conv")
        m.bn(f"{src}.projection.project_bn", f"{dst}_project_bn")
    m.conv("encoder.top_conv", "head_conv")
    m.bn("encoder.top_bn", "head_bn")
    return m.finish(expected_state(build(c, layout=False), ARCH))
