"""A small U-Net trains on built-in scenes through the real training loop (issue 22)."""

from __future__ import annotations

import json

from engine.data import load_dataset
from engine.project import (
    DatasetSpec,
    Edge,
    Graph,
    Node,
    Project,
    TaskSpec,
    TrainingConfig,
)
from engine.train import train
from engine.train.events import EpochEnded, Finished

SIDE = 32
WIDTHS = (16, 32)
EPOCHS = 8
KEYS = {"loss", "loss_ce", "loss_dice", "miou", "pixel_accuracy", "mean_dice", "iou_per_class",
        "dice_per_class", "confusion_matrix", "classes"}


def tiny_unet() -> Graph:
    """Two poolings and two transposed convolutions back, each joined to the encoder's
    features of its size by Concat (the skip connections), then the segmentation head."""
    nodes: list[Node] = []
    edges: list[Edge] = []

    def add(node_id: str, type_name: str, params: dict, src: str | None, port: str = "in") -> str:
        nodes.append(Node(id=node_id, type=type_name, params=params))
        if src is not None:
            edges.append(Edge(src=src, dst=node_id, dst_port=port))
        return node_id

    def conv(node_id: str, width: int, src: str) -> str:
        src = add(node_id, "Conv2d", {"out_channels": width, "bias": False}, src)
        return add(f"{node_id}_relu", "ReLU", {}, add(f"{node_id}_bn", "BatchNorm2d", {}, src))

    cur = add("image", "Input", {"shape": [3, SIDE, SIDE]}, None)
    skips = []
    for level, width in enumerate(WIDTHS):
        cur = conv(f"enc{level}", width, cur)
        skips.append(cur)
        cur = add(f"pool{level}", "MaxPool2d", {"kernel_size": 2}, cur)
    cur = conv("mid", 2 * WIDTHS[-1], cur)
    for level in reversed(range(len(WIDTHS))):
        up = add(f"up{level}", "ConvTranspose2d", {"out_channels": WIDTHS[level],
                                                   "kernel_size": 2, "padding": 0}, cur)
        cat = add(f"cat{level}", "Concat", {}, up, "in0")
        edges.append(Edge(src=skips[level], dst=cat, dst_port="in1"))
        cur = conv(f"dec{level}", WIDTHS[level], cat)
    add("masks", "Output", {}, add("head", "SegmentationHead", {"classes": 7}, cur))
    return Graph(nodes=nodes, edges=edges)


def test_a_small_unet_learns_the_scenes_and_reports_every_segmentation_figure(tmp_path):
    project = Project(
        graphs={"model": tiny_unet()},
        dataset=DatasetSpec(name="shapes_seg", samples=800, image_size=SIDE, augment_flip=True),
        task=TaskSpec(kind="segmentation"),
        training=TrainingConfig(optimizer="adam", lr=0.01, schedule="onecycle", batch_size=16,
                                epochs=EPOCHS, threads=1, device="cpu", monitor="val_miou"),
    )
    bundle = load_dataset(project.dataset)
    assert bundle.augment is not None and bundle.augment.moves_targets
    events = list(train(project, tmp_path / "run", bundle=bundle))
    assert isinstance(events[-1], Finished), events[-1]
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert len(epochs) == EPOCHS
    assert {"loss", "loss_ce", "loss_dice", "pixel_accuracy"} <= set(epochs[0].train)
    assert set(epochs[-1].val) >= KEYS
    # chance, everything background, scores the background's IoU (0.9) over 7 classes: 0.13
    first, last = epochs[0].val, epochs[-1].val
    assert last["miou"] > 0.25 and last["miou"] > first["miou"]
    assert last["iou_per_class"][0] > 0.95  # the shapes are told from the background
    assert sum((iou or 0) > 0.2 for iou in last["iou_per_class"][1:]) >= 2  # some one another
    assert epochs[-1].val["classes"][0] == "background"
    assert events[-1].monitor == "val_miou" and events[-1].best_value == max(
        e.val["miou"] for e in epochs)
    saved = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert set(saved["val"]) >= KEYS
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val_miou", "val_mean_dice", "train_loss_dice", "train_pixel_accuracy"} <= set(header)
