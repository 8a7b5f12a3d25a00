"""Vision Transformer (Dosovitskiy et al. 2020) as Hugging Face ``transformers.ViTModel``
builds it (without the pooling layer, as ``ViTForImageClassification`` uses it).

A PxP stride-P convolution cuts the image into patches of ``hidden_size`` values; they
become a sequence of (S / P)^2 tokens, a learned class token goes in front and a learned
position embedding is added. Each layer is a pre-norm transformer encoder layer (LayerNorm,
self-attention, residual; LayerNorm, Linear to ``intermediate_size``, GELU, Linear back,
residual) with ``layer_norm_eps`` (1e-12). The features are the class token after the
final LayerNorm.

Checkpoints come in two spellings: the Hub files (``encoder.layer.0.attention.attention.
query``...) and transformers 5's module names (``layers.0.attention.q_proj``...);
:func:`map_keys` takes either. The separate query, key and value projections are joined
into the attention's one input projection. A ``pooler.*`` tensor (checkpoints saved with a
pooling layer) is not part of these features and is left out.

The transformer layer has one dropout probability (``hidden_dropout_prob``) for attention
and feed-forward alike, where transformers has a second, ``attention_probs_dropout_prob``;
both are 0 in the published checkpoints and only matter when training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.project import Graph
from engine.zoo.common import GraphBuilder, KeyMap, MappingError, expected_state
from engine.zoo.common import image_size as side

ARCH = "vit"
PREFIX = "vit."
HEAD = "classifier"

#: config.json of google/vit-base-patch16-224 (the label names left out, only their number)
DEFAULT_CONFIG: dict[str, Any] = {
    "model_type": "vit",
    "architectures": ["ViTForImageClassification"],
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "image_size": 224,
    "patch_size": 16,
    "num_channels": 3,
    "qkv_bias": True,
    "num_labels": 1000,
}

#: a layer's tensors in transformers 5's names and in the Hub files' names
_NEW = {"prefix": "layers.{i}", "q": "attention.q_proj", "k": "attention.k_proj",
        "v": "attention.v_proj", "o": "attention.o_proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
_OLD = {"prefix": "encoder.layer.{i}", "q": "attention.attention.query",
        "k": "attention.attention.key", "v": "attention.attention.value",
        "o": "attention.output.dense", "fc1": "intermediate.dense", "fc2": "output.dense"}


def _square(c: Mapping[str, Any], key: str) -> int:
    v = c[key]
    if isinstance(v, list | tuple):
        if len(set(v)) != 1:
            raise MappingError(f"the {ARCH} config's {key} {list(v)} is not square: only "
                               "square images and patches are supported")
        v = v[0]
    return int(v)


def _cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    c = {**{k: v for k, v in DEFAULT_CONFIG.items() if k != "architectures"}, **config}
    c["patch_size"] = _square(c, "patch_size")
    c["image_size"] = _square(c, "image_size")
    act = str(c["hidden_act"]).lower()
    if act not in ("gelu", "relu"):
        raise MappingError(f"the {ARCH} config's hidden_act {c['hidden_act']!r} has no "
                           "transformer layer here: use gelu or relu")
    c["hidden_act"] = act
    return c


def build(config: Mapping[str, Any], image_size: int | None = None, *,
          layout: bool = True) -> Graph:
    """The backbone: Input ``image`` [3, S, S] -> ... -> Output ``features`` [D].

    ``image_size`` (default: the config's) must be a multiple of the patch size; the
    position embedding covers exactly the (S / P)^2 + 1 tokens of that size (``map_keys``
    with the same ``image_size`` resizes a checkpoint's to fit)."""
    c = _cfg(config)
    s, patch, d = side(c, image_size), c["patch_size"], int(c["hidden_size"])
    if s % patch:
        raise MappingError(f"the {ARCH} image size {s} is not a multiple of the patch size "
                           f"{patch}: choose {s // patch * patch or patch} or "
                           f"{(s // patch + 1) * patch}")
    tokens = (s // patch) ** 2
    b = GraphBuilder()
    x = b.add("Input", "image", {"shape": [c["num_channels"], s, s]})
    x = b.add("Conv2d", "patch_conv", {"out_channels": d, "kernel_size": patch,
                                       "stride": patch, "padding": 0}, [x])
    x = b.add("Flatten", "patch_flatten", {"start_dim": 1}, [x])
    x = b.add("Permute", "patch_tokens", {"dims": [1, 0]}, [x])
    x = b.add("ClassToken", "cls_token", {}, [x])
    x = b.add("PositionalEncoding", "pos_embed",
              {"learned": True, "max_len": tokens + 1,
               "dropout": float(c["hidden_dropout_prob"])}, [x])
    for i in range(int(c["num_hidden_layers"])):
        x = b.add("TransformerEncoderLayer", f"layer{i}", {
            "nhead": int(c["num_attention_heads"]),
            "dim_feedforward": int(c["intermediate_size"]),
            "dropout": float(c["hidden_dropout_prob"]),
            "activation": c["hidden_act"],
            "norm_first": True,
            "layer_norm_eps": float(c["layer_norm_eps"]),
        }, [x])
    x = b.add("LayerNorm", "final_norm", {"eps": float(c["layer_norm_eps"])}, [x])
    x = b.add("TakeToken", "cls_take", {"index": 0}, [x])
    b.add("Output", "features", {}, [x])
    return b.graph(layout)


def resize_positions(pe: Any, tokens: int) -> Any:
    """Position embeddings [1 + G*G, D] for 1 + ``tokens`` steps: the class token's row
    kept, the patches' G x G grid resized bicubically to sqrt(tokens) a side, as
    ``ViTEmbeddings.interpolate_pos_encoding`` does at run time."""
    import math

    import torch
    from torch.nn import functional as F

    old, new = math.isqrt(pe.shape[0] - 1), math.isqrt(tokens)
    if old * old != pe.shape[0] - 1 or new * new != tokens:
        raise MappingError(f"the {ARCH} position embeddings of {pe.shape[0]} steps are not a "
                           "class token and a square grid of patches; they cannot be resized")
    if old == new:
        return pe
    grid = pe[1:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    return torch.cat([pe[:1], grid.permute(0, 2, 3, 1).reshape(tokens, -1)], 0)


def map_keys(state: Mapping[str, Any], config: Mapping[str, Any], *,
             image_size: int | None = None) -> dict[str, Any]:
    """``ViTModel`` tensors (no ``vit.`` prefix), in either spelling -> the graph's keys.

    ``config`` is the checkpoint's; ``image_size`` (default: the config's) is the side the
    graph was built for: another size resizes the position embeddings to its grid.
    Errors name the tensors in the checkpoint's own spelling."""
    import torch

    c = _cfg(config)
    size = c["image_size"] if image_size is None else int(image_size)
    names = _OLD if any(k.startswith("encoder.layer.") for k in state) else _NEW
    m = KeyMap(state, ARCH)
    m.used.update(k for k in state if k.startswith("pooler."))
    m.conv("embeddings.patch_embeddings.projection", "patch_conv", bias=True)
    m.take("embeddings.cls_token", "cls_token.token")
    m.take("embeddings.position_embeddings", "pos_embed.pe")
    if "pos_embed.pe" in m.out:  # [1, T, D] there, [T, D] here
        pe = m.out["pos_embed.pe"]
        pe = pe.reshape(pe.shape[-2:]) if pe.dim() == 3 else pe
        if size != c["image_size"]:
            pe = resize_positions(pe, (size // c["patch_size"]) ** 2)
        m.out["pos_embed.pe"] = pe
    bias = bool(c["qkv_bias"])
    for i in range(int(c["num_hidden_layers"])):
        hf, ours = names["prefix"].format(i=i), f"layer{i}"
        parts = [f"{hf}.{names[p]}" for p in "qkv"]
        wanted = [f"{p}.weight" for p in parts] + ([f"{p}.bias" for p in parts] if bias else [])
        absent = [k for k in wanted if k not in state]
        if absent:
            m.absent.extend(absent)
        else:
            weights = [state[f"{p}.weight"] for p in parts]
            m.out[f"{ours}.self_attn.in_proj_weight"] = torch.cat(weights, 0)
            if bias:
                joined = torch.cat([state[f"{p}.bias"] for p in parts], 0)
            else:  # the layer always has a bias; zeros compute the same
                joined = weights[0].new_zeros(sum(w.shape[0] for w in weights))
            m.out[f"{ours}.self_attn.in_proj_bias"] = joined
            m.used.update(wanted)
            for kind in ("weight", "bias"):
                m.sources[f"{ours}.self_attn.in_proj_{kind}"] = " + ".join(
                    f"{p}.{kind}" for p in parts)
        m.linear(f"{hf}.{names['o']}", f"{ours}.self_attn.out_proj")
        m.linear(f"{hf}.{names['fc1']}", f"{ours}.linear1")
        m.linear(f"{hf}.{names['fc2']}", f"{ours}.linear2")
        m.layer_norm(f"{hf}.layernorm_before", f"{ours}.norm1")
        m.layer_norm(f"{hf}.layernorm_after", f"{ours}.norm2")
    m.layer_norm("layernorm", "final_norm")
    return m.finish(expected_state(build(c, size, layout=False), ARCH))
