"""Exact resume of a private run stopped in the middle of an epoch, with empty Poisson
batches (noise-only steps) around the stop."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from engine.train import Control
from engine.train.events import Finished, Progress, Stopped
from engine.train.loop import train
from engine.train.privacy_record import read_privacy
from tests.engine.privacy.helpers import private_mlp


def same_weights(a, b) -> bool:
    x, y = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_a_stop_mid_epoch_with_empty_poisson_batches_resumes_exactly(tmp_path) -> None:
    """Batches of 2 expected samples: about one draw in seven is empty and becomes a
    noise-only step; a stop between them must not apply one twice or skip one."""
    project = private_mlp(training__batch_size=2, training__epochs=1,
                          dataset__samples=150)  # 120 to train: 60 draws
    whole = list(train(project, tmp_path / "whole", progress_interval=0.0))
    assert isinstance(whole[-1], Finished)
    control = Control()
    for ev in train(project, tmp_path / "cut", control=control, progress_interval=0.0):
        if isinstance(ev, Progress) and ev.step == 23:
            control.stop()
    assert isinstance(ev, Stopped)
    resumed = list(train(project, tmp_path / "cut", resume=True))
    assert isinstance(resumed[-1], Finished)
    assert same_weights(tmp_path / "whole", tmp_path / "cut")
    record = read_privacy(tmp_path / "cut")
    assert record == read_privacy(tmp_path / "whole")
    assert record["steps"] == 60  # every draw counted, the empty ones too
    steps = [e.step for e in whole if isinstance(e, Progress)]
    assert 40 < steps[-1] < 60  # the loop's steps: the non-empty draws
