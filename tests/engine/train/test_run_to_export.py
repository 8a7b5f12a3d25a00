"""A real (tiny) run, then `layerforge evaluate` and `layerforge export`: the run folder
records how inputs were prepared (data.json), every export carries it, the model card reads
evaluation.json as the trainer writes it, and evaluate labels the confusion matrix."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from safetensors import safe_open

from engine.cli import main
from engine.data import load_dataset
from engine.train import train
from engine.train.events import Finished
from tests.engine.train.helpers import tiny_mlp


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run_to_export")
    # 6 outputs for 3 classes: metrics must still average over the 3 classes
    project = tiny_mlp(training__epochs=1)
    next(n for n in project.graphs["model"].nodes if n.id == "fc3").params["out_features"] = 6
    events = list(train(project, root / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    return root, root / "run", load_dataset(project.dataset)


def test_run_folder_records_normalisation_and_classes(run):
    _, folder, bundle = run
    info = json.loads((folder / "data.json").read_text())
    assert info["mean"] == bundle.mean and info["std"] == bundle.std
    assert info["classes"] == ["arm 1", "arm 2", "arm 3"] and info["kind"] == "vector"
    assert info["normalize_axis"] == "feature" and info["input_shape"] == [2]
    with safe_open(str(folder / "weights.safetensors"), framework="pt") as f:
        state = json.loads(f.metadata()["state"])
    assert state["data"] == info  # a copy travels with the weights (remote runs too)


def test_evaluation_json_macro_metrics_ignore_unused_outputs(run):
    _, folder, _ = run
    val = json.loads((folder / "evaluation.json").read_text())["val"]
    assert len(val["recall_per_class"]) == 3
    assert val["recall"] == pytest.approx(sum(val["recall_per_class"]) / 3)
    assert len(val["confusion_matrix"]) == 3 and len(val["confusion_matrix"][0]) == 6


def test_evaluate_prints_class_names_on_the_confusion_matrix(run, capsys):
    _, folder, _ = run
    assert main(["evaluate", str(folder)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "true \\ pred" in line)
    assert header.split()[3:] == ["arm", "1", "arm", "2", "arm", "3", "out", "3", "out", "4",
                                  "out", "5"]
    assert any(line.strip().startswith("arm 2 ") for line in out.splitlines())


def test_onnx_export_into_a_missing_folder_carries_metrics_and_preprocessing(run, capsys):
    root, folder, bundle = run
    out = root / "export" / "onnx"  # export/ does not exist yet
    assert main(["export", str(folder), "--format", "onnx", "--out", str(out)]) == 0
    card = (out / "README.md").read_text()
    metrics = card.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    assert "No evaluation.json" not in metrics and "- val accuracy: " in metrics
    assert "- val recall: " in metrics
    assert f"mean = {bundle.mean!r}, std = {bundle.std!r}" in card
    assert "0 arm 1, 1 arm 2, 2 arm 3" in card
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    mean = np.array(json.loads(meta["layerforge.mean"]), dtype=np.float32)
    std = np.array(json.loads(meta["layerforge.std"]), dtype=np.float32)
    assert json.loads(meta["layerforge.classes"]) == bundle.classes
    # raw points prepared with the saved values give what the trainer's data gave
    x_raw = bundle.val.x[:5].numpy() * np.array(bundle.std, np.float32) + np.array(
        bundle.mean, np.float32)
    assert np.allclose((x_raw - mean) / std, bundle.val.x[:5].numpy(), atol=1e-5)
