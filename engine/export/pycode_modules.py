"""Constructor expressions for generated ``model.py`` files: the Python literal of each
argument and the call that rebuilds each module, torch.nn layers and LayerForge's own classes.

Split from :mod:`engine.export.pycode` (which prints the forward code and the file around
it): this part knows each module's constructor, that one knows fx graphs. The lists of
LayerForge's own classes live here because both the exporter (which copies their source)
and the importer (which keeps exact copies whole while tracing) read them.
"""

from __future__ import annotations

import inspect
from typing import Any

from engine.export.common import ExportError

#: the modules holding LayerForge's own nn.Module classes, copied into model.py
CUSTOM_MODULES = ("engine.blocks.modules", "engine.blocks.modules_text",
                  "engine.blocks.modules_audio")
#: names of the classes in CUSTOM_MODULES, a base class before its subclasses
CUSTOM = ("Recurrent", "SelfAttention", "PositionalEncoding", "CausalEncoderLayer",
          "MaskedEncoderLayer", "ChannelLayerNorm", "LayerScale", "StochasticDepth",
          "ClassToken", "DetectionHead", "SegmentationHead", "SequencePool", "CrossAttention",
          "CausalDecoderLayer", "Spectrogram", "LogMel", "MFCC", "SpecAugment")
#: the custom classes whose constructor arguments are all attributes of the same name
_BY_ATTRIBUTES = ("ChannelLayerNorm", "LayerScale", "StochasticDepth", "ClassToken",
                  "DetectionHead", "SegmentationHead", "SequencePool", "CrossAttention",
                  "Spectrogram", "LogMel", "MFCC", "SpecAugment")


def custom_class(name: str) -> type:
    """LayerForge's own class ``name`` (one of CUSTOM), from whichever module holds it."""
    import importlib

    for module in CUSTOM_MODULES:
        klass = getattr(importlib.import_module(module), name, None)
        if isinstance(klass, type):
            return klass
    raise KeyError(name)


