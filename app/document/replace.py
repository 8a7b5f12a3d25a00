"""The ops that turn one graph into another version of itself: what an engine function
that edits a copy (Fit model to data adding a head or a pool) becomes in the undo stack.

Blocks and wires that stay are kept (so the canvas keeps their items); removed ones go
first (their places recorded), then new blocks are inserted where the new version has
them, changed parameters and positions are set, and new wires are appended. Reverting the
ops gives back the old graph exactly.
"""

from __future__ import annotations

import copy

from app.document.model import edge_key
from app.document.ops import InsertEdge, InsertNode, MoveNode, Op, SetNodeField, remove_ops
from engine.project import Graph


def replace_ops(name: str, old: Graph, new: Graph) -> list[Op]:
    """Ops that make graph ``name`` (now ``old``) equal to ``new`` in nodes and wires."""
    new_ids = {n.id for n in new.nodes}
    old_by_id = {n.id: n for n in old.nodes}
    new_keys = {edge_key(e) for e in new.edges}
    old_keys = {edge_key(e) for e in old.edges}
    gone = {n.id for n in old.nodes if n.id not in new_ids}
    ops: list[Op] = remove_ops(name, old, gone, old_keys - new_keys)
    for i, node in enumerate(new.nodes):
        before = old_by_id.get(node.id)
        if before is None:
            ops.append(InsertNode(name, i, node.model_copy(deep=True)))
            continue
        for field in ("params", "label"):
            if getattr(before, field) != getattr(node, field):
                ops.append(SetNodeField(name, node.id, field, copy.deepcopy(getattr(before, field)),
                                        copy.deepcopy(getattr(node, field))))
        if tuple(before.position) != tuple(node.position):
            ops.append(MoveNode(name, node.id, tuple(before.position), tuple(node.position)))
    kept = sum(1 for e in old.edges if edge_key(e) in new_keys and e.src not in gone
               and e.dst not in gone)
    added = [e for e in new.edges if edge_key(e) not in old_keys]
    ops += [InsertEdge(name, kept + k, e.model_copy()) for k, e in enumerate(added)]
    return ops
