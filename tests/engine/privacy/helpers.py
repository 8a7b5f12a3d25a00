"""Small private projects for the privacy tests: quick on two CPU cores."""

from __future__ import annotations

from engine.project import Edge, Node, Project
from engine.templates import load_template
from engine.train.overrides import apply_overrides


def private_mlp(**overrides) -> Project:
    """The mlp template on 600 spiral points (480 to train), private at epsilon 3, batches of
    32 (15 steps an epoch), 3 epochs, one thread."""
    settings = {"dataset.samples": 600, "training.epochs": 3, "training.threads": 1,
                "training.device": "cpu", "training.batch_size": 32,
                "training.privacy.enabled": True, "training.privacy.epsilon": 3.0}
    settings.update({k.replace("__", "."): v for k, v in overrides.items()})
    return apply_overrides(load_template("mlp"), settings)


def with_batch_norm(project: Project) -> Project:
    """``project`` (the mlp) with a BatchNorm1d between fc1 and its ReLU."""
    g = project.graphs["model"]
    g.nodes.append(Node(id="fc1_bn", type="BatchNorm1d", position=(0.0, 190.0)))
    g.edges = [e for e in g.edges if not (e.src == "fc1" and e.dst == "relu1")]
    g.edges += [Edge(src="fc1", dst="fc1_bn"), Edge(src="fc1_bn", dst="relu1")]
    return project
