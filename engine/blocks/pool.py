"""Pooling: windowed max / average, adaptive average and global average pooling."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, need_float, one_input
from engine.blocks.conv import dims_text, expect_image, expect_signal, shrinks_to_nothing


def pool_len(size: int | None, kernel: int, stride: int, pad: int, ceil: bool) -> int | None:
    """Output length along one axis, exactly as PyTorch computes it (None stays None).

    In ceil mode the last window may hang over the edge, so even a kernel wider than the
    padded input yields one output; the final window must still start inside the input
    or its left padding.
    """
    if size is None:
        return None
    span = size + 2 * pad - (kernel - 1) - 1 + (stride - 1 if ceil else 0)
    n = span // stride + 1
    if ceil and (n - 1) * stride >= size + pad:
        n -= 1
    return n


class _Pool(Block):
    family = "pool"
    nd = 2
    module = ""

    def strides(self, p: dict[str, Any]) -> tuple[int, ...]:
        """The effective stride: 0 means the same as the kernel (windows that do not overlap)."""
        return tuple(k if s == 0 else s for k, s in zip(p["kernel_size"], p["stride"], strict=True))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        if self.nd == 1:
            expect_signal(self, x)
        else:
            expect_image(self, x)
        kernel, pad = p["kernel_size"], p["padding"]
        if any(2 * q > k for q, k in zip(pad, kernel, strict=True)):
            most = tuple(k // 2 for k in kernel)
            raise ShapeError(
                f"{self.title} padding {dims_text(pad)} is more than half of kernel "
                f"{dims_text(kernel)}: use padding {dims_text(most)} or less"
            )
        spatial = tuple(
            pool_len(n, k, s, q, p["ceil_mode"])
            for n, k, s, q in zip(x.shape[1:], kernel, self.strides(p), pad, strict=True)
        )
        if any(d is not None and d < 1 for d in spatial):
            raise shrinks_to_nothing(self, f"kernel {dims_text(kernel)}", x,
                                     "use a smaller kernel or remove a pooling layer")
        return TensorSpec((x.shape[0], *spatial))

    def flops(self, p, ins, out) -> int:
        # one comparison or addition per window element
        n = 1
        for k in p["kernel_size"]:
            n *= k
        return out.numel() * n

    def summary(self, p) -> str:
        s = f"k{dims_text(p['kernel_size'])} s{dims_text(self.strides(p))}"
        if any(p["padding"]):
            s += f" p{dims_text(p['padding'])}"
        return s + (" ceil" if p["ceil_mode"] else "")

    def build(self, p, ins):
        from torch import nn

        return getattr(nn, self.module)(kernel_size=p["kernel_size"], stride=self.strides(p),
                                         padding=p["padding"], ceil_mode=p["ceil_mode"])


def _pool_params(n: int) -> tuple[Param, ...]:
    return (
        Param("kernel_size", "size", 2, "Size of the pooling window.", min=1, max=1024, length=n),
        Param("stride", "size", 0, "Step between windows; 0 means the same as the kernel, so "
              "windows do not overlap.", min=0, max=1024, length=n),
        Param("padding", "size", 0, "Implicit border added on each side; at most half the "
              "kernel.", min=0, max=512, length=n),
        Param("ceil_mode", "bool", False, "Round the output size up, so a partial window at "
              "the edge still produces an output."),
    )


@register
class MaxPool1d(_Pool):
    type = title = module = "MaxPool1d"
    nd = 1
    doc = (
        "Keeps the largest value in each window along a signal [N, C, L], shrinking the "
        "length (by half with kernel 2). Channels are pooled independently and nothing is "
        "learned. A variable length stays variable."
    )
    params = _pool_params(1)

    def onnx_problem(self, p, ins):
        # Measured with torch 2.13's exporter: it fixes a variable length here, and the model
        # then fails on any other length (docs/export.md).
        if any(d is None for d in ins[0].shape):
            return (f"the ONNX exporter fixes the variable sequence length of {self.type}: "
                    "give the Input a fixed length to export to ONNX")
        return self.onnx_issue


@register
class MaxPool2d(_Pool):
    type = title = module = "MaxPool2d"
    doc = (
        "Keeps the largest value in each window of an image [N, C, H, W], shrinking it (by "
        "half with kernel 2, the usual choice after a convolution). Channels are pooled "
        "independently and nothing is learned."
    )
    params = _pool_params(2)


@register
class AvgPool2d(_Pool):
    type = title = module = "AvgPool2d"
    doc = (
        "Averages each window of an image [N, C, H, W], shrinking it (by half with kernel 2). "
        "Smoother than max pooling; channels are pooled independently and nothing is learned."
    )
    params = _pool_params(2)


@register
class AdaptiveAvgPool2d(Block):
    type = title = "AdaptiveAvgPool2d"
    family = "pool"
    doc = (
        "Averages an image [N, C, H, W] down to a fixed size [N, C, h, w] whatever its input "
        "size, choosing the windows itself. Output size 1x1 is global average pooling; a fixed "
        "size lets a Flatten and Linear follow images of any size."
    )
    params = (
        Param("output_size", "size", 1, "Height and width of the result.", min=1, max=10_000,
              length=2),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        expect_image(self, x)
        return TensorSpec((x.shape[0], *p["output_size"]))

    def flops(self, p, ins, out) -> int:
        return max(ins[0].numel(), out.numel())

    def summary(self, p) -> str:
        return "x".join(str(d) for d in p["output_size"])

    def build(self, p, ins):
        from torch import nn

        return nn.AdaptiveAvgPool2d(p["output_size"])


@register
class GlobalAvgPool(Block):
    type = "GlobalAvgPool"
    title = "Global average pool"
    family = "pool"
    doc = (
        "Averages each channel over all its positions: an image [N, C, H, W] or a signal "
        "[N, C, L] becomes [N, C], ready for a Linear classifier. Works for any spatial size, "
        "including a variable length, and learns nothing."
    )
    params = ()

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        rank = len(x.shape)
        if rank in (2, 3):
            return TensorSpec((x.shape[0],))
        fix = ("it is already flat, so remove it" if rank < 2
               else "insert Reshape to [C, H, W]")
        raise ShapeError(
            f"{self.title} expects an image [N, C, H, W] or a signal [N, C, L] but gets {x}: {fix}"
        )

    def flops(self, p, ins, out) -> int:
        return ins[0].numel()

    def emit(self, g, name, p, args, ins):
        dims = tuple(range(2, len(ins[0].shape) + 1))
        return g.create_node("call_method", "mean", (args[0],), {"dim": dims}, name=name)
