"""safetensors export (graph in the metadata, load_model) and the torch.export option."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engine.export import ExportError, export, load_model
from engine.export.common import build_module, load_source
from tests.engine.export.helpers import make_run


def test_safetensors_metadata_holds_graph_and_inputs(tmp_path):
    run = make_run(tmp_path / "run", "lenet5")
    export(run, "safetensors", tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["layerforge.graph_name"] == "model"
    assert json.loads(meta["layerforge.inputs"]) == [
        {"shape": [1, 28, 28], "dtype": "float", "vocab": None}]
    assert {n["id"] for n in json.loads(meta["layerforge.graph"])["nodes"]} >= {"conv1", "fc3"}
    assert "fc1.weight" in keys and meta["layerforge.trained"] == "true"


def test_load_model_rebuilds_the_trained_network(tmp_path):
    run = make_run(tmp_path / "run", "resnetmini")
    export(run, "safetensors", tmp_path / "out")
    model = load_model(tmp_path / "out" / "model.safetensors")
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), build_module(load_source(run))(x))


def test_load_model_refuses_a_file_without_a_graph(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ExportError, match="no LayerForge graph"):
        load_model(tmp_path / "plain.safetensors")


def test_pt2_export_states_the_version_caveat(tmp_path):
    run = make_run(tmp_path / "run", "mlp")
    report = export(run, "pt2", tmp_path / "out")
    assert (tmp_path / "out" / "model.pt2").is_file()
    assert any("tied to the PyTorch version" in w for w in report.warnings)
    assert "torch.export.load" in (tmp_path / "out" / "README.md").read_text()
    assert report.max_abs_diff == {"batch 1": 0.0, "batch 3": 0.0}


def test_safetensors_metadata_holds_normalisation_and_classes(tmp_path):
    run = make_run(tmp_path / "run", "lenet5")
    export(run, "safetensors", tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["layerforge.mean"]) == [0.1307]
    assert json.loads(meta["layerforge.std"]) == [0.3081]
    assert json.loads(meta["layerforge.classes"]) == [str(d) for d in range(10)]
    assert json.loads(meta["layerforge.preprocessing"])["normalize_axis"] == "channel"
    card = (tmp_path / "w.README.md").read_text()
    assert "mean = [0.1307], std = [0.3081]" in card


def test_pt2_archive_carries_the_preprocessing_as_an_extra_file(tmp_path):
    import zipfile

    run = make_run(tmp_path / "run", "mlp")
    export(run, "pt2", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / "model.pt2") as z:  # no torch.export.load
        name = next(n for n in z.namelist() if n.endswith("layerforge.json"))
        meta = json.loads(z.read(name))
    assert json.loads(meta["layerforge.mean"]) == [0.1307]
