"""The Runs list's best figure for sequence-to-sequence and speech runs: exact match
(higher is better) and CER (lower is better), not the loss or token accuracy."""

from __future__ import annotations

from app.runs import history
from engine.train.events import EpochEnded, Finished, RunStarted


def test_the_headline_metric_of_seq2seq_and_speech():
    assert history.headline_metric({"loss": 0.4, "token_accuracy": 0.9, "exact_match": 0.3,
                                    "bleu": 40.0, "chrf": 50.0}) == "exact_match"
    assert history.headline_metric({"loss": 2.0, "cer": 0.4, "wer": 0.7}) == "cer"
    assert history.headline_metric({"loss": 0.5, "accuracy": 0.8}) == "accuracy"


def _run(tmp_path, name, epochs):
    run = tmp_path / name
    run.mkdir()
    lines = [RunStarted(total_steps=4).to_json()]
    lines += [EpochEnded(epoch=i + 1, val=v).to_json() for i, v in enumerate(epochs)]
    lines.append(Finished(epochs=len(epochs)).to_json())
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    return history.summarize(run)


def test_best_is_the_highest_exact_match_and_the_lowest_cer(tmp_path):
    s2s = _run(tmp_path, "s2s", [{"loss": 1.0, "exact_match": 0.2},
                                 {"loss": 0.5, "exact_match": 0.6},
                                 {"loss": 0.4, "exact_match": 0.5}])
    assert s2s.best == "exact_match 0.6"
    speech = _run(tmp_path, "speech", [{"loss": 3.0, "cer": 0.9, "wer": 1.0},
                                       {"loss": 2.0, "cer": 0.35, "wer": 0.6},
                                       {"loss": 1.9, "cer": 0.4, "wer": 0.6}])
    assert speech.best == "cer 0.35"
