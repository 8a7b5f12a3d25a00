"""Wire routing: a wire never passes under a block.

A wire leaves its block's output along the flow and enters the input along the flow. When
the plain S-curve between the two ports is clear of every block it is drawn as is; otherwise
(a skip connection past the blocks it skips, a wire going backwards, blocks the user moved
into the way) it becomes an orthogonal route: a short stub out of the output, across to a
free lane, along the lane, across to the input's side and a short stub in. The lane is the
nearest line along the flow, beside some block, that no block touches.

The router works on plain rectangles, so the canvas (while a block is dragged), the bench
and the tests use the same routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.layout.geometry import Flow, Point, Rect, cubic_points, segment_hits_rect

MARGIN = 14.0  # a lane keeps this far from a block's side
STUB = 20.0  # a routed wire first goes this far straight out of the port (half a layer gap)


def _swap(p: Point) -> Point:
    return (p[1], p[0])


def _swap_rect(r: Rect) -> Rect:
    return Rect(r.top, r.left, r.bottom, r.right)


def curve_controls(p0: Point, p1: Point, flow: Flow) -> tuple[Point, Point]:
    """The control points of the S-curve between two ports: out of ``p0`` and into ``p1``
    along the flow."""
    if flow == "down":
        d = max(30.0, abs(p1[1] - p0[1]) * 0.5)
        return (p0[0], p0[1] + d), (p1[0], p1[1] - d)
    d = max(30.0, abs(p1[0] - p0[0]) * 0.5)
    return (p0[0] + d, p0[1]), (p1[0] - d, p1[1])


def curve_points(p0: Point, p1: Point, flow: Flow) -> list[Point]:
    c0, c1 = curve_controls(p0, p1, flow)
    return cubic_points(p0, c0, c1, p1)


def _hits(points: Sequence[Point], rects: Sequence[Rect]) -> int:
    return sum(1 for r in rects for i in range(len(points) - 1)
               if segment_hits_rect(points[i], points[i + 1], r))


def _blocked(points: Sequence[Point], rects: Sequence[Rect]) -> bool:
    """Whether any segment of ``points`` crosses any of ``rects`` (stops at the first)."""
    return any(segment_hits_rect(points[i], points[i + 1], r)
               for r in rects for i in range(len(points) - 1))


def route_wire(p0: Point, p1: Point, flow: Flow, blocks: Sequence[Rect]) -> list[Point]:
    """The corners of the wire from output ``p0`` to input ``p1`` among ``blocks`` (every
    block's rectangle, the wire's own two included). Two points mean "the plain S-curve"."""
    if flow == "right":  # route in "down" coordinates: along the flow is y
        # Only blocks within the wire's reach along the flow can be in its way or give it
        # a lane: flip those alone (a 500-block graph has 500 blocks, a wire meets few).
        lo, hi = min(p0[0], p1[0]) - STUB - 1, max(p0[0], p1[0]) + STUB + 1
        flipped = [_swap_rect(r) for r in blocks if r.right > lo and r.left < hi]
        return [_swap(p) for p in route_wire(_swap(p0), _swap(p1), "down", flipped)]
    x0, y0 = p0
    x1, y1 = p1
    if y1 - y0 >= 2 * STUB:
        lo_x, hi_x = min(x0, x1), max(x0, x1)
        near = [r for r in blocks if r.right > lo_x and r.left < hi_x
                and r.bottom > y0 and r.top < y1]
        if not near or not _blocked(curve_points(p0, p1, "down"), near):
            return [p0, p1]
    s, t = y0 + STUB, y1 - STUB
    top, bottom = min(s, t), max(s, t)
    band = [r for r in blocks if r.bottom > top - 1 and r.top < bottom + 1]
    lanes = {x0, x1}
    for r in band:
        lanes.add(r.left - MARGIN)
        lanes.add(r.right + MARGIN)
    ordered = sorted(lanes, key=lambda x: (abs(x - x0) + abs(x - x1), -x))
    for lane in ordered:  # nearest first: the first clear lane is the best
        middle = [(x0, s), (lane, s), (lane, t), (x1, t)]
        if not _blocked(middle, band):
            return _dedupe([p0, *middle, p1])
    # No lane is clear (blocks packed wall to wall): the one crossing the fewest blocks.
    best: list[Point] = []
    best_cost = (1 << 30, 0.0)
    for lane in ordered:
        middle = [(x0, s), (lane, s), (lane, t), (x1, t)]
        cost = (_hits(middle, band), abs(lane - x0) + abs(lane - x1))
        if cost < best_cost:
            best, best_cost = _dedupe([p0, *middle, p1]), cost
    return best


def _dedupe(points: list[Point]) -> list[Point]:
    out = [points[0]]
    for p in points[1:]:
        if abs(p[0] - out[-1][0]) > 1e-6 or abs(p[1] - out[-1][1]) > 1e-6:
            out.append(p)
    # Three corners in one line are one straight stretch.
    i = 1
    while i < len(out) - 1:
        a, b, c = out[i - 1], out[i], out[i + 1]
        if (a[0] == b[0] == c[0]) or (a[1] == b[1] == c[1]):
            del out[i]
        else:
            i += 1
    return out


def wire_polyline(p0: Point, p1: Point, flow: Flow, blocks: Sequence[Rect]) -> list[Point]:
    """The wire as drawn, as a polyline (the S-curve sampled): for measurements and tests."""
    route = route_wire(p0, p1, flow, blocks)
    return curve_points(p0, p1, flow) if len(route) == 2 else route


def bends(route: Sequence[Point]) -> int:
    """The corners of a route (an S-curve has none)."""
    return max(0, len(route) - 2)
