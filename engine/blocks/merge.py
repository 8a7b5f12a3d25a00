"""Blocks that join several tensors: element-wise sum and product, concatenation."""

from __future__ import annotations

import operator
from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, need_float


class _Merge(Block):
    family = "merge"
    params = (Param("inputs", "int", 2, "Number of input ports.", min=2, max=8),)

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return tuple(f"in{i}" for i in range(p["inputs"]))

    def summary(self, p) -> str:
        return f"{p['inputs']} inputs" if p["inputs"] != 2 else ""


class _Elementwise(_Merge):
    op: Any = None
    symbol = ""

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        first = ins[0]
        for i, x in enumerate(ins):
            need_float(self, x)
            if x.shape != first.shape:
                raise ShapeError(
                    f"{self.type} needs inputs of one shape but in0 is {first} and in{i} is {x}: "
                    "match them with a Linear or a 1x1 Conv2d on the shortcut"
                )
        return first

    def flops(self, p, ins, out) -> int:
        return (len(ins) - 1) * out.numel()

    def emit(self, g, name, p, args, ins):
        node = args[0]
        for i, a in enumerate(args[1:], start=1):
            last = i == len(args) - 1
            node = g.create_node("call_function", self.op, (node, a), {},
                                 name=name if last else f"{name}_{i}")
        return node


@register
class Add(_Elementwise):
    type = title = "Add"
    op = operator.add
    doc = ("Adds its inputs element by element, as in a residual (skip) connection. All inputs "
           "must have the same shape.")


@register
class Multiply(_Elementwise):
    type = title = "Multiply"
    op = operator.mul
    doc = ("Multiplies its inputs element by element, e.g. to gate one path by another. All "
           "inputs must have the same shape.")


@register
class Concat(_Merge):
    type = title = "Concat"
    doc = ("Joins its inputs along one dimension (by default the channels or features, the first "
           "dimension after the batch). All other dimensions must agree.")
    params = _Merge.params + (
        Param("dim", "int", 0, "Dimension to join along, counted without the batch dimension "
              "(0 is channels for images, -1 the last).", min=-8, max=7),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        first = ins[0]
        rank = len(first.shape)
        d = p["dim"]
        if not -rank <= d < rank:
            raise ShapeError(f"Concat dim {d} does not exist in {first}")
        d %= rank
        total: int | None = 0
        for i, x in enumerate(ins):
            if x.dtype != first.dtype:
                raise ShapeError(f"Concat cannot join token ids with real values (in{i} is {x})")
            if len(x.shape) != rank or any(
                a != b for j, (a, b) in enumerate(zip(x.shape, first.shape, strict=True)) if j != d
            ):
                raise ShapeError(
                    f"Concat along dim {p['dim']} needs all other dimensions equal, but in0 is "
                    f"{first} and in{i} is {x}"
                )
            total = None if total is None or x.shape[d] is None else total + x.shape[d]
        shape = first.shape[:d] + (total,) + first.shape[d + 1:]
        return TensorSpec(shape, first.dtype, max((x.vocab or 0 for x in ins), default=0) or None)

    def flops(self, p, ins, out) -> int:
        return 0

    def emit(self, g, name, p, args, ins):
        import torch

        d = p["dim"]
        return g.create_node("call_function", torch.cat, (list(args),),
                             {"dim": d + 1 if d >= 0 else d}, name=name)