def literal(v: Any) -> str:
    """A Python literal for a constructor or call argument; anything else is refused."""
    if v is None or isinstance(v, bool | int | str):
        return repr(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ExportError(f"cannot write the number {v} in generated code")
        return repr(v)
    if isinstance(v, tuple | list):
        inner = ", ".join(literal(x) for x in v)
        if isinstance(v, tuple):
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        return f"[{inner}]"
    raise ExportError(f"cannot write a {type(v).__name__} value in generated code")


def _call(func: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [literal(a) for a in args] + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def constructor(m) -> str:
    """The expression that builds a module equal in structure to ``m`` (weights aside)."""
    from torch import nn

    cls = type(m).__name__
    if type(m).__module__ in CUSTOM_MODULES:
        return _custom_constructor(m, cls)
    if type(m).__module__.startswith("torch.nn") is False or getattr(nn, cls, None) is not type(m):
        raise ExportError(f"no code generator for module type {cls}")
    a: list[Any] = []
    kw: dict[str, Any] = {}
    if isinstance(m, nn.Linear):
        a, kw = [m.in_features, m.out_features], {"bias": m.bias is not None}
    elif isinstance(m, nn.Conv1d | nn.Conv2d | nn.ConvTranspose2d):
        if m.padding_mode != "zeros":
            raise ExportError(f"no code generator for padding_mode {m.padding_mode}")
        a = [m.in_channels, m.out_channels]
        kw = {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding}
        if isinstance(m, nn.ConvTranspose2d):
            kw["output_padding"] = m.output_padding
        kw.update(dilation=m.dilation, groups=m.groups, bias=m.bias is not None)
    elif isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool2d):
        kw = {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding,
              "ceil_mode": m.ceil_mode}
    elif isinstance(m, nn.AdaptiveAvgPool2d):
        a = [m.output_size]
    elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
        a, kw = [m.num_features], {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}
    elif isinstance(m, nn.LayerNorm):
        a = [tuple(m.normalized_shape)]
        kw = {"eps": m.eps, "elementwise_affine": m.elementwise_affine}
    elif isinstance(m, nn.GroupNorm):
        a, kw = [m.num_groups, m.num_channels], {"eps": m.eps, "affine": m.affine}
    elif isinstance(m, nn.Dropout):
        a = [m.p]
    elif isinstance(m, nn.Upsample):
        kw = {"scale_factor": m.scale_factor, "mode": m.mode}
        if m.align_corners is not None:
            kw["align_corners"] = m.align_corners
    elif isinstance(m, nn.Embedding):
        a = [m.num_embeddings, m.embedding_dim]
        if m.padding_idx is not None:
            kw = {"padding_idx": m.padding_idx}
    elif isinstance(m, nn.LeakyReLU):
        kw = {"negative_slope": m.negative_slope}
    elif isinstance(m, nn.GELU):
        kw = {"approximate": m.approximate}
    elif isinstance(m, nn.Softmax | nn.LogSoftmax):
        kw = {"dim": m.dim}
    elif isinstance(m, nn.ZeroPad2d):
        a = [tuple(m.padding)]
    elif isinstance(m, nn.TransformerEncoderLayer):
        return _call(f"nn.{cls}", *_encoder_args(m))
    elif not isinstance(m, nn.ReLU | nn.ReLU6 | nn.Hardswish | nn.SiLU | nn.Sigmoid | nn.Tanh):
        raise ExportError(f"no code generator for module type {cls}")
    return _call(f"nn.{cls}", a, kw)


def _encoder_args(m) -> tuple[list[Any], dict[str, Any]]:
    act = {1: "relu", 2: "gelu"}.get(getattr(m, "activation_relu_or_gelu", 0))
    if act is None:
        raise ExportError("no code generator for this transformer activation")
    return [m.self_attn.embed_dim, m.self_attn.num_heads], {
        "dim_feedforward": m.linear1.out_features, "dropout": m.dropout.p, "activation": act,
        "batch_first": m.self_attn.batch_first, "norm_first": m.norm_first,
        "layer_norm_eps": m.norm1.eps}


def _custom_constructor(m, cls: str) -> str:
    masked = {"masked": True} if getattr(m, "masked", False) else {}
    if cls == "Recurrent":
        if hasattr(m, "rnn"):
            r = m.rnn
            # Opacus' DPLSTM (a private-training block) exports as the nn.LSTM it matches
            kind, size, layers, dropout = (type(r).__name__.removeprefix("DP"), r.input_size,
                                           r.num_layers, r.dropout)
            nonlinearity = getattr(r, "nonlinearity", getattr(m, "nonlinearity", "tanh"))
        else:  # masked and bidirectional: one torch layer per layer and direction
            kind, size, layers, dropout = m.kind, m.input_size, m.num_layers, m.dropout
            nonlinearity = m.nonlinearity
        opts = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
        return _call(cls, [kind, size, m.hidden_size],
                     {"num_layers": layers, "bidirectional": m.bidirectional,
                      "dropout": dropout, "output": m.output, **opts, **masked})
    if cls == "SelfAttention":
        return _call(cls, [m.attn.embed_dim, m.attn.num_heads],
                     {"dropout": m.attn.dropout, "causal": m.causal, **masked})
    if cls == "PositionalEncoding":
        from torch import nn

        return _call(cls, [int(m.pe.shape[1])],
                     {"max_len": m.max_len, "learned": isinstance(m.pe, nn.Parameter),
                      "dropout": m.dropout.p})
    if cls == "CausalEncoderLayer":
        return _call(cls, *_encoder_args(m))
    if cls == "MaskedEncoderLayer":
        args, kwargs = _encoder_args(m)
        return _call(cls, args, {**kwargs, "causal": m.causal})
    if cls == "CausalDecoderLayer":
        return _call(cls, [m.self_attn.embed_dim, m.self_attn.num_heads],
                     {"dim_feedforward": m.linear1.out_features, "dropout": m.dropout.p,
                      "activation": m.activation_name, "norm_first": m.norm_first, **masked})
    if cls in _BY_ATTRIBUTES:
        # these keep each constructor argument as an attribute of the same name
        names = [n for n in inspect.signature(type(m).__init__).parameters if n != "self"]
        return _call(cls, [getattr(m, n) for n in names], {})
    raise ExportError(f"no code generator for module type {cls}")


def custom_classes(gm) -> dict[str, type]:
    """LayerForge's own classes that ``gm`` uses, with the custom classes they extend (a
    copied subclass needs its base), by name."""
    out: dict[str, type] = {}
    for m in gm.modules():
        for klass in type(m).__mro__:
            if klass.__module__ in CUSTOM_MODULES:
                out[klass.__name__] = klass
    return out


__all__ = ["CUSTOM", "CUSTOM_MODULES", "constructor", "custom_class", "custom_classes",
           "literal"]
