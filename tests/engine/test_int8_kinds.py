"""The int8 export beyond image classification: a regression run end to end (R² from
onnxruntime equals the trainer's), and the segmentation metric computed from onnxruntime
outputs as the trainer computes it (pixels marked ignore_index left out)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from engine.deploy import measure
from engine.deploy.calibration import EvalSet
from engine.export import export
from engine.project import DatasetSpec, Project, TaskSpec
from engine.tasks.segmentation import confusion_matrix, segmentation_metrics, valid_pixels
from engine.train import train
from engine.train.events import Finished
from engine.train.overrides import apply_overrides
from tests.engine.export.helpers import chain


def test_regression_run_exports_with_r2_from_onnxruntime(tmp_path):
    graph = chain({"shape": [16, 1]}, [("flat", "Flatten", {}),
                                       ("fc1", "Linear", {"out_features": 32}),
                                       ("relu", "ReLU", {}),
                                       ("fc2", "Linear", {"out_features": 1})])
    project = Project(name="sines", graphs={"model": graph}, task=TaskSpec(kind="regression"),
                      dataset=DatasetSpec(source="builtin", name="sines", seq_len=16,
                                          samples=1500))
    project = apply_overrides(project, {"training.epochs": 4, "training.device": "cpu",
                                        "training.threads": 1, "training.lr": 0.01})
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    report = export(tmp_path / "run", "onnx-int8", tmp_path / "int8", calibration=64)
    fp32, int8 = report.details["comparison"]
    val = json.loads((tmp_path / "run" / "evaluation.json").read_text())["val"]
    assert fp32["metric"] == "r2" and fp32["value"] == pytest.approx(val["r2"], abs=1e-4)
    assert fp32["value"] > 0.5 and abs(fp32["value"] - int8["value"]) < 0.02
    assert [r["block"] for r in report.details["sensitivity"]] == ["fc1", "fc2"]
    assert "R²" in (tmp_path / "int8" / "README.md").read_text()


def _identity(shape) -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_segmentation_metric_is_the_trainers_mean_iou(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((300, 3, 6, 6)).astype(np.float32)  # 3 batches of 128
    masks = rng.integers(0, 3, (300, 6, 6))
    masks[:, 0, :] = 255  # a void border, left out
    onnx.save(_identity(["N", 3, 6, 6]), str(tmp_path / "m.onnx"))
    sess = measure.session(tmp_path / "m.onnx")
    got = measure.metric(sess, EvalSet(scores, masks, "validation"), "segmentation",
                         classes=3, ignore_index=255)
    y = torch.from_numpy(masks)
    valid = valid_pixels(y, 255, 3)
    cm = confusion_matrix(torch.from_numpy(scores).argmax(1)[valid], y[valid], 3)
    assert got == pytest.approx(segmentation_metrics(cm, 3)["miou"])
    assert 0.1 < got < 0.5  # random scores: about a chance IoU


def test_classification_metric_counts_every_sample(tmp_path):
    onnx.save(_identity(["N", 4]), str(tmp_path / "m.onnx"))
    logits = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]]
    sess = measure.session(tmp_path / "m.onnx")
    acc = measure.metric(sess, EvalSet(logits, np.array([0, 1, 2, 0, 0]), "validation"),
                         "classification")
    assert acc == pytest.approx(4 / 5)
