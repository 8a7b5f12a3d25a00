"""The import mapping for layers: torch.nn modules -> LayerForge blocks.

Each layer rule is declared with :func:`maps`, which names the layer types it imports, so a
new layer is one decorated function beside its siblings and :func:`map_module` stays a
lookup. Each rule reads the layer's real attributes; a setting the block cannot express is
refused with a sentence that names the layer and the setting. Tensor functions and methods
are mapped in :mod:`engine.export.import_ops`.

The rules live here, not as ``from_torch`` methods on the block classes: they read torch
layers and raise ExportError, while ``engine/blocks`` loads without torch and knows nothing
of export. This module imports torch at load; only the importer (loaded lazily) uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import fx, nn

from engine.blocks import get_block
from engine.export.common import ExportError


@dataclass(slots=True)
class Rule:
    """How one layer becomes one block: the block type, its params and where weights go."""

    block: str
    params: dict[str, Any] = field(default_factory=dict)
    suffix: str = ""  # where the layer's state dict goes inside the block's module
    returns_tuple: bool = False
    weights_from: Any = None


LayerRule = Callable[[nn.Module, str, fx.Node], Rule]
_BY_TYPE: dict[type, LayerRule] = {}
_BY_NAME: dict[str, LayerRule] = {}


def maps(*layers: type[nn.Module] | str) -> Callable[[LayerRule], LayerRule]:
    """Declare the decorated function as the rule for exactly these layer types.

    A type matches itself only, never its subclasses: a subclass may change ``forward``, and
    importing it as its base would describe a different computation. A string names one of
    LayerForge's own modules (``engine/blocks/modules.py``) by class name, because a generated
    ``model.py`` carries a copy of the class rather than the class itself (the tracer keeps
    such a copy whole only when its source is identical).
    """
    def register(rule: LayerRule) -> LayerRule:
        for layer in layers:
            table: dict[Any, LayerRule] = _BY_NAME if isinstance(layer, str) else _BY_TYPE
            if layer in table:
                raise ValueError(f"two import rules for {layer}")
            table[layer] = rule
        return rule
    return register


def own_layers() -> frozenset[str]:
    """The names of LayerForge's own classes that have a rule (the tracer keeps them whole)."""
    return frozenset(_BY_NAME)


def map_module(m: nn.Module, name: str, n: fx.Node) -> Rule:
    """The block for the leaf module ``m`` (called by fx node ``n``), or ExportError."""
    rule = _BY_TYPE.get(type(m)) or _BY_NAME.get(type(m).__name__)
    if rule is None:
        raise ExportError(f"layer `{name}` ({type(m).__name__}) has no LayerForge block: the "
                          "importer maps torch.nn layers such as Linear, Conv2d, BatchNorm2d, "
                          "LSTM and TransformerEncoderLayer (see docs/export.md); rewrite it "
                          "with those")
    return rule(m, name, n)


def _refuse(name: str, m, why: str) -> ExportError:
    return ExportError(f"layer `{name}` ({type(m).__name__}) cannot be imported: {why}")


def _ints(v: Any, n: int) -> list[int]:
    if isinstance(v, int):
        return [v] * n
    return [int(x) for x in v]


def block_dim(d: int, rank: int, where: str) -> int:
    """A torch dim (with batch) as a block dim (without): negative dims stay negative."""
    if d < 0:
        return d
    if d == 0:
        raise ExportError(f"`{where}` acts on the batch dimension, which no block does")
    if d >= rank:
        raise ExportError(f"`{where}` uses dim {d} of a {rank}-dimensional tensor")
    return d - 1


def input_rank(n: fx.Node, i: int = 0) -> int:
    """The rank (with batch) of the tensor that ``n`` takes as argument ``i``."""
    meta = n.args[i].meta.get("tensor_meta") if hasattr(n.args[i], "meta") else None
    if meta is None:
        raise ExportError(f"`{n.name}`: the shape of its input is unknown")
    return len(meta.shape)


# -- layers (call_module) -------------------------------------------------------------------


@maps(nn.Linear)
def _linear(m, name: str, n) -> Rule:
    return Rule("Linear", {"out_features": m.out_features, "bias": m.bias is not None})


