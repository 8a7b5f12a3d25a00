"""Fit rules of the vision tasks, segmentation and detection (used by engine.train.fit).

Segmentation scores every pixel: the network must end in [K, H, W], K the data's classes
and H x W the input image's own size. Detection (CenterNet-style) gives per-cell maps
[K + 4, H / s, W / s]: K class heatmaps, then box width and height, then the centre
offset, at an integer stride s that the task reads from the shapes. Fit model to data sets
the class count of the block that makes the scores (a SegmentationHead's or
DetectionHead's ``classes``, a last convolution's ``out_channels``). Torch-free.
"""

from __future__ import annotations

from typing import Any

from engine.data.facts import DataFacts
from engine.graph import Problem
from engine.project import Graph
from engine.train.head import shape_text, source_of

VISION = ("segmentation", "detection")

# What each vision task needs of the data's targets, and what the data has, in words.
NEEDS = {
    "segmentation": ("mask", "segmentation needs a mask for each image"),
    "detection": ("boxes", "detection needs boxes for each image"),
}
HAS = {"mask": "has a mask for each image", "boxes": "has boxes for each image"}
#: the task that uses each kind of vision target, for the fix of a task that cannot
TASK_OF = {"mask": "segmentation", "boxes": "detection"}

# The block that gives each task's scores, and the parameter that holds the class count;
# a plain convolution may end a hand-made network instead.
_HEADS = {"segmentation": "SegmentationHead", "detection": "DetectionHead"}
_CONVS = ("Conv2d", "ConvTranspose2d")
_PASS_THROUGH = {"Identity", "Dropout", "Dropout2d"}


def target_fix(kind: str, facts: DataFacts) -> str | None:
    """The fix when ``kind`` cannot use ``facts``' targets and a vision task is involved
    (None when neither the task nor the data is a vision one)."""
    if facts.target in TASK_OF:
        return (f"set task.kind to {TASK_OF[facts.target]}, or choose data with "
                f"{'class labels' if kind == 'classification' else 'the targets it needs'}")
    if kind == "segmentation":
        return ("choose data with masks (builtin:shapes_seg, or Segmentation files: images "
                "with a folder of masks) or another task.kind")
    if kind == "detection":
        return ("choose data with boxes (builtin:shapes_det, or Detection files: COCO, VOC "
                "or YOLO annotations) or another task.kind")
    return None


def head_node(graph: Graph, kind: str) -> str | None:
    """The block whose output channels are the class scores, feeding the (first) Output
    directly or through dropout: the task's head block, or for segmentation a last
    convolution (whose out_channels are then the classes)."""
    outs = [n.id for n in graph.nodes if n.type == "Output"]
    if not outs:
        return None
    cur = source_of(graph, outs[0])
    for _ in range(4):
        node = graph.node(cur) if cur else None
        if node is None:
            return None
        if node.type == _HEADS[kind] or (kind == "segmentation" and node.type in _CONVS):
            return node.id
        if node.type not in _PASS_THROUGH:
            return None
        cur = source_of(graph, node.id)
    return None


def _count_param(graph: Graph, node_id: str) -> str:
    node = graph.node(node_id)
    assert node is not None
    return "out_channels" if node.type in _CONVS else "classes"


def output_problems(graph: Graph, gname: str, kind: str, out_node: str, out: Any,
                    facts: DataFacts, src: str) -> list[Problem]:
    """What is wrong with the network's output ``out`` (a TensorSpec) for ``kind``."""
    want_hw = tuple(facts.input_shape[1:])
    n = facts.num_classes
    head = head_node(graph, kind)
    where = head or out_node
    shape = tuple(out.shape)
    head_name = "a Segmentation head" if kind == "segmentation" else "a Detection head"
    if len(shape) != 3 or len(want_hw) != 2:
        what = ("a score per class for each pixel, [N, classes, H, W]" if kind == "segmentation"
                else "maps [N, classes + 4, H / stride, W / stride]")
        return [Problem(gname, out_node, f"gives {shape_text(shape)} but {kind} gives {what}: "
                        f"end the network with {head_name}")]
    channels, hw = shape[0], shape[1:]
    probs: list[Problem] = []
    if kind == "segmentation":
        if None not in hw and hw != want_hw:
            probs.append(Problem(gname, where, f"gives scores at {_hw(hw)} but the images are "
                                 f"{_hw(want_hw)}: segmentation needs a score for every pixel, "
                                 f"so the decoder must bring the features back to the input's "
                                 f"size (one upsampling for each pooling or stride 2)"))
        want_c = n
    else:
        stride = _stride(hw, want_hw)
        if stride is None:
            probs.append(Problem(gname, where, f"gives maps of {_hw(hw)} for images of "
                                 f"{_hw(want_hw)}: the images' sides must be the same whole "
                                 f"multiple (the stride) of the maps' sides; change the image "
                                 f"size or the downsampling"))
        want_c = n + 4
    if not n or channels is None or channels == want_c:
        return probs
    fix = (f": set {_count_param(graph, head)} to {n}" if head
           else f": end the network with {head_name} of {n} classes")
    what = (f"scores for {channels} classes" if kind == "segmentation"
            else f"{channels} channels ({n} class heatmaps and 4 box channels make {want_c})")
    if kind == "segmentation" and channels > n:
        probs.append(Problem(gname, where, f"gives {what} but {src} has only {n} classes; the "
                             f"extra outputs are wasted{fix}", "warning"))
    else:
        probs.append(Problem(gname, where, f"gives {what} but {src} has {n} classes{fix}"))
    return probs


def _hw(hw: tuple) -> str:
    return "x".join("T" if d is None else str(d) for d in hw)


def _stride(hw: tuple, want_hw: tuple) -> int | None:
    """The integer stride from maps ``hw`` to images ``want_hw``, the same on both axes."""
    if None in hw or None in want_hw:
        return 1
    strides = {w // h if h and w % h == 0 else None for h, w in zip(hw, want_hw, strict=True)}
    return strides.pop() if len(strides) == 1 else None


def fit_head(graph: Graph, gname: str, kind: str, n: int) -> list[str]:
    """Set the class count of the block giving ``kind``'s scores to the data's ``n``."""
    head = head_node(graph, kind)
    if head is None or not n:
        return []
    node = graph.node(head)
    assert node is not None
    key = _count_param(graph, head)
    if node.params.get(key) == n:
        return []
    node.params = {**node.params, key: n}
    return [f"{gname}/{head}: {key} set to {n}"]
