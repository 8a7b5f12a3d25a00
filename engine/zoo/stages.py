"""A zoo backbone cut into a chain of stage composites, for encoder-decoder networks.

A composite has one Output (decision 0001), so a U-Net cannot take its skip connections
from inside one backbone composite. :func:`backbone_stages` cuts the backbone's graph
into consecutive stage graphs instead (for ResNet: ``stem``, ``layer1`` ... ``layer4``),
each with one Input and one Output, to be chained by Group nodes in a parent graph whose
stage outputs also feed the decoder. Every stage carries the whole backbone's
:class:`~engine.project.WeightsRef` (the same checkpoint file): a stage takes from it only
the tensors of its own blocks (:mod:`engine.zoo.weights`), so the chain computes what the
whole backbone computes, stage by stage.

A stage ends where the backbone is a single path (no connection jumps over the cut) and
the output is the last such point at each feature stride (2, 4, 8, ...), not counting an
inverted residual's expansion (``b3_expand_relu6``: it belongs to the block that follows,
and its output is several times wider than the block's own); the pooled tail
(``pool`` onwards: the classifier's features) is left out. Torch-free, like the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from engine.project import Edge, Graph, Node
from engine.zoo import ZooError
from engine.zoo.catalog import composite_graph, entry

#: the first node of the pooled tail in every convolutional zoo architecture
TAIL = "pool"


class Stage(NamedTuple):
    """One stage of a cut backbone: the composite graph's name (``resnet18_layer2``), the
    graph, and what its output holds: ``channels`` at 1/``stride`` of the image's size."""

    name: str
    graph: Graph
    channels: int
    stride: int


def stage_names(count: int) -> list[str]:
    """``stem``, then ``layer1``, ``layer2`` ... (ResNet's own names for its stages)."""
    return ["stem"] + [f"layer{i}" for i in range(1, count)]


def backbone_stages(entry_key: str, image_size: int,
                    cuts: Sequence[str] | None = None) -> list[Stage]:
    """The zoo entry ``entry_key``'s backbone at ``image_size`` as consecutive stages.

    ``cuts`` names the last block of each stage (node ids of the backbone's graph, in
    order); by default the last single-path block at each stride. Raises
    :class:`~engine.zoo.ZooError` for an architecture without convolutional stages (ViT)
    or a cut that is not a single-path point of the graph.
    """
    e = entry(entry_key)
    whole = composite_graph(e, image_size)
    order = [n.id for n in whole.nodes]  # the zoo builds its graphs in topological order
    if TAIL not in order:
        raise ZooError(f"{e.title} has no convolutional stages to cut (it is not a "
                       "convolutional network); choose a ResNet or MobileNetV2 encoder")
    body = order[:order.index(TAIL)]
    shapes = _shapes(whole, entry_key)
    points = _single_path_points(whole, body)
    if cuts is None:
        cuts = _default_cuts(body, points, shapes, image_size)
    else:
        cuts = list(cuts)
        bad = [c for c in cuts if c not in points]
        if bad:
            raise ZooError(f"{e.title}: cannot end a stage at {bad[0]!r}: it is not a block of "
                           "the backbone where a single path runs (a residual connection "
                           "jumps over it); choose the last block of a residual stage")
        if [body.index(c) for c in cuts] != sorted(body.index(c) for c in cuts):
            raise ZooError(f"{e.title}: the stage cuts {', '.join(cuts)} are not in the "
                           "backbone's order; list them from the input onwards")
    stages = []
    start, source = 1, None  # body[0] is the Input
    for name, cut in zip(stage_names(len(cuts)), cuts, strict=True):
        end = body.index(cut) + 1
        graph = _stage_graph(whole, body[start:end], source, shapes)
        channels, height = shapes[cut][0], shapes[cut][1]
        stages.append(Stage(f"{entry_key}_{name}", graph, channels, image_size // height))
        start, source = end, cut
    return stages


def _shapes(graph: Graph, name: str) -> dict[str, tuple[int, ...]]:
    from engine.shapes import analyze_graph

    a = analyze_graph(graph, name)
    if not a.ok:  # pragma: no cover - the zoo's graphs analyse cleanly (tests check each)
        raise ZooError(f"the {name} backbone has errors: {a.errors[0]}")
    return {nid: tuple(info.out.shape) for nid, info in a.nodes.items() if info.out is not None}


def _single_path_points(graph: Graph, body: list[str]) -> set[str]:
    """The blocks of ``body`` every later block is reached through: no edge jumps from
    before one of them to after it."""
    pos = {nid: i for i, nid in enumerate(body)}
    points = set()
    for i, nid in enumerate(body[1:], start=1):
        if all(e.src == nid for e in graph.edges
               if e.src in pos and pos[e.src] <= i < pos.get(e.dst, len(body))):
            points.add(nid)
    return points


def _default_cuts(body: list[str], points: set[str], shapes: dict[str, tuple[int, ...]],
                  image_size: int) -> list[str]:
    """The last single-path block at each stride, in the body's order."""
    last: dict[int, str] = {}
    for nid in body:
        shape = shapes[nid]
        if nid in points and len(shape) == 3 and shape[1] and image_size % shape[1] == 0 \
                and "_expand_" not in nid:
            last[image_size // shape[1]] = nid  # (a padded size, 17 of 64, is no stride)
    return [last[s] for s in sorted(last) if s > 1]


def _stage_graph(whole: Graph, ids: list[str], source: str | None,
                 shapes: dict[str, tuple[int, ...]]) -> Graph:
    """Blocks ``ids`` of ``whole`` with an Input in place of ``source`` (the previous
    stage's last block; None: the backbone's own Input) and an Output after the last."""
    keep = set(ids)
    inp = "image" if source is None else "x"
    src_shape = list(shapes["image" if source is None else source])
    nodes = [Node(id=inp, type="Input", params={"shape": src_shape})]
    nodes += [n.model_copy(deep=True) for n in whole.nodes if n.id in keep]
    nodes.append(Node(id="features", type="Output"))
    edges = []
    for e in whole.edges:
        if e.dst not in keep:
            continue
        src = e.src if e.src in keep else inp
        edges.append(Edge(src=src, dst=e.dst, src_port=e.src_port, dst_port=e.dst_port))
    edges.append(Edge(src=ids[-1], dst="features"))
    graph = whole.model_copy(update={"nodes": nodes, "edges": edges}, deep=True)
    from engine.layout import apply_layout

    apply_layout(graph, "down")
    return graph


__all__ = ["Stage", "backbone_stages", "stage_names"]
