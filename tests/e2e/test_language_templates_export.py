"""Each language and sound template, trained for one short epoch on its built-in set,
exports to ONNX, and the export's own check passes: the exported model, run in a fresh
Python process with onnxruntime, numpy and tokenizers only, reads the text through the
shipped tokenizer.json (or takes the clip) and gives PyTorch's logits. The translator's
two-file export is covered end to end in test_language_cli.py."""

from __future__ import annotations

import json

import pytest

from engine.data.facts import quick_facts
from engine.export import export
from engine.templates import load_template
from engine.train import train
from engine.train.events import Finished
from engine.train.fit import fit_project


@pytest.mark.parametrize("name", ["sentiment_lstm", "text_transformer", "keyword_cnn",
                                  "speech_ctc"])
def test_a_template_run_exports_to_onnx_and_runs_in_a_fresh_process(name, tmp_path):
    project = load_template(name)
    project.dataset = project.dataset.model_copy(update={"samples": 64})
    fit_project(project, quick_facts(project.dataset))
    project.training = project.training.model_copy(update={
        "epochs": 1, "batch_size": 32, "threads": 1, "device": "cpu"})
    assert isinstance(list(train(project, tmp_path / "run"))[-1], Finished)
    report = export(tmp_path / "run", "onnx", tmp_path / "out")
    assert any("fresh process" in c for c in report.checks), report.checks
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    data = json.loads((tmp_path / "run" / "data.json").read_text())
    if data["kind"] == "tokens":
        assert written == ["README.md", "model.onnx", "tokenizer.json"]
        assert (tmp_path / "out" / "tokenizer.json").read_text() == data["tokenizer"]
    else:
        assert written == ["README.md", "model.onnx"]
