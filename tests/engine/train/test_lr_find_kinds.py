"""The learning-rate finder runs on task kinds other than classification: each trains one
model with one optimizer through its own train_step (a short ramp on small built-in data)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.project import load_project
from engine.train.lr_find import lr_find
from engine.train.overrides import apply_overrides

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


@pytest.mark.parametrize(("example", "kind"), [("autoencoder", "autoencoder"),
                                               ("translator", "seq2seq"),
                                               ("unet", "segmentation"),
                                               ("detector", "detection")])
def test_a_ramp_runs_on_each_kind(example: str, kind: str) -> None:
    project = apply_overrides(load_project(EXAMPLES / f"{example}.lforge"), {
        "training.device": "cpu", "training.threads": 1, "dataset.samples": 200})
    assert project.task.kind == kind
    result = lr_find(project, steps=20)
    assert 15 <= len(result.lrs) <= 20  # a detector may diverge at the very end
    assert all(math.isfinite(v) and v > 0 for v in result.raw_losses)
    assert result.message
    assert (result.suggestion is None) == (not result.message.startswith("Suggested"))
