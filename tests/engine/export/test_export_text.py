"""Exports of text runs: the tokenizer files beside every format, their metadata and card,
the fresh-process checks, and the seq2seq two-file ONNX export. The run folders are small
stand-ins written the way the trainer writes them (project snapshot, weights, data.json
with the tokenizer), so these tests need no training."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch
from safetensors.torch import save_file

from engine.compile import compile_graph
from engine.data.texts.tokenizer import TextTokenizer
from engine.export import ExportError, export
from engine.export.text import META_TOKENIZER
from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec, save_project
from tests.engine.export.helpers import chain, files_under

TEXTS = ["the film was great", "a terrible phone", "not bad at all", "great great value",
         "the screen is bad", "I loved the battery"]
SEQ = TARGET = 12  # source ids; decoder prefix (target_len - 1): equal, for an Add


def _tokenizer(kind: str = "word") -> TextTokenizer:
    return TextTokenizer.train(TEXTS, kind=kind, vocab_size=100)


def _write_run(folder: Path, project: Project, data: dict) -> Path:
    folder.mkdir(parents=True)
    save_project(project, folder / "project.lforge")
    gen = torch.Generator().manual_seed(3)
    tensors = {}
    for name, graph in project.graphs.items():
        module = compile_graph(graph, name, project.training.seed, library=project.graphs)
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = (value + 0.3 * torch.randn(value.shape, generator=gen)
                                        if value.is_floating_point() else value).contiguous()
    save_file(tensors, str(folder / "weights.safetensors"))
    (folder / "data.json").write_text(json.dumps(data))
    return folder


def _data(tok: TextTokenizer, **extra) -> dict:
    return {"version": 1, "source": "texts:reviews.csv", "kind": "tokens",
            "input_shape": [SEQ], "input_dtype": "long", "target": "class",
            "normalize_axis": "feature", "mean": None, "std": None,
            "classes": ["negative", "positive"], "vocab": tok.tokens(),
            "tokenizer": tok.to_json(), **extra}


def classifier_run(folder: Path, tok: TextTokenizer | None = None) -> Path:
    tok = tok or _tokenizer()
    graph = chain({"shape": [SEQ], "dtype": "long", "vocab": tok.vocab_size},
                  [("embed", "Embedding", {"embedding_dim": 6}), ("flat", "Flatten", {}),
                   ("head", "Linear", {"out_features": 2})])
    missing = folder.parent / "gone.csv"  # the data moved away: made-up texts only
    project = Project(name="reviews", graphs={"model": graph},
                      dataset=DatasetSpec(source="texts", path=str(missing)))
    return _write_run(folder, project, _data(tok))


def seq2seq_project(vocab: int, path: str) -> Project:
    encoder = chain({"shape": [SEQ], "dtype": "long", "vocab": vocab},
                    [("embed", "Embedding", {"embedding_dim": 8})])
    encoder.nodes[-1].id = "memory"
    encoder.edges[-1].dst = "memory"
    decoder = Graph(
        nodes=[Node(id="tokens", type="Input", params={"shape": [TARGET], "dtype": "long",
                                                       "vocab": vocab}),
               Node(id="memory", type="Input", params={"shape": [SEQ, 8]}),
               Node(id="embed", type="Embedding", params={"embedding_dim": 8}),
               Node(id="slice", type="Linear", params={"out_features": 8}),
               Node(id="add", type="Add"),
               Node(id="head", type="Linear", params={"out_features": vocab}),
               Node(id="logits", type="Output")],
        edges=[Edge(src="tokens", dst="embed"), Edge(src="embed", dst="add", dst_port="in0"),
               Edge(src="memory", dst="slice"), Edge(src="slice", dst="add", dst_port="in1"),
               Edge(src="add", dst="head"), Edge(src="head", dst="logits")])
    return Project(name="dates", graphs={"encoder": encoder, "decoder": decoder},
                   task=TaskSpec(kind="seq2seq"),
                   dataset=DatasetSpec(source="pairs", path=path, tokenizer="char",
                                       seq_len=SEQ, target_len=TARGET + 1))


def test_classifier_onnx_writes_the_tokenizer_and_runs_in_a_fresh_process(tmp_path):
    tok = _tokenizer()
    run = classifier_run(tmp_path / "run", tok)
    report = export(run, "onnx", tmp_path / "out")
    assert files_under(tmp_path / "out") == ["README.md", "model.onnx", "tokenizer.json"]
    # the user's tokenizer is LayerForge's, byte for byte
    assert (tmp_path / "out" / "tokenizer.json").read_text() == tok.to_json()
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "out" / "model.onnx")).metadata_props}
    assert meta[META_TOKENIZER] == "tokenizer.json"
    # the tokenizer's JSON is in the file beside the model, not copied into the metadata
    assert json.loads(meta["layerforge.preprocessing"])["tokenizer"] == "tokenizer.json"
    assert any("fresh process" in c and "same ids" in c for c in report.checks), report.checks
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Text and sound" in card and 'Tokenizer.from_file("tokenizer.json")' in card


@pytest.mark.parametrize("fmt", ["safetensors", "python", "pt2"])
def test_every_format_writes_the_tokenizer(tmp_path, fmt):
    run = classifier_run(tmp_path / "run")
    export(run, fmt, tmp_path / "out")
    assert (tmp_path / "out" / "tokenizer.json").is_file()
    assert "tokenizer.json" in (tmp_path / "out" / "README.md").read_text()


def test_card_code_runs(tmp_path):
    """The card's Python example, run as written in the export folder, prints classes."""
    import subprocess
    import sys

    run = classifier_run(tmp_path / "run")
    export(run, "onnx", tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    code = card.split("## Text and sound")[1].split("```python\n")[1].split("```")[0]
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path / "out",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().strip("[]'") in ("negative", "positive")


def test_a_damaged_tokenizer_fails_the_export_and_leaves_nothing(tmp_path):
    run = classifier_run(tmp_path / "run")
    info = json.loads((run / "data.json").read_text())
    info["tokenizer"] = '{"model": 3}'
    (run / "data.json").write_text(json.dumps(info))
    with pytest.raises(ExportError, match="'tokenizer' is not a tokenizer"):
        export(run, "onnx", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tokenizer_that_reads_text_differently_fails_the_check(tmp_path, monkeypatch):
    """The check compares the fresh process's ids with LayerForge's own tokenization."""
    from engine.export import text_check

    run = classifier_run(tmp_path / "run")

    class Shifted:  # LayerForge's tokenizer reading every text one id higher
        def __init__(self, tok):
            self.tok = tok

        def encode_batch(self, texts, length):
            return (self.tok.encode_batch(texts, length) + 1).clamp(max=self.tok.vocab_size - 1)

    real = text_check._tokenizer
    monkeypatch.setattr(text_check, "_tokenizer", lambda text: Shifted(real(text)))
    with pytest.raises(ExportError, match="into other ids than training did"):
        export(run, "onnx", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _pairs_file(tmp_path: Path) -> Path:
    rows = [("3 march 2021", "2021-03-03"), ("12/01/2020", "2020-01-12"),
            ("may 5, 1999", "1999-05-05"), ("1 jan 2000", "2000-01-01")] * 5
    path = tmp_path / "pairs.tsv"
    path.write_text("source\ttarget\n" + "".join(f"{s}\t{t}\n" for s, t in rows))
    return path


def seq2seq_run(tmp_path: Path) -> Path:
    pairs = _pairs_file(tmp_path)
    tok = TextTokenizer.train([line for line in pairs.read_text().split()], kind="char")
    project = seq2seq_project(tok.vocab_size, str(pairs))
    data = {**_data(tok), "source": f"pairs:{pairs}", "target": "sequence", "classes": None}
    return _write_run(tmp_path / "run", project, data)


def test_seq2seq_onnx_writes_two_files_decoded_like_pytorch(tmp_path):
    run = seq2seq_run(tmp_path)
    report = export(run, "onnx", tmp_path / "out")
    assert files_under(tmp_path / "out") == ["README.md", "decoder.onnx", "encoder.onnx",
                                             "tokenizer.json"]
    assert any("decoded greedily" in c and "same texts" in c for c in report.checks)
    card = (tmp_path / "out" / "README.md").read_text()
    assert 'ort.InferenceSession("decoder.onnx")' in card and "Architecture of `decoder`" in card
    with pytest.raises(ExportError, match="give a folder"):
        export(run, "onnx", tmp_path / "one.onnx")


def test_the_checks_greedy_loop_is_the_tasks(tmp_path):
    """The reference the export compares with is what the task itself translates."""
    from engine.data import load_dataset
    from engine.export import load_source
    from engine.export.common import build_module
    from engine.export.text_check import greedy_reference
    from engine.shapes import analyze_graph
    from engine.tasks import Seq2SeqTask

    run = seq2seq_run(tmp_path)
    enc, dec = (load_source(run, g) for g in ("encoder", "decoder"))
    models = {"encoder": build_module(enc), "decoder": build_module(dec)}
    info = json.loads((run / "data.json").read_text())
    bundle = load_dataset(enc.project.dataset, tokenizers={"tokenizer": info["tokenizer"]})
    task = Seq2SeqTask(enc.project.task, bundle, models)
    texts = bundle.texts["val"][:4] + ["12 may 2021"]
    ids = bundle.tokenizer.encode_batch(texts, SEQ)
    names = list(analyze_graph(dec.graph, "decoder", dec.project.graphs).structure.inputs)
    with torch.no_grad():
        out, _ = greedy_reference(models["encoder"], models["decoder"], ids, TARGET, names)
    mine = [bundle.tokenizer.decode([int(v) for v in row if v >= 0]) for row in out]
    assert mine == task.translate(texts)
