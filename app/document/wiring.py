"""The checks behind the document's wiring: which inputs a block has under its parameters,
and why a wire cannot be made (``GraphDocument.input_ports`` and
``GraphDocument.connection_problem`` answer with these; ``connect`` refuses with them).

Plain functions of a graph: no Qt, no undo stack.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.document.ops import reaches
from engine.blocks import get_block
from engine.composite import input_ids
from engine.project import Graph, Node


def input_ports(node: Node, library: Mapping[str, Graph] | None = None) -> tuple[str, ...]:
    """The node's input port names under its current parameters (defaults where invalid).
    A Group node's ports are the Input ids of the composite it uses, looked up in
    ``library`` (the project's graphs)."""
    if node.type == "Group":
        ref = node.params.get("graph")
        g = library.get(ref) if library is not None and isinstance(ref, str) else None
        return tuple(input_ids(g)) if g is not None else ()
    block = get_block(node.type)
    if block is None:
        return ()
    values = block.resolve({}).values
    values.update(block.resolve(node.params).values)
    return block.input_ports(values)


def connection_problem(g: Graph, src: str, dst: str, dst_port: str = "in",
                       replace: bool = False,
                       library: Mapping[str, Graph] | None = None) -> str | None:
    """Why the wire src -> dst.dst_port cannot be made in ``g``, or None when it can. With
    ``replace``, a wire already in that input is no obstacle. ``library`` (the project's
    graphs) gives Group nodes their ports."""
    s_node, d_node = g.node(src), g.node(dst)
    if s_node is None or d_node is None:
        return f"there is no block {src if s_node is None else dst!r}"
    if src == dst:
        return "a block cannot feed itself"
    s_block, d_block = get_block(s_node.type), get_block(d_node.type)
    if s_block is not None and not s_block.has_output:
        return f"{src} is an {s_node.type} and has no output to connect from"
    if d_block is not None:
        ports = input_ports(d_node, library)
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
