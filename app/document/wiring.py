"""The checks behind the document's wiring: which inputs a block has under its parameters,
and why a wire cannot be made (``GraphDocument.input_ports`` and
``GraphDocument.connection_problem`` answer with these; ``connect`` refuses with them).

Plain functions of a graph: no Qt, no undo stack.
"""

from __future__ import annotations

from app.document.ops import reaches
from engine.blocks import get_block
from engine.project import Graph, Node


def input_ports(node: Node) -> tuple[str, ...]:
    """The node's input port names under its current parameters (defaults where invalid)."""
    block = get_block(node.type)
    if block is None:
        return ()
    values = block.resolve({}).values
    values.update(block.resolve(node.params).values)
    return block.input_ports(values)


def connection_problem(g: Graph, src: str, dst: str, dst_port: str = "in",
                       replace: bool = False) -> str | None:
    """Why the wire src -> dst.dst_port cannot be made in ``g``, or None when it can. With
    ``replace``, a wire already in that input is no obstacle."""
    s_node, d_node = g.node(src), g.node(dst)
    if s_node is None or d_node is None:
        return f"there is no block {src if s_node is None else dst!r}"
    if src == dst:
        return "a block cannot feed itself"
    s_block, d_block = get_block(s_node.type), get_block(d_node.type)
    if s_block is not None and not s_block.has_output:
        return f"{src} is an {s_node.type} and has no output to connect from"
    if d_block is not None:
        ports = input_ports(d_node)
        if dst_port not in ports:
            have = ", ".join(ports) if ports else "none"
            return f"{dst} has no input {dst_port!r} (inputs: {have})"
    for e in g.edges:
        if e.dst == dst and e.dst_port == dst_port and (not replace or e.src == src):
            if e.src == src:
                return f"input {dst_port} of {dst} is already connected to {src}"
            return f"input {dst_port} of {dst} is already connected to {e.src}: remove that wire first"
    if reaches(g, dst, src):
        return f"it would make a cycle: {dst} already feeds {src}"
    return None
