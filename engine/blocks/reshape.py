"""Blocks that rearrange a tensor without learning anything."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, one_input


@register
class Flatten(Block):
    type = title = "Flatten"
    family = "reshape"
    doc = ("Collapses every dimension from start_dim on into one, e.g. an image [N, 16, 5, 5] "
           "into [N, 400], so that a Linear layer can follow.")
    params = (Param("start_dim", "int", 0, "First dimension to flatten, counted without the "
                    "batch dimension.", min=0, max=7),)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        s = p["start_dim"]
        if s >= max(len(x.shape), 1):
            raise ShapeError(f"Flatten start_dim {s} is past the last dimension of {x}")
        tail = x.shape[s:]
        if any(d is None for d in tail):
            raise ShapeError(f"Flatten cannot flatten the variable-length dimension of {x}")
        n = 1
        for d in tail:
            n *= d
        return TensorSpec(x.shape[:s] + (n,), x.dtype, x.vocab)

    def flops(self, p, ins, out) -> int:
        return 0

    def emit(self, g, name, p, args, ins):
        import torch

        return g.create_node("call_function", torch.flatten, (args[0], p["start_dim"] + 1), {},
                             name=name)


@register
class Reshape(Block):
    type = title = "Reshape"
    family = "reshape"
    doc = ("Gives the per-sample tensor a new shape with the same number of elements, e.g. 784 "
           "features into an image [1, 28, 28]. One dimension may be -1 to be worked out.")
    params = (Param("shape", "ints", [1, 28, 28], "New per-sample shape (one entry may be -1).",
                    min=-1, max=100_000_000),)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        target = p["shape"]
        if not target:
            raise ShapeError("Reshape needs at least one dimension")
        if any(d == 0 for d in target) or list(target).count(-1) > 1:
            raise ShapeError("Reshape dimensions must be positive, with at most one -1")
        if any(d is None for d in x.shape):
            raise ShapeError(f"Reshape cannot reshape the variable-length input {x}")
        n = x.numel()
        known = 1
        for d in target:
            if d != -1:
                known *= d
        if -1 in target:
            if n % known:
                raise ShapeError(f"Reshape cannot fit {n} elements of {x} into {list(target)}")
            target = tuple(n // known if d == -1 else d for d in target)
        elif known != n:
            raise ShapeError(
                f"Reshape to {list(target)} holds {known} elements but the input {x} has {n}"
            )
        return TensorSpec(tuple(target), x.dtype, x.vocab)

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p) -> str:
        return "x".join(str(d) for d in p["shape"])

    def emit(self, g, name, p, args, ins):
        # The batch takes the -1; a -1 in the target is resolved to its inferred size.
        shape = self.infer(p, ins).shape
        return g.create_node("call_method", "reshape", (args[0], -1, *shape), {}, name=name)


@register
class Permute(Block):
    type = title = "Permute"
    family = "reshape"
    doc = ("Reorders the dimensions, e.g. [C, T] into [T, C] with dims 1, 0. Dims are counted "
           "without the batch dimension, which stays first.")
    params = (Param("dims", "ints", [1, 0], "The new order of the dimensions.", min=0, max=7),)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        dims = p["dims"]
        if sorted(dims) != list(range(len(x.shape))):
            raise ShapeError(
                f"Permute dims {list(dims)} must list each of 0..{len(x.shape) - 1} once for {x}"
            )
        return TensorSpec(tuple(x.shape[d] for d in dims), x.dtype, x.vocab)

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p) -> str:
        return ",".join(str(d) for d in p["dims"])

    def emit(self, g, name, p, args, ins):
        return g.create_node("call_method", "permute", (args[0], 0, *(d + 1 for d in p["dims"])),
                             {}, name=name)


@register
class TakeToken(Block):
    type = "TakeToken"
    title = "Take token"
    family = "reshape"
    doc = ("Takes one step of a sequence: [N, T, D] becomes [N, D]. Index 0 is the first step "
           "(a vision transformer's class token), -1 the last (what a recurrent or causal "
           "model has read to the end).")
    params = (Param("index", "int", 0, "Which step to take: 0 for the first, -1 for the last.",
                    min=-65_536, max=65_535),)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        if len(x.shape) != 2:
            fix = {0: "it has no steps, so remove it",
                   1: "insert an Embedding (token ids) or a Reshape to [T, D] first"}.get(
                len(x.shape), "insert Reshape (or Flatten the extra dimensions) first")
            raise ShapeError(f"{self.title} expects a sequence [N, T, D] but gets {x}: {fix}")
        t, i = x.shape[0], p["index"]
        if t is not None and not -t <= i < t:
            raise ShapeError(
                f"{self.title} index {i} is outside the sequence {x} of {t} steps: choose an "
                f"index from 0 to {t - 1}, or -1 for the last step"
            )
        if t is None and i not in (0, -1):
            raise ShapeError(
                f"{self.title} index {i} may be past the end of the variable-length sequence "
                f"{x}: use 0 (the first step) or -1 (the last)"
            )
        return TensorSpec(x.shape[1:], x.dtype, x.vocab)

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p) -> str:
        return {0: "first", -1: "last"}.get(p["index"], f"#{p['index']}")

    def emit(self, g, name, p, args, ins):
        return g.create_node("call_method", "select", (args[0], 1, p["index"]), {}, name=name)


@register
class Upsample(Block):
    type = title = "Upsample"
    family = "reshape"
    doc = ("Enlarges an image [N, C, H, W] (or a signal [N, C, L]) by an integer factor, "
           "repeating pixels (nearest) or interpolating them (bilinear / linear).")
    params = (
        Param("scale_factor", "int", 2, "How many times larger each spatial side becomes.",
              min=1, max=64),
        Param("mode", "choice", "nearest", "How new pixels are filled in.",
              choices=("nearest", "bilinear", "linear")),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        if x.dtype != "float" or len(x.shape) not in (2, 3):
            raise ShapeError(f"Upsample expects an image [N, C, H, W] or a signal [N, C, L] but gets {x}")
        if p["mode"] == "bilinear" and len(x.shape) != 3:
            raise ShapeError("Upsample mode bilinear needs an image [N, C, H, W]: use linear for signals")
        if p["mode"] == "linear" and len(x.shape) != 2:
            raise ShapeError("Upsample mode linear needs a signal [N, C, L]: use bilinear for images")
        s = p["scale_factor"]
        spatial = tuple(None if d is None else d * s for d in x.shape[1:])
        return TensorSpec((x.shape[0],) + spatial)

    def flops(self, p, ins, out) -> int:
        return out.numel() * (1 if p["mode"] == "nearest" else 4)

    def summary(self, p) -> str:
        return f"x{p['scale_factor']} {p['mode']}"

    def build(self, p, ins):
        from torch import nn

        kw = {"align_corners": False} if p["mode"] != "nearest" else {}
        return nn.Upsample(scale_factor=p["scale_factor"], mode=p["mode"], **kw)
