"""Padding masks from token ids, shared by the blocks that read sequences of text.

Text batches are right-padded with id 0 ([PAD]). A block with the ``masked`` parameter
gets a second input port, ``mask``, fed with the token ids [N, T] of the same sequence
(usually the Input that feeds the Embedding); the module treats positions whose id is 0
as padding. The default is off, so projects made before masks existed load unchanged.
"""

from __future__ import annotations

from typing import Any

from engine.blocks.base import Block, Param, ShapeError, TensorSpec

MASK_PORT = "mask"


def masked_param(effect: str) -> Param:
    """The ``masked`` switch; ``effect`` says what the mask changes for this block."""
    return Param("masked", "bool", False, "Add a mask input taking the token ids [N, T] of "
                 f"the same sequence; positions whose id is 0 are padding: {effect}")


def with_mask(p: dict[str, Any], ports: tuple[str, ...]) -> tuple[str, ...]:
    """The input ports, plus ``mask`` at the end when the block is masked."""
    return ports + (MASK_PORT,) if p.get("masked") else ports


def check_mask(block: Block, mask: TensorSpec, steps: int | None, what: str = "sequence") -> None:
    """Require token ids [N, T] with the length ``steps`` of the sequence they mask."""
    name = block.title or block.type
    if mask.dtype != "long" or len(mask.shape) != 1:
        raise ShapeError(
            f"{name}'s mask input takes the token ids [N, T] of the {what} (dtype long) but "
            f"gets {mask}: connect the Input that holds those ids, the one feeding the Embedding"
        )
    t = mask.shape[0]
    if t is not None and steps is not None and t != steps:
        raise ShapeError(
            f"{name}'s mask has {t} steps but the {what} has {steps}: connect the token ids "
            f"of this same {what} to the mask"
        )


__all__ = ["MASK_PORT", "check_mask", "masked_param", "with_mask"]
