"""The training doctor's fixes applied to the project, each as ONE undo step through the
document's edit API (``engine.train.doctor.Fix``):

- ``set``: a setting, ``key`` as ``training.lr`` (``set_field``);
- ``set_param``: a block parameter, ``key`` as ``GRAPH/NODE.PARAM`` or ``NODE.PARAM``
  (``set_param``);
- ``insert_after``: a new block of type ``value`` after ``GRAPH/NODE``, wired between the
  block and every block it fed (one wire in, the old wires now leave the new block).

A fix that no longer fits the project (the block was renamed or removed since the run)
raises a :class:`engine.errors.UserError` whose sentence says so; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF

from app.canvas.node_item import GRID, WIDTH, node_height
from app.canvas.placement import block_size, free_position
from app.document import EditError
from engine.errors import UserError

if TYPE_CHECKING:
    from app.document import GraphDocument
    from engine.project import Edge


#: how an inserted block's id ends ("fc2_bn"): the usual short names
SHORT = {"BatchNorm1d": "bn", "BatchNorm2d": "bn", "LayerNorm": "ln", "GroupNorm": "gn",
         "Dropout": "drop"}


def apply_fix(doc: GraphDocument, fix: Any) -> str:
    """Apply ``fix`` in one undo step; the sentence for the status bar."""
    if fix.kind in ("set", "set_param"):
        return _set(doc, fix)
    if fix.kind == "insert_after":
        graph, _, node = str(fix.key).rpartition("/")
        if not graph:
            graph = next(iter(doc.project.graphs))
        insert_after(doc, graph, node, str(fix.value))
        return f"{fix.label}: done (Undo takes it back)"
    raise UserError(f"The doctor suggests a fix of an unknown kind {fix.kind!r}; update "
                    "LayerForge, or make the change by hand.")


def _set(doc: GraphDocument, fix: Any) -> str:
    from engine.sweep.space import SweepError, resolve_key

    try:
        target = resolve_key(doc.project, str(fix.key))
    except SweepError as e:
        raise EditError(f"Cannot apply \"{fix.label}\": "
                        f"{str(e).removeprefix('--param ')}") from None
    # A macro, so that the fix never merges with the user's own edit of the same field.
    with _one_step(doc, fix.label):
        if target.is_setting:
            doc.set_field(target.section, target.name, fix.value)
        else:
            doc.set_param(target.graph, target.node, target.name, fix.value)
    return f"{fix.label}: done (Undo takes it back)"


def insert_after(doc: GraphDocument, graph: str, node: str, type_name: str) -> str:
    """Insert a ``type_name`` block after ``node`` in ``graph``: it takes the node's output
    and feeds every input the node fed, in one undo step. Returns the new block's id."""
    g = doc.graph(graph)
    source = g.node(node)
    if source is None:
        raise EditError(f"Cannot insert a {type_name} after {node}: {graph} has no block "
                        f"{node!r} any more (renamed or removed since the run)")
    outgoing = [e for e in g.edges if e.src == node]
    with _one_step(doc, f"Insert {type_name} after {node}"):
        new = doc.add_node(graph, type_name, _place_after(doc, graph, node, outgoing,
                                                          type_name),
                           node_id=f"{node}_{SHORT.get(type_name, type_name.lower())}")
        doc.remove(graph, edges=[(e.src, e.src_port, e.dst, e.dst_port) for e in outgoing])
        doc.connect(graph, node, new)
        for e in outgoing:
            doc.connect(graph, new, e.dst, e.dst_port)
    return new


@contextmanager
def _one_step(doc: GraphDocument, text: str) -> Iterator[None]:
    """The edits inside are one undo step; when one fails, those already made go back.
    Inside an outer macro (several fixes as one step, privacy_check.py) the outer one is
    the step: the index moves only when the outermost macro ends."""
    stack = doc.undo_stack
    before = stack.index()
    stack.beginMacro(text)
    try:
        yield
    except Exception:
        stack.endMacro()
        if stack.index() != before:  # nested: the outer macro takes everything back
            stack.undo()
        raise
    stack.endMacro()
    if stack.index() == before:
        return
    made = stack.command(stack.index() - 1)
    if made is not None and made.childCount() == 0:  # nothing to change: leave no step
        made.setObsolete(True)
        stack.undo()


def _place_after(doc: GraphDocument, graph: str, node: str, outgoing: list[Edge],
                 type_name: str) -> tuple[float, float]:
    """Halfway to the first block it fed (or beyond the block when it fed none), moved to
    the nearest free spot on the grid."""
    g = doc.graph(graph)
    src = g.node(node)
    assert src is not None
    x, y = src.position
    nxt = g.node(outgoing[0].dst) if outgoing else None
    if nxt is not None:
        wanted = ((x + nxt.position[0]) / 2, (y + nxt.position[1]) / 2)
    else:
        down = g.flow == "down"
        wanted = (x, y + node_height(1) + 3 * GRID) if down else (x + WIDTH + 3 * GRID, y)
    occupied = [QRectF(n.position[0], n.position[1], WIDTH,
                       node_height(len(doc.input_ports(graph, n.id))))
                for n in g.nodes]
    p = free_position(QPointF(*wanted), occupied, block_size(type_name))
    return (p.x(), p.y())
