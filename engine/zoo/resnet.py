"""ResNet (He et al. 2015) as Hugging Face ``transformers.ResNetModel`` builds it.

ResNet-18/34 use "basic" blocks (two 3x3 convolutions); ResNet-50 and deeper use
"bottleneck" blocks (1x1 reduce, 3x3, 1x1 expand, with the stride in the 3x3 as in
ResNet v1.5 unless ``downsample_in_bottleneck``). A block's shortcut is a 1x1 convolution
and BatchNorm wherever the channels or the size change. The pooled features are the mean of
the last stage over all positions. ``hidden_act`` applies to the stem and after each
residual sum; transformers keeps ReLU inside the blocks whatever it says.
"""

from __future__ import annotations

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

ARCH = "resnet"
PREFIX = "resnet."
HEAD = "classifier.1"

#: config.json of microsoft/resnet-50 (the label names left out, only their number)
DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": "resnet",
    "architectures": ["ResNetForImageClassification"],
    "num_channels": 3,
    "embedding_size": 64,
    "hidden_sizes": [256, 512, 1024, 2048],
    "depths": [3, 4, 6, 3],
    "layer_type": "bottleneck",
    "hidden_act": "relu",
    "downsample_in_first_stage": False,
    "downsample_in_bottleneck": False,
    "num_labels": 1000,
}

#: config.json of microsoft/resnet-18
RESNET18_CONFIG: dict[str, Any] = {
    **DEFAULT_CONFIG,
    "hidden_sizes": [64, 128, 256, 512],
    "depths": [2, 2, 2, 2],
    "layer_type": "basic",
}


def _cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    c = {**{k: v for k, v in DEFAULT_CONFIG.items() if k != "architectures"}, **config}
    if c["layer_type"] not in ("basic", "bottleneck"):
        raise MappingError(f"the resnet config's layer_type {c['layer_type']!r} is not one of "
                           "basic, bottleneck: correct it in config.json")
    if len(c["depths"]) != len(c["hidden_sizes"]):
        raise MappingError("the resnet config's depths and hidden_sizes differ in length: "
                           "give one depth per stage in config.json")
    return c


def _blocks(c: Mapping[str, Any]):
    """(stage number from 1, block number from 0, in channels, out channels, stride)."""
    cin = c["embedding_size"]
    for i, (cout, depth) in enumerate(zip(c["hidden_sizes"], c["depths"], strict=True)):
        first_stride = (2 if c["downsample_in_first_stage"] else 1) if i == 0 else 2
        for j in range(depth):
            stride = first_stride if j == 0 else 1
            yield i + 1, j, cin, cout, stride
            cin = cout


def build(config: Mapping[str, Any], image_size: int | None = None, *,
          layout: bool = True) -> Graph:
    """The backbone: Input ``image`` [3, S, S] -> ... -> Output ``features`` [C]."""
    c = _cfg(config)
    act = act_type(c["hidden_act"], ARCH)
    s = side(c, image_size)
    b = GraphBuilder()
    x = b.add("Input", "image", {"shape": [c["num_channels"], s, s]})
    x = conv_bn_act(b, x, "stem", c["embedding_size"], 7, stride=2, act=act)
    x = b.add("MaxPool2d", "stem_pool",
              {"kernel_size": 3, "stride": 2, "padding": 1}, [x])
    bottleneck = c["layer_type"] == "bottleneck"
    for stage, j, cin, cout, stride in _blocks(c):
        name = f"s{stage}_b{j}"
        y = x
        if bottleneck:
            mid = cout // 4
            first = stride if c["downsample_in_bottleneck"] else 1
            y = conv_bn_act(b, y, name, mid, 1, stride=first, suffix="1")
            y = conv_bn_act(b, y, name, mid, 3, stride=stride // first, suffix="2")
            y = conv_bn_act(b, y, name, cout, 1, act=None, suffix="3")
        else:
            y = conv_bn_act(b, y, name, cout, 3, stride=stride, suffix="1")
            y = conv_bn_act(b, y, name, cout, 3, act=None, suffix="2")
        short = x
        if cin != cout or stride != 1:
            short = conv_bn_act(b, x, f"{name}_down", cout, 1, stride=stride, padding=0,
                                act=None)
        x = b.add("Add", f"{name}_add", {}, [y, short])
        x = b.add(act, f"{name}_{act.lower()}", {}, [x])
    pooled_features(b, x)
    return b.graph(layout)


def map_keys(state: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """``ResNetModel`` tensors (no ``resnet.`` prefix) -> the graph's keys."""
    c = _cfg(config)
    m = KeyMap(state, ARCH)
    m.conv("embedder.embedder.convolution", "stem_conv")
    m.bn("embedder.embedder.normalization", "stem_bn")
    n_convs = 3 if c["layer_type"] == "bottleneck" else 2
    for stage, j, cin, cout, stride in _blocks(c):
        src, dst = f"encoder.stages.{stage - 1}.layers.{j}", f"s{stage}_b{j}"
        for k in range(n_convs):
            m.conv(f"{src}.layer.{k}.convolution", f"{dst}_conv{k + 1}")
            m.bn(f"{src}.layer.{k}.normalization", f"{dst}_bn{k + 1}")
        if cin != cout or stride != 1:
            m.conv(f"{src}.shortcut.convolution", f"{dst}_down_conv")
            m.bn(f"{src}.shortcut.normalization", f"{dst}_down_bn")
    return m.finish(expected_state(build(c, layout=False), ARCH))
