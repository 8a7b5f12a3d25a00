"""Small projects for training tests: quick on two CPU cores."""

from __future__ import annotations

from engine.project import Project
from engine.templates import load_template
from engine.train.overrides import apply_overrides


def tiny_mlp(**overrides) -> Project:
    """The mlp template on 600 spiral points, 2 epochs, one thread."""
    settings = {"dataset.samples": 600, "training.epochs": 2, "training.threads": 1,
                "training.device": "cpu"}
    settings.update({k.replace("__", "."): v for k, v in overrides.items()})
    return apply_overrides(load_template("mlp"), settings)
