"""A private run (DP-SGD with Opacus): the epsilon spent each epoch as events, the record in
privacy.json, the model card's section, and weights that load into the plain model."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from engine.cli.running import show_events
from engine.export.card_privacy import section
from engine.tasks import task_class
from engine.train.checkpoint import load_models
from engine.train.events import Finished, Privacy
from engine.train.loop import train
from engine.train.privacy_record import read_privacy
from engine.train.setup import build_models
from tests.engine.privacy.helpers import private_mlp

CONTRACT_KEYS = {"epsilon", "delta", "target", "noise", "max_grad_norm", "epochs",
                 "sample_rate", "accountant"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    project = private_mlp()
    run_dir = tmp_path_factory.mktemp("private") / "run"
    events = list(train(project, run_dir))
    assert isinstance(events[-1], Finished), events[-1]
    return SimpleNamespace(project=project, dir=run_dir, events=events)


def test_epsilon_grows_each_epoch_and_ends_at_the_target(run) -> None:
    spent = [e for e in run.events if isinstance(e, Privacy)]
    assert [e.epoch for e in spent] == [1, 2, 3]
    assert [e.step for e in spent] == [15, 30, 45]
    eps = [e.epsilon for e in spent]
    assert eps[0] > 0 and eps[0] < eps[1] < eps[2]
    assert 0.95 * 3.0 <= eps[-1] <= 3.0  # the noise was chosen to spend the target
    last = spent[-1]
    assert last.target == 3.0 and last.max_grad_norm == 1.0 and last.noise > 0.3
    assert last.delta == pytest.approx(1 / 480)  # default: 1 / training samples


def test_privacy_json_holds_the_guarantee(run) -> None:
    record = read_privacy(run.dir)
    assert record is not None and record.keys() >= CONTRACT_KEYS
    last = [e for e in run.events if isinstance(e, Privacy)][-1]
    assert record["epsilon"] == pytest.approx(last.epsilon)
    assert record["noise"] == last.noise and record["epochs"] == 3
    assert record["sample_rate"] == pytest.approx(1 / 15) and record["accountant"] == "prv"
    assert record["steps"] == 45


def test_weights_keep_the_plain_models_keys(run) -> None:
    """Opacus wraps the model only for training: the weights load into the model as the
    evaluation and the exports build it."""
    tensors = load_file(run.dir / "weights.safetensors")
    models = build_models(run.project, task_class("classification"), 0, torch.device("cpu"))
    assert {k for k in tensors if k.startswith("model/")} == {
        f"model/model/{k}" for k in models["model"].state_dict()}
    load_models(models, tensors)  # strict


def test_the_cli_and_the_card_state_the_epsilon(run) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert show_events(iter(run.events), live=False, quiet=False) == 0
    lines = [ln for ln in out.getvalue().splitlines() if "privacy:" in ln]
    assert len(lines) == 3 and "of 3 spent" in lines[-1]
    card = "\n".join(section(SimpleNamespace(origin=Path(run.dir))))
    eps = read_privacy(run.dir)["epsilon"]
    assert "## Privacy" in card and f"Epsilon spent: {eps:.3f}" in card
    assert "Noise multiplier" in card and "Clipping norm (per example): 1" in card
    assert "not cover the validation or test data" in card
