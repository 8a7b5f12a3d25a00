"""ONNX export: one file, dynamic batch/length, verified with onnx.checker and onnxruntime."""

from __future__ import annotations

import json

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
    # evaluation.json is {"val": {...}} as the trainer writes it
    assert "- val accuracy: 0.9731" in card and "- val loss: 0.0912" in card
    assert "No evaluation.json" not in card
    assert "ort.InferenceSession" in card
    assert "61,706" in card and "Untrained" not in card


def test_onnx_carries_normalisation_and_classes_in_metadata(lenet_export):
    run, out, _ = lenet_export
    session = ort.InferenceSession(str(out / "lenet.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["layerforge.mean"]) == [0.1307]
    assert json.loads(meta["layerforge.std"]) == [0.3081]
    assert json.loads(meta["layerforge.classes"]) == [str(d) for d in range(10)]
    prep = json.loads(meta["layerforge.preprocessing"])
    assert prep["kind"] == "image" and prep["normalize_axis"] == "channel"
    # the graph's input is unchanged: it takes the normalised image, as in training
    (inp,) = session.get_inputs()
    assert inp.shape[1:] == [1, 28, 28] and inp.type == "tensor(float)"


def test_model_card_says_how_to_prepare_inputs_with_code(lenet_export):
    _, out, _ = lenet_export
    card = (out / "lenet.README.md").read_text()
    section = card.split("## Preparing the inputs", 1)[1].split("\n## ", 1)[0]
    assert "mean = [0.1307], std = [0.3081]" in section
    assert "0 0, 1 1, 2 2" in section  # output index -> class name
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    x = np.full((2, 1, 28, 28), 0.5, dtype=np.float32)
    scope = {"x": x}
    exec(code, scope)  # the card's own line of code normalises a batch
    assert np.allclose(scope["x"], (0.5 - 0.1307) / 0.3081)


def test_old_run_without_data_json_reads_weights_metadata_or_warns(tmp_path):
    from safetensors.torch import load_file, save_file

    run = make_run(tmp_path / "run", "mlp", data=None)
    report = export(run, "safetensors", tmp_path / "o")
    assert any("data.json" in w for w in report.warnings)
    assert "Not recorded" in (tmp_path / "o" / "README.md").read_text()
    # a run whose weights file keeps the copy (state.data) needs no data.json
    info = {"kind": "vector", "input_shape": [2], "mean": [1.0, 2.0], "std": [3.0, 4.0],
            "classes": ["a", "b", "c"]}
    tensors = load_file(str(run / "weights.safetensors"))
    save_file(tensors, str(run / "weights.safetensors"),
              metadata={"state": json.dumps({"graphs": ["model"], "data": info})})
    report = export(run, "safetensors", tmp_path / "o2")
    assert not report.warnings
    from safetensors import safe_open

    with safe_open(str(tmp_path / "o2" / "model.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["layerforge.mean"]) == [1.0, 2.0]
    assert json.loads(meta["layerforge.classes"]) == ["a", "b", "c"]


def test_damaged_data_json_names_the_file_and_field(tmp_path):
    run = make_run(tmp_path / "run", "mlp")
    (run / "data.json").write_text(json.dumps({"mean": [0.5], "std": ["x"]}))
    with pytest.raises(ExportError, match=r"data\.json: field 'std'"):
        export(run, "safetensors", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_export_creates_missing_parent_folders(tmp_path):
    run = make_run(tmp_path / "run", "mlp")
    report = export(run, "onnx", tmp_path / "export" / "deep" / "onnx")
    assert files_under(tmp_path / "export") == ["deep", "deep/onnx", "deep/onnx/README.md",
                                                "deep/onnx/model.onnx"]
    assert report.files[0] == tmp_path / "export" / "deep" / "onnx" / "model.onnx"
    report = export(run, "onnx", tmp_path / "single" / "m.onnx")
    assert files_under(tmp_path / "single") == ["m.README.md", "m.onnx"]


def test_failed_export_removes_the_parent_folders_it_created(tmp_path, monkeypatch):
    from engine.export import onnx_export

    def fail(*args, **kwargs):
        raise ExportError("verification failed (test)")

    monkeypatch.setattr(onnx_export, "verify_onnx", fail)
    run = make_run(tmp_path / "run", "mlp")
    (tmp_path / "kept").mkdir()
    with pytest.raises(ExportError, match="verification failed"):
        export(run, "onnx", tmp_path / "kept" / "export" / "onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "run"]
    assert list((tmp_path / "kept").iterdir()) == []


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
