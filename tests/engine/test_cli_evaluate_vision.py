"""`layerforge evaluate` on real (tiny) segmentation and detection runs: the headline
figures by the names users know, the per-class table, the pixel confusion matrix, and
``--json`` with everything the evaluation holds (strict JSON, PR curves included)."""

from __future__ import annotations

import json

import pytest

from engine.data.scenes import DET_CLASSES, SEG_CLASSES
from tests.engine.cli_helpers import run_cli, train_in_process
from tests.engine.vision_projects import SIZE, tiny_detector, tiny_segmenter


def _strict(text: str) -> dict:
    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _evaluated(tmp_path_factory, project, name: str) -> tuple[str, dict]:
    """A tiny trained run's `layerforge evaluate` text and its --json, checked strict."""
    folder = tmp_path_factory.mktemp(name) / "run"
    train_in_process(project, folder)
    text = run_cli("evaluate", str(folder))
    assert text.code == 0, text.text
    js = run_cli("evaluate", str(folder), "--json")
    assert js.code == 0, js.text
    return text.out, _strict(js.out)


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    return _evaluated(tmp_path_factory, tiny_segmenter(), "seg")


@pytest.fixture(scope="module")
def det_run(tmp_path_factory):
    return _evaluated(tmp_path_factory, tiny_detector(), "det")


def _figure(out: str, name: str) -> float:
    line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
    return float(line.split()[-1])


def _table(out: str, heading: str) -> list[list[str]]:
    """The rows of the per-class table (cells split on spaces), header first."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading) + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("   "):
            break
        rows.append(line.split())
    return rows


def test_segmentation_prints_its_headline_figures_as_evaluated(seg_run):
    out, data = seg_run
    assert _figure(out, "mIoU") == pytest.approx(data["miou"], abs=1e-4)
    assert _figure(out, "pixel accuracy") == pytest.approx(data["pixel_accuracy"], abs=1e-4)
    assert _figure(out, "mean Dice") == pytest.approx(data["mean_dice"], abs=1e-4)


def test_segmentation_per_class_table_names_every_class(seg_run):
    out, data = seg_run
    header, *rows = _table(out, "per class")
    assert header == ["class", "IoU", "Dice"]
    assert [r[0] for r in rows] == SEG_CLASSES
    for row, iou, dice in zip(rows, data["iou_per_class"], data["dice_per_class"], strict=True):
        assert row[1] == ("-" if iou is None else f"{iou:.4f}")
        assert row[2] == ("-" if dice is None else f"{dice:.4f}")


def test_segmentation_confusion_matrix_counts_every_validation_pixel(seg_run):
    out, data = seg_run
    assert "confusion matrix (pixels; rows: true class, columns: predicted)" in out
    header = next(line for line in out.splitlines() if "true \\ pred" in line)
    assert header.split()[3:] == SEG_CLASSES
    cm = data["confusion_matrix"]
    assert sum(map(sum, cm)) == 16 * SIZE * SIZE  # 64 samples, a quarter for validation
    correct = sum(cm[i][i] for i in range(len(cm)))
    assert correct / sum(map(sum, cm)) == pytest.approx(data["pixel_accuracy"])


def test_detection_prints_the_coco_figures(det_run):
    out, data = det_run
    for name, key in (("mAP@[.5:.95]", "map"), ("mAP@0.5", "map50"), ("mAP@0.75", "map75")):
        assert _figure(out, name) == pytest.approx(data[key], abs=1e-4)
    assert "confusion matrix" not in out


def test_detection_per_class_ap_table(det_run):
    out, data = det_run
    header, *rows = _table(out, "per class")
    assert header == ["class", "AP@[.5:.95]", "AP@0.5"]
    assert [r[0] for r in rows] == DET_CLASSES
    for row, ap in zip(rows, data["ap50_per_class"], strict=True):
        assert row[2] == ("-" if ap is None or ap < 0 else f"{ap:.4f}")


def test_detection_json_holds_the_precision_recall_curves(det_run):
    _, data = det_run
    curves = data["pr_curves"]
    assert len(curves["recall"]) == 101
    assert len(curves["precision"]) == len(DET_CLASSES)
    assert all(len(p) == 101 for p in curves["precision"])
    assert data["classes"] == DET_CLASSES
