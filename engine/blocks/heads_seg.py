"""The segmentation head: one score per class for every pixel.

A 1x1 convolution with bias, written as its own block rather than a Conv2d so that the
graph says where the class scores come from: "Fit model to data" sets its ``classes`` to
the data's class count, and the segmentation check names it when the count is wrong.
"""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, TensorSpec, need_known, one_input
from engine.blocks.conv import expect_image


@register
class SegmentationHead(Block):
    type = "SegmentationHead"
    title = "Segmentation head"
    family = "heads"
    doc = (
        "Gives a score for each class at every pixel: a 1x1 convolution (with bias) from "
        "the features of an image [N, C, H, W] to [N, classes, H, W]. The size is kept, so "
        "put it after the decoder that brings the features back to the input's size. "
        "Segmentation trains these scores with cross-entropy against the mask; the "
        "prediction is the class with the highest score at each pixel."
    )
    params = (
        Param("classes", "int", 2, "Number of classes, background included (Fit model to "
              "data sets it from the data).", min=1, max=100_000),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        expect_image(self, x)
        need_known(self, x, 0, "number of channels")
        return TensorSpec((p["classes"], *x.shape[1:]))

    def param_count(self, p: dict[str, Any], ins: list[TensorSpec]) -> int:
        return (ins[0].shape[0] + 1) * p["classes"]

    def flops(self, p: dict[str, Any], ins: list[TensorSpec], out: TensorSpec) -> int:
        # each output value: one multiply-add per input channel, plus the bias
        return out.numel() * (2 * ins[0].shape[0] + 1)

    def summary(self, p: dict[str, Any]) -> str:
        return f"{p['classes']} classes"

    def build(self, p: dict[str, Any], ins: list[TensorSpec]):
        from engine.blocks.modules import SegmentationHead

        return SegmentationHead(ins[0].shape[0], p["classes"])
