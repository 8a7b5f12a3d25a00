"""Convolutions over signals [N, C, L] and images [N, C, H, W].

The layout helpers here (``expect_image``, ``expect_signal``, ``dims_text``) are shared with
the pooling and normalisation families so that every spatial block words its errors alike.
"""

from __future__ import annotations

import math
from typing import Any

from engine.blocks import get_block, register
from engine.blocks.base import (
    Block,
    Param,
    ShapeError,
    TensorSpec,
    need_float,
    need_known,
    one_input,
    window_out,
)

# -- shared helpers ----------------------------------------------------------------------


def dims_text(dims: tuple[int | None, ...]) -> str:
    """``(3, 5)`` -> ``3x5``; a square ``(3, 3)`` -> ``3``; a variable dim reads ``T``."""
    if len(set(dims)) == 1 and dims[0] is not None:
        return str(dims[0])
    return "x".join("T" if d is None else str(d) for d in dims)


def _spatial_text(dims: tuple[int | None, ...]) -> str:
    return "x".join("T" if d is None else str(d) for d in dims)


def _reshape_target(dims: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("-1" if d is None else str(d) for d in dims) + "]"


def expect_image(block: Block, x: TensorSpec) -> None:
    """Require a float image [N, C, H, W], with a fix that fits the shape actually given."""
    need_float(block, x)
    rank = len(x.shape)
    if rank == 3:
        return
    name = block.title or block.type
    fix = "insert Reshape to [C, H, W]"
    if rank == 1 and x.shape[0] is not None:
        f = x.shape[0]
        for c in (1, 3):
            side = math.isqrt(f // c)
            if f % c == 0 and side * side * c == f:
                fix = f"insert Reshape to [{c}, {side}, {side}]"
                break
    elif rank == 2:
        fix = f"insert Reshape to {_reshape_target((1, *x.shape))} to add a channel dimension"
        if block.type.endswith("2d") and get_block(block.type[:-2] + "1d") is not None:
            signal = f"use {block.type[:-2]}1d for a signal [C, L]"
            fix = signal if None in x.shape else f"{signal}, or {fix}"
    elif rank > 3:
        fix = "insert Reshape or Flatten to get [C, H, W]"
    raise ShapeError(f"{name} expects an image [N, C, H, W] but gets {x}: {fix}")


def expect_signal(block: Block, x: TensorSpec) -> None:
    """Require a float signal or sequence [N, C, L] (channels first)."""
    need_float(block, x)
    rank = len(x.shape)
    if rank == 2:
        return
    name = block.title or block.type
    if rank == 1:
        fix = f"insert Reshape to {_reshape_target((1, *x.shape))} to make one channel"
    elif rank == 3:
        other = block.type[:-2] + "2d" if block.type.endswith("1d") else ""
        fix = "insert Reshape to [C, L]"
        if other and get_block(other) is not None:
            fix = f"use {other} for images, or Reshape to [C, L]"
    else:
        fix = "insert Reshape to [C, L]"
    raise ShapeError(f"{name} expects a signal [N, C, L] (channels first) but gets {x}: {fix}")


def shrinks_to_nothing(block: Block, what: str, x: TensorSpec, fix: str) -> ShapeError:
    name = block.title or block.type
    return ShapeError(
        f"{name} with {what} shrinks {_spatial_text(x.shape[1:])} to nothing: {fix}"
    )


def _largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


def need_groups(block: Block, groups: int, channels: int, which: str) -> None:
    """Raise unless ``channels`` splits evenly into ``groups``."""
    if channels % groups:
        name = block.title or block.type
        hint = _largest_divisor(channels, groups)
        raise ShapeError(
            f"{name} with {groups} groups needs {which} divisible by {groups}, but there are "
            f"{channels}: choose groups that divides {channels}, e.g. {hint}"
        )


def _size(name: str, default: int, doc: str, n: int, lo: int, hi: int = 1024) -> Param:
    return Param(name, "size", default, doc, min=lo, max=hi, length=n)


# -- convolutions --------------------------------------------------------------------------


class _Conv(Block):
    family = "conv"
    nd = 2
    transposed = False

    def _check_input(self, x: TensorSpec) -> None:
        if self.nd == 1:
            expect_signal(self, x)
        else:
            expect_image(self, x)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        self._check_input(x)
        cin = need_known(self, x, 0, "number of channels")
        g, cout = p["groups"], p["out_channels"]
        need_groups(self, g, cin, "the input channels")
        need_groups(self, g, cout, "out_channels")
        spatial = self._spatial(p, x)
        if any(d is not None and d < 1 for d in spatial):
            raise self._too_small(p, x)
        return TensorSpec((cout, *spatial))

    def _spatial(self, p: dict[str, Any], x: TensorSpec) -> tuple[int | None, ...]:
        return tuple(
            window_out(n, k, s, pad, d)
            for n, k, s, pad, d in zip(x.shape[1:], p["kernel_size"], p["stride"], p["padding"],
                                       p["dilation"], strict=True)
        )

    def _too_small(self, p: dict[str, Any], x: TensorSpec) -> ShapeError:
        what = f"kernel {dims_text(p['kernel_size'])}"
        if any(d > 1 for d in p["dilation"]):
            what += f" (dilation {dims_text(p['dilation'])})"
        return shrinks_to_nothing(
            self, what, x, "use a smaller kernel, add padding, or remove a pooling layer before it"
        )

    def param_count(self, p, ins) -> int:
        cin = ins[0].shape[0]
        w = cin * p["out_channels"] // p["groups"] * math.prod(p["kernel_size"])
        return w + (p["out_channels"] if p["bias"] else 0)

    def flops(self, p, ins, out) -> int:
        # A convolution does cin/groups * k multiply-adds per output element; a transposed
        # one scatters each input element into cout/groups * k outputs.
        if self.transposed:
            macs = ins[0].numel() * (p["out_channels"] // p["groups"])
        else:
            macs = out.numel() * (ins[0].shape[0] // p["groups"])
        macs *= math.prod(p["kernel_size"])
        return 2 * macs + (out.numel() if p["bias"] else 0)

    def summary(self, p) -> str:
        parts = [f"{p['out_channels']}, k{dims_text(p['kernel_size'])}",
                 f"s{dims_text(p['stride'])}", f"p{dims_text(p['padding'])}"]
        if any(d > 1 for d in p["dilation"]):
            parts.append(f"d{dims_text(p['dilation'])}")
        if p["groups"] > 1:
            parts.append(f"g{p['groups']}")
        return " ".join(parts)

    def _kwargs(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"kernel_size": p["kernel_size"], "stride": p["stride"], "padding": p["padding"],
                "dilation": p["dilation"], "groups": p["groups"], "bias": p["bias"]}


def _conv_params(n: int) -> tuple[Param, ...]:
    return (
        Param("out_channels", "int", 32, "Number of output channels (feature maps).",
              min=1, max=1_000_000),
        _size("kernel_size", 3, "Size of the sliding window.", n, 1),
        _size("stride", 1, "Step between neighbouring windows; 2 halves the size.", n, 1),
        _size("padding", 1,
              "Zeros added on each side; (kernel - 1) / 2 keeps the size at stride 1.", n, 0),
        _size("dilation", 1, "Spacing between kernel taps; widens the view without weights.",
              n, 1),
        Param("groups", "int", 1, "Split channels into independent groups; both the input "
              "channels and out_channels must divide evenly.", min=1, max=1_000_000),
        Param("bias", "bool", True, "Learn an additive bias per output channel."),
    )


@register
class Conv1d(_Conv):
    type = title = "Conv1d"
    nd = 1
    doc = (
        "A 1-D convolution: slides learned filters along a signal or sequence [N, C, L] with "
        "channels first, giving [N, out_channels, L']. The number of input channels comes from "
        "the incoming tensor. A sequence of embeddings [N, T, D] has its features last, so put "
        "a Permute (dims 1, 0) before this block. A variable length stays variable."
    )
    params = _conv_params(1)

    def build(self, p, ins):
        from torch import nn

        return nn.Conv1d(ins[0].shape[0], p["out_channels"], **self._kwargs(p))


@register
class Conv2d(_Conv):
    type = title = "Conv2d"
    doc = (
        "A 2-D convolution: slides learned filters over an image [N, C, H, W], giving "
        "[N, out_channels, H', W']. The number of input channels comes from the incoming "
        "tensor. Kernel 3 with padding 1 keeps the size; stride 2 halves it. Each output "
        "side is (side + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1, rounded down."
    )
    params = _conv_params(2)

    def build(self, p, ins):
        from torch import nn

        return nn.Conv2d(ins[0].shape[0], p["out_channels"], **self._kwargs(p))


@register
class ConvTranspose2d(_Conv):
    type = title = "ConvTranspose2d"
    transposed = True
    doc = (
        "A transposed 2-D convolution (sometimes called deconvolution): enlarges an image "
        "[N, C, H, W], as in a GAN generator or a decoder. Kernel 4, stride 2, padding 1 "
        "doubles each side. Each output side is (side - 1) * stride - 2 * padding + "
        "dilation * (kernel - 1) + output_padding + 1. The input channels come from the "
        "incoming tensor."
    )
    params = (
        Param("out_channels", "int", 32, "Number of output channels (feature maps).",
              min=1, max=1_000_000),
        _size("kernel_size", 4, "Size of the sliding window.", 2, 1),
        _size("stride", 2, "Enlargement step; 2 roughly doubles each side.", 2, 1),
        _size("padding", 1, "Rows and columns trimmed from each side of the result.", 2, 0),
        _size("output_padding", 0, "Extra rows/columns added on one side to reach an exact "
              "size; must be smaller than stride or dilation.", 2, 0),
        _size("dilation", 1, "Spacing between kernel taps.", 2, 1),
        Param("groups", "int", 1, "Split channels into independent groups; both the input "
              "channels and out_channels must divide evenly.", min=1, max=1_000_000),
        Param("bias", "bool", True, "Learn an additive bias per output channel."),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        for op, s, d in zip(p["output_padding"], p["stride"], p["dilation"], strict=True):
            if op >= s and op >= d:
                limit = max(s, d) - 1
                raise ShapeError(
                    f"ConvTranspose2d output_padding {dims_text(p['output_padding'])} must be "
                    f"smaller than stride {dims_text(p['stride'])} or dilation "
                    f"{dims_text(p['dilation'])}: use output_padding {limit} or less"
                )
        return super().infer(p, ins)

    def _spatial(self, p: dict[str, Any], x: TensorSpec) -> tuple[int | None, ...]:
        out: list[int | None] = []
        for n, k, s, pad, op, d in zip(x.shape[1:], p["kernel_size"], p["stride"], p["padding"],
                                       p["output_padding"], p["dilation"], strict=True):
            out.append(None if n is None else (n - 1) * s - 2 * pad + d * (k - 1) + op + 1)
        return tuple(out)

    def _too_small(self, p: dict[str, Any], x: TensorSpec) -> ShapeError:
        return ShapeError(
            f"ConvTranspose2d with padding {dims_text(p['padding'])} trims the enlarged "
            f"{_spatial_text(x.shape[1:])} input down to nothing: use less padding or a larger "
            "kernel"
        )

    def summary(self, p) -> str:
        s = super().summary(p)
        if any(p["output_padding"]):
            s += f" op{dims_text(p['output_padding'])}"
        return s

    def _kwargs(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**super()._kwargs(p), "output_padding": p["output_padding"]}

    def build(self, p, ins):
        from torch import nn

        return nn.ConvTranspose2d(ins[0].shape[0], p["out_channels"], **self._kwargs(p))


@register
class ZeroPad2d(Block):
    type = title = "ZeroPad2d"
    family = "conv"
    doc = (
        "Adds rows and columns of zeros around an image [N, C, H, W], a different number on "
        "each side (left, right, top, bottom), giving [N, C, H + top + bottom, W + left + "
        "right]. Put it before a convolution with padding 0 to pad unevenly, as TensorFlow's "
        "\"same\" padding does at stride 2 (MobileNet, EfficientNet). Learns nothing."
    )
    params = (
        Param("left", "int", 0, "Columns of zeros added on the left.", min=0, max=1024),
        Param("right", "int", 1, "Columns of zeros added on the right.", min=0, max=1024),
        Param("top", "int", 0, "Rows of zeros added on top.", min=0, max=1024),
        Param("bottom", "int", 1, "Rows of zeros added at the bottom.", min=0, max=1024),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        expect_image(self, x)
        h, w = x.shape[1], x.shape[2]
        return TensorSpec((x.shape[0], None if h is None else h + p["top"] + p["bottom"],
                           None if w is None else w + p["left"] + p["right"]))

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p) -> str:
        return f"l{p['left']} r{p['right']} t{p['top']} b{p['bottom']}"

    def build(self, p, ins):
        from torch import nn

        return nn.ZeroPad2d((p["left"], p["right"], p["top"], p["bottom"]))
