"""The standalone runtime on the vision tasks and regression: segmentation masks,
detection boxes and regression values must be the PyTorch model's (tiny runs trained one
epoch), whether the image comes as JSON values or as an uploaded file."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.deploy.folder import model_folder
from engine.deploy.runtime import BadInput, Predictor
from engine.export.vision import compare_detections
from engine.project import DatasetSpec, Edge, Graph, Node, Project, TaskSpec, TrainingConfig
from engine.train.inference import open_run
from engine.vision.decode import Decoder
from tests.engine.cli_helpers import train_in_process
from tests.engine.vision_projects import tiny_detector, tiny_segmenter


def _served(root, project):
    train_in_process(project, root / "run")
    (root / "folder").mkdir()
    model_folder(root / "run", root / "folder")
    loaded = open_run(root / "run")
    return loaded, Predictor(root / "folder")


def _sines() -> Project:
    """Regression: a window of 16 noisy sine values -> the next value."""
    ids = ["x", "flat", "hidden", "act", "head", "y"]
    graph = Graph(nodes=[Node(id="x", type="Input", params={"shape": [16, 1]}),
                         Node(id="flat", type="Flatten"),
                         Node(id="hidden", type="Linear", params={"out_features": 16}),
                         Node(id="act", type="ReLU"),
                         Node(id="head", type="Linear", params={"out_features": 1}),
                         Node(id="y", type="Output")],
                  edges=[Edge(src=a, dst=b) for a, b in zip(ids, ids[1:], strict=False)])
    return Project(name="sines", graphs={"model": graph}, task=TaskSpec(kind="regression"),
                   dataset=DatasetSpec(source="builtin", name="sines", samples=200, seq_len=16),
                   training=TrainingConfig(epochs=1, threads=1, device="cpu", batch_size=32))


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    return _served(tmp_path_factory.mktemp("seg"), tiny_segmenter())


@pytest.fixture(scope="module")
def det(tmp_path_factory):
    project = tiny_detector()
    project.task.max_detections = 20
    return _served(tmp_path_factory.mktemp("det"), project)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    return _served(tmp_path_factory.mktemp("reg"), _sines())


def _png(chw: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.round(chw.transpose(1, 2, 0) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_segmentation_masks_are_the_pytorch_models(seg):
    loaded, predictor = seg
    x = loaded.bundle.val.x[:3]
    with torch.no_grad():
        ref = loaded.task.models["model"](x).argmax(1).numpy()
    raw = loaded.bundle.denormalize(x).numpy()
    answer = predictor.predict_json({"inputs": raw.tolist()})
    assert answer["task"] == "segmentation"
    for i, p in enumerate(answer["predictions"]):
        mask = np.array(p["mask"])
        assert mask.shape == (32, 32)
        assert (mask != ref[i]).mean() < 0.002  # float ties may fall either way
        assert sum(p["classes"].values()) == pytest.approx(1.0)
        assert set(p["classes"]) <= set(predictor.classes)
    # an uploaded image (8-bit pixels) answers like its pixels sent as values
    pixels = np.round(raw[0] * 255) / 255
    upload = predictor.predict_file(_png(raw[0]), "scene.png", "image/png", {})
    same = predictor.predict_json({"input": pixels.tolist()})
    assert upload["predictions"][0]["mask"] == same["predictions"][0]["mask"]


def test_detection_boxes_are_the_pytorch_models(det):
    loaded, predictor = det
    x = loaded.bundle.val.x[:3]
    settings = predictor.deploy["decoder"]
    with torch.no_grad():
        refs = [t.numpy() for t in Decoder(**settings)(loaded.task.models["model"](x))]
    answer = predictor.predict_json({"inputs": loaded.bundle.denormalize(x).numpy().tolist()})
    d = settings["max_detections"]
    boxes, scores, labels = np.zeros((3, d, 4)), np.zeros((3, d)), np.zeros((3, d), np.int64)
    for i, p in enumerate(answer["predictions"]):
        assert len(p["boxes"]) <= d
        for j, b in enumerate(p["boxes"]):
            boxes[i, j], scores[i, j] = b["box"], b["score"]
            labels[i, j] = predictor.classes.index(b["class"])
    compare_detections(refs, (boxes, scores, labels), "the runtime's answer", 1e-3,
                       settings["min_score"])
    assert sum(len(p["boxes"]) for p in answer["predictions"]) > 0


def test_regression_values_are_the_pytorch_models(reg):
    loaded, predictor = reg
    x = loaded.bundle.val.x[:6]
    with torch.no_grad():
        ref = loaded.task.models["model"](x).numpy()
    answer = predictor.predict_json({"inputs": loaded.bundle.denormalize(x).numpy().tolist()})
    got = np.array([p["values"] for p in answer["predictions"]])
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert predictor.deploy["task"] == "regression"
    with pytest.raises(BadInput, match=r"has shape \[15, 1\]; this model takes \[16, 1\]"):
        predictor.predict_json({"input": np.zeros((15, 1)).tolist()})


def test_bad_image_requests(seg):
    _, predictor = seg
    with pytest.raises(BadInput, match="not an image"):
        predictor.predict_file(b"\x89PNG\r\n\x1a\n truncated", "a.png", "image/png", {})
    with pytest.raises(BadInput, match="takes images, not text"):
        predictor.predict_json({"text": "a cat"})
