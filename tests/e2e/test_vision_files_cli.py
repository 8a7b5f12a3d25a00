"""A user's own segmentation and detection files, end to end through the `layerforge`
command: a new project from a template on the files, validate, train, evaluate, export.

The files are written from the built-in scenes, in the layouts users bring: a YOLO folder
(images/ and labels/ with classes.txt) and an image folder with a masks/ folder beside it.
"""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from engine.data.scenes import DET_CLASSES, SEG_CLASSES, draw_scenes
from tests.engine.cli_helpers import run_cli

N, SIZE = 48, 32


def _pixels(images: np.ndarray, i: int) -> Image.Image:
    return Image.fromarray((images[i].transpose(1, 2, 0) * 255).round().astype(np.uint8))


def yolo_folder(root):
    scenes = draw_scenes(N, SIZE, seed=3)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "labels" / "classes.txt").write_text("\n".join(DET_CLASSES) + "\n")
    for i in range(N):
        _pixels(scenes.images, i).save(root / "images" / f"s{i:03d}.png")
        rows = []
        for cls, x0, y0, x1, y1 in scenes.boxes[i]:
            if cls < 0:
                continue
            cx, cy = (x0 + x1) / 2 / SIZE, (y0 + y1) / 2 / SIZE
            rows.append(f"{int(cls)} {cx:.6f} {cy:.6f} {(x1 - x0) / SIZE:.6f} {(y1 - y0) / SIZE:.6f}")
        (root / "labels" / f"s{i:03d}.txt").write_text("\n".join(rows) + "\n")
    return scenes


def mask_folder(root):
    scenes = draw_scenes(N, SIZE, seed=4)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "labels.txt").write_text("\n".join(SEG_CLASSES) + "\n")
    for i in range(N):
        _pixels(scenes.images, i).save(root / "images" / f"m{i:03d}.png")
        Image.fromarray(scenes.masks[i].astype(np.uint8), mode="L").save(root / "masks" / f"m{i:03d}.png")
    return scenes


def _through_the_cli(tmp_path, monkeypatch, template: str, spec: str) -> tuple[dict, str]:
    monkeypatch.chdir(tmp_path)
    made = run_cli("new", "p.lforge", "--template", template, "--dataset", spec)
    assert made.code == 0, made.err
    checked = run_cli("validate", "p.lforge")
    assert checked.code == 0, checked.out + checked.err
    trained = run_cli("train", "p.lforge", "--epochs", "1", "--out", "run", "--quiet",
                      "--set", "training.batch_size=16", "--set", "dataset.image_size=32")
    assert trained.code == 0, trained.err
    evaluated = run_cli("evaluate", "run", "--json")
    assert evaluated.code == 0, evaluated.err
    exported = run_cli("export", "run", "--format", "onnx", "--out", "model.onnx")
    assert exported.code == 0, exported.err
    return json.loads(evaluated.out), str(tmp_path / "model.onnx")


def test_a_yolo_folder_trains_evaluates_and_exports_a_detector_that_returns_boxes(
        tmp_path, monkeypatch):
    yolo_folder(tmp_path / "shapes")
    metrics, onnx_path = _through_the_cli(tmp_path, monkeypatch, "detector",
                                          f"detection:{tmp_path / 'shapes'}")
    assert metrics["classes"] == DET_CLASSES
    assert {"map", "map50", "map75", "ap_per_class", "pr_curves"} <= set(metrics)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["boxes", "scores", "labels", "maps"]
    x = np.zeros((2, 3, 32, 32), dtype=np.float32)
    boxes, scores, labels, maps = session.run(None, {session.get_inputs()[0].name: x})
    assert boxes.shape[:2] == scores.shape == labels.shape and boxes.shape[2] == 4
    assert maps.shape[:2] == (2, len(DET_CLASSES) + 4)


def test_an_image_and_mask_folder_trains_evaluates_and_exports_a_unet(tmp_path, monkeypatch):
    mask_folder(tmp_path / "scenes")
    metrics, onnx_path = _through_the_cli(tmp_path, monkeypatch, "unet",
                                          f"segmentation:{tmp_path / 'scenes' / 'images'}")
    assert metrics["classes"] == SEG_CLASSES
    assert 0.0 <= metrics["miou"] <= 1.0 and len(metrics["iou_per_class"]) == len(SEG_CLASSES)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, 32, 32), np.float32)})
    assert out.shape == (1, len(SEG_CLASSES), 32, 32)


@pytest.mark.parametrize("bad", ["9 0.5 0.5 0.2 0.2", "0 0.5 0.5 0 0.2"])
def test_a_bad_yolo_row_stops_with_its_file_and_line_or_is_skipped_on_request(
        tmp_path, monkeypatch, bad):
    yolo_folder(tmp_path / "shapes")
    (tmp_path / "shapes" / "labels" / "s005.txt").write_text(bad + "\n")
    monkeypatch.chdir(tmp_path)
    spec = f"detection:{tmp_path / 'shapes'}"
    stopped = run_cli("new", "p.lforge", "--template", "detector", "--dataset", spec)
    assert stopped.code == 2 and "s005.txt" in stopped.err and "Skip" in stopped.err
    assert "Traceback" not in stopped.err and not (tmp_path / "p.lforge").exists()
    made = run_cli("new", "p.lforge", "--template", "detector", "--dataset", spec,
                   "--set", "dataset.bad_entries=skip", "--set", "dataset.image_size=32")
    assert made.code == 0, made.err
    trained = run_cli("train", "p.lforge", "--epochs", "1", "--out", "run")
    assert trained.code == 0, trained.err
    assert "6 classes (boxes), 1 bad annotation skipped" in trained.out + trained.err
