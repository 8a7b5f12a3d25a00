"""The evaluation panel on real segmentation and detection runs trained by the engine
(tiny: a few dozen built-in scenes, one epoch): what run_results gathers for the gallery
matches the split, and the panel shows it without an error."""

from __future__ import annotations

import numpy as np
import pytest

from app.panels.run_results import RunCache, evaluate
from tests.app.setup.conftest import _train, wait_idle


def _tiny(template: str, runs_root, samples: int = 40):
    from engine.templates import load_template

    p = load_template(template)
    p.dataset = p.dataset.model_copy(update={"samples": samples, "image_size": 32})
    p.training = p.training.model_copy(update={"epochs": 1, "threads": 1})
    return _train(p, runs_root / template)


@pytest.fixture(scope="module")
def seg_run(runs_root):
    return _tiny("unet", runs_root)


@pytest.fixture(scope="module")
def det_run(runs_root):
    return _tiny("detector", runs_root)


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


def _split_targets(run_dir):
    from engine.train.inference import open_run

    loaded = open_run(run_dir)
    return loaded.bundle.val.y.numpy(), loaded.bundle


def test_segmentation_evaluation_gathers_every_image_with_its_masks(seg_run):
    ev = evaluate(RunCache(), str(seg_run), "val")
    y, bundle = _split_targets(seg_run)
    n = len(y)
    assert ev.kind == "segmentation" and ev.split_size == n
    assert len(ev.images) == len(ev.true) == len(ev.pred) == len(ev.image_scores) == n
    assert ev.classes == list(bundle.classes)
    assert all(np.array_equal(t, m) for t, m in zip(ev.true, y.astype(np.uint8), strict=True))
    h, w = y.shape[1:]
    assert all(p.shape == (h, w) and p.dtype == np.uint8 for p in ev.pred)
    assert all(img.shape[:2] == (h, w) and img.dtype == np.uint8 for img in ev.images)
    assert max(int(p.max()) for p in ev.pred) < len(ev.classes)
    assert 0.0 <= ev.metrics["miou"] <= 1.0


def test_detection_evaluation_gathers_true_boxes_and_matched_predictions(det_run):
    ev = evaluate(RunCache(), str(det_run), "val")
    y, _ = _split_targets(det_run)
    assert ev.kind == "detection" and len(ev.true) == len(ev.pred) == len(ev.images) == len(y)
    assert sum(len(t) for t in ev.true) == int((y[:, :, 0] >= 0).sum())  # padding left out
    assert all(t.shape[1] == 5 and (t[:, 0] >= 0).all() for t in ev.true)
    for p in ev.pred:
        assert p["boxes"].shape == (len(p["scores"]), 4) and len(p["labels"]) == len(p["scores"])
    assert ev.matches is not None and int(ev.matches.n_true.sum()) == sum(len(t) for t in ev.true)
    assert "pr_curves" in ev.metrics and "map50" in ev.metrics


@pytest.mark.parametrize("which", ["seg_run", "det_run"])
def test_the_panel_shows_a_real_vision_run(panel, qtbot, request, which):
    run_dir = request.getfixturevalue(which)
    panel.show_run(str(run_dir))
    wait_idle(qtbot, panel.jobs)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    r = panel.result
    section = panel.segmentation if which == "seg_run" else panel.detection
    other = panel.detection if which == "seg_run" else panel.segmentation
    assert section.isVisibleTo(panel) and not other.isVisibleTo(panel)
    assert section.gallery.count() == len(r.true)
    assert section.table.rowCount() == len(r.classes) + 1
    if which == "det_run":
        tp, fp, miss = section.totals()
        assert tp + miss == int(r.matches.n_true.sum())
