"""Normalization layers and dropout."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import (
    Block,
    Param,
    ShapeError,
    TensorSpec,
    need_float,
    need_known,
    one_input,
)
from engine.blocks.conv import expect_image


def _eps() -> Param:
    return Param("eps", "float", 1e-5, "Small number added to the variance so that it never "
                 "divides by zero.", min=1e-12, max=1.0)


def _momentum() -> Param:
    return Param("momentum", "float", 0.1, "How fast the running mean and variance used at "
                 "evaluation follow each training batch.", min=0.0, max=1.0)


class _BatchNorm(Block):
    family = "norm"
    module = ""
    params = (
        _eps(),
        _momentum(),
        Param("affine", "bool", True, "Learn a scale and shift per channel after normalising."),
    )

    def check_input(self, x: TensorSpec) -> None:
        raise NotImplementedError

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        self.check_input(x)
        need_known(self, x, 0, "number of channels")
        return x

    def param_count(self, p, ins) -> int:
        return 2 * ins[0].shape[0] if p["affine"] else 0

    def flops(self, p, ins, out) -> int:
        # subtract the mean, divide by the deviation, then scale and shift
        return 4 * out.numel()

    def build(self, p, ins):
        from torch import nn

        return getattr(nn, self.module)(ins[0].shape[0], eps=p["eps"], momentum=p["momentum"],
                                         affine=p["affine"])


@register
class BatchNorm1d(_BatchNorm):
    type = title = module = "BatchNorm1d"
    doc = (
        "Normalises each feature (or each channel of a signal) over the batch to zero mean and "
        "unit variance, then learns a scale and shift. Takes features [N, C] or a signal "
        "[N, C, L]. It speeds up and steadies training; at evaluation it uses running "
        "averages. Training needs batches of more than one sample."
    )

    def check_input(self, x: TensorSpec) -> None:
        need_float(self, x)
        if len(x.shape) in (1, 2):
            return
        fix = ("use BatchNorm2d for images" if len(x.shape) == 3
               else "insert Flatten or Reshape first")
        raise ShapeError(
            f"BatchNorm1d expects features [N, C] or a signal [N, C, L] but gets {x}: {fix}"
        )


@register
class BatchNorm2d(_BatchNorm):
    type = title = module = "BatchNorm2d"
    doc = (
        "Normalises each channel of an image [N, C, H, W] over the batch and all positions, "
        "then learns a scale and shift per channel. The usual companion of Conv2d (then the "
        "convolution's bias can be switched off). At evaluation it uses running averages."
    )

    def check_input(self, x: TensorSpec) -> None:
        expect_image(self, x)


@register
class LayerNorm(Block):
    type = title = "LayerNorm"
    family = "norm"
    doc = (
        "Normalises each sample's last dimension to zero mean and unit variance, then learns "
        "a scale and shift per feature. Independent of the batch, so it behaves the same in "
        "training and evaluation; the standard norm in transformers. The normalised size is "
        "taken from the input. With channels_first it normalises the channels of an image "
        "[N, C, H, W] at each pixel instead, as ConvNeXt does."
    )
    params = (
        _eps(),
        Param("elementwise_affine", "bool", True, "Learn a scale and shift per feature."),
        Param("channels_first", "bool", False, "Normalise the first dimension (the channels "
              "of [N, C, H, W] or [N, C, L]) at each position, instead of the last one."),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if not x.shape:
            raise ShapeError(f"LayerNorm needs at least one feature dimension but gets {x}")
        if p["channels_first"]:
            need_known(self, x, 0, "number of channels (the first dimension)")
        else:
            need_known(self, x, -1, "last dimension")
        return x

    def param_count(self, p, ins) -> int:
        if not p["elementwise_affine"]:
            return 0
        return 2 * ins[0].shape[0 if p["channels_first"] else -1]

    def flops(self, p, ins, out) -> int:
        # mean, variance, normalise, then scale and shift
        return 5 * out.numel()

    def summary(self, p) -> str:
        return "channels first" if p["channels_first"] else ""

    def build(self, p, ins):
        from torch import nn

        if p["channels_first"]:
            from engine.blocks.modules import ChannelLayerNorm

            return ChannelLayerNorm(ins[0].shape[0], eps=p["eps"],
                                    elementwise_affine=p["elementwise_affine"])
        return nn.LayerNorm(ins[0].shape[-1], eps=p["eps"],
                            elementwise_affine=p["elementwise_affine"])


@register
class LayerScale(Block):
    type = "LayerScale"
    title = "Layer scale"
    family = "norm"
    doc = (
        "Multiplies each channel by its own learned factor, started small (init) so that a "
        "residual branch begins close to switched off and grows in as it trains; ConvNeXt "
        "and CaiT put it at the end of each block's branch. axis says which dimension holds "
        "the channels: last for [N, H, W, C] or a sequence [N, T, D], first for an image "
        "[N, C, H, W]. Any shape; the output has the input's shape."
    )
    params = (
        Param("init", "float", 1e-6, "Starting value of every factor.", min=0.0, max=1e6),
        Param("axis", "choice", "last", "Which dimension holds the channels: last "
              "([N, H, W, C], [N, T, D]) or first ([N, C, H, W]).", choices=("last", "first")),
    )

    def _channels(self, p: dict[str, Any], x: TensorSpec) -> int:
        return x.shape[-1 if p["axis"] == "last" else 0]

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if not x.shape:
            raise ShapeError(f"{self.title} needs at least one channel dimension but gets {x}: "
                             "it scales channels, so put it after a layer that has them")
        if p["axis"] == "first":
            need_known(self, x, 0, "number of channels (the first dimension)")
        else:
            need_known(self, x, -1, "number of channels (the last dimension)")
        return x

    def param_count(self, p, ins) -> int:
        return self._channels(p, ins[0])

    def summary(self, p) -> str:
        return f"{p['init']:g}, {p['axis']}"

    def build(self, p, ins):
        from engine.blocks.modules import LayerScale as Scale

        return Scale(self._channels(p, ins[0]), p["init"], p["axis"])


class _Drop(Block):
    """A block that drops values (or whole samples) with probability ``p`` while training
    and passes any float tensor through unchanged at evaluation."""

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        return x

    def summary(self, p) -> str:
        return f"p={p['p']:g}"


@register
class StochasticDepth(_Drop):
    type = "StochasticDepth"
    title = "Stochastic depth"
    family = "norm"
    doc = (
        "Drop path: during training, switches off a residual branch for whole random samples "
        "(with probability p) and scales the kept ones by 1 / (1 - p), so a deep network "
        "trains like an ensemble of shallower ones. Put it at the end of a branch, before "
        "the Add that joins the shortcut. At evaluation it passes values through unchanged. "
        "Any shape."
    )
    params = (
        Param("p", "float", 0.1, "Probability of dropping the branch for a sample "
              "(0 disables it).", min=0.0, max=0.99),
    )

    def build(self, p, ins):
        from engine.blocks.modules import StochasticDepth as Drop

        return Drop(p["p"])


@register
class GroupNorm(Block):
    type = title = "GroupNorm"
    family = "norm"
    doc = (
        "Splits the channels of [N, C, ...] into groups and normalises each group within one "
        "sample, then learns a scale and shift per channel. Unlike BatchNorm it does not "
        "depend on the batch, so it suits small batches. The groups must divide the channels."
    )
    params = (
        Param("num_groups", "int", 8, "Number of channel groups; must divide the channels.",
              min=1, max=1_000_000),
        _eps(),
        Param("affine", "bool", True, "Learn a scale and shift per channel."),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if not x.shape:
            raise ShapeError(f"GroupNorm expects channels [N, C, ...] but gets {x}")
        c = need_known(self, x, 0, "number of channels")
        g = p["num_groups"]
        if c % g:
            hint = max(d for d in range(1, min(c, g) + 1) if c % d == 0)
            raise ShapeError(
                f"GroupNorm with {g} groups needs the channels divisible by {g}, but there "
                f"are {c}: choose num_groups that divides {c}, e.g. {hint}"
            )
        return x

    def param_count(self, p, ins) -> int:
        return 2 * ins[0].shape[0] if p["affine"] else 0

    def flops(self, p, ins, out) -> int:
        return 5 * out.numel()

    def summary(self, p) -> str:
        return f"{p['num_groups']} groups"

    def build(self, p, ins):
        from torch import nn

        return nn.GroupNorm(p["num_groups"], ins[0].shape[0], eps=p["eps"], affine=p["affine"])


@register
class Dropout(_Drop):
    type = title = "Dropout"
    family = "norm"
    doc = (
        "During training, zeroes each value with probability p and scales the rest by "
        "1 / (1 - p), so the network cannot rely on any single feature; a simple guard "
        "against overfitting. At evaluation it passes values through unchanged. Any shape."
    )
    params = (
        Param("p", "float", 0.5, "Probability of zeroing each value (0 disables dropout).",
              min=0.0, max=0.99),
    )

    def build(self, p, ins):
        from torch import nn

        return nn.Dropout(p["p"])
