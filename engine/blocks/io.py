"""Graph inputs and outputs."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, one_input


@register
class Input(Block):
    type = "Input"
    family = "io"
    title = "Input"
    doc = (
        "A tensor fed to the network, one per sample (the batch dimension is added for you). "
        "Images are [channels, height, width], tabular data [features], token sequences "
        "[length] with dtype long. Use -1 for a dimension of variable length. For token ids, "
        "vocab is the number of distinct ids; an Embedding after this input takes its size "
        "from it, and training sets it from the dataset."
    )
    params = (
        Param("shape", "ints", [1, 28, 28], "Per-sample shape, without the batch dimension.",
              min=-1, max=1_000_000),
        Param("dtype", "choice", "float", "float for real values, long for token ids.",
              choices=("float", "long")),
        Param("vocab", "int", 0, "Number of distinct token ids (long inputs only).",
              min=0, max=10_000_000),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        shape = p["shape"]
        if any(d == 0 for d in shape):
            raise ShapeError("Input shape dimensions must be positive (or -1 for variable length)")
        if p["dtype"] == "long" and p["vocab"] < 1:
            raise ShapeError("Input with dtype long needs vocab, the number of distinct token ids")
        dims = tuple(None if d == -1 else d for d in shape)
        return TensorSpec(dims, p["dtype"], p["vocab"] if p["dtype"] == "long" else None)

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p: dict[str, Any]) -> str:
        dims = "x".join("T" if d == -1 else str(d) for d in p["shape"])
        return dims + (" ids" if p["dtype"] == "long" else "")

    def emit(self, g, name, p, args, ins):
        return g.create_node("placeholder", name, (), {}, name=name)


@register
class Output(Block):
    type = "Output"
    family = "io"
    title = "Output"
    doc = (
        "A network output. A classifier's output holds one score (logit) per class; the loss "
        "applies softmax itself, so do not end with Softmax. A network may have several outputs."
    )
    params = ()
    has_output = False

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        return one_input(self, ins)

    def flops(self, p, ins, out) -> int:
        return 0

    def emit(self, g, name, p, args, ins):
        return args[0]
