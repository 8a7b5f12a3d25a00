"""Exact resume of a private run: a worker killed with SIGKILL resumes to bit-identical
weights and the same epsilon as an uninterrupted run (the accountant's history, the noise
generator and the Poisson sampler's generator are in the checkpoint)."""

from __future__ import annotations

import signal

import torch
from safetensors.torch import load_file

from engine.train.events import Failed, Finished, Privacy, read_events
from engine.train.loop import train
from engine.train.privacy_record import read_privacy
from engine.train.worker_client import WorkerClient
from tests.crashing_worker import command as crashing_worker
from tests.engine.privacy.helpers import private_mlp


def same_weights(a, b) -> bool:
    x, y = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_resume_after_sigkill_gives_the_same_weights_and_epsilon(tmp_path) -> None:
    project = private_mlp()
    whole = list(train(project, tmp_path / "whole"))
    assert isinstance(whole[-1], Finished)
    with WorkerClient(crashing_worker("kill-after", "1")) as client:
        client.submit(project, tmp_path / "killed")
        events = list(client.events())
    assert isinstance(events[-1], Failed) and client.proc.returncode == -signal.SIGKILL
    # the worker recorded the epoch's privacy event before it died
    recorded = [e for e in read_events(tmp_path / "killed/events.jsonl") if isinstance(e, Privacy)]
    assert [e.epoch for e in recorded] == [1]
    resumed = list(train(project, tmp_path / "killed", resume=True))
    assert isinstance(resumed[-1], Finished)
    assert same_weights(tmp_path / "whole", tmp_path / "killed")
    assert read_privacy(tmp_path / "killed") == read_privacy(tmp_path / "whole")
    spent = [e.epsilon for e in resumed if isinstance(e, Privacy)]
    assert spent == [e.epsilon for e in whole if isinstance(e, Privacy)][1:]
