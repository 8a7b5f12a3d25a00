"""A network too big for the machine: `validate` warns, training refuses before allocating.

The 10^12-parameter network is only ever described (project model, shape analysis); it is
never built, so these tests allocate nothing big.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest

from engine import memory
from engine.memory import (
    device_budgets,
    estimate_training_memory,
    format_bytes,
    gpu_budgets,
    memory_problems,
    over_budget,
)
from engine.project import Edge, Graph, Node, Project, save_project
from engine.shapes import project_problems
from engine.templates import load_template
from engine.train.events import Failed, RunStarted
from engine.train.loop import train
from tests.engine.train.helpers import tiny_mlp

TERA_PARAMS = 1_000_000 * 1_000_000 + 1_000_000  # dense1: 10^6 in, 10^6 out, with bias


def huge(**training) -> Project:
    """The tiny spirals MLP with a 10^12-parameter Dense layer in the middle."""
    p = tiny_mlp()
    ids = ["points", "wide", "dense1", "head", "scores"]
    p.graphs["model"] = Graph(
        nodes=[
            Node(id="points", type="Input", params={"shape": [2]}),
            Node(id="wide", type="Linear", params={"out_features": 1_000_000}),
            Node(id="dense1", type="Linear", params={"out_features": 1_000_000}),
            Node(id="head", type="Linear", params={"out_features": 3}),
            Node(id="scores", type="Output"),
        ],
        edges=[Edge(src=a, dst=b) for a, b in zip(ids, ids[1:], strict=False)],
    )
    p.training = p.training.model_copy(update=training)
    return p


def test_estimate_counts_weights_gradients_optimizer_state_and_activations() -> None:
    p = huge(optimizer="adam", batch_size=8)
    est = estimate_training_memory(p)
    params = 2 * 1_000_000 + 1_000_000 + TERA_PARAMS + 3 * 1_000_000 + 3
    assert est.weights == est.gradients == 4 * params
    assert est.optimizer == 2 * est.weights  # Adam: two moments
    assert est.activations == 4 * 8 * (1_000_000 + 1_000_000 + 3)
    assert est.blocks[0].node == "dense1"
    sgd = estimate_training_memory(huge(optimizer="sgd", momentum=0.0))
    assert sgd.optimizer == 0
    assert estimate_training_memory(huge(optimizer="sgd", momentum=0.9)).optimizer == sgd.weights


def test_validate_warns_naming_the_biggest_block(tmp_path) -> None:
    p = huge()
    (problem,) = [q for q in project_problems(p) if q.severity == "warning"]
    assert problem.node == "dense1"
    assert "needs about 16.0 TB to train" in problem.message
    assert "dense1 (4.0 TB of weights)" in problem.message and "RAM" in problem.message
    assert not [q for q in project_problems(p) if q.severity == "error"]

    from engine.cli import main

    path = tmp_path / "huge.lforge"
    save_project(p, path)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["validate", str(path)]) == 0
    assert "warning: model/dense1: training will fail: the network needs about 16.0 TB" in out.getvalue()


def test_training_refuses_before_allocating(tmp_path) -> None:
    events = list(train(huge(), tmp_path / "run"))
    assert not any(isinstance(e, RunStarted) for e in events)
    (failed,) = [e for e in events if isinstance(e, Failed)]
    msg = failed.message
    assert msg.startswith("Cannot train: the network needs about 16.0 TB to train")
    assert "dense1 (4.0 TB of weights)" in msg and "lower the batch size" in msg
    assert "Training failed" not in msg and "RuntimeError" not in msg


def test_a_gpu_run_needs_the_weights_in_ram_and_everything_on_the_gpu(monkeypatch) -> None:
    est = estimate_training_memory(huge(batch_size=8))
    msg = over_budget(est, gpu_budgets(0, 80_000_000_000))
    assert msg is not None and msg.startswith("the weights alone take about 4.0 TB")
    assert "before it moves to the GPU" in msg and "dense1 (4.0 TB of weights)" in msg
    monkeypatch.setattr(memory, "physical_memory", lambda: 10**13)  # 10 TB of RAM
    msg = over_budget(est, gpu_budgets(0, 80_000_000_000))
    assert msg is not None and "more than the 80.0 GB of GPU cuda:0" in msg
    assert over_budget(est, gpu_budgets(0, 10**14)) is None


def test_remote_devices_are_checked_on_their_host() -> None:
    assert device_budgets("remote:gpu1") == []
    assert memory_problems(huge(device="remote:gpu1")) == []


@pytest.mark.parametrize("template", ["mlp", "lenet5", "charlstm", "dcgan"])
def test_templates_fit_in_memory(template) -> None:
    assert memory_problems(load_template(template)) == []


def test_format_bytes() -> None:
    assert format_bytes(4_000_004_000_000) == "4.0 TB"
    assert format_bytes(196_000_000) == "196 MB"
    assert format_bytes(512) == "512 bytes"
