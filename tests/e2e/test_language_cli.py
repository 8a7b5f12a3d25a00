"""A sequence-to-sequence run through the real CLI, as a user runs it: train a tiny run of
the translator template, `predict` and `evaluate --beam` on it, export it to ONNX, and run
the exported folder's own example in a fresh Python process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LF = ROOT / ".venv" / "bin" / "layerforge"
TEMPLATE = ROOT / "resources" / "examples" / "translator.lforge"


def lf(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LF), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("language")
    shutil.copy(TEMPLATE, tmp / "t.lforge")
    r = lf("train", "t.lforge", "--epochs", "1", "--out", "run", "--quiet",
           "--set", "dataset.samples=300", cwd=tmp)
    assert r.returncode == 0, r.stderr
    return tmp / "run"


def test_predict_translates_and_refuses_what_does_not_apply(run):
    r = lf("predict", str(run), "--text", "3 March 2021", "12/01/2020", "--json", cwd=run.parent)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "seq2seq"
    assert [x["input"] for x in out["results"]] == ["3 March 2021", "12/01/2020"]
    assert all(isinstance(x["output"], str) for x in out["results"])
    # options of the other kinds: exit 2 with a sentence, before any data is loaded
    r = lf("predict", str(run), "--text", "x", "--top", "3", cwd=run.parent)
    assert r.returncode == 2 and "--top is for classifiers" in r.stderr
    r = lf("predict", str(run), cwd=run.parent)
    assert r.returncode == 2 and "--text" in r.stderr


def test_export_runs_in_a_fresh_process_like_pytorch(run):
    out = run.parent / "exported"
    r = lf("export", str(run), "--format", "onnx", "--out", str(out), cwd=run.parent)
    assert r.returncode == 0, r.stderr
    assert "the same texts as PyTorch" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "decoder.onnx",
                                                     "encoder.onnx", "tokenizer.json"]
    # the card's example, as the user copies it: onnxruntime + tokenizers, nothing else
    card = (out / "README.md").read_text()
    code = card.split("## Text and sound")[1].split("```python\n")[1].split("```")[0]
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=out, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # the same text as `layerforge predict` gives for the card's sentence
    r = lf("predict", str(run), "--text", "type a text here", "--beam", "1", "--json",
           cwd=run.parent)
    assert json.loads(r.stdout)["results"][0]["output"] == done.stdout.strip()
