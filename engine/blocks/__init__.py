"""The block catalog: every block type, by name, grouped by family."""

from __future__ import annotations

from engine.blocks.base import Block, Param, ParamError, ShapeError, TensorSpec

CATALOG: dict[str, Block] = {}

#: Family ids in palette order, with their display titles.
FAMILIES: dict[str, str] = {
    "io": "Input / output",
    "audio": "Audio front end",
    "dense": "Dense & embedding",
    "conv": "Convolution",
    "pool": "Pooling",
    "norm": "Normalization & dropout",
    "activation": "Activation",
    "recurrent": "Recurrent",
    "attention": "Attention",
    "merge": "Merge",
    "reshape": "Reshape",
    "heads": "Task heads",
    "composite": "Composite",
}


def register(cls: type[Block]) -> type[Block]:
    """Class decorator: add one instance of ``cls`` to the catalog."""
    if cls.type in CATALOG:
        raise ValueError(f"block type {cls.type} registered twice")
    if cls.family not in FAMILIES:
        raise ValueError(f"block {cls.type} has unknown family {cls.family}")
    CATALOG[cls.type] = cls()
    return cls


def get_block(type_name: str) -> Block | None:
    return CATALOG.get(type_name)


def by_family() -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {f: [] for f in FAMILIES}
    for b in CATALOG.values():
        out[b.family].append(b)
    return out


# Importing the family modules registers their blocks.
from engine.blocks import (  # noqa: E402,F401
    activation,
    attention,
    audio,
    conv,
    dense,
    group,
    heads_det,
    heads_seg,
    io,
    merge,
    norm,
    pool,
    recurrent,
    reshape,
    sequence,
)

__all__ = ["CATALOG", "FAMILIES", "Block", "Param", "ParamError", "ShapeError", "TensorSpec",
           "by_family", "get_block", "register"]
