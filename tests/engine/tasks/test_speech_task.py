"""The speech-to-text task: CTC training, decoding, CER/WER and the fit of frames to
transcripts, on small synthetic clips (each character a tone) and an oracle model whose
outputs are known."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.core import DataBundle, Split
from engine.errors import UserError
from engine.project import TaskSpec
from engine.tasks import SpeechTask, task_class

TONE_VOCAB = ["_", "a", "b", "c"]
HOP = 40  # samples per output frame of TinyCtc
CHAR = 160  # samples of tone per character, then HALF of silence
LENGTH = 960


def tone_clips(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` clips [n, 1, LENGTH] of 1-3 characters, each a tone whose pitch names the
    character (a, b, c), and their targets [n, 3] padded with -1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, LENGTH)
    y = torch.full((n, 3), -1, dtype=torch.long)
    t = torch.arange(CHAR, dtype=torch.float32)
    for i in range(n):
        count = int(torch.randint(1, 4, (1,), generator=g))
        ids = torch.randint(1, len(TONE_VOCAB), (count,), generator=g)
        y[i, :count] = ids
        for k, c in enumerate(ids.tolist()):
            start = k * (CHAR + CHAR // 2) + 40
            x[i, 0, start:start + CHAR] = 0.5 * torch.sin(2 * math.pi * c * 0.05 * t)
    return x, y


def tone_bundle() -> DataBundle:
    x, y = tone_clips(96, 0)
    vx, vy = tone_clips(24, 1)
    return DataBundle(train=Split(x, y), val=Split(vx, vy), test=None, kind="audio",
                      input_shape=(1, LENGTH), input_dtype="float", target="transcript",
                      target_vocab=TONE_VOCAB, target_shape=(3,), sample_rate=16000)


class TinyCtc(nn.Module):
    """[N, 1, L] -> [N, L // HOP, V]: a strided convolution per frame, a small context
    convolution, and a linear layer per frame."""

    def __init__(self, vocab: int, stride: int = HOP) -> None:
        super().__init__()
        self.front = nn.Conv1d(1, 32, 2 * stride, stride=stride, padding=stride // 2)
        self.context = nn.Conv1d(32, 32, 5, padding=2)
        self.head = nn.Linear(32, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.context(F.relu(self.front(x))))
        return self.head(h.transpose(1, 2))


class Oracle(nn.Module):
    """Reads the label of each frame from the clip itself (x[:, 0, t] = id) and scores it
    far above the others: decoding then gives known text."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.one_hot(x[:, 0].long(), self.vocab).float() * 20.0


WORD_VOCAB = ["_", " ", "e", "n", "o", "t", "w"]


def spoken(text: str, frames: int) -> torch.Tensor:
    """Oracle input [1, frames] spelling ``text``: each character, then a blank frame."""
    ids = []
    for ch in text:
        ids += [WORD_VOCAB.index(ch), 0]
    return torch.tensor(ids + [0] * (frames - len(ids)), dtype=torch.float32).unsqueeze(0)


def targets(texts: list[str], width: int) -> torch.Tensor:
    rows = [[WORD_VOCAB.index(ch) for ch in t] + [-1] * (width - len(t)) for t in texts]
    return torch.tensor(rows, dtype=torch.long)


def oracle_task(refs: list[str], hyps: list[str], beam_width: int = 1) -> SpeechTask:
    frames = 2 * max(len(t) for t in refs + hyps)
    x = torch.stack([spoken(h, frames) for h in hyps])
    split = Split(x, targets(refs, max(len(r) for r in refs)))
    bundle = DataBundle(train=split, val=split, test=None, kind="audio",
                        input_shape=(1, frames), input_dtype="float", target="transcript",
                        target_vocab=WORD_VOCAB, sample_rate=16000)
    spec = TaskSpec(kind="speech", beam_width=beam_width)
    return SpeechTask(spec, bundle, {"model": Oracle(len(WORD_VOCAB))})


def adam_step(model: nn.Module):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step(name: str, loss: torch.Tensor) -> None:
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def test_speech_is_the_task_of_kind_speech():
    assert task_class("speech") is SpeechTask


def test_ctc_loss_falls_and_the_tones_are_transcribed():
    torch.manual_seed(0)
    bundle = tone_bundle()
    model = TinyCtc(len(TONE_VOCAB))
    task = SpeechTask(TaskSpec(kind="speech"), bundle, {"model": model})
    step = adam_step(model)
    x, y = bundle.train.x, bundle.train.y
    losses = []
    for epoch in range(50):
        for i in range(0, len(x), 32):
            losses.append(float(task.train_step(x[i:i + 32], y[i:i + 32], step)["loss"]))
        if epoch == 2:
            assert losses[-1] < 0.8 * losses[0]  # falls within a few steps
    metrics = task.evaluate(bundle.val, 64)
    assert metrics["cer"] < 0.1, metrics["samples"][:5]


def test_train_step_returns_a_detached_loss_tensor():
    bundle = tone_bundle()
    model = TinyCtc(len(TONE_VOCAB))
    task = SpeechTask(TaskSpec(kind="speech"), bundle, {"model": model})
    figures = task.train_step(bundle.train.x[:8], bundle.train.y[:8], adam_step(model))
    assert set(figures) == {"loss"}
    assert isinstance(figures["loss"], torch.Tensor) and not figures["loss"].requires_grad
    assert math.isfinite(float(figures["loss"]))


def test_evaluate_gives_cer_and_wer_of_the_decoded_text():
    # "one two" -> "one too": 1 of 10 reference characters and 1 of 3 words wrong
    task = oracle_task(["one two", "two"], ["one too", "two"])
    metrics = task.evaluate(task.bundle.val, 8)
    assert set(metrics) == {"loss", "cer", "wer", "samples", "beam_width"}
    assert metrics["cer"] == pytest.approx(1 / 10)
    assert metrics["wer"] == pytest.approx(1 / 3)
    assert metrics["samples"] == [{"reference": "one two", "output": "one too"},
                                  {"reference": "two", "output": "two"}]
    assert metrics["beam_width"] == 1
    assert task.mode("val_cer") == "min" and task.mode("val_wer") == "min"


def test_evaluate_decodes_with_the_task_beam_width_or_the_one_asked():
    task = oracle_task(["two"], ["two"], beam_width=4)
    assert task.evaluate(task.bundle.val, 8)["beam_width"] == 4
    metrics = task.evaluate(task.bundle.val, 8, beam_width=2)
    assert metrics["beam_width"] == 2 and metrics["cer"] == 0.0


def test_transcribe_gives_the_text_of_each_clip():
    task = oracle_task(["one"], ["one"])
    waves = torch.stack([spoken("two", 8), spoken("one  won", 16)[:, :8], spoken("", 8)])
    assert task.transcribe(waves) == ["two", "one ", ""]
    assert task.transcribe(waves, beam_width=3) == ["two", "one ", ""]


def test_sample_shows_reference_and_output_of_fixed_validation_clips():
    refs = ["one", "two", "ten", "net", "wet", "tow"]
    task = oracle_task(refs, ["one", "two", "ten", "not", "wet", "tow"])
    out = task.sample(3)
    assert out is not None and out.kind == "text"
    assert out.text.splitlines() == ["one -> one", "two -> two", "ten -> ten", "net -> not",
                                     "wet -> wet"]
    assert "epoch 3" in out.caption
    assert task.sample(4).text == out.text  # the same clips every epoch


def test_too_few_frames_for_the_transcripts_is_a_clear_error():
    bundle = tone_bundle()
    model = TinyCtc(len(TONE_VOCAB), stride=LENGTH // 2)  # 2 frames; "aaa" needs 5
    task = SpeechTask(TaskSpec(kind="speech"), bundle, {"model": model})
    with pytest.raises(UserError, match="2 output frames per clip.*needs 5"):
        task.train_step(bundle.train.x[:4], bundle.train.y[:4], adam_step(model))


def test_a_model_without_frames_or_with_too_few_characters_is_a_clear_error():
    bundle = tone_bundle()
    pooled = nn.Sequential(nn.Flatten(), nn.Linear(LENGTH, len(TONE_VOCAB)))
    task = SpeechTask(TaskSpec(kind="speech"), bundle, {"model": pooled})
    with pytest.raises(UserError, match=r"\[frames, characters\]"):
        task.train_step(bundle.train.x[:4], bundle.train.y[:4], adam_step(pooled))
    narrow = TinyCtc(len(TONE_VOCAB) - 1)
    task = SpeechTask(TaskSpec(kind="speech"), bundle, {"model": narrow})
    with pytest.raises(UserError, match="out_features to 4"):
        task.train_step(bundle.train.x[:4], bundle.train.y[:4], adam_step(narrow))
