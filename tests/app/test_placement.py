"""A block added from the palette search lands in free space, never on top of another."""

from __future__ import annotations

from itertools import combinations

from PySide6.QtCore import QPointF, QRectF, QSizeF

from app.canvas.placement import MARGIN, block_size, free_position

SIZE = QSizeF(150, 83)


def test_a_free_spot_is_kept():
    taken = [QRectF(500, 500, 150, 83)]
    assert free_position((0.0, 0.0), taken, SIZE) == QPointF(0, 0)


def test_a_taken_spot_moves_to_the_nearest_free_grid_spot():
    taken = [QRectF(0, 0, 150, 83)]
    spot = free_position(QPointF(0, 0), taken, SIZE)
    new = QRectF(spot, SIZE)
    assert not new.intersects(taken[0].adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))
    assert spot.x() % 20 == 0 and spot.y() % 20 == 0
    # below the block is nearer than beside it (83 + margin < 150 + margin)
    assert spot == QPointF(0, 120)


def test_a_crowded_area_still_finds_room():
    taken = [QRectF(x * 190, y * 120, 150, 83) for x in range(-2, 3) for y in range(-2, 3)]
    spot = free_position(QPointF(0, 0), taken, SIZE)
    new = QRectF(spot, SIZE)
    assert all(not new.intersects(r) for r in taken)


def test_blocks_with_many_inputs_are_taller():
    assert block_size("Concat").height() >= block_size("Linear").height() > 0


def test_six_blocks_added_from_the_search_do_not_overlap(ws, qtbot):
    view = ws.view()
    for _ in range(6):
        ws.add_block("Linear")
    rects = [item.sceneBoundingRect() for item in view.graph_scene.nodes.values()]
    assert len(rects) == 11  # the five of the chain and six new ones
    for a, b in combinations(rects, 2):
        assert not a.intersects(b), (a, b)
