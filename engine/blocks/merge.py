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


def broadcast(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> tuple[int | None, ...] | None:
    """The per-sample shape of an element-wise operation on ``a`` and ``b`` (numpy rules:
    each dimension equal, or 1 on one side), or None if they do not broadcast. Both must
    have the same rank: the batch dimension in front keeps PyTorch from aligning a shorter
    shape the way the user means. A variable dimension matches 1 or another variable one."""
    if len(a) != len(b):
        return None
    out: list[int | None] = []
    for x, y in zip(a, b, strict=True):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


class _Elementwise(_Merge):
    op: Any = None
    symbol = ""
    fix = ""

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        shape = ins[0].shape
        for i, x in enumerate(ins):
            need_float(self, x)
            joined = broadcast(shape, x.shape)
            if joined is None:
                fix = self.fix
                if len(x.shape) != len(ins[0].shape):
                    fix = "give both the same number of dimensions with a Reshape (e.g. [C, 1, 1])"
                raise ShapeError(
                    f"{self.type} needs inputs of one shape (or of size 1 where they differ) "
                    f"but in0 is {ins[0]} and in{i} is {x}: {fix}"
                )
            shape = joined
        return TensorSpec(shape)

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
    fix = "match them with a Linear or a 1x1 Conv2d on the shortcut"
    doc = ("Adds its inputs element by element, as in a residual (skip) connection. The inputs "
           "have the same shape, or size 1 where they differ (broadcast, e.g. a bias "
           "[C, 1, 1] added to an image [C, H, W]).")


@register
class Multiply(_Elementwise):
    type = title = "Multiply"
    op = operator.mul
    fix = "make the gate's size match, e.g. a 1x1 Conv2d to the image's channels"
    doc = ("Multiplies its inputs element by element, e.g. to gate one path by another. The "
           "inputs have the same shape, or size 1 where they differ (broadcast): a "
           "squeeze-and-excitation gate [C, 1, 1] scales every position of an image [C, H, W].")


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
