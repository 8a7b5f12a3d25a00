"""Recurrent layers: RNN, LSTM and GRU over a sequence [N, T, F]."""

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
from engine.blocks.masks import check_mask, masked_param, with_mask


def need_sequence(block: Block, x: TensorSpec, feature: str = "F") -> int:
    """Check that ``x`` is a real-valued sequence [N, T, feature]; return its feature size."""
    name = block.title or block.type
    need_float(block, x)
    if len(x.shape) != 2:
        if len(x.shape) < 2:
            fix = "insert Reshape to make steps of features, or an Embedding for token ids"
        else:
            fix = "insert Reshape (or Flatten the extra dimensions) to make one vector per step"
        raise ShapeError(f"{name} expects a sequence [N, T, {feature}] but gets {x}: {fix}")
    return need_known(block, x, -1, "feature size (the last dimension)")


#: weight matrices per cell: a plain RNN has one, a GRU three gates, an LSTM four.
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
#: approximate element-wise operations per hidden unit and step (activations and gating).
_ELEMENTWISE = {"RNN": 2, "GRU": 12, "LSTM": 14}


class _Recurrent(Block):
    family = "recurrent"
    kind = ""
    _common = (
        Param("hidden_size", "int", 128, "Size of the hidden state (features per step) of "
              "each direction.", min=1, max=65_536),
        Param("num_layers", "int", 1, "Number of stacked recurrent layers; each one reads "
              "the previous layer's sequence.", min=1, max=32),
        Param("bidirectional", "bool", False, "Also read the sequence backwards and "
              "concatenate both directions, doubling the output features."),
        Param("dropout", "float", 0.0, "Dropout probability between stacked layers (used "
              "only with more than one layer).", min=0.0, max=0.95),
        Param("output", "choice", "sequence", "sequence returns every step [N, T, H]; last "
              "returns only the final hidden state [N, H], e.g. to classify a whole sequence.",
              choices=("sequence", "last")),
        masked_param("with output 'last' each sequence's state at its last real step (the "
                     "backward direction also starts there); with 'sequence' the padded "
                     "steps' outputs are zero."),
        Param("private", "bool", False, "Build it from Opacus' DP layer (DPLSTM, DPGRU, "
              "DPRNN), which differentially private training needs: the same weights and "
              "outputs as the standard layer, slower to train. Exports use the standard one.",
              label="DP layer"),
    )
    params = _common

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in",))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0] if p["masked"] else one_input(self, ins)
        need_sequence(self, x)
        if p["masked"]:
            check_mask(self, ins[1], x.shape[0])
        h = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        if p["output"] == "last":
            return TensorSpec((h,))
        return TensorSpec((x.shape[0], h))

    def _layer_inputs(self, p: dict[str, Any], features: int) -> list[int]:
        dirs = 2 if p["bidirectional"] else 1
        return [features] + [p["hidden_size"] * dirs] * (p["num_layers"] - 1)

    def param_count(self, p, ins) -> int:
        g, h = _GATES[self.kind], p["hidden_size"]
        dirs = 2 if p["bidirectional"] else 1
        # per direction and layer: input and hidden weights plus two biases, for each gate
        return dirs * sum(g * h * (f + h) + 2 * g * h
                          for f in self._layer_inputs(p, ins[0].shape[-1]))

    def flops(self, p, ins, out) -> int:
        g, h = _GATES[self.kind], p["hidden_size"]
        dirs = 2 if p["bidirectional"] else 1
        steps = ins[0].shape[0] or 1  # a variable length counts as one step
        per_step = sum(2 * g * h * (f + h) + 2 * g * h + _ELEMENTWISE[self.kind] * h
                       for f in self._layer_inputs(p, ins[0].shape[-1]))
        return dirs * steps * per_step

    def summary(self, p) -> str:
        parts = [str(p["hidden_size"])]
        if p["num_layers"] > 1:
            parts.append(f"{p['num_layers']} layers")
        if p["bidirectional"]:
            parts.append("bi")
        if p["output"] == "last":
            parts.append("last")
        if p["masked"]:
            parts.append("masked")
        if p["private"]:
            parts.append("DP")
        return ", ".join(parts)

    def build(self, p, ins):
        from engine.blocks.modules import Recurrent

        return Recurrent(self.kind, ins[0].shape[-1], p["hidden_size"], p["num_layers"],
                         p["bidirectional"], p["dropout"], p["output"],
                         nonlinearity=p.get("nonlinearity", "tanh"), masked=p["masked"],
                         private=p["private"])


_OUTPUT_DOC = (
    " The input is a sequence [N, T, F] of real vectors (put an Embedding before it for token "
    "ids); F is taken from the input. With output 'sequence' it returns [N, T, H] (2H when "
    "bidirectional), with 'last' the final hidden state [N, H]. For padded text, turn on "
    "masked and connect the token ids to the mask input, so that padding does not blur "
    "the result."
)


@register
class RNN(_Recurrent):
    type = "RNN"
    title = "RNN"
    kind = "RNN"
    doc = (
        "A plain (Elman) recurrent layer: at each step the hidden state is a nonlinearity of "
        "the input and the previous state. Simple and fast, but it forgets quickly and is hard "
        "to train on long sequences; prefer LSTM or GRU there." + _OUTPUT_DOC
    )
    params = _Recurrent._common + (
        Param("nonlinearity", "choice", "tanh", "Activation of the hidden state.",
              choices=("tanh", "relu")),
    )

    def onnx_problem(self, p, ins):
        # Measured with torch 2.13's exporter: it fixes a variable length here, and the model
        # then fails on any other length (docs/export.md).
        if any(d is None for d in ins[0].shape):
            return (f"the ONNX exporter fixes the variable sequence length of {self.type}: "
                    "give the Input a fixed length to export to ONNX")
        return self.onnx_issue

    def summary(self, p) -> str:
        base = super().summary(p)
        return base + (", relu" if p["nonlinearity"] == "relu" else "")


@register
class LSTM(_Recurrent):
    type = "LSTM"
    title = "LSTM"
    kind = "LSTM"
    doc = (
        "Long short-term memory: a recurrent layer whose gated cell state carries information "
        "across many steps, the dependable default for sequences and text." + _OUTPUT_DOC
    )


@register
class GRU(_Recurrent):
    type = "GRU"
    title = "GRU"
    kind = "GRU"
    doc = (
        "Gated recurrent unit: a lighter LSTM with two gates and no separate cell state; "
        "often as accurate with a quarter fewer weights." + _OUTPUT_DOC
    )
