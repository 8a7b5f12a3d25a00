"""ConvNeXt (Liu et al. 2022) as Hugging Face ``transformers.ConvNextModel`` builds it.

A 4x4 stride-4 "patchify" convolution and a channels-first LayerNorm make the stem. Each
block is a 7x7 depthwise convolution, then, with the channels moved last, LayerNorm, a
pointwise Linear to 4C, GELU, a pointwise Linear back to C and a learned per-channel layer
scale; the channels move back first and the branch joins the shortcut. Between stages a
channels-first LayerNorm and a 2x2 stride-2 convolution halve the size. The pooled features
are the mean over all positions, layer-normalised. Every LayerNorm inside the network uses
eps 1e-6 (fixed in the model code); only the final one takes ``layer_norm_eps``. Stochastic
depth (drop path) blocks appear only when ``drop_path_rate`` is above 0, with the rate
growing linearly over the blocks as in the reference code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.project import Graph
from engine.zoo.common import GraphBuilder, KeyMap, MappingError, act_type, expected_state
from engine.zoo.common import image_size as side

ARCH = "convnext"
PREFIX = "convnext."
HEAD = "classifier"

#: the LayerNorm eps that ConvNextModel fixes in its stem, downsampling layers and blocks
INNER_EPS = 1e-6

#: config.json of facebook/convnext-tiny-224 (the label names left out, only their number)
DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": "convnext",
    "architectures": ["ConvNextForImageClassification"],
    "num_channels": 3,
    "patch_size": 4,
    "num_stages": 4,
    "hidden_sizes": [96, 192, 384, 768],
    "depths": [3, 3, 9, 3],
    "hidden_act": "gelu",
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "layer_scale_init_value": 1e-6,
    "drop_path_rate": 0.0,
    "image_size": 224,
    "num_labels": 1000,
}


def _cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    c = {**{k: v for k, v in DEFAULT_CONFIG.items() if k != "architectures"}, **config}
    sizes, depths = list(c["hidden_sizes"]), list(c["depths"])
    if len(sizes) != len(depths) or len(sizes) != int(c["num_stages"]):
        raise MappingError(
            f"the {ARCH} config has {len(sizes)} hidden_sizes and {len(depths)} depths for "
            f"num_stages {c['num_stages']}: give one of each per stage"
        )
    patch = c["patch_size"]
    if isinstance(patch, list | tuple):
        if len(set(patch)) != 1:
            raise MappingError(f"the {ARCH} config's patch_size {patch} is not square: only "
                               "square patches are supported")
        c["patch_size"] = patch[0]
    return c


def _drop_rates(c: Mapping[str, Any]) -> list[float]:
    """Drop-path probability of each block in order: linear from 0 to drop_path_rate (as
    ``torch.linspace`` in ConvNextEncoder, computed here without torch)."""
    n, top = sum(c["depths"]), float(c["drop_path_rate"])
    if n == 1:
        return [0.0]
    return [top * i / (n - 1) for i in range(n)]


def _blocks(c: Mapping[str, Any]) -> Iterator[tuple[int, int, int, float]]:
    """(stage number from 1, block number from 0, channels, drop-path probability)."""
    rates = iter(_drop_rates(c))
    for i, (channels, depth) in enumerate(zip(c["hidden_sizes"], c["depths"], strict=True)):
        for j in range(depth):
            yield i + 1, j, channels, next(rates)


def build(config: Mapping[str, Any], image_size: int | None = None, *,
          layout: bool = True) -> Graph:
    """The backbone: Input ``image`` [3, S, S] -> ... -> Output ``features`` [C]."""
    c = _cfg(config)
    act = act_type(c["hidden_act"], ARCH)
    s = side(c, image_size)
    b = GraphBuilder()
    x = b.add("Input", "image", {"shape": [c["num_channels"], s, s]})
    patch = c["patch_size"]
    x = b.add("Conv2d", "stem_conv", {"out_channels": c["hidden_sizes"][0],
                                      "kernel_size": patch, "stride": patch, "padding": 0}, [x])
    x = b.add("LayerNorm", "stem_norm", {"eps": INNER_EPS, "channels_first": True}, [x])
    scale = float(c["layer_scale_init_value"])
    for stage, j, ch, rate in _blocks(c):
        name = f"s{stage}_b{j}"
        if j == 0 and stage > 1:
            x = b.add("LayerNorm", f"s{stage}_down_norm",
                      {"eps": INNER_EPS, "channels_first": True}, [x])
            x = b.add("Conv2d", f"s{stage}_down_conv",
                      {"out_channels": ch, "kernel_size": 2, "stride": 2, "padding": 0}, [x])
        y = b.add("Conv2d", f"{name}_dwconv", {"out_channels": ch, "kernel_size": 7,
                                               "padding": 3, "groups": ch}, [x])
        y = b.add("Permute", f"{name}_hwc", {"dims": [1, 2, 0]}, [y])
        y = b.add("LayerNorm", f"{name}_norm", {"eps": INNER_EPS}, [y])
        y = b.add("Linear", f"{name}_pwconv1", {"out_features": 4 * ch, "per_position": True},
                  [y])
        y = b.add(act, f"{name}_{act.lower()}", {}, [y])
        y = b.add("Linear", f"{name}_pwconv2", {"out_features": ch, "per_position": True}, [y])
        if scale > 0:
            y = b.add("LayerScale", f"{name}_scale", {"init": scale, "axis": "last"}, [y])
        y = b.add("Permute", f"{name}_chw", {"dims": [2, 0, 1]}, [y])
        if rate > 0:
            y = b.add("StochasticDepth", f"{name}_drop", {"p": round(rate, 6)}, [y])
        x = b.add("Add", f"{name}_add", {}, [x, y])
    x = b.add("GlobalAvgPool", "pool", {}, [x])
    x = b.add("LayerNorm", "final_norm", {"eps": float(c["layer_norm_eps"])}, [x])
    b.add("Output", "features", {}, [x])
    return b.graph(layout)


def map_keys(state: Mapping[str, Any], config: Mapping[str, Any], *,
             image_size: int | None = None) -> dict[str, Any]:
    """``ConvNextModel`` tensors (no ``convnext.`` prefix) -> the graph's keys. The weights
    fit any ``image_size`` (accepted for the same signature as ``vit.map_keys``)."""
    c = _cfg(config)
    m = KeyMap(state, ARCH)
    m.conv("embeddings.patch_embeddings", "stem_conv", bias=True)
    m.layer_norm("embeddings.layernorm", "stem_norm")
    scale = float(c["layer_scale_init_value"]) > 0
    for stage, j, _, _ in _blocks(c):
        src, dst = f"encoder.stages.{stage - 1}", f"s{stage}_b{j}"
        if j == 0 and stage > 1:
            m.layer_norm(f"{src}.downsampling_layer.0", f"s{stage}_down_norm")
            m.conv(f"{src}.downsampling_layer.1", f"s{stage}_down_conv", bias=True)
        src = f"{src}.layers.{j}"
        m.conv(f"{src}.dwconv", f"{dst}_dwconv", bias=True)
        m.layer_norm(f"{src}.layernorm", f"{dst}_norm")
        m.linear(f"{src}.pwconv1", f"{dst}_pwconv1")
        m.linear(f"{src}.pwconv2", f"{dst}_pwconv2")
        if scale:
            m.take(f"{src}.layer_scale_parameter", f"{dst}_scale.gamma")
    m.layer_norm("layernorm", "final_norm")
    return m.finish(expected_state(build(c, layout=False), ARCH))