@maps(nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
def _conv(m, name: str, n) -> Rule:
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise _refuse(name, m, "only explicit zero padding has a block")
    nd = 1 if type(m).__name__.endswith("1d") else 2
    p = {"out_channels": m.out_channels, "kernel_size": _ints(m.kernel_size, nd),
         "stride": _ints(m.stride, nd), "padding": _ints(m.padding, nd),
         "dilation": _ints(m.dilation, nd), "groups": m.groups, "bias": m.bias is not None}
    if type(m).__name__ == "ConvTranspose2d":
        p["output_padding"] = _ints(m.output_padding, 2)
    return Rule(type(m).__name__, p)


@maps(nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool2d)
def _pool(m, name: str, n) -> Rule:
    nd = 1 if type(m).__name__.endswith("1d") else 2
    if getattr(m, "return_indices", False) or any(d != 1 for d in _ints(getattr(m, "dilation", 1), nd)):
        raise _refuse(name, m, "return_indices and dilation have no block")
    if type(m).__name__ == "AvgPool2d" and (not m.count_include_pad or m.divisor_override):
        raise _refuse(name, m, "only count_include_pad=True without divisor_override has a block")
    stride = m.stride if m.stride is not None else m.kernel_size
    return Rule(type(m).__name__, {"kernel_size": _ints(m.kernel_size, nd),
                                   "stride": _ints(stride, nd), "padding": _ints(m.padding, nd),
                                   "ceil_mode": bool(m.ceil_mode)})


@maps(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool(m, name: str, n) -> Rule:
    size = _ints(m.output_size, 2) if m.output_size is not None and None not in (
        m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)) else None
    if size is None:
        raise _refuse(name, m, "an output size of None has no block")
    return Rule("AdaptiveAvgPool2d", {"output_size": size})


@maps(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(m, name: str, n) -> Rule:
    if not m.track_running_stats or m.momentum is None:
        raise _refuse(name, m, "only track_running_stats=True with a momentum has a block")
    return Rule(type(m).__name__, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine})


@maps(nn.LayerNorm)
def _layer_norm(m, name: str, n) -> Rule:
    if len(m.normalized_shape) != 1 or (m.elementwise_affine and m.bias is None):
        raise _refuse(name, m, "only a LayerNorm over the last dimension, with a bias when "
                      "affine, has a block")
    return Rule("LayerNorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine})


@maps(nn.GroupNorm)
def _group_norm(m, name: str, n) -> Rule:
    return Rule("GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine})


@maps(nn.Dropout)
def _dropout_layer(m, name: str, n) -> Rule:
    return Rule("Dropout", {"p": m.p})


@maps(nn.ReLU, nn.SiLU, nn.Sigmoid, nn.Tanh)
def _plain_activation(m, name: str, n) -> Rule:
    return Rule(type(m).__name__)


@maps(nn.LeakyReLU)
def _leaky_relu(m, name: str, n) -> Rule:
    return Rule("LeakyReLU", {"negative_slope": m.negative_slope})


@maps(nn.GELU)
def _gelu(m, name: str, n) -> Rule:
    return Rule("GELU", {"approximate": m.approximate})


@maps(nn.Softmax, nn.LogSoftmax)
def _softmax(m, name: str, n) -> Rule:
    if m.dim is None:
        raise _refuse(name, m, "set dim explicitly")
    return Rule(type(m).__name__, {"dim": block_dim(m.dim, input_rank(n), name)})


@maps(nn.Flatten)
def _flatten_layer(m, name: str, n) -> Rule:
    if m.end_dim != -1:
        raise _refuse(name, m, "only flattening to the last dimension has a block")
    return Rule("Flatten", {"start_dim": block_dim(m.start_dim, input_rank(n), name)
                            if m.start_dim >= 0 else input_rank(n) + m.start_dim - 1})


@maps(nn.Upsample)
def _upsample(m, name: str, n) -> Rule:
    sf = m.scale_factor
    sf = sf[0] if isinstance(sf, tuple) and len(set(sf)) == 1 else sf
    if m.size is not None or not isinstance(sf, int | float) or float(sf) != int(sf) \
            or m.mode not in ("nearest", "bilinear", "linear") or m.align_corners:
        raise _refuse(name, m, "only an integer scale_factor with nearest, bilinear or "
                      "linear mode (align_corners False) has a block")
    return Rule("Upsample", {"scale_factor": int(sf), "mode": m.mode})


@maps(nn.Embedding)
def _embedding(m, name: str, n) -> Rule:
    if m.padding_idx not in (None, 0) or m.max_norm is not None:
        raise _refuse(name, m, "only padding_idx=0 (the padding id of LayerForge's "
                      "tokenizers) has a block, and max_norm has none")
    return Rule("Embedding", {"embedding_dim": m.embedding_dim,
                              "padding": m.padding_idx == 0})


def _rnn_params(r, output: str) -> dict[str, Any]:
    p = {"hidden_size": r.hidden_size, "num_layers": r.num_layers,
         "bidirectional": r.bidirectional, "dropout": r.dropout, "output": output}
    if type(r).__name__ == "RNN":
        p["nonlinearity"] = r.nonlinearity
    return p


@maps(nn.LSTM, nn.GRU, nn.RNN)
def _rnn(m, name: str, n) -> Rule:
    if not m.batch_first or not m.bias or getattr(m, "proj_size", 0):
        raise _refuse(name, m, "only batch_first=True with bias and no proj_size has a "
                      "block (LayerForge sequences are [N, T, F])")
    if len(n.args) > 1 or n.kwargs:
        raise _refuse(name, m, "an initial hidden state has no block")
    # the block wraps the torch layer as `.rnn` and returns (output, state) like it
    return Rule(type(m).__name__, _rnn_params(m, "sequence"), suffix=".rnn", returns_tuple=True)


@maps(nn.MultiheadAttention)
def _attention(m, name: str, n) -> Rule:
    if not m.batch_first or not m._qkv_same_embed_dim or m.in_proj_bias is None \
            or m.bias_k is not None or m.add_zero_attn:
        raise _refuse(name, m, "only batch-first self-attention with biases and no extra "
                      "key/value options has a block")
    if any(v not in (None, False, True) or (k != "need_weights" and v)
           for k, v in n.kwargs.items()):
        raise _refuse(name, m, "masks have no block (use causal on the block instead)")
    return Rule("MultiheadAttention", {"num_heads": m.num_heads, "dropout": m.dropout,
                                       "causal": False}, suffix=".attn", returns_tuple=True)


@maps(nn.TransformerEncoderLayer, "CausalEncoderLayer", "MaskedEncoderLayer")
def _encoder_layer(m, name: str, n) -> Rule:
    act = {1: "relu", 2: "gelu"}.get(getattr(m, "activation_relu_or_gelu", 0))
    masked = type(m).__name__ == "MaskedEncoderLayer"  # forward(src, ids)
    if not m.self_attn.batch_first or act is None or m.norm1.eps != 1e-5 \
            or m.linear1.bias is None or len(n.args) > 1 + masked or n.kwargs:
        raise _refuse(name, m, "only batch_first=True, relu or gelu, default eps and bias, "
                      "without masks, has a block")
    causal = type(m).__name__ == "CausalEncoderLayer" or (masked and m.causal)
    return Rule("TransformerEncoderLayer", {
        "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": m.dropout.p, "activation": act, "norm_first": m.norm_first,
        "causal": causal, "masked": masked})


# LayerForge's own modules, as written into generated model.py files


@maps("Recurrent")
def _own_recurrent(m, name: str, n) -> Rule:
    masked = {"masked": True} if getattr(m, "masked", False) else {}
    if hasattr(m, "rnn"):
        return Rule(type(m.rnn).__name__, {**_rnn_params(m.rnn, m.output), **masked})
    # masked and bidirectional: one torch layer per layer and direction, so the settings
    # are attributes of the module itself
    p = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
         "bidirectional": m.bidirectional, "dropout": m.dropout, "output": m.output}
    if m.kind == "RNN":
        p["nonlinearity"] = m.nonlinearity
    return Rule(m.kind, {**p, **masked})


@maps("SelfAttention")
def _own_self_attention(m, name: str, n) -> Rule:
    return Rule("MultiheadAttention", {"num_heads": m.attn.num_heads,
                                       "dropout": m.attn.dropout, "causal": m.causal,
                                       "masked": bool(getattr(m, "masked", False))})


@maps("CausalDecoderLayer")
def _own_decoder_layer(m, name: str, n) -> Rule:
    if m.norm1.eps != 1e-5 or m.linear1.bias is None:
        raise _refuse(name, m, "only the default eps, with biases, has a block")
    return Rule("TransformerDecoderLayer", {
        "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": m.dropout.p, "activation": m.activation_name, "norm_first": m.norm_first,
        "masked": m.masked})


@maps("SequencePool", "CrossAttention", "Spectrogram", "LogMel", "MFCC", "SpecAugment")
def _own_by_attributes(m, name: str, n) -> Rule:
    # these modules keep each of their block's params as an attribute of the same name
    block = get_block(type(m).__name__)
    return Rule(block.type, {p.name: getattr(m, p.name) for p in block.params})


@maps("SegmentationHead")
def _own_segmentation_head(m, name: str, n) -> Rule:
    return Rule("SegmentationHead", {"classes": m.classes})


@maps("DetectionHead")
def _own_detection_head(m, name: str, n) -> Rule:
    return Rule("DetectionHead", {"classes": m.classes, "width": m.width})


@maps("PositionalEncoding")
def _own_positional_encoding(m, name: str, n) -> Rule:
    return Rule("PositionalEncoding", {"learned": isinstance(m.pe, nn.Parameter),
                                       "max_len": m.max_len, "dropout": m.dropout.p})
