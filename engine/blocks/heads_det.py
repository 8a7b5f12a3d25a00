"""The detection head: CenterNet-style maps from which boxes are decoded.

One block for the three maps an anchor-free detector needs (docs/decisions/0008): a centre
heatmap per class, the box size and the centre's offset within its cell. Keeping them in one
block lets "Fit model to data" set ``classes`` and the detection check name the block.
"""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, TensorSpec, need_known, one_input
from engine.blocks.conv import expect_image

#: maps besides the class heatmaps: box size (w, h) and centre offset (x, y)
BOX_CHANNELS = 4


@register
class DetectionHead(Block):
    type = "DetectionHead"
    title = "Detection head"
    family = "heads"
    doc = (
        "Turns image features [N, C, H, W] into the maps of an anchor-free (CenterNet-style) "
        "detector, [N, classes + 4, H, W]: for each cell a centre score per class (the "
        "heatmap), the box width and height in cells, and where the centre lies inside the "
        "cell. Each of the three is a small branch: a 3x3 convolution to width channels, "
        "ReLU, and a 1x1 convolution. The stride (input size / H) must be a whole number; "
        "4 suits small objects. Detection decodes boxes from the heatmap's peaks."
    )
    params = (
        Param("classes", "int", 6, "Number of object classes, no background (Fit model to "
              "data sets it from the data).", min=1, max=10_000),
        Param("width", "int", 64, "Hidden channels of each branch.", min=1, max=4096),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        expect_image(self, x)
        need_known(self, x, 0, "number of channels")
        return TensorSpec((p["classes"] + BOX_CHANNELS, *x.shape[1:]))

    def param_count(self, p: dict[str, Any], ins: list[TensorSpec]) -> int:
        cin, w = ins[0].shape[0], p["width"]
        hidden = (cin * 9 + 1) * w  # the 3x3 convolution of one branch, with bias
        return 3 * hidden + (w + 1) * (p["classes"] + BOX_CHANNELS)

    def flops(self, p: dict[str, Any], ins: list[TensorSpec], out: TensorSpec) -> int:
        cells = out.numel() // out.shape[0]
        cin, w = ins[0].shape[0], p["width"]
        # per cell and branch: the 3x3 convolution with bias, then ReLU; then the 1x1
        # convolutions to every output channel, with bias
        hidden = 3 * cells * w * (2 * 9 * cin + 1 + 1)
        return hidden + out.numel() * (2 * w + 1)

    def summary(self, p: dict[str, Any]) -> str:
        return f"{p['classes']} classes, width {p['width']}"

    def build(self, p: dict[str, Any], ins: list[TensorSpec]):
        from engine.blocks.modules import DetectionHead as Module

        return Module(ins[0].shape[0], p["classes"], p["width"])
