"""Attention layers on a sequence [N, T, D]: self-attention, transformer encoder layer,
positional encoding, class token."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, one_input
from engine.blocks.masks import check_mask, masked_param, with_mask
from engine.blocks.recurrent import need_sequence

_MASK_EFFECT = ("no step attends to padding, and the padded steps' outputs are zero. Use it "
                "for padded text.")


def _divisors_near(n: int, k: int) -> str:
    """Head counts that divide ``n``, the two closest to ``k``, as words."""
    divs = sorted((d for d in range(1, min(n, 1024) + 1) if n % d == 0), key=lambda d: abs(d - k))
    return " or ".join(str(d) for d in sorted(divs[:2]))


def need_heads(block: Block, d: int, heads: int, param: str) -> None:
    if d % heads:
        raise ShapeError(
            f"{block.title} needs the embedding size {d} to be divisible by {param}, but "
            f"{heads} does not divide {d}: choose {_divisors_near(d, heads)} heads, or change "
            "the embedding size"
        )


def attention_flops(t: int, d: int, heads: int) -> int:
    # q, k, v and output projections; scores QK^T and weighted sum AV; softmax (~5 per score)
    return 8 * t * d * d + 4 * t * t * d + 5 * heads * t * t


# -- what the transformer encoder and decoder layers share -------------------------------

#: the options of every transformer layer, before each layer's own
LAYER_PARAMS = (
    Param("nhead", "int", 4, "Number of attention heads; must divide the embedding size.",
          min=1, max=1024),
    Param("dim_feedforward", "int", 512, "Hidden size of the feed-forward network, "
          "commonly four times the embedding size.", min=1, max=262_144),
    Param("dropout", "float", 0.1, "Dropout probability after each attention and in the "
          "feed-forward network while training.", min=0.0, max=0.95),
    Param("activation", "choice", "relu", "Activation inside the feed-forward network.",
          choices=("relu", "gelu")),
    Param("norm_first", "bool", False, "Normalise before each part (attention, feed-forward) "
          "instead of after (pre-norm); trains more stably in deep stacks."),
)


def layer_rest_count(d: int, p: dict[str, Any], parts: int) -> int:
    """Parameters of a transformer layer besides its attentions: the feed-forward network
    and one layer norm per part (``parts``: its attentions and the feed-forward network)."""
    ff = p["dim_feedforward"]
    return 2 * d * ff + ff + d + parts * 2 * d


def layer_rest_flops(t: int, d: int, p: dict[str, Any], parts: int) -> int:
    """Operations of a transformer layer over ``t`` steps besides its attentions: the
    feed-forward network, and a layer norm and a residual sum per part."""
    ff = p["dim_feedforward"]
    feed_forward = 4 * t * d * ff + (8 if p["activation"] == "gelu" else 1) * t * ff
    return feed_forward + parts * 8 * t * d + parts * t * d


def layer_summary(p: dict[str, Any]) -> str:
    """A transformer layer's options in a few words, for its box on the canvas."""
    parts = [f"{p['nhead']} heads", f"ff {p['dim_feedforward']}"]
    for name, word in (("norm_first", "pre-norm"), ("causal", "causal"), ("masked", "masked")):
        if p.get(name):
            parts.append(word)
    return ", ".join(parts)


