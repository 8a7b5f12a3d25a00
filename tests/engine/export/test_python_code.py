"""Standalone model.py: runs in a fresh process, and holds only expected names and calls."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.compile import compile_graph
from engine.export import ExportError, export
from engine.export.common import build_module, load_source
from engine.export.pycode import class_name, generate
from engine.naming import make_identifier
from engine.project import Edge, Graph, Node
from engine.shapes import analyze_graph
from tests.engine.export.helpers import chain, make_run, save_graph_project, sequence_zoo

RUN_IN_FRESH_PROCESS = """
import importlib.util, sys
import torch
from safetensors.torch import load_file, save_file
spec = importlib.util.spec_from_file_location("generated", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
net = mod.load()
x = load_file(sys.argv[2])["x"]
with torch.no_grad():
    save_file({"y": net(x).contiguous()}, sys.argv[3])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("engine", "app")))
"""

HOSTILE = ["__import__('os').system('x')", "self", "forward", "Zürich ünïcode 名前",
           "torch", "nn", "load", "1; import os", "class", "x\n\"\"\"", "super().__init__"]


def test_model_py_in_fresh_process_equals_compiled_module(tmp_path):
    run = make_run(tmp_path / "run", "charlstm")
    export(run, "python", tmp_path / "out")
    x = torch.randint(0, 103, (3, 64))
    save_file({"x": x}, str(tmp_path / "x.safetensors"))
    proc = subprocess.run([sys.executable, "-I", "-c", RUN_IN_FRESH_PROCESS,
                           str(tmp_path / "out" / "model.py"), str(tmp_path / "x.safetensors"),
                           str(tmp_path / "y.safetensors")],
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"')) == []
    with torch.no_grad():
        ref = build_module(load_source(run))(x)
    assert torch.equal(load_file(str(tmp_path / "y.safetensors"))["y"], ref)


def test_python_export_writes_code_weights_and_card(tmp_path):
    make_run(tmp_path / "run", "mlp")
    report = export(tmp_path / "run", "python", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "README.md", "model.py", "weights.safetensors"]
    assert [p.name for p in report.files] == ["model.py", "weights.safetensors", "README.md"]


def test_sequence_modules_are_copied_and_pass_the_fresh_process_check(tmp_path):
    project = save_graph_project(tmp_path / "zoo.lforge", sequence_zoo())
    export(project, "python", tmp_path / "out")  # raises unless model.py reproduces outputs
    code = (tmp_path / "out" / "model.py").read_text()
    for cls in ("Recurrent", "SelfAttention", "PositionalEncoding", "CausalEncoderLayer"):
        assert f"\nclass {cls}(" in code
    assert "import engine" not in code and "from engine" not in code


def _hostile_graph() -> Graph:
    taken: set[str] = set()
    ids = []
    for text in HOSTILE:
        ids.append(make_identifier(text, taken))
        taken.add(ids[-1])
    nodes = [Node(id=ids[0], type="Input", params={"shape": [4]}, label=HOSTILE[0])]
    edges = []
    types = ["Linear", "ReLU", "Linear", "Tanh", "Dropout", "Linear", "LayerNorm", "Sigmoid",
             "Linear"]
    for nid, text, t in zip(ids[1:-1], HOSTILE[1:-1], types, strict=False):
        params = {"out_features": 4} if t == "Linear" else {}
        nodes.append(Node(id=nid, type=t, params=params, label=text))
        edges.append(Edge(src=nodes[-2].id, dst=nid))
    nodes.append(Node(id=ids[-1], type="Output", label=HOSTILE[-1]))
    edges.append(Edge(src=nodes[-2].id, dst=ids[-1]))
    return Graph(nodes=nodes, edges=edges)


def _names(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.arg) or isinstance(node, ast.keyword) and node.arg:
            out.add(node.arg)
        elif isinstance(node, ast.alias):
            out.add(node.asname or node.name)
    return out


def test_hostile_names_give_only_expected_identifiers_and_calls():
    graph = _hostile_graph()
    a = analyze_graph(graph, "__import__('os')")
    assert a.ok, a.errors
    code = generate(compile_graph(graph, "x", 0, a), "__import__('os')", a)
    tree = ast.parse(code)
    ids = {n.id for n in graph.nodes}
    vocabulary = {
        "Path", "torch", "nn", "WEIGHTS", "self", "super", "__init__", "forward", "load", "path",
        "device", "model", "load_file", "load_state_dict", "str", "to", "eval", "with_name",
        "__file__", "Module", "Linear", "ReLU", "Tanh", "Dropout", "LayerNorm", "Sigmoid",
        "bias", "eps", "elementwise_affine", "pathlib", "safetensors.torch", "ImportOSModel",
        "ImportOs",
        # the run's input preparation: constants and the preprocess helper
        "MEAN", "STD", "CLASSES", "VOCAB", "preprocess", "x", "mean", "std", "dtype", "tensor",
        "view",
    }
    unexpected = _names(tree) - ids - vocabulary
    assert not unexpected, unexpected
    assert class_name("__import__('os')") in _names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            assert func.startswith(("self.", "nn.", "super", "Path", "load_file", "model.",
                                    "str", "Import", "torch.tensor")), func
    for label in (HOSTILE[0], HOSTILE[3], HOSTILE[7], HOSTILE[9]):
        assert label not in code  # labels never reach the code


def test_unsanitized_hostile_id_is_refused(tmp_path):
    graph = Graph(nodes=[Node(id="__import__('os')", type="Input", params={"shape": [2]}),
                         Node(id="out", type="Output")],
                  edges=[Edge(src="__import__('os')", dst="out")])
    project = save_graph_project(tmp_path / "bad.lforge", graph)
    with pytest.raises(ExportError, match="lower-case letters"):
        export(project, "python", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("name", "expected"), [("model", "Model"), ("generator", "Generator"),
                                            ("none", "NoneModel"), ("recurrent", "RecurrentModel"),
                                            ("my net-2", "MyNet2"), ("", "Model")])
def test_class_name_comes_from_graph_name_through_sanitizer(name, expected):
    assert class_name(name) == expected


PREPROCESS_IN_FRESH_PROCESS = """
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("generated", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
x = torch.full((2, 3, 4, 4), 0.5)
y = mod.preprocess(x)
print(json.dumps({"mean": mod.MEAN, "std": mod.STD, "classes": mod.CLASSES,
                  "y": y[0, :, 0, 0].tolist(), "one": mod.preprocess(x[0])[:, 0, 0].tolist()}))
"""


def test_model_py_holds_the_runs_normalisation_classes_and_preprocess(tmp_path):
    from tests.engine.export.helpers import DATA_INFO

    data = dict(DATA_INFO, input_shape=[3, 32, 32], mean=[0.25, 0.5, 0.125],
                std=[0.5, 0.25, 2.0], classes=HOSTILE)
    make_run(tmp_path / "run", "resnetmini", data=data)
    export(tmp_path / "run", "python", tmp_path / "out")
    model_py = tmp_path / "out" / "model.py"
    proc = subprocess.run([sys.executable, "-I", "-c", PREPROCESS_IN_FRESH_PROCESS,
                           str(model_py)], capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["mean"] == [0.25, 0.5, 0.125] and got["std"] == [0.5, 0.25, 2.0]
    assert got["classes"] == HOSTILE  # free text only ever as string literals
    expected = [(0.5 - m) / s for m, s in zip(data["mean"], data["std"], strict=True)]
    assert got["y"] == pytest.approx(expected) and got["one"] == pytest.approx(expected)
    tree = ast.parse(model_py.read_text())
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    assert {"MEAN", "STD", "CLASSES", "VOCAB", "WEIGHTS"} <= assigned
    assert "preprocess" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "from model import load, preprocess" in card and "net(preprocess(x))" in card


def test_model_py_from_a_project_file_has_no_normalisation(tmp_path):
    project = save_graph_project(tmp_path / "p.lforge", sequence_zoo())
    export(project, "python", tmp_path / "out")
    code = (tmp_path / "out" / "model.py").read_text()
    assert "MEAN = None" in code and "Not recorded" in code


def test_the_fresh_process_check_runs_with_the_exporters_thread_count(tmp_path):
    # A process that trained with one torch thread (the app's worker does) exports too: the
    # check must compare like with like, not fail on rounding from a different split.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        project = save_graph_project(tmp_path / "zoo.lforge", sequence_zoo())
        export(project, "python", tmp_path / "out")
    finally:
        torch.set_num_threads(before)
    assert (tmp_path / "out" / "model.py").is_file()


def test_python_export_checks_variable_length_audio_at_a_length_it_accepts(tmp_path):
    # clips of any length: the check must give the STFT more than half a window of samples
    graph = chain({"shape": [1, -1]}, [("mel", "LogMel", {"n_fft": 64, "hop_length": 16,
                                                          "n_mels": 8})])
    project = save_graph_project(tmp_path / "audio.lforge", graph)
    export(project, "python", tmp_path / "out")  # raises unless model.py passes its check
    assert (tmp_path / "out" / "model.py").is_file()
