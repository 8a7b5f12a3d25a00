"""The translator template through the real pieces: the dates pairs, the tokenizer, the
compiled encoder and decoder graphs, the training loop, and opening the run again."""

from __future__ import annotations

import json

import pytest

from engine.templates import load_template
from engine.train.fit import check_fit
from engine.train.overrides import apply_overrides

pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from engine.train import train
    from engine.train.events import Finished, Sample

    project = apply_overrides(load_template("translator"), {
        "dataset.samples": 240, "training.epochs": 1, "training.batch_size": 32,
        "training.threads": 1, "training.device": "cpu"})
    out = tmp_path_factory.mktemp("run") / "dates"
    events = list(train(project, out))
    assert isinstance(events[-1], Finished), events[-1]
    samples = [e for e in events if isinstance(e, Sample)]
    return out, events[-1], samples


def test_template_fits_its_data_and_names_itself():
    from engine.data.facts import data_facts

    project = load_template("translator")
    assert project.name == "Dates to ISO (seq2seq Transformer)"
    assert project.task.kind == "seq2seq" and set(project.graphs) == {"encoder", "decoder"}
    assert project.dataset.name == "dates" and project.dataset.tokenizer == "char"
    assert check_fit(project, data_facts(project.dataset)) == []
    assert "exact match" in project.notes


def test_a_run_reports_the_seq2seq_metrics_and_sample_translations(run):
    out, finished, samples = run
    for key in ("loss", "token_accuracy", "exact_match", "bleu", "chrf", "rouge1", "rougeL"):
        assert key in finished.metrics
    evaluation = json.loads((out / "evaluation.json").read_text())["val"]
    assert evaluation["beam_width"] == 1
    assert {"source", "reference", "output"} == set(evaluation["samples"][0])
    assert len(samples) == 1 and samples[0].kind == "text"
    assert len(samples[0].text.splitlines()) == 5 and " -> " in samples[0].text


def test_an_opened_run_translates_typed_text_with_its_tokenizer(run):
    from engine.train.inference import open_run

    out, _finished, _samples = run
    loaded = open_run(out)
    texts = loaded.task.translate(["3 March 2021", "March 3, 2021"], beam_width=2)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    assert loaded.task.evaluate(loaded.bundle.val, 64, beam_width=2)["beam_width"] == 2
