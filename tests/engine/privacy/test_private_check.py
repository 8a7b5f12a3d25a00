"""Before a private run: what DP-SGD cannot take is found (in the project's problems too),
refused with a sentence naming the block, and fixed in one step; the fixed project
trains. Recurrent blocks train through Opacus' DPLSTM with the plain LSTM's weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from engine.project import load_project
from engine.shapes import project_problems
from engine.tasks import task_class
from engine.train.checkpoint import load_models
from engine.train.events import Failed, Finished, Privacy
from engine.train.loop import train
from engine.train.overrides import apply_overrides
from engine.train.privacy_check import (
    PRIVACY_FIX,
    apply_fix,
    check_private,
    fix_for,
    groups_for,
)
from engine.train.setup import build_models
from tests.engine.privacy.helpers import private_mlp, with_batch_norm


def test_batch_norm_is_refused_with_the_group_norm_fix(tmp_path) -> None:
    project = with_batch_norm(private_mlp())
    (found,) = check_private(project)
    assert (found.kind, found.graph, found.node) == ("batch_norm", "model", "fc1_bn")
    assert "GroupNorm" in found.message
    fix = found.fix
    assert fix.kind == "replace" and fix.key == "model/fc1_bn"
    assert fix.value["type"] == "GroupNorm" and fix.value["params"]["num_groups"] == 32
    # the project's problems list carries it (the Problems panel, layerforge check)
    (problem,) = [p for p in project_problems(project) if p.node == "fc1_bn"]
    assert problem.severity == "error" and problem.fix == PRIVACY_FIX
    assert fix_for(project, "model", "fc1_bn") == fix
    project.training.privacy.enabled = False
    assert not [p for p in project_problems(project) if p.node == "fc1_bn"]
    project.training.privacy.enabled = True
    # training refuses early, before the run folder exists
    events = list(train(project, tmp_path / "run"))
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert "model/fc1_bn" in events[0].message and "GroupNorm" in events[0].message
    assert not (tmp_path / "run" / "project.lforge").exists()
    # the fix applied: nothing left, and it trains privately
    apply_fix(project, fix)
    node = project.graphs["model"].node("fc1_bn")
    assert node.type == "GroupNorm" and node.params["num_groups"] == 32
    assert check_private(project) == []
    project.training.epochs = 1
    events = list(train(project, tmp_path / "fixed"))
    assert isinstance(events[-1], Finished), events[-1]
    assert [e.epoch for e in events if isinstance(e, Privacy)] == [1]


def test_group_counts_divide_the_channels() -> None:
    assert [groups_for(c) for c in (None, 1, 2, 6, 16, 64, 100, 128)] == [1, 1, 1, 3, 8, 32, 25, 32]


def test_settings_private_training_cannot_take() -> None:
    gan = private_mlp()
    gan.task.kind = "gan"
    assert [f.graph for f in check_private(gan)] == ["task.kind"]
    clip = private_mlp(training__grad_clip=1.0)
    (found,) = check_private(clip)
    assert found.severity == "warning" and found.fix.key == "training.grad_clip"
    apply_fix(clip, found.fix)
    assert clip.training.grad_clip == 0


def test_the_lstm_trains_through_dplstm_with_the_plain_weights(tmp_path) -> None:
    """The sentiment example's masked bidirectional LSTM: refused, then its DP layer option
    on; the trained weights load into the plain LSTM (exports build that one)."""
    project = apply_overrides(load_project("resources/examples/sentiment_lstm.lforge"), {
        "dataset.samples": 240, "training.epochs": 1, "training.threads": 1,
        "training.device": "cpu", "training.privacy.enabled": True})
    found = {f.kind: f for f in check_private(project)}
    assert found["recurrent"].node == "lstm"
    fix = found["recurrent"].fix
    assert (fix.kind, fix.key, fix.value) == ("set_param", "model/lstm.private", True)
    for f in found.values():
        apply_fix(project, f.fix)
    assert check_private(project) == []
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    assert any(isinstance(e, Privacy) for e in events)
    plain = project.model_copy(deep=True)
    plain.graphs["model"].node("lstm").params["private"] = False
    plain.training.privacy.enabled = False
    models = build_models(plain, task_class(plain.task.kind), 0, torch.device("cpu"))
    assert "DPLSTM" not in str(models["model"])
    load_models(models, load_file(tmp_path / "run/weights.safetensors"))  # strict


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_other_recurrent_blocks_get_the_same_fix(kind) -> None:
    project = load_project("resources/examples/sentiment_lstm.lforge")
    project.training.privacy.enabled = True
    project.graphs["model"].node("lstm").type = kind
    (f,) = [f for f in check_private(project) if f.kind == "recurrent"]
    assert f.fix.label == f"Use Opacus' DP{kind} in lstm"
