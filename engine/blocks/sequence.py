"""Blocks for text and other token sequences: pooling a sequence into one vector, attention
over another sequence (an encoder's output), and the transformer decoder layer."""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.attention import (
    LAYER_PARAMS,
    attention_flops,
    layer_rest_count,
    layer_rest_flops,
    layer_summary,
    need_heads,
)
from engine.blocks.base import Block, Param, ShapeError, TensorSpec, need_float
from engine.blocks.masks import check_mask, masked_param, with_mask
from engine.blocks.recurrent import need_sequence


def need_memory(block: Block, m: TensorSpec) -> int:
    """Check the memory input, a real-valued sequence [N, S, E]; return E."""
    need_float(block, m)
    if len(m.shape) != 2 or m.shape[-1] is None:
        raise ShapeError(
            f"{block.title}'s memory input expects a sequence [N, S, E] with a fixed E (the "
            f"encoder's output) but gets {m}: connect the encoder's last sequence layer"
        )
    return m.shape[-1]


def infer_over_memory(block: Block, p: dict[str, Any], ins: list[TensorSpec], heads: str, *,
                      same_size: bool = False) -> TensorSpec:
    """The output of a block attending from a sequence "in" [N, T, D] to a memory [N, S, E]
    (and, when masked, the memory's token ids): the input's shape, after checking both
    inputs, the head count (param ``heads``) and, with ``same_size``, that E is D."""
    x, memory = ins[0], ins[1]
    d = need_sequence(block, x, "D")
    e = need_memory(block, memory)
    if same_size and e != d:
        raise ShapeError(
            f"{block.title} needs a memory of the target's size {d} but the memory "
            f"{memory} has {e} features: give the encoder the embedding size {d}, or put "
            f"a Linear({d}) on the memory"
        )
    need_heads(block, d, p[heads], heads)
    if p["masked"]:
        check_mask(block, ins[2], memory.shape[0], "memory (source sequence)")
    return x


def _cross_flops(t: int, s: int, d: int, e: int, heads: int) -> int:
    # query and output projections of T steps, key and value projections of S memory
    # steps, scores and weighted sum (T x S), softmax (~5 per score)
    return 4 * t * d * d + 4 * s * e * d + 4 * t * s * d + 5 * heads * t * s


@register
class SequencePool(Block):
    type = "SequencePool"
    family = "pool"
    title = "Sequence pool"
    doc = (
        "Turns a sequence [N, T, D] into one vector [N, D] per sample, to classify a whole "
        "text with a Linear after it: the mean or the maximum over the steps, or the first "
        "or last step. For padded text turn on masked and connect the token ids to the mask "
        "input: mean and max then cover the real steps only, and last is each text's own "
        "last token rather than padding."
    )
    params = (
        Param("mode", "choice", "mean", "How the steps become one vector: their mean, their "
              "maximum (per feature), or the first or last step.",
              choices=("mean", "max", "first", "last")),
        masked_param("mean and max cover the real steps only; first and last are the first "
                     "and last real steps."),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in",))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        x = ins[0]
        d = need_sequence(self, x, "D")
        if p["masked"]:
            check_mask(self, ins[1], x.shape[0])
        return TensorSpec((d,))

    def flops(self, p, ins, out) -> int:
        return ins[0].numel()

    def summary(self, p) -> str:
        return p["mode"] + (", masked" if p["masked"] else "")

    def build(self, p, ins):
        from engine.blocks.modules_text import SequencePool as Pool

        return Pool(p["mode"], p["masked"])


@register
class CrossAttention(Block):
    type = "CrossAttention"
    family = "attention"
    title = "Cross-attention"
    doc = (
        "Attention from one sequence to another: each step of the input [N, T, D] (the "
        "queries, e.g. the decoder's target so far) takes a weighted mix of the steps of the "
        "memory [N, S, E] (keys and values, e.g. the encoder's output over the source text), "
        "giving [N, T, D]. This is how a translator looks at the source while writing. D must "
        "be divisible by num_heads; E may differ from D. Turn on masked and connect the "
        "source's token ids so that no step attends to the source's padding. Add the input "
        "back (Add) and normalise for a transformer-style block, or use the Transformer "
        "decoder layer, which does all of that."
    )
    params = (
        Param("num_heads", "int", 4, "Number of attention heads; must divide the input's "
              "embedding size.", min=1, max=1024),
        Param("dropout", "float", 0.0, "Dropout probability on the attention weights while "
              "training.", min=0.0, max=0.95),
        masked_param("the mask takes the memory's (source's) token ids [N, S]; no step "
                     "attends to the memory's padding."),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in", "memory"))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        return infer_over_memory(self, p, ins, "num_heads")

    def param_count(self, p, ins) -> int:
        d, e = ins[0].shape[-1], ins[1].shape[-1]
        return 2 * d * d + 2 * d * e + 4 * d

    def flops(self, p, ins, out) -> int:
        t, s = ins[0].shape[0] or 1, ins[1].shape[0] or 1
        return _cross_flops(t, s, ins[0].shape[-1], ins[1].shape[-1], p["num_heads"])

    def summary(self, p) -> str:
        return f"{p['num_heads']} heads" + (", masked" if p["masked"] else "")

    def build(self, p, ins):
        from engine.blocks.modules_text import CrossAttention as Attention

        return Attention(ins[0].shape[-1], ins[1].shape[-1], p["num_heads"], p["dropout"],
                         p["masked"])


@register
class TransformerDecoderLayer(Block):
    type = "TransformerDecoderLayer"
    family = "attention"
    title = "Transformer decoder layer"
    doc = (
        "One block of a transformer decoder, for translation and other sequence to sequence "
        "tasks: causal self-attention over the target so far [N, T, D] (step t sees only "
        "steps up to t), attention over the encoder's output, the memory [N, S, D], and a "
        "feed-forward network, each with a residual connection and layer normalisation; the "
        "output is [N, T, D]. Stack several; put a PositionalEncoding before the first. The "
        "memory must have the same size D, which nhead must divide. Turn on masked and "
        "connect the source's token ids so that the decoder ignores the source's padding."
    )
    params = (
        *LAYER_PARAMS,
        masked_param("the mask takes the source's token ids [N, S]; cross-attention skips "
                     "the source's padding."),
    )

    def input_ports(self, p: dict[str, Any]) -> tuple[str, ...]:
        return with_mask(p, ("in", "memory"))

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        return infer_over_memory(self, p, ins, "nhead", same_size=True)

    def param_count(self, p, ins) -> int:
        d = ins[0].shape[-1]
        self_and_cross_attention = 2 * (4 * d * d + 4 * d)
        return self_and_cross_attention + layer_rest_count(d, p, parts=3)

    def flops(self, p, ins, out) -> int:
        t, s, d, heads = ins[0].shape[0] or 1, ins[1].shape[0] or 1, ins[0].shape[-1], p["nhead"]
        return (attention_flops(t, d, heads) + _cross_flops(t, s, d, d, heads)
                + layer_rest_flops(t, d, p, parts=3))

    def summary(self, p) -> str:
        return layer_summary(p)

    def build(self, p, ins):
        from engine.blocks.modules_text import CausalDecoderLayer

        return CausalDecoderLayer(ins[0].shape[-1], p["nhead"], p["dim_feedforward"],
                                  p["dropout"], p["activation"], p["norm_first"], p["masked"])
