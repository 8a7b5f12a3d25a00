"""Seq2SeqTask with small stand-in encoder/decoder modules on a reverse-the-letters task:
teacher forcing, decoding and the evaluation's keys."""

from __future__ import annotations

import time

import pytest
import torch

from engine.errors import UserError
from engine.project import TaskSpec
from engine.tasks import Seq2SeqTask
from tests.engine.tasks.seq2seq_toys import Decoder, Encoder, reverse_bundle, toy_task, train

KEYS = {"loss", "token_accuracy", "exact_match", "bleu", "chrf", "rouge1", "rouge2", "rougeL",
        "samples", "beam_width"}


@pytest.fixture(scope="module")
def trained() -> tuple[Seq2SeqTask, float]:
    task = toy_task()
    t0 = time.perf_counter()
    train(task, steps=300, lr=5e-3)  # about 10 s on one core
    return task, time.perf_counter() - t0


def test_padding_is_left_out_of_the_loss():
    task = toy_task()
    logits = torch.randn(2, 5, 12)
    labels = torch.tensor([[4, 5, 3, 0, 0], [6, 3, 0, 0, 0]])
    other = logits.clone()
    other[labels == 0] = torch.randn(int((labels == 0).sum()), 12) * 10  # only at padding
    real = labels != 0
    want = torch.nn.functional.cross_entropy(logits[real], labels[real])
    assert task.loss(logits, None, labels) == pytest.approx(float(want), abs=1e-6)
    assert task.loss(other, None, labels) == pytest.approx(float(want), abs=1e-6)


def test_train_step_reports_loss_and_token_accuracy_and_updates():
    task = toy_task()
    x, y = task.bundle.train.x[:16], task.bundle.train.y[:16]
    calls = []
    out = task.train_step(x, y, lambda name, loss: calls.append((name, loss)))
    assert set(out) == {"loss", "token_accuracy"}
    assert [c[0] for c in calls] == ["model"] and calls[0][1].requires_grad
    assert 0.0 <= float(out["token_accuracy"]) <= 1.0


def test_reverse_task_trains_to_exact_match(trained):
    task, _seconds = trained
    m = task.evaluate(task.bundle.val, 256)
    assert set(m) == KEYS
    assert m["exact_match"] > 0.9, m
    # one "word" per output (letters without spaces): chrF, not BLEU, is the kind score here
    assert m["token_accuracy"] > 0.9 and m["chrf"] > 80
    assert m["beam_width"] == 1
    assert len(m["samples"]) == 200
    row = m["samples"][0]
    assert set(row) == {"source", "reference", "output"}
    assert row["reference"] == row["source"][::-1]  # the toy bundle's texts are its vocab


def test_greedy_equals_beam_of_width_one_and_beam_is_at_least_as_likely(trained):
    task, _ = trained
    x = task.bundle.val.x[:40]
    greedy = task.generate(x, 1)
    beam = task.generate(x, 4)
    assert all(b.score >= g.score - 1e-5 for g, b in zip(greedy, beam, strict=True))
    m1 = task.evaluate(task.bundle.val, 64, beam_width=1)
    task.spec = TaskSpec(kind="seq2seq", beam_width=3)
    m3 = task.evaluate(task.bundle.val, 64)
    assert m3["beam_width"] == 3 and m3["exact_match"] >= m1["exact_match"] - 0.02


def test_sample_shows_the_same_sentences_each_epoch(trained):
    task, _ = trained
    a, b = task.sample(1), task.sample(2)
    assert a is not None and b is not None and a.kind == "text"
    lines = a.text.splitlines()
    assert len(lines) == 5
    assert [ln.split(" -> ")[0] for ln in lines] == [ln.split(" -> ")[0] for ln in b.text.splitlines()]
    src, rest = lines[0].split(" -> ")
    assert rest.endswith(f"({src[::-1]})")


def test_translate_needs_a_tokenizer(trained):
    task, _ = trained
    with pytest.raises(UserError, match="tokenizer"):
        task.translate(["abc"])


def test_decoder_without_tokens_input_is_refused():
    class Bad(Decoder):
        def forward(self, ids, memory):  # type: ignore[override]
            return super().forward(ids, memory, ids)

    with pytest.raises(UserError, match="'tokens' and 'memory'"):
        Seq2SeqTask(TaskSpec(kind="seq2seq"), reverse_bundle(10, 10),
                    {"encoder": Encoder(12), "decoder": Bad(12)})
