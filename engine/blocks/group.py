"""A composite block: a node that runs another graph of the project (decision 0001).

The referenced graph's Input nodes are this block's input ports, in graph order and named
after their ids; its single Output is the block's output. The block itself is stateless like
every catalog entry: what it needs of the project (the referenced graph) reaches it through
``engine.composite``, which the structure check, the analysis and the compiler call for
every node of this type.
"""

from __future__ import annotations

from typing import Any

from engine.blocks import register
from engine.blocks.base import Block, Param, ShapeError, TensorSpec


@register
class Group(Block):
    type = "Group"
    family = "composite"
    title = "Composite"
    doc = (
        "A composite block: a whole graph of this project used as one block, like a function "
        "call. Its inputs are the graph's Input blocks (in order) and its output is the "
        "graph's Output. Double-click it to open the graph in its own tab; every block that "
        "uses the same graph runs the same design, each with its own weights."
    )
    params = (Param("graph", "str", "", "The name of the project graph this block runs."),)

    def infer(self, p: dict[str, Any], ins: list[TensorSpec]) -> TensorSpec:
        # Reached only when a graph is analysed without its project (engine.composite
        # analyses Group nodes with the project's graphs).
        raise ShapeError(f"the composite {p['graph']!r} can only be analysed within its project")

    def summary(self, p: dict[str, Any]) -> str:
        return p["graph"]
