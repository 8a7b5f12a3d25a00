"""Two-phase fine-tuning in one run: only the trainable blocks until training.unfreeze_epoch,
then the chosen frozen blocks join with their own learning rate; exact resume holds across
the phase boundary (a stop in phase 2, and a worker killed with SIGKILL)."""

from __future__ import annotations

import json
import signal

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from engine.train import Control
from engine.train.events import (
    CheckpointWritten,
    Failed,
    Finished,
    Progress,
    RunStarted,
    Stopped,
    Unfrozen,
    from_json,
)
from engine.train.loop import train
from engine.train.worker_client import WorkerClient
from tests.crashing_worker import command as crashing_worker
from tests.engine.train.helpers import tiny_mlp


def two_phase(**overrides):
    """fc1 and fc2 frozen; from epoch 2 on they train (fc1 at a tenth of the rate)."""
    settings = {"training__epochs": 3, "training__unfreeze_epoch": 2,
                "training__schedule": "cosine", "training__optimizer": "adam"}
    project = tiny_mlp(**(settings | overrides))
    g = project.graphs["model"]
    for nid in ("fc1", "fc2"):
        g.node(nid).trainable = False
    g.node("fc1").lr_mult = 0.1
    return project


def model_tensors(path) -> dict[str, torch.Tensor]:
    prefix = "model/model/"
    return {k[len(prefix):]: v for k, v in load_file(path).items() if k.startswith(prefix)}


def checkpoint_state(path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["state"])


def run_keeping_checkpoints(project, run_dir, control=None):
    """Train; the model tensors of checkpoints/last after each epoch, and the events."""
    per_epoch, events = {}, []
    for ev in train(project, run_dir, control=control):
        events.append(ev)
        if isinstance(ev, CheckpointWritten) and ev.kind == "last":
            per_epoch[ev.epoch] = model_tensors(ev.path)
    return per_epoch, events


def test_frozen_blocks_train_only_from_the_unfreeze_epoch(tmp_path) -> None:
    project = two_phase()
    per_epoch, events = run_keeping_checkpoints(project, tmp_path / "run")
    assert isinstance(events[-1], Finished)
    start = next(e for e in events if isinstance(e, RunStarted))
    (unfrozen,) = [e for e in events if isinstance(e, Unfrozen)]
    assert unfrozen.epoch == 2 and unfrozen.blocks == ["fc1", "fc2"]
    assert unfrozen.trainable_parameters == start.parameters > start.trainable_parameters
    one, two = per_epoch[1], per_epoch[2]  # epoch 2 trained the blocks phase 1 kept
    assert not torch.equal(one["fc1.weight"], two["fc1.weight"])
    assert not torch.equal(one["fc2.weight"], two["fc2.weight"])
    # the Unfrozen event comes right before the first step of epoch 2
    i = events.index(unfrozen)
    assert isinstance(events[i + 1], Progress) and events[i + 1].epoch == 2
    assert from_json(unfrozen.to_json()) == unfrozen


def test_phase_one_keeps_frozen_blocks_bit_identical(tmp_path) -> None:
    project = two_phase(training__epochs=2, training__unfreeze_epoch=2)
    fresh = two_phase(training__epochs=1, training__unfreeze_epoch=0)
    for nid in ("fc1", "fc2"):
        fresh.graphs["model"].node(nid).trainable = True  # a copy to read the start weights
    from engine.tasks import task_class
    from engine.train.setup import build_models

    start = build_models(fresh, task_class("classification"), 0, torch.device("cpu"))["model"]
    per_epoch, _ = run_keeping_checkpoints(project, tmp_path / "run")
    for key in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"):
        assert torch.equal(per_epoch[1][key], start.state_dict()[key]), key


def test_unfrozen_groups_join_the_optimizer_with_their_lr_mult(tmp_path) -> None:
    project = two_phase()
    run_keeping_checkpoints(project, tmp_path / "run")
    state = checkpoint_state(tmp_path / "run/checkpoints/last.safetensors")
    groups = state["optimizers"]["model"]["param_groups"]
    assert [g["lr_mult"] for g in groups] == [1.0, 0.1, 1.0]  # fc3, then fc1, then fc2
    assert [len(g["params"]) for g in groups] == [2, 2, 2]
    assert groups[1]["lr"] == pytest.approx(groups[0]["lr"] * 0.1)
    assert state["unfrozen"] is True


