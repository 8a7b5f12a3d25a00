"""The training doctor is right on real training (issue 17): real runs on the generated
spirals, measured every step by the worker's block statistics, read back from the run folder.

- one block's initial weights scaled by 1e4: that block is named first in >= 19 of 20 seeds;
- a -10 bias before a ReLU: >= 99% dead units reported for it within the first epoch;
- a deep sigmoid network without normalisation: vanishing gradients reported at the first
  block, going back from the loss, whose gradient is four orders of magnitude below the
  output's; the same network with batch norm is not flagged.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine.compile import compile_graph
from engine.train import events
from engine.train.doctor import diagnose_run, read_run
from engine.train.doctor_flow import DRIFT
from tests.engine.cli_helpers import train_in_process
from tests.engine.train.doctor_projects import deep, mlp

pytestmark = pytest.mark.skipif("block_stats" not in events.EVENT_TYPES,
                                reason="block statistics (engine/train/stats.py) not built yet")

#: a few steps per run: 300 points, 240 for training, batches of 64 -> 4 steps an epoch
QUICK = {"threads": 1, "device": "cpu", "epochs": 1, "stats_every": 1, "lr": 1e-3}


def quick(project):
    project.dataset.samples = 300
    return project


def scaled_init(project, tmp_path, node: str, factor: float):
    """A safetensors file with ``node``'s fresh initial weight times ``factor``, set as the
    project's training.init_from (the rest of the model keeps its fresh initialisation)."""
    model = compile_graph(project.graphs["model"], "model", project.training.seed)
    path = tmp_path / f"{node}-x{factor:g}-seed{project.training.seed}.safetensors"
    weight = model.get_submodule(node).weight.detach() * factor
    save_file({f"{node}.weight": weight.contiguous()}, path)
    project.training.init_from = str(path)
    return project


def test_a_block_initialised_ten_thousand_times_too_large_is_named_first(tmp_path) -> None:
    missed = []
    for seed in range(20):
        chosen = ("fc1", "fc2", "fc3")[seed % 3]  # the first, a middle and the last layer
        project = scaled_init(quick(mlp(seed=seed, **QUICK)), tmp_path, chosen, 1e4)
        train_in_process(project, tmp_path / f"run{seed}")
        findings = diagnose_run(tmp_path / f"run{seed}")
        first = findings[0] if findings else None
        if first is None or first.block != f"model/{chosen}":
            missed.append((seed, chosen, first))
        elif seed == 1:  # and it says what is wrong there
            assert first.kind == "exploding" and first.severity == "error"
            assert "'fc2'" in first.message and "too large" in first.message
            assert first.fix is not None and first.fix.key == "model/fc2"
    assert len(missed) <= 1, f"the scaled block was not named first in {len(missed)} of 20 " \
        f"seeds: {missed}"


def test_a_negative_bias_before_a_relu_kills_its_units_within_the_first_epoch(tmp_path) -> None:
    project = quick(mlp(**QUICK))
    path = tmp_path / "bias.safetensors"
    save_file({"fc1.bias": torch.full((64,), -10.0)}, path)
    project.training.init_from = str(path)
    train_in_process(project, tmp_path / "run")
    run = read_run(tmp_path / "run")
    findings = diagnose_run(tmp_path / "run")
    dead = findings[0]  # the most important finding (relu2, fed constants, follows it)
    assert (dead.kind, dead.block, dead.severity) == ("dead_units", "model/relu1", "error")
    steps_per_epoch = max(s.step for s in run.stats if s.epoch == 1)
    assert 1 <= dead.step <= steps_per_epoch
    share = next(s.blocks["model/relu1"]["dead"] for s in run.stats if s.step == dead.step)
    assert share >= 0.99
    assert dead.message.startswith(f"{share * 100:.3g}% of the units of block 'relu1' are dead")
    assert dead.fix is not None and (dead.fix.kind, dead.fix.key) == ("insert_after", "model/fc1")


def first_vanished(stats) -> str:
    """Going back from the loss, the first block whose gradient norm is at most 1/DRIFT of
    the gradient at the block nearest the loss."""
    grads = [(k, v["grad_out"]) for k, v in stats.blocks.items() if v.get("grad_out")]
    ref = grads[-1][1]
    return next(k for k, g in reversed(grads) if g <= ref / DRIFT)


def test_a_deep_sigmoid_network_vanishes_at_the_right_block(tmp_path) -> None:
    train_in_process(quick(deep("Sigmoid", 8, **QUICK)), tmp_path / "sigmoid")
    run = read_run(tmp_path / "sigmoid")
    vanishing = [f for f in diagnose_run(tmp_path / "sigmoid") if f.kind == "vanishing"]
    assert [f.block for f in vanishing] == [first_vanished(run.stats[-1])]
    # the gradient is gone in the lower half of the stack: fc1..fc4 and act1..act4
    assert int(vanishing[0].block.removeprefix("model/fc").removeprefix("model/act")) <= 4
    assert "sigmoid" in vanishing[0].message and vanishing[0].fix is not None
    # with batch norm before every sigmoid the same depth keeps its gradients
    train_in_process(quick(deep("Sigmoid", 8, norm="BatchNorm1d", **QUICK)), tmp_path / "bn")
    assert not [f for f in diagnose_run(tmp_path / "bn") if f.kind == "vanishing"]
