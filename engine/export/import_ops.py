"""The import mapping for operations: torch functions and tensor methods -> LayerForge blocks.

fx records ``torch.cat(...)``, ``F.relu(x)`` or ``x.view(...)`` as ``call_function`` and
``call_method`` nodes; each rule here turns one such node into a block (or, for ``x.size(0)``
and tuple indexing, into a tagged value that a later rule consumes). Layers are mapped in
:mod:`engine.export.import_rules`.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.nn.functional as F

from engine.export.common import ExportError
from engine.export.import_rules import block_dim, input_rank


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
            params["dim"] = block_dim(params["dim"], input_rank(n), n.name)
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
                                          "dim": block_dim(dim, len(meta.shape), n.name)}, srcs)


def _flatten(b, n) -> None:
    rank = input_rank(n)
    start, end = _get(n, 1, "start_dim", 0), _get(n, 2, "end_dim", -1)
    if end not in (-1, rank - 1):
        raise ExportError(f"`{n.name}`: only flattening to the last dimension has a block")
    start = start + rank if start < 0 else start
    b.value[n] = b.add(n.name, "Flatten", {"start_dim": block_dim(start, rank, n.name)},
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
    rank = input_rank(n)
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
    rank = input_rank(n)
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
    """The rules for fx ``call_function`` targets and ``call_method`` names."""
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


# fx call_function target -> rule, and call_method name -> rule; a rule is (builder, fx node)
FUNCTIONS, METHODS = _tables()
