"""Fully connected layers and embeddings."""

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


@register
class Linear(Block):
    type = "Linear"
    family = "dense"
    title = "Linear"
    doc = (
        "A fully connected layer: every output is a weighted sum of all input features plus a "
        "bias. It acts on the last dimension, so it takes [N, F] (or [N, T, F] for a sequence, "
        "applied at every step). The number of input features is taken from the incoming "
        "tensor; you choose only the number of outputs. With per_position it also takes an "
        "image laid out channels last [N, H, W, C] and acts on C at every pixel, like a 1x1 "
        "convolution (ConvNeXt's pointwise layers)."
    )
    params = (
        Param("out_features", "int", 128, "Number of output features.", min=1, max=1_000_000),
        Param("bias", "bool", True, "Learn an additive bias."),
        Param("per_position", "bool", False, "Accept any number of dimensions and act on the "
              "last one at every position (e.g. the channels of [N, H, W, C]); off, an image "
              "is refused so that a missing Flatten is caught."),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_float(self, x)
        if len(x.shape) == 0:
            raise ShapeError(f"Linear needs at least one feature dimension but gets {x}")
        if len(x.shape) > 2 and not p["per_position"]:
            raise ShapeError(
                f"Linear expects a flat [N, F] input (or a sequence [N, T, F]) but gets {x}: "
                "insert Flatten before it (or turn on per_position to act on the last "
                "dimension at every position)"
            )
        need_known(self, x, -1, "number of features")
        return TensorSpec(x.shape[:-1] + (p["out_features"],))

    def param_count(self, p, ins) -> int:
        f = ins[0].shape[-1]
        return f * p["out_features"] + (p["out_features"] if p["bias"] else 0)

    def flops(self, p, ins, out) -> int:
        return 2 * ins[0].numel() * p["out_features"]

    def summary(self, p) -> str:
        return str(p["out_features"]) + (", per position" if p["per_position"] else "")

    def build(self, p, ins):
        from torch import nn

        return nn.Linear(ins[0].shape[-1], p["out_features"], bias=p["bias"])


@register
class Embedding(Block):
    type = "Embedding"
    family = "dense"
    title = "Embedding"
    doc = (
        "Looks up a learned vector for each token id: [N, T] ids become [N, T, D] vectors. The "
        "number of ids (the vocabulary) comes from the input; you choose the vector size D. "
        "Turn on padding for text batches padded with id 0: the padding token's vector is "
        "then zero and never trained, so padding adds nothing to what follows."
    )
    params = (
        Param("embedding_dim", "int", 64, "Size of each token's vector.", min=1, max=100_000),
        Param("padding", "bool", False, "Id 0 is padding: its vector is zero and never "
              "trained (padding_idx=0)."),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        if x.dtype != "long" or not x.vocab:
            raise ShapeError(
                f"Embedding needs token ids (an Input with dtype long and a vocab) but gets {x}"
            )
        return TensorSpec(x.shape + (p["embedding_dim"],))

    def param_count(self, p, ins) -> int:
        return ins[0].vocab * p["embedding_dim"]

    def flops(self, p, ins, out) -> int:
        return 0

    def summary(self, p) -> str:
        return str(p["embedding_dim"]) + (", padding 0" if p["padding"] else "")

    def build(self, p, ins):
        from torch import nn

        return nn.Embedding(ins[0].vocab, p["embedding_dim"],
                            padding_idx=0 if p["padding"] else None)