def test_unfreeze_lists_the_blocks_that_join(tmp_path) -> None:
    project = two_phase(training__unfreeze=["fc2"])
    per_epoch, events = run_keeping_checkpoints(project, tmp_path / "run")
    assert [e.blocks for e in events if isinstance(e, Unfrozen)] == [["fc2"]]
    assert torch.equal(per_epoch[1]["fc1.weight"], per_epoch[3]["fc1.weight"])  # never trains
    assert not torch.equal(per_epoch[1]["fc2.weight"], per_epoch[3]["fc2.weight"])


def test_a_run_stopped_in_phase_two_resumes_bit_identical(tmp_path) -> None:
    project = two_phase()
    list(train(project, tmp_path / "whole"))
    control = Control()
    for ev in train(project, tmp_path / "cut", control=control, progress_interval=0.0):
        if isinstance(ev, Progress) and ev.step == 19:  # epoch 3 (8 steps an epoch)
            control.stop()
    assert isinstance(ev, Stopped)
    events = list(train(project, tmp_path / "cut", resume=True))
    assert isinstance(events[-1], Finished)
    assert not any(isinstance(e, Unfrozen) for e in events)  # restored, not unfrozen again
    a = load_file(tmp_path / "whole/weights.safetensors")
    b = load_file(tmp_path / "cut/weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _worker_run(project, run_dir, *, command=None, resume=False):
    with WorkerClient(command) as client:
        client.submit(project, run_dir, resume=resume)
        return list(client.events()), client


@pytest.mark.parametrize("killed_after", [1, 3])  # at the end of phase 1; in phase 2
def test_resume_after_sigkill_across_the_phase_boundary_is_bit_identical(tmp_path,
                                                                         killed_after) -> None:
    project = two_phase(training__epochs=4, training__unfreeze_epoch=2)
    events, _ = _worker_run(project, tmp_path / "whole")
    assert isinstance(events[-1], Finished)
    events, client = _worker_run(project, tmp_path / "killed",
                                 command=crashing_worker("kill-after", str(killed_after)))
    assert isinstance(events[-1], Failed) and client.proc.returncode == -signal.SIGKILL
    assert [e.epoch for e in events if isinstance(e, CheckpointWritten)][-1] == killed_after
    events, _ = _worker_run(project, tmp_path / "killed", resume=True)
    assert isinstance(events[-1], Finished) and events[-1].epochs == 4
    assert len([e for e in events if isinstance(e, Unfrozen)]) == (killed_after == 1)
    a = load_file(tmp_path / "whole/weights.safetensors")
    b = load_file(tmp_path / "killed/weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_unfreeze_epoch_one_trains_everything_from_the_start(tmp_path) -> None:
    project = two_phase(training__epochs=1, training__unfreeze_epoch=1)
    for nid in ("fc1", "fc2", "fc3"):
        project.graphs["model"].node(nid).trainable = False
    _, events = run_keeping_checkpoints(project, tmp_path / "run")
    assert isinstance(events[-1], Finished)
    start = next(e for e in events if isinstance(e, RunStarted))
    assert start.trainable_parameters == start.parameters


def test_data_parallel_training_unfreezes_on_every_rank(tmp_path) -> None:
    """Under torchrun (2 processes, gloo on CPU) the blocks unfrozen in phase 2 have their
    gradients averaged too: the ranks agree and match one process on the full batch."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]

    def job(folder):
        project = two_phase(dataset__samples=640, training__optimizer="sgd",
                            training__momentum=0.0, training__schedule="none",
                            training__batch_size=64, training__lr=0.1)
        folder.mkdir()
        (folder / "job.json").write_text(json.dumps({"project": project.model_dump(mode="json")}))
        return folder

    def agent(*prefix, run):
        r = subprocess.run([sys.executable, *prefix, "-m", "engine.remote.agent", str(run)],
                           cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]

    ddp, single = job(tmp_path / "ddp"), job(tmp_path / "single")
    agent("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", run=ddp)
    agent(run=single)
    rank0 = load_file(ddp / "weights.safetensors")
    rank1 = load_file(ddp / ".rank1" / "weights.safetensors")
    one = load_file(single / "weights.safetensors")
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), f"ranks disagree on {k}"
        assert (rank0[k] - one[k]).abs().max() < 1e-5, k
