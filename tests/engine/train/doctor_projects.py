"""Projects and block statistics for the training doctor's tests: chains of blocks built in
code, and synthetic measurements of them made from per-block gains (what a healthy block
does to the scale of its input and of its gradient)."""

from __future__ import annotations

from typing import Any

from engine.project import Edge, Graph, Node, Project
from engine.train import events

#: the gains of a healthy block at PyTorch's default initialisation (forward, backward)
HEALTHY = {"Linear": (0.6, 0.6), "ReLU": (0.6, 0.7), "Sigmoid": (0.25, 0.24),
           "Tanh": (0.8, 0.6), "Conv2d": (0.6, 0.6), "MaxPool2d": (1.2, 1.0),
           "Flatten": (1.0, 1.0), "Dropout": (1.1, 1.1), "BatchNorm1d": (2.0, 2.0)}


def chain(layers: list[tuple[str, str, dict[str, Any]]], *, features: int = 2,
          **training: Any) -> Project:
    """A project of one graph: Input ``x`` [features] -> each (id, type, params) -> Output
    ``out``, on the spirals data, training settings from ``training``."""
    nodes = [Node(id="x", type="Input", params={"shape": [features]})]
    nodes += [Node(id=i, type=t, params=dict(p)) for i, t, p in layers]
    nodes.append(Node(id="out", type="Output"))
    edges = [Edge(src=a.id, dst=b.id) for a, b in zip(nodes, nodes[1:], strict=False)]
    project = Project(name="chain", graphs={"model": Graph(nodes=nodes, edges=edges)})
    project.dataset.name = "spirals"
    project.dataset.samples = 600
    for key, value in training.items():
        setattr(project.training, key, value)
    return project


def mlp(**training: Any) -> Project:
    """fc1 -> relu1 -> fc2 -> relu2 -> fc3 (3 classes), as the mlp template."""
    return chain([("fc1", "Linear", {"out_features": 64}), ("relu1", "ReLU", {}),
                  ("fc2", "Linear", {"out_features": 64}), ("relu2", "ReLU", {}),
                  ("fc3", "Linear", {"out_features": 3})], **training)


def deep(activation: str, depth: int, width: int = 32, norm: str = "", **training: Any) -> Project:
    """``depth`` times Linear(width) [-> norm] -> activation, then Linear(3): fc1, act1, ..."""
    layers: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(1, depth + 1):
        layers.append((f"fc{i}", "Linear", {"out_features": width}))
        if norm:
            layers.append((f"bn{i}", norm, {}))
        layers.append((f"act{i}", activation, {}))
    layers.append((f"fc{depth + 1}", "Linear", {"out_features": 3}))
    return chain(layers, **training)


def block_stats(step: int, blocks: dict[str, dict[str, float | None]], epoch: int = 1) -> Any:
    """A BlockStats event (engine/train/events.py)."""
    return events.BlockStats(epoch=epoch, step=step, blocks=blocks)


def simulate(project: Project, step: int = 50, *, gains: dict[str, tuple[float, float]] | None = None,
             dead: dict[str, float] | None = None, ratio: float = 1e-3,
             ratios: dict[str, float] | None = None, epoch: int = 1,
             input_stats: bool = False) -> Any:
    """One measurement of a chain ``project`` (forward order): the input's spread is 1 and
    the gradient at the last block's output is 1; each block scales them by its gains
    (``gains`` overrides :data:`HEALTHY` per node id). ``dead`` gives shares of dead (or
    saturated) units, ``ratio`` every trainable block's update ratio (``ratios`` per node).
    Like the real measurement, the Input has no statistics unless ``input_stats``."""
    graph = project.graphs["model"]
    order = [n for n in graph.nodes if n.type != "Output"]
    gains, dead, ratios = gains or {}, dead or {}, ratios or {}
    fwd = {n.id: gains.get(n.id, HEALTHY.get(n.type, (1.0, 1.0)))[0] for n in order}
    bwd = {n.id: gains.get(n.id, HEALTHY.get(n.type, (1.0, 1.0)))[1] for n in order}
    act, scale = {}, 1.0
    for n in order:
        scale = scale * (fwd[n.id] if n.type != "Input" else 1.0)
        act[n.id] = scale
    grad, g = {}, 1.0
    for n in reversed(order):
        if n.type == "Input":
            continue
        grad[n.id] = g
        g = g * bwd[n.id]
    blocks = {}
    for n in order:
        params = n.type in ("Linear", "Conv2d")
        if n.type == "Input" and not input_stats:
            continue
        relu_like = n.type in ("ReLU", "Sigmoid", "Tanh")
        blocks[f"model/{n.id}"] = {
            "act_mean": 0.1 * act[n.id], "act_std": act[n.id],
            "dead": dead.get(n.id, 0.0) if relu_like else None,
            "grad_out": grad.get(n.id),
            "grad_params": grad[n.id] * act[n.id] if params else None,
            "update_ratio": ratios.get(n.id, ratio) if params else None,
            "param_norm": 5.0 if params else None,
        }
    return block_stats(step, blocks, epoch)


def epoch_ended(epoch: int, train_loss: float, val_loss: float,
                lr: float = 0.0) -> events.EpochEnded:
    return events.EpochEnded(epoch=epoch, train={"loss": train_loss}, val={"loss": val_loss},
                             lr=lr)
