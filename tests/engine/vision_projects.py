"""Tiny segmentation and detection projects on the built-in scenes: a few seconds of
training on two CPU cores, for the tests of what comes after training (evaluate, export)."""

from __future__ import annotations

from engine.data.scenes import DET_CLASSES, SEG_CLASSES
from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec, TrainingConfig

SIZE = 32  # image side: the smallest the detector's two poolings and the scenes allow well


def _chain(blocks: list[tuple[str, str, dict]], output: str) -> Graph:
    nodes = [Node(id="image", type="Input", params={"shape": [3, SIZE, SIZE]})]
    nodes += [Node(id=i, type=t, params=p) for i, t, p in blocks]
    nodes.append(Node(id=output, type="Output"))
    ids = [n.id for n in nodes]
    return Graph(nodes=nodes, edges=[Edge(src=a, dst=b) for a, b in zip(ids, ids[1:],
                                                                          strict=False)])


def _project(kind: str, graph: Graph, samples: int, epochs: int) -> Project:
    name = "shapes_seg" if kind == "segmentation" else "shapes_det"
    return Project(
        name=f"tiny {kind}", graphs={"model": graph}, task=TaskSpec(kind=kind),
        dataset=DatasetSpec(source="builtin", name=name, samples=samples, image_size=SIZE,
                            val_fraction=0.25, augment_flip=False),
        training=TrainingConfig(optimizer="adam", lr=3e-3, batch_size=16, epochs=epochs,
                                seed=0, threads=1, device="cpu"))


def tiny_segmenter(samples: int = 64, epochs: int = 1) -> Project:
    """Conv -> ReLU -> SegmentationHead over the 7 classes of ``builtin:shapes_seg``."""
    graph = _chain([("conv", "Conv2d", {"out_channels": 8}), ("relu", "ReLU", {}),
                    ("head", "SegmentationHead", {"classes": len(SEG_CLASSES)})], "masks")
    return _project("segmentation", graph, samples, epochs)


def tiny_detector(samples: int = 64, epochs: int = 1) -> Project:
    """Conv -> ReLU -> two poolings (stride 4) -> DetectionHead over ``shapes_det``'s 6
    classes."""
    graph = _chain([("conv", "Conv2d", {"out_channels": 8}), ("relu", "ReLU", {}),
                    ("pool1", "MaxPool2d", {"kernel_size": 2, "stride": 2}),
                    ("pool2", "MaxPool2d", {"kernel_size": 2, "stride": 2}),
                    ("head", "DetectionHead", {"classes": len(DET_CLASSES), "width": 8})],
                   "maps")
    return _project("detection", graph, samples, epochs)
