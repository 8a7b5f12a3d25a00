"""The small shapes CNNs that the explanation tests train (engine and app)."""

from __future__ import annotations

from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec, TrainingConfig


def shapes_cnn(samples: int = 4000, epochs: int = 8) -> Project:
    """Three conv stages (28, 14, 7 pixels) -> global average pool -> linear, on
    ``samples`` shapes (a fifth for validation): 4000 train in a few seconds an epoch on
    one CPU thread."""
    return _chain([("conv1", "Conv2d", _conv(16)), ("relu1", "ReLU", {}),
                   ("pool1", "MaxPool2d", {"kernel_size": 2}),
                   ("conv2", "Conv2d", _conv(32)), ("relu2", "ReLU", {}),
                   ("pool2", "MaxPool2d", {"kernel_size": 2}),
                   ("conv3", "Conv2d", _conv(64)), ("relu3", "ReLU", {})], samples, epochs)


def shapes_cam_cnn(samples: int = 4000, epochs: int = 12) -> Project:
    """A CNN for class activation maps: one pooling only, then dilated convolutions that
    keep half the resolution (14x14) while their view grows to a shape's size (receptive
    field 16 pixels at relu3, 24 at relu4), then global average pool -> linear. Grad-CAM at
    a 14x14 block is a map twice as fine as the 7x7 one of :func:`shapes_cnn`. Trained at
    a learning rate of 1e-3 for 12 epochs: where its evidence lies then changes less from
    one seed (or one CPU's rounding) to the next than at 3e-3 (docs/explanations.md)."""
    project = _chain([("conv1", "Conv2d", _conv(16)), ("relu1", "ReLU", {}),
                      ("pool1", "MaxPool2d", {"kernel_size": 2}),
                      ("conv2", "Conv2d", _conv(32)), ("relu2", "ReLU", {}),
                      ("conv3", "Conv2d", _conv(32, dilation=2)), ("relu3", "ReLU", {}),
                      ("conv4", "Conv2d", _conv(64, dilation=2)), ("relu4", "ReLU", {})],
                     samples, epochs)
    project.training.lr = 1e-3
    return project


def _conv(out: int, dilation: int = 1) -> dict:
    return {"out_channels": out, "kernel_size": 3, "padding": dilation, "dilation": dilation}


def _chain(blocks: list[tuple[str, str, dict]], samples: int, epochs: int) -> Project:
    """image -> ``blocks`` -> global average pool -> linear (6 classes) -> logits."""
    blocks = [*blocks, ("gap", "GlobalAvgPool", {}), ("fc", "Linear", {"out_features": 6})]
    nodes = [Node(id="image", type="Input", params={"shape": [1, 28, 28]})]
    nodes += [Node(id=i, type=t, params=p) for i, t, p in blocks]
    nodes.append(Node(id="logits", type="Output"))
    ids = [n.id for n in nodes]
    graph = Graph(nodes=nodes, edges=[Edge(src=a, dst=b) for a, b in zip(ids, ids[1:],
                                                                          strict=False)])
    return Project(name="shapes cnn", graphs={"model": graph},
                   task=TaskSpec(kind="classification"),
                   dataset=DatasetSpec(source="builtin", name="shapes", samples=samples,
                                       val_fraction=0.2),
                   training=TrainingConfig(optimizer="adam", lr=3e-3, batch_size=32,
                                           epochs=epochs, seed=0, threads=1, device="cpu"))
