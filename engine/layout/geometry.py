"""Block sizes, port anchors and the plane geometry the layout, the router and the canvas share.

The canvas draws blocks with these sizes (``app/canvas/node_item.py`` imports them), so the
layout reserves exactly the room a block takes and the router avoids exactly what is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.blocks import get_block
from engine.project import Node

Flow = Literal["right", "down"]
Point = tuple[float, float]

WIDTH = 150.0
HEADER = 24.0
LINE = 17.0
BODY_MIN = 3 * LINE + 8
PORT_GAP = 16.0  # between input ports on the left edge (flow right)
PORT_GAP_ACROSS = 28.0  # between input ports on the top edge (flow down)


def node_height(n_inputs: int) -> float:
    """A block's height: room for its text, or for its input ports down the left edge."""
    return HEADER + max(BODY_MIN, n_inputs * PORT_GAP + 8)


def node_ports(node: Node) -> tuple[tuple[str, ...], bool]:
    """The node's input port names under its parameters (defaults where invalid) and whether
    it has an output, as the canvas shows them."""
    block = get_block(node.type)
    if block is None:
        return (), False
    values = block.resolve({}).values
    values.update(block.resolve(node.params).values)
    return tuple(block.input_ports(values)), block.has_output


def input_offset(flow: Flow, index: int, count: int, height: float) -> Point:
    """Where input ``index`` of ``count`` sits relative to the block's top-left corner: down
    the left edge for a left-to-right graph, along the top edge for a top-to-bottom one."""
    if flow == "down":
        return (WIDTH / 2 + (index - (count - 1) / 2) * PORT_GAP_ACROSS, 0.0)
    mid = HEADER + (height - HEADER) / 2
    return (0.0, mid + (index - (count - 1) / 2) * PORT_GAP)


def output_offset(flow: Flow, height: float) -> Point:
    """Where the output sits: the middle of the right edge, or of the bottom edge."""
    if flow == "down":
        return (WIDTH / 2, height)
    return (WIDTH, HEADER + (height - HEADER) / 2)


@dataclass(frozen=True, slots=True)
class Rect:
    left: float
    top: float
    right: float
    bottom: float

    def grown(self, d: float) -> Rect:
        return Rect(self.left - d, self.top - d, self.right + d, self.bottom + d)


def _clip(p: float, q: float, t0: float, t1: float) -> tuple[float, float] | None:
    # One Liang-Barsky boundary test: narrows the parameter range [t0, t1] on the segment.
    if p == 0:
        return (t0, t1) if q >= 0 else None
    r = q / p
    if p < 0:
        if r > t1:
            return None
        return (max(t0, r), t1)
    if r < t0:
        return None
    return (t0, min(t1, r))


def segment_hits_rect(a: Point, b: Point, r: Rect) -> bool:
    """Whether the segment a-b passes through the inside of ``r`` (touching an edge does not
    count: a wire may run along a block's side or end on its port)."""
    if max(a[0], b[0]) <= r.left or min(a[0], b[0]) >= r.right:
        return False
    if max(a[1], b[1]) <= r.top or min(a[1], b[1]) >= r.bottom:
        return False
    dx, dy = b[0] - a[0], b[1] - a[1]
    span: tuple[float, float] | None = (0.0, 1.0)
    for p, q in ((-dx, a[0] - r.left), (dx, r.right - a[0]),
                 (-dy, a[1] - r.top), (dy, r.bottom - a[1])):
        span = _clip(p, q, *span)
        if span is None:
            return False
    t0, t1 = span
    if t1 - t0 < 1e-9:
        return False
    mx, my = a[0] + dx * (t0 + t1) / 2, a[1] + dy * (t0 + t1) / 2
    return r.left < mx < r.right and r.top < my < r.bottom


def polyline_hits_rect(points: list[Point], r: Rect) -> bool:
    return any(segment_hits_rect(points[i], points[i + 1], r) for i in range(len(points) - 1))


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether the segments a-b and c-d cross at one point inside both (not at an end)."""
    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    d1, d2 = side(c, d, a), side(c, d, b)
    d3, d4 = side(a, b, c), side(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def cubic_points(p0: Point, c0: Point, c1: Point, p1: Point, steps: int = 12) -> list[Point]:
    """A cubic Bézier curve as a polyline (for hit tests and measurements, not drawing)."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        out.append((a * p0[0] + b * c0[0] + c * c1[0] + d * p1[0],
                    a * p0[1] + b * c0[1] + c * c1[1] + d * p1[1]))
    return out
