"""free_position: where a new block goes so that it covers no block already on the canvas.

A block added from the palette search lands in the middle of the view; when something is
already there it should land in the nearest free space instead, on the canvas grid, with a
gap a wire can pass through.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSizeF

from app.canvas.node_item import GRID, WIDTH, node_height
from engine.blocks import get_block

if TYPE_CHECKING:
    from app.canvas.view import GraphView

MARGIN = 20.0
MAX_RINGS = 200


def _ring(r: int) -> Iterator[tuple[int, int]]:
    """Grid offsets at Chebyshev distance ``r`` from the origin."""
    if r == 0:
        yield 0, 0
        return
    for i in range(-r, r + 1):
        yield i, -r
        yield i, r
    for j in range(-r + 1, r):
        yield -r, j
        yield r, j


def free_position(wanted: QPointF | tuple[float, float], occupied: list[QRectF],
                  size: QSizeF, margin: float = MARGIN, step: float = GRID) -> QPointF:
    """The top-left corner nearest ``wanted`` (moved in whole ``step``s) where a block of
    ``size`` keeps at least ``margin`` away from every rectangle in ``occupied``.

    ``wanted`` itself comes back when it is free. The search widens ring by ring and stops
    once no farther ring can hold a nearer spot. Of equally near spots, lower then further
    right wins (the way a graph reads); if nothing within ``MAX_RINGS`` steps is
    free, ``wanted`` comes back unchanged.
    """
    x0, y0 = (wanted.x(), wanted.y()) if isinstance(wanted, QPointF) else wanted
    grown = [r.adjusted(-margin, -margin, margin, margin) for r in occupied if r.isValid()]

    def free(x: float, y: float) -> bool:
        rect = QRectF(x, y, size.width(), size.height())
        return not any(rect.intersects(g) for g in grown)

    best: tuple[float, int, int] | None = None  # (distance, -j, -i): smaller is better
    for r in range(MAX_RINGS + 1):
        if best is not None and r * step > best[0]:
            break  # every spot on this ring and beyond is farther than the one found
        for i, j in _ring(r):
            key = (math.hypot(i * step, j * step), -j, -i)
            if (best is None or key < best) and free(x0 + i * step, y0 + j * step):
                best = key
    if best is None:
        return QPointF(x0, y0)
    return QPointF(x0 - best[2] * step, y0 - best[1] * step)


def block_size(type_name: str) -> QSizeF:
    """The size a new block of ``type_name`` has on the canvas (its default input ports)."""
    block = get_block(type_name)
    ports = block.input_ports(block.resolve({}).values) if block is not None else ()
    return QSizeF(WIDTH, node_height(len(ports)))


def free_centre(view: GraphView, type_name: str, centre: QPointF | None = None) -> QPointF:
    """The scene point to hand ``view.add_block_at`` so that a new ``type_name`` block lands
    nearest ``centre`` (default: the middle of the view) without covering another block."""
    wanted = view.block_origin(view.visible_centre() if centre is None else centre)
    occupied = [item.sceneBoundingRect() for item in view.graph_scene.nodes.values()]
    origin = free_position(wanted, occupied, block_size(type_name))
    # add_block_at centres a one-port block on the point it is given (GraphView.block_origin)
    return origin + QPointF(WIDTH / 2, node_height(1) / 2)