@register
class MultiheadAttention(Block):
    type = "MultiheadAttention"
    family = "attention"
    title = "Multi-head attention"
    doc = (
        "Self-attention: every step of the sequence [N, T, D] looks at every other step and "
        "takes a weighted mix of them, with num_heads independent attention patterns of size "
        "D / num_heads. The embedding size D comes from the input and must be divisible by "
        "num_heads. Turn on causal for a language model, so that no step sees later ones, "
        "and masked for padded text (connect the token ids to its mask input). "
        "Attention has no notion of order by itself: add a PositionalEncoding before it."
    )
    params = (
        Param("num_heads", "int", 4, "Number of attention heads; must divide the embedding "
              "size.", min=1, max=1024),
        Param("dropout", "float", 0.0, "Dropout probability on the attention weights while "
              "training.", min=0.0, max=0.95),
        Param("causal", "bool", False, "Let each step attend only to itself and earlier "
              "steps (needed to predict the next token)."),
        masked_param(_MASK_EFFECT),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in",))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0] if p["masked"] else one_input(self, ins)
        d = need_sequence(self, x, "D")
        need_heads(self, d, p["num_heads"], "num_heads")
        if p["masked"]:
            check_mask(self, ins[1], x.shape[0])
        return x

    def param_count(self, p, ins) -> int:
        d = ins[0].shape[-1]
        return 4 * d * d + 4 * d

    def flops(self, p, ins, out) -> int:
        t, d = ins[0].shape[0] or 1, ins[0].shape[-1]
        return attention_flops(t, d, p["num_heads"])

    def summary(self, p) -> str:
        return (f"{p['num_heads']} heads" + (", causal" if p["causal"] else "")
                + (", masked" if p["masked"] else ""))

    def build(self, p, ins):
        from engine.blocks.modules import SelfAttention

        return SelfAttention(ins[0].shape[-1], p["num_heads"], p["dropout"], p["causal"],
                             p["masked"])


@register
class TransformerEncoderLayer(Block):
    type = "TransformerEncoderLayer"
    family = "attention"
    title = "Transformer encoder layer"
    doc = (
        "One transformer block on a sequence [N, T, D]: multi-head self-attention followed by "
        "a two-layer feed-forward network, each with a residual connection and layer "
        "normalisation. Stack several for a transformer; put a PositionalEncoding before the "
        "first. D comes from the input and must be divisible by nhead. Turn on causal for a "
        "GPT-style language model, so that no step sees later ones, and masked for padded "
        "text (connect the token ids to its mask input)."
    )
    params = (
        *LAYER_PARAMS,
        Param("causal", "bool", False, "Let each step attend only to itself and earlier "
              "steps (needed to predict the next token)."),
        Param("layer_norm_eps", "float", 1e-5, "Small number added to the variance in the "
              "two layer norms (ViT uses 1e-12).", min=1e-12, max=1.0),
        masked_param(_MASK_EFFECT),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in",))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0] if p["masked"] else one_input(self, ins)
        d = need_sequence(self, x, "D")
        need_heads(self, d, p["nhead"], "nhead")
        if p["masked"]:
            check_mask(self, ins[1], x.shape[0])
        return x

    def param_count(self, p, ins) -> int:
        d = ins[0].shape[-1]
        return 4 * d * d + 4 * d + layer_rest_count(d, p, parts=2)

    def flops(self, p, ins, out) -> int:
        t, d = ins[0].shape[0] or 1, ins[0].shape[-1]
        return attention_flops(t, d, p["nhead"]) + layer_rest_flops(t, d, p, parts=2)

    def summary(self, p) -> str:
        return layer_summary(p)

    def build(self, p, ins):
        from torch import nn

        from engine.blocks.modules import CausalEncoderLayer, MaskedEncoderLayer

        options = {}
        if p["masked"]:
            layer, options = MaskedEncoderLayer, {"causal": p["causal"]}
        else:
            layer = CausalEncoderLayer if p["causal"] else nn.TransformerEncoderLayer
        return layer(ins[0].shape[-1], p["nhead"], dim_feedforward=p["dim_feedforward"],
                     dropout=p["dropout"], activation=p["activation"],
                     layer_norm_eps=p["layer_norm_eps"], batch_first=True,
                     norm_first=p["norm_first"], **options)


@register
class PositionalEncoding(Block):
    type = "PositionalEncoding"
    family = "attention"
    title = "Positional encoding"
    doc = (
        "Adds a position signal to each step of a sequence [N, T, D] so that attention layers "
        "can tell the order of steps. Sinusoidal encodings are fixed waves of different "
        "frequencies (no weights); learned encodings are a trained vector per position. "
        "Sequences may be at most max_len steps long; the output has the input's shape."
    )
    params = (
        Param("learned", "bool", False, "Learn one vector per position instead of using "
              "fixed sinusoids."),
        Param("max_len", "int", 512, "Longest sequence the encoding covers, in steps.",
              min=1, max=65_536),
        Param("dropout", "float", 0.0, "Dropout probability applied after adding the "
              "encoding, while training.", min=0.0, max=0.95),
    )

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        need_sequence(self, x, "D")
        t = x.shape[0]
        if t is not None and t > p["max_len"]:
            raise ShapeError(
                f"{self.title} covers at most max_len {p['max_len']} steps but the sequence "
                f"{x} has {t}: raise max_len to at least {t}"
            )
        return x

    def param_count(self, p, ins) -> int:
        return p["max_len"] * ins[0].shape[-1] if p["learned"] else 0

    def summary(self, p) -> str:
        return ("learned" if p["learned"] else "sinusoidal") + f", {p['max_len']}"

    def build(self, p, ins):
        from engine.blocks.modules import PositionalEncoding as Encoding

        return Encoding(ins[0].shape[-1], p["max_len"], p["learned"], p["dropout"])


@register
class ClassToken(Block):
    type = "ClassToken"
    title = "Class token"
    family = "attention"
    doc = (
        "Puts one learned vector in front of a sequence: [N, T, D] becomes [N, T + 1, D]. "
        "After the transformer layers, that first step has looked at every other one, so a "
        "vision transformer classifies from it (take it with Take token, index 0). Add it "
        "before the PositionalEncoding, which must then cover T + 1 steps."
    )
    params = ()

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = one_input(self, ins)
        d = need_sequence(self, x, "D")
        t = x.shape[0]
        return TensorSpec((None if t is None else t + 1, d))

    def param_count(self, p, ins) -> int:
        return ins[0].shape[-1]

    def flops(self, p, ins, out) -> int:
        return 0

    def build(self, p, ins):
        from engine.blocks.modules import ClassToken as Token

        return Token(ins[0].shape[-1])
