"""Blocks on the clipboard: JSON under a custom mime type, and the same JSON as plain text.

The text copy lets blocks travel between windows, instances and versions of LayerForge and
through a chat message or an editor; pasting accepts either form. Only the copied nodes and
the edges between them travel; ``fresh_copies`` gives them fresh ids for the graph they land in.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QMimeData

from app.document.errors import EditError
from engine.naming import make_identifier
from engine.project import Edge, Graph, Node

MIME_BLOCKS = "application/x-layerforge-blocks+json"
#: A palette drag: the block type name, UTF-8.
MIME_BLOCK_TYPE = "application/x-layerforge-block-type"
MARKER = "layerforge-blocks"
FORMAT_VERSION = 1
MAX_PASTE_BYTES = 8 * 1024 * 1024


def blocks_payload(graph: Graph, node_ids: set[str]) -> dict[str, Any]:
    """The selected nodes, in graph order, with the edges that join two of them."""
    nodes = [n.model_dump(mode="json") for n in graph.nodes if n.id in node_ids]
    edges = [e.model_dump(mode="json") for e in graph.edges
             if e.src in node_ids and e.dst in node_ids]
    return {MARKER: FORMAT_VERSION, "nodes": nodes, "edges": edges}


def payload_to_mime(payload: dict[str, Any]) -> QMimeData:
    text = json.dumps(payload, indent=1)
    mime = QMimeData()
    mime.setData(MIME_BLOCKS, text.encode("utf-8"))
    mime.setText(text)
    return mime


def payload_from_mime(mime: QMimeData) -> dict[str, Any] | None:
    """The blocks payload in ``mime``, or None when it holds no LayerForge blocks."""
    if mime.hasFormat(MIME_BLOCKS):
        raw = bytes(mime.data(MIME_BLOCKS).data())
    elif mime.hasText():
        raw = mime.text().encode("utf-8")
        if MARKER.encode() not in raw:
            return None
    else:
        return None
    if len(raw) > MAX_PASTE_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or MARKER not in data:
        return None
    return data


def parse_payload(payload: dict[str, Any]) -> tuple[list[Node], list[Edge]]:
    """Validate a payload into models; raise EditError with a sentence if it is malformed."""
    version = payload.get(MARKER)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise EditError("the clipboard holds blocks from a newer LayerForge")
    nodes_raw, edges_raw = payload.get("nodes"), payload.get("edges", [])
    if not isinstance(nodes_raw, list) or not isinstance(edges_raw, list):
        raise EditError("the clipboard's blocks are not in the expected form")
    try:
        nodes = [Node.model_validate(n) for n in nodes_raw]
        edges = [Edge.model_validate(e) for e in edges_raw]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EditError(f"the clipboard's blocks are malformed ({where}: {first['msg']})") from None
    return nodes, edges


def fresh_copies(graph: Graph, nodes: list[Node], edges: list[Edge],
                 offset: tuple[float, float]) -> tuple[list[Node], list[Edge]]:
    """Parsed blocks made ready to paste into ``graph``: fresh ids (each made unique from the
    copied one), moved by ``offset``, and the edges between them renamed to match."""
    taken = {n.id for n in graph.nodes}
    ids: dict[str, str] = {}
    fresh: list[Node] = []
    for n in nodes:
        if n.id in ids:
            continue
        new = make_identifier(n.id, taken)
        taken.add(new)
        ids[n.id] = new
        x, y = n.position
        fresh.append(n.model_copy(update={"id": new,
                                          "position": (x + offset[0], y + offset[1])}))
    wires = [e.model_copy(update={"src": ids[e.src], "dst": ids[e.dst]})
             for e in edges if e.src in ids and e.dst in ids]
    return fresh, wires
