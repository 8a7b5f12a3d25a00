"""Exact resume holds for the language and sound tasks: a stopped run resumed from its
checkpoint ends with the same weights, bit for bit, as one never interrupted (CPU). A
seq2seq run trains two graphs; a keyword run augments its clips (shift, noise) and masks
its spectrograms (SpecAugment); a BPE tokenizer is taken back from the run, not trained
again."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from engine.data.facts import quick_facts
from engine.templates import load_template
from engine.train import Control, train
from engine.train.events import Finished, Progress, Stopped
from engine.train.fit import fit_project


def _small(name: str, **data):
    project = load_template(name)
    project.dataset = project.dataset.model_copy(update={"samples": 96, **data})
    fit_project(project, quick_facts(project.dataset))
    project.training = project.training.model_copy(update={
        "epochs": 2, "batch_size": 16, "threads": 1, "device": "cpu"})
    return project


@pytest.mark.parametrize(("name", "data"), [
    ("translator", {}),
    ("keyword_cnn", {"augment_shift": 0.1, "augment_noise": 0.2}),
    ("sentiment_lstm", {"tokenizer": "bpe", "vocab_size": 120}),
])
def test_a_stopped_run_resumes_to_the_weights_of_an_uninterrupted_one(name, data, tmp_path):
    project = _small(name, **data)
    assert isinstance(list(train(project, tmp_path / "a"))[-1], Finished)
    control = Control()
    for ev in train(project, tmp_path / "b", control=control, progress_interval=0.0):
        if isinstance(ev, Progress) and ev.step == 7:  # in epoch 2 (5 steps per epoch)
            control.stop()
    assert isinstance(ev, Stopped)
    assert isinstance(list(train(project, tmp_path / "b", resume=True))[-1], Finished)
    a, b = load_file(tmp_path / "a/weights.safetensors"), load_file(tmp_path / "b/weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
