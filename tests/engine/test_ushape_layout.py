"""The U layout of encoder-decoder templates: one row per resolution, skip connections
along their row, nothing overlapping."""

from __future__ import annotations

import pytest

from engine.layout.geometry import WIDTH
from engine.layout.ushape import ROW, u_layout
from engine.shapes import analyze_graph
from engine.templates import load_template


def _layout(name):
    project = load_template(name)
    graph = project.graphs["model"]
    return graph, u_layout(graph, analyze_graph(graph, "model", project.graphs))


@pytest.mark.parametrize("name", ["unet", "unet_resnet18", "detector_resnet18"])
def test_the_encoder_decoder_templates_are_shipped_in_their_u_layout(name):
    graph, pos = _layout(name)
    assert pos is not None and graph.flow == "right"
    assert {n.id: tuple(n.position) for n in graph.nodes} == pos


def test_each_skip_connection_is_a_straight_wire_along_its_row():
    graph, pos = _layout("unet")
    concats = [n.id for n in graph.nodes if n.type == "Concat"]
    assert len(concats) == 4
    for cat in concats:
        sources = [e.src for e in graph.edges if e.dst == cat]
        rows = {pos[s][1] for s in sources}
        skip = min(sources, key=lambda s: pos[s][0])  # the encoder's output, on the left
        assert pos[skip][1] == pos[cat][1] and pos[skip][0] < pos[cat][0]
        assert len(rows) == 1  # the upsampled input comes from the same row too
    assert max(y for _, y in pos.values()) == 4 * ROW  # 48 px halved four times


def test_no_two_blocks_overlap_and_a_plain_chain_gets_no_u():
    _graph, pos = _layout("unet")
    cells = sorted(pos.values())
    for (x0, y0), (x1, y1) in zip(cells, cells[1:], strict=False):
        assert y0 != y1 or x1 - x0 >= WIDTH
    assert _layout("mlp")[1] is None  # vectors: nothing is halved
