"""ONNX export: one file, dynamic batch/length, verified with onnx.checker and onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from engine.blocks import get_block
from engine.export import ExportError, export, onnx_problems
from engine.export.common import build_module, load_source
from engine.templates import template_path
from tests.engine.export.helpers import chain, files_under, make_run, save_graph_project


@pytest.fixture(scope="module")
def lenet_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    run = make_run(root / "run")
    report = export(run, "onnx", root / "out" / "lenet.onnx")
    return run, root / "out", report


def test_onnx_is_one_file_with_model_card(lenet_export):
    _, out, report = lenet_export
    assert files_under(out) == ["lenet.README.md", "lenet.onnx"]
    assert [p.name for p in report.files] == ["lenet.onnx", "lenet.README.md"]
    model = onnx.load(str(out / "lenet.onnx"))
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def test_onnx_report_states_opset_and_differences(lenet_export):
    _, out, report = lenet_export
    assert report.opset == 18
    assert {i.version for i in onnx.load(str(out / "lenet.onnx")).opset_import if i.domain == ""} == {18}
    assert set(report.max_abs_diff) == {"batch 1", "batch 3"}
    assert report.worst_diff is not None and report.worst_diff < 1e-4
    assert report.trained and not report.warnings


def test_onnx_runs_trained_weights_at_any_batch(lenet_export):
    run, out, _ = lenet_export
    module = build_module(load_source(run))
    x = torch.randn(5, 1, 28, 28)
    session = ort.InferenceSession(str(out / "lenet.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        ref = module(x).numpy()
    assert np.abs(got - ref).max() < 1e-4


def test_model_card_has_metrics_and_loading_snippet(lenet_export):
    _, out, _ = lenet_export
    card = (out / "lenet.README.md").read_text()
    assert "val_accuracy: 0.9731" in card
    assert "ort.InferenceSession" in card
    assert "61,706" in card and "Untrained" not in card


def test_variable_length_input_exports_with_dynamic_length(tmp_path):
    graph = chain({"shape": [-1], "dtype": "long", "vocab": 20},
                  [("embed", "Embedding", {"embedding_dim": 8}),
                   ("gru", "GRU", {"hidden_size": 6}),
                   ("head", "Linear", {"out_features": 4})])
    project = save_graph_project(tmp_path / "seq.lforge", graph)
    report = export(project, "onnx", tmp_path / "out")
    assert set(report.max_abs_diff) == {"batch 1, length 5", "batch 3, length 11"}
    session = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    dims = session.get_inputs()[0].shape
    assert all(isinstance(d, str) for d in dims)  # both batch and length are symbolic


def test_over_tolerance_fails_and_leaves_no_file(tmp_path):
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export(template_path("mlp"), "onnx", tmp_path / "out", atol=-1.0, rtol=0.0)
    assert files_under(tmp_path) == []


def test_onnx_problems_lists_blocks_that_cannot_export(monkeypatch):
    monkeypatch.setattr(type(get_block("GRU")), "onnx_issue", "not supported here")
    graph = chain({"shape": [-1, 4]}, [("rnn", "GRU", {"hidden_size": 3})])
    assert onnx_problems(graph) == [("rnn", "not supported here")]


def test_block_with_onnx_issue_is_refused_before_exporting(monkeypatch, tmp_path):
    monkeypatch.setattr(type(get_block("ReLU")), "onnx_issue", "no ONNX operator")
    with pytest.raises(ExportError, match="relu1 cannot be exported to ONNX: no ONNX operator"):
        export(template_path("mlp"), "onnx", tmp_path / "out")
    assert files_under(tmp_path) == []


def _seq_graph(block: str, params: dict, shape: list[int]):
    from engine.project import Edge, Graph, Node

    nodes = [Node(id="x", type="Input", params={"shape": shape}),
             Node(id="b", type=block, params=params), Node(id="y", type="Output")]
    return Graph(nodes=nodes, edges=[Edge(src="x", dst="b"), Edge(src="b", dst="y")])


def test_blocks_the_exporter_cannot_keep_variable_are_flagged_before_trying():
    from engine.export import onnx_problems

    assert [n for n, _ in onnx_problems(_seq_graph("RNN", {"hidden_size": 8}, [-1, 4]))] == ["b"]
    assert [n for n, _ in onnx_problems(_seq_graph("MaxPool1d", {}, [3, -1]))] == ["b"]
    # with a fixed length, or with blocks the exporter handles, nothing is flagged
    assert onnx_problems(_seq_graph("RNN", {"hidden_size": 8}, [6, 4])) == []
    assert onnx_problems(_seq_graph("LSTM", {"hidden_size": 8}, [-1, 4])) == []
    assert onnx_problems(_seq_graph("Conv1d", {"out_channels": 4}, [3, -1])) == []
