"""The import mapping: torch.nn layers and tensor operations -> LayerForge blocks.

Each rule reads the layer's real attributes; a setting the block cannot express is refused
with a sentence that names the layer and the setting.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from engine.export.common import ExportError


@dataclass(slots=True)
class Rule:
    block: str
    params: dict[str, Any] = field(default_factory=dict)
    suffix: str = ""  # where the layer's state dict goes inside the block's module
    returns_tuple: bool = False
    weights_from: Any = None


def _refuse(name: str, m, why: str) -> ExportError:
    return ExportError(f"layer `{name}` ({type(m).__name__}) cannot be imported: {why}")


def _ints(v: Any, n: int) -> list[int]:
    if isinstance(v, int):
        return [v] * n
    return [int(x) for x in v]


def _conv(m, name: str) -> Rule:
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise _refuse(name, m, "only explicit zero padding has a block")
    nd = 1 if type(m).__name__.endswith("1d") else 2
    p = {"out_channels": m.out_channels, "kernel_size": _ints(m.kernel_size, nd),
         "stride": _ints(m.stride, nd), "padding": _ints(m.padding, nd),
         "dilation": _ints(m.dilation, nd), "groups": m.groups, "bias": m.bias is not None}
    if type(m).__name__ == "ConvTranspose2d":
        p["output_padding"] = _ints(m.output_padding, 2)
    return Rule(type(m).__name__, p)


def _pool(m, name: str) -> Rule:
    nd = 1 if type(m).__name__.endswith("1d") else 2
    if getattr(m, "return_indices", False) or any(d != 1 for d in _ints(getattr(m, "dilation", 1), nd)):
        raise _refuse(name, m, "return_indices and dilation have no block")
    if type(m).__name__ == "AvgPool2d" and (not m.count_include_pad or m.divisor_override):
        raise _refuse(name, m, "only count_include_pad=True without divisor_override has a block")
    stride = m.stride if m.stride is not None else m.kernel_size
    return Rule(type(m).__name__, {"kernel_size": _ints(m.kernel_size, nd),
                                   "stride": _ints(stride, nd), "padding": _ints(m.padding, nd),
                                   "ceil_mode": bool(m.ceil_mode)})


def _dim(d: int, rank: int, where: str) -> int:
    """A torch dim (with batch) as a block dim (without): negative dims stay negative."""
    if d < 0:
        return d
    if d == 0:
        raise ExportError(f"`{where}` acts on the batch dimension, which no block does")
    if d >= rank:
        raise ExportError(f"`{where}` uses dim {d} of a {rank}-dimensional tensor")
    return d - 1


def _rank(n, i: int = 0) -> int:
    meta = n.args[i].meta.get("tensor_meta") if hasattr(n.args[i], "meta") else None
    if meta is None:
        raise ExportError(f"`{n.name}`: the shape of its input is unknown")
    return len(meta.shape)


def map_module(m, name: str, n) -> Rule:  # noqa: C901 - one flat table reads best
    """The block for the leaf module ``m`` (called by fx node ``n``), or ExportError."""
    from torch import nn

    from engine.blocks import modules as ours

    cls = type(m).__name__
    if isinstance(m, nn.Linear) and type(m) is nn.Linear:
        return Rule("Linear", {"out_features": m.out_features, "bias": m.bias is not None})
    if type(m) in (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d):
        return _conv(m, name)
    if type(m) in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool2d):
        return _pool(m, name)
    if type(m) is nn.AdaptiveAvgPool2d:
        size = _ints(m.output_size, 2) if m.output_size is not None and None not in (
            m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)) else None
        if size is None:
            raise _refuse(name, m, "an output size of None has no block")
        return Rule("AdaptiveAvgPool2d", {"output_size": size})
    if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
        if not m.track_running_stats or m.momentum is None:
            raise _refuse(name, m, "only track_running_stats=True with a momentum has a block")
        return Rule(cls, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine})
    if type(m) is nn.LayerNorm:
        if len(m.normalized_shape) != 1 or (m.elementwise_affine and m.bias is None):
            raise _refuse(name, m, "only a LayerNorm over the last dimension, with a bias when "
                          "affine, has a block")
        return Rule("LayerNorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine})
    if type(m) is nn.GroupNorm:
        return Rule("GroupNorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine})
    if type(m) is nn.Dropout:
        return Rule("Dropout", {"p": m.p})
    if type(m) in (nn.ReLU, nn.SiLU, nn.Sigmoid, nn.Tanh):
        return Rule(cls)
    if type(m) is nn.LeakyReLU:
        return Rule(cls, {"negative_slope": m.negative_slope})
    if type(m) is nn.GELU:
        return Rule(cls, {"approximate": m.approximate})
    if type(m) in (nn.Softmax, nn.LogSoftmax):
        if m.dim is None:
            raise _refuse(name, m, "set dim explicitly")
        return Rule(cls, {"dim": _dim(m.dim, _rank(n), name)})
    if type(m) is nn.Flatten:
        if m.end_dim != -1:
            raise _refuse(name, m, "only flattening to the last dimension has a block")
        return Rule("Flatten", {"start_dim": _dim(m.start_dim, _rank(n), name)
                                if m.start_dim >= 0 else _rank(n) + m.start_dim - 1})
    if type(m) is nn.Upsample:
        sf = m.scale_factor
        sf = sf[0] if isinstance(sf, tuple) and len(set(sf)) == 1 else sf
        if m.size is not None or not isinstance(sf, int | float) or float(sf) != int(sf) \
                or m.mode not in ("nearest", "bilinear", "linear") or m.align_corners:
            raise _refuse(name, m, "only an integer scale_factor with nearest, bilinear or "
                          "linear mode (align_corners False) has a block")
        return Rule("Upsample", {"scale_factor": int(sf), "mode": m.mode})
    if type(m) is nn.Embedding:
        if m.padding_idx is not None or m.max_norm is not None:
            raise _refuse(name, m, "padding_idx and max_norm have no block")
        return Rule("Embedding", {"embedding_dim": m.embedding_dim})
    if type(m) in (nn.LSTM, nn.GRU, nn.RNN):
        if not m.batch_first or not m.bias or getattr(m, "proj_size", 0):
            raise _refuse(name, m, "only batch_first=True with bias and no proj_size has a "
                          "block (LayerForge sequences are [N, T, F])")
        if len(n.args) > 1 or n.kwargs:
            raise _refuse(name, m, "an initial hidden state has no block")
        p = _rnn_params(m, "sequence")
        return Rule(cls, p, suffix=".rnn", returns_tuple=True)
    if type(m) is nn.MultiheadAttention:
        if not m.batch_first or not m._qkv_same_embed_dim or m.in_proj_bias is None \
                or m.bias_k is not None or m.add_zero_attn:
            raise _refuse(name, m, "only batch-first self-attention with biases and no extra "
                          "key/value options has a block")
        if any(v not in (None, False, True) or (k != "need_weights" and v)
               for k, v in n.kwargs.items()):
            raise _refuse(name, m, "masks have no block (use causal on the block instead)")
        return Rule("MultiheadAttention", {"num_heads": m.num_heads, "dropout": m.dropout,
                                           "causal": False}, suffix=".attn", returns_tuple=True)
    if type(m) is nn.TransformerEncoderLayer or type(m).__name__ == "CausalEncoderLayer":
        act = {1: "relu", 2: "gelu"}.get(getattr(m, "activation_relu_or_gelu", 0))
        if not m.self_attn.batch_first or act is None or m.norm1.eps != 1e-5 \
                or m.linear1.bias is None or len(n.args) > 1 or n.kwargs:
            raise _refuse(name, m, "only batch_first=True, relu or gelu, default eps and bias, "
                          "without masks, has a block")
        return Rule("TransformerEncoderLayer", {
            "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
            "dropout": m.dropout.p, "activation": act, "norm_first": m.norm_first,
            "causal": cls == "CausalEncoderLayer"})
    if cls == "Recurrent":
        return Rule(type(m.rnn).__name__, _rnn_params(m.rnn, m.output))
    if cls == "SelfAttention":
        return Rule("MultiheadAttention", {"num_heads": m.attn.num_heads,
                                           "dropout": m.attn.dropout, "causal": m.causal})
    if cls == "PositionalEncoding":
        return Rule("PositionalEncoding", {"learned": isinstance(m.pe, nn.Parameter),
                                           "max_len": m.max_len, "dropout": m.dropout.p})
    del ours
    raise ExportError(f"layer `{name}` ({cls}) has no LayerForge block: the importer maps "
                      "torch.nn layers such as Linear, Conv2d, BatchNorm2d, LSTM and "
                      "TransformerEncoderLayer (see docs/export.md); rewrite it with those")


def _rnn_params(r, output: str) -> dict[str, Any]:
    p = {"hidden_size": r.hidden_size, "num_layers": r.num_layers,
         "bidirectional": r.bidirectional, "dropout": r.dropout, "output": output}
    if type(r).__name__ == "RNN":
        p["nonlinearity"] = r.nonlinearity
    return p


# -- functions and methods ----------------------------------------------------------------


def _get(n, i: int, key: str, default: Any) -> Any:
    if len(n.args) > i:
        return n.args[i]
    return n.kwargs.get(key, default)


def _simple(block: str, **params_from: tuple[int, str, Any]):
    def rule(b, n) -> None:
        params = {}
        for pname, (i, key, default) in params_from.items():
            params[pname] = _get(n, i, key, default)
        if block in ("Softmax", "LogSoftmax"):
            if params["dim"] is None:
                raise ExportError(f"`{n.name}`: set dim explicitly")
            params["dim"] = _dim(params["dim"], _rank(n), n.name)
        b.value[n] = b.add(n.name, block, params, [b.tensor(n.args[0], n.name)])
    return rule


def _merge(block: str):
    def rule(b, n) -> None:
        if n.kwargs.get("alpha", 1) != 1 or len(n.args) != 2:
            raise ExportError(f"`{n.name}`: only plain {block.lower()} of two tensors has a block")
        srcs = [b.tensor(a, n.name) for a in n.args]
        b.value[n] = b.add(n.name, block, {}, srcs)
    return rule


def _cat(b, n) -> None:
    tensors = _get(n, 0, "tensors", None)
    dim = _get(n, 1, "dim", 0)
    if not isinstance(tensors, list | tuple) or not 2 <= len(tensors) <= 8:
        raise ExportError(f"`{n.name}`: Concat joins 2 to 8 tensors")
    meta = tensors[0].meta.get("tensor_meta")
    srcs = [b.tensor(t, n.name) for t in tensors]
    b.value[n] = b.add(n.name, "Concat", {"inputs": len(srcs),
                                          "dim": _dim(dim, len(meta.shape), n.name)}, srcs)


def _flatten(b, n) -> None:
    rank = _rank(n)
    start, end = _get(n, 1, "start_dim", 0), _get(n, 2, "end_dim", -1)
    if end not in (-1, rank - 1):
        raise ExportError(f"`{n.name}`: only flattening to the last dimension has a block")
    start = start + rank if start < 0 else start
    b.value[n] = b.add(n.name, "Flatten", {"start_dim": _dim(start, rank, n.name)},
                       [b.tensor(n.args[0], n.name)])


def _reshape(b, n) -> None:
    shape = list(n.args[1:]) if n.op == "call_method" else [_get(n, 1, "shape", None)]
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = list(shape[0])
    src = b.tensor(n.args[0], n.name)
    first, rest = (shape[0], shape[1:]) if shape else (None, [])
    batch_ok = first == -1 or b.value.get(first) == ("size0", src)
    if not batch_ok or not all(isinstance(d, int) for d in rest) or not rest \
            or (first == -1 and -1 in rest):
        raise ExportError(f"`{n.name}`: only reshapes that keep the batch first (x.size(0) or "
                          "-1) and give the other sizes as numbers have a block")
    b.value[n] = b.add(n.name, "Reshape", {"shape": rest}, [src])


def _permute(b, n) -> None:
    rank = _rank(n)
    if n.target == "transpose" or getattr(n.target, "__name__", "") == "transpose":
        a, c = (x % rank for x in (n.args[1], n.args[2]))
        dims = list(range(rank))
        dims[a], dims[c] = dims[c], dims[a]
    else:
        dims = list(n.args[1:]) if n.op == "call_method" else _get(n, 1, "dims", None)
        if len(dims) == 1 and isinstance(dims[0], list | tuple):
            dims = list(dims[0])
        dims = [d % rank for d in dims]
    if dims[0] != 0:
        raise ExportError(f"`{n.name}` moves the batch dimension, which no block does")
    b.value[n] = b.add(n.name, "Permute", {"dims": [d - 1 for d in dims[1:]]},
                       [b.tensor(n.args[0], n.name)])


def _mean(b, n) -> None:
    rank = _rank(n)
    dims = _get(n, 1, "dim", None)
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if _get(n, 2, "keepdim", False) or rank not in (3, 4) or \
            sorted(d % rank for d in dims) != list(range(2, rank)):
        raise ExportError(f"`{n.name}`: only a mean over all positions of [N, C, L] or "
                          "[N, C, H, W] (global average pooling) has a block")
    b.value[n] = b.add(n.name, "GlobalAvgPool", {}, [b.tensor(n.args[0], n.name)])


def _getitem(b, n) -> None:
    v, idx = b.value.get(n.args[0]), n.args[1]
    if isinstance(v, tuple) and v[0] == "tuple":
        if idx != 0 and not n.users:
            return  # `y, _ = rnn(x)`: the unused hidden state needs no block
        if idx != 0:
            raise ExportError(f"`{n.name}` uses the hidden state or attention weights of "
                              f"`{v[1]}`, which no block returns")
        b.value[n] = v[1]
    elif isinstance(v, tuple) and v[0] == "shape" and idx == 0:
        b.value[n] = ("size0", v[1])
    elif isinstance(v, str) and idx == (slice(None), -1):
        node = next(x for x in b.nodes if x.id == v)
        if node.type not in ("LSTM", "GRU", "RNN") or node.params.get("bidirectional") \
                or len(n.args[0].users) != 1 or node.params.get("output") != "sequence":
            raise ExportError(f"`{n.name}`: taking the last step has a block only right after "
                              "a one-direction LSTM, GRU or RNN")
        node.params = {**node.params, "output": "last"}
        b.value[n] = v
    else:
        raise ExportError(f"`{n.name}`: indexing a tensor has no block")


def _size(b, n) -> None:
    src = b.tensor(n.args[0], n.name)
    dim = _get(n, 1, "dim", None)
    b.value[n] = ("size0", src) if dim == 0 else ("shape", src) if dim is None else None


def _getattr(b, n) -> None:
    if n.args[1] != "shape":
        raise ExportError(f"`{n.name}`: reading the attribute {n.args[1]!r} has no block")
    b.value[n] = ("shape", b.tensor(n.args[0], n.name))


def _identity(b, n) -> None:
    b.value[n] = b.tensor(n.args[0], n.name)


def _dropout(b, n) -> None:
    b.value[n] = b.add(n.name, "Dropout", {"p": _get(n, 1, "p", 0.5)},
                       [b.tensor(n.args[0], n.name)])


def _tables() -> tuple[dict[Any, Any], dict[str, Any]]:
    import torch
    import torch.nn.functional as F

    dim = {"dim": (1, "dim", None)}
    funcs = {
        operator.add: _merge("Add"), torch.add: _merge("Add"),
        operator.mul: _merge("Multiply"), torch.mul: _merge("Multiply"),
        torch.cat: _cat, torch.concat: _cat, torch.flatten: _flatten, torch.reshape: _reshape,
        torch.permute: _permute, torch.transpose: _permute, torch.mean: _mean,
        operator.getitem: _getitem, getattr: _getattr,
        torch.relu: _simple("ReLU"), F.relu: _simple("ReLU"),
        torch.sigmoid: _simple("Sigmoid"), torch.tanh: _simple("Tanh"),
        F.silu: _simple("SiLU"), F.gelu: _simple("GELU", approximate=(1, "approximate", "none")),
        F.leaky_relu: _simple("LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
        F.softmax: _simple("Softmax", **dim), torch.softmax: _simple("Softmax", **dim),
        F.log_softmax: _simple("LogSoftmax", **dim),
        torch.log_softmax: _simple("LogSoftmax", **dim), F.dropout: _dropout,
    }
    methods = {
        "add": _merge("Add"), "mul": _merge("Multiply"), "flatten": _flatten,
        "reshape": _reshape, "view": _reshape, "permute": _permute, "transpose": _permute,
        "mean": _mean, "size": _size, "contiguous": _identity, "relu": _simple("ReLU"),
        "sigmoid": _simple("Sigmoid"), "tanh": _simple("Tanh"),
        "softmax": _simple("Softmax", **dim), "log_softmax": _simple("LogSoftmax", **dim),
    }
    return funcs, methods


FUNCTIONS, METHODS = _tables()
