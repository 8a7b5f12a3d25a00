"""`layerforge new / validate / summary` through the real console script."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.compile import compile_graph
from engine.project import load_project
from engine.templates import list_templates

LF = [str(Path(sys.executable).with_name("layerforge"))]


def lf(*args, cwd=None):
    return subprocess.run(LF + list(args), capture_output=True, text=True, cwd=cwd, timeout=120)


def test_new_validate_summary_round_trip(tmp_path):
    out = tmp_path / "net.lforge"
    r = lf("new", str(out), "--template", "lenet5")
    assert r.returncode == 0, r.stderr
    assert lf("validate", str(out)).stdout.strip() == "ok: 14 blocks in 1 graph(s)"
    r = lf("summary", str(out))
    assert r.returncode == 0 and "total: 61,706 parameters" in r.stdout


@pytest.mark.parametrize("template", list_templates())
def test_summary_json_agrees_with_compiled_module(template, tmp_path):
    from engine.cli import main

    path = tmp_path / "t.lforge"
    assert main(["new", str(path), "--template", template]) == 0
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["summary", str(path), "--json"]) == 0
    summary = json.loads(buf.getvalue())
    project = load_project(path)
    for name, g in summary["graphs"].items():
        gm = compile_graph(project.graphs[name], name, library=project.graphs)
        assert g["total_params"] == sum(p.numel() for p in gm.parameters())
        from torch.fx.passes.shape_prop import ShapeProp

        from engine.compile import example_inputs
        from engine.shapes import analyze_graph

        ShapeProp(gm).propagate(*example_inputs(
            analyze_graph(project.graphs[name], name, project.graphs), batch=2))
        shapes = {n.name: tuple(n.meta["tensor_meta"].shape)[1:] for n in gm.graph.nodes
                  if "tensor_meta" in n.meta}
        for node in g["nodes"]:
            if node["id"] in shapes:
                assert tuple(node["shape"]) == shapes[node["id"]], (template, node["id"])


def test_validate_reports_each_problem_and_exits_2(tmp_path):
    path = tmp_path / "bad.lforge"
    lf("new", str(path), "--template", "mlp")
    doc = json.loads(path.read_text())
    nodes = doc["graphs"]["model"]["nodes"]
    nodes[1]["params"]["out_features"] = -3
    nodes[3]["type"] = "Teleporter"
    doc["graphs"]["model"]["edges"].append({"src": "fc3", "dst": "fc1"})
    path.write_text(json.dumps(doc))
    r = lf("validate", str(path))
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert "model/fc1: out_features must be at least 1, not -3" in lines
    assert "model/fc2: unknown block type 'Teleporter'" in lines
    assert "Traceback" not in r.stdout + r.stderr


def test_validate_checks_the_model_against_its_data(tmp_path):
    """An Input of another size than the data's images, and fewer outputs than classes,
    are reported by validate as the app's Problems list reports them."""
    path = tmp_path / "digits.lforge"
    assert lf("new", str(path), "--template", "lenet5", "--dataset",
              "builtin:digits").returncode == 0
    assert lf("validate", str(path)).returncode == 0  # new fitted the data to the network
    doc = json.loads(path.read_text())
    doc["dataset"]["image_size"] = None  # back to the digits' own 8x8
    for node in doc["graphs"]["model"]["nodes"]:
        if node["id"] == "fc3":
            node["params"]["out_features"] = 7
    path.write_text(json.dumps(doc))
    r = lf("validate", str(path))
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    assert any(line.startswith("model/image: takes [N, 1, 28, 28] but builtin:digits gives "
                               "[N, 1, 8, 8]") for line in lines), lines
    assert "model/fc3: gives 7 outputs but builtin:digits has 10 classes: set out_features " \
           "to 10" in lines


@pytest.mark.parametrize(("content", "needle"), [
    ("{not json", "not valid JSON"),
    ('{"schema_version": 99}', "newer LayerForge"),
    ('{"schema_version": 1, "graphs": {"model": {"nodes": [{"id": "a", "type": "Input", '
     '"params": {"shape": [-5]}}]}}}', "shape must be at least -1"),
])
def test_bad_files_exit_2_with_a_message(tmp_path, content, needle):
    path = tmp_path / "x.lforge"
    path.write_text(content)
    r = lf("validate", str(path))
    assert r.returncode == 2 and needle in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_new_refuses_a_bad_dataset_spec_and_writes_nothing(tmp_path):
    out = tmp_path / "n.lforge"
    r = lf("new", str(out), "--template", "mlp", "--dataset", "ftp:whatever")
    assert r.returncode == 2 and "ftp" in r.stderr
    assert not out.exists()


def test_new_stores_a_dataset_spec(tmp_path):
    out = tmp_path / "n.lforge"
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    r = lf("new", str(out), "--template", "mlp", "--dataset", f"csv:{csv}:target=label")
    assert r.returncode == 0, r.stderr
    ds = load_project(out).dataset
    assert (ds.source, ds.path, ds.target) == ("csv", str(csv), "label")


def test_no_torch_needed_for_validate():
    code = ("import sys; from engine.cli import main; "
            f"main(['validate', {str(Path('resources/examples/mlp.lforge').resolve())!r}]); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert torch  # the test module itself may import torch
