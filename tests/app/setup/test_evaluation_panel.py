"""The evaluation panel fills in from a real run folder trained by the engine."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from engine.train.events import Finished, RunStarted
from tests.app.setup.conftest import wait_idle


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


@pytest.fixture(scope="module")
def engine_eval(mlp_run):
    """What the engine itself says about the run's validation split."""
    from engine.train.inference import evaluate_run, open_run

    loaded = open_run(mlp_run)
    metrics = evaluate_run(loaded, "val")
    out, y = loaded.task.outputs(loaded.bundle.val, 256)
    return metrics, out.argmax(-1).tolist(), y.tolist()


def _shown(panel, qtbot, run_dir) -> None:
    panel.show_run(str(run_dir))
    wait_idle(qtbot, panel.jobs)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert panel.result is not None


def test_metrics_table_matches_evaluation_json_and_the_engine(panel, qtbot, mlp_run, engine_eval):
    _shown(panel, qtbot, mlp_run)
    saved = json.loads((mlp_run / "evaluation.json").read_text())["val"]
    metrics, _, _ = engine_eval
    table = panel.metrics_table
    classes = panel.result.classes
    assert classes == saved["classes"]
    for i, name in enumerate(classes):
        for col, key in (("Precision", "precision_per_class"), ("Recall", "recall_per_class"),
                         ("F1", "f1_per_class")):
            assert table.value(name, col) == pytest.approx(saved[key][i])
            assert table.value(name, col) == pytest.approx(metrics[key][i])
    for col, key in (("Precision", "precision"), ("Recall", "recall"), ("F1", "f1")):
        assert table.value("macro", col) == pytest.approx(saved[key])
    assert f"accuracy {saved['accuracy']:.4g}" in panel.status.text()
    assert "Final metrics" in panel.final.text()


def test_confusion_matrix_sums_to_the_split_size(panel, qtbot, mlp_run, engine_eval):
    _shown(panel, qtbot, mlp_run)
    metrics, pred, true = engine_eval
    assert panel.matrix.total() == len(true) == 60
    assert panel.matrix.matrix == metrics["confusion_matrix"]
    wrong = sum(1 for p, t in zip(pred, true, strict=True) if p != t)
    assert panel.gallery.count() == wrong
    assert set(panel.gallery.indices) == {i for i, (p, t) in enumerate(zip(pred, true, strict=True))
                                          if p != t}


def test_clicking_a_cell_shows_exactly_those_samples(panel, qtbot, mlp_run, engine_eval):
    _shown(panel, qtbot, mlp_run)
    _, pred, true = engine_eval
    matrix = panel.matrix
    r, c = max(((r, c) for r in range(3) for c in range(3) if r != c),
               key=lambda rc: matrix.matrix[rc[0]][rc[1]])
    rect = matrix.visualItemRect(matrix.item(r, c))
    qtbot.mouseClick(matrix.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    expected = [i for i, (p, t) in enumerate(zip(pred, true, strict=True)) if t == r and p == c]
    assert expected and panel.gallery.indices == expected
    assert panel.gallery.count() == len(expected)
    names = panel.result.classes
    assert panel.gallery.item(0).text().endswith(f"true {names[r]}")
    assert f"pred {names[c]}" in panel.gallery.item(0).text()
    assert panel.show_cell(r, r) == [i for i, (p, t) in enumerate(zip(pred, true, strict=True))
                                     if t == r and p == r]


def test_events_from_the_run_side_reload_the_run(panel, qtbot, mlp_run):
    panel.on_event(RunStarted(run_dir=str(mlp_run), task="classification"))
    assert panel.run_dir == str(mlp_run)
    assert panel.result is None
    with qtbot.waitSignal(panel.evaluated, timeout=60000):
        panel.on_event(Finished(metrics={}))
    assert panel.matrix.total() == 60


def test_a_folder_that_is_no_run_shows_the_reason(panel, tmp_path):
    panel.show_run(str(tmp_path))
    assert panel.error.isVisibleTo(panel)
    assert "not a run folder" in panel.error.text()


@pytest.mark.parametrize("classes", [
    ["circle", "square", "triangle", "5"],  # the shapes set: "pred triangle (98%)" was cut
    ["circle", "a-very-long-class-name-from-an-image-folder", "x"],
])
def test_gallery_captions_show_predicted_true_and_confidence_in_full(qtbot, classes):
    import numpy as np
    from PySide6.QtWidgets import QStyle

    from app.panels.evaluation_views import THUMB, SampleGallery

    gallery = SampleGallery()
    gallery.resize(700, 400)
    qtbot.addWidget(gallery)
    gallery.show()
    qtbot.waitExposed(gallery)
    n = len(classes)
    pred = [(i + 1) % n for i in range(2 * n)] + [n - 1]
    true = [i % n for i in range(2 * n)] + [n - 2]
    conf = [0.98, 1.0, 0.5, 0.66, 0.07, 0.999, 0.31, 0.42, 0.9][: len(pred)]
    images = [np.zeros((16, 16), np.uint8)] * len(pred)
    gallery.show_samples(list(range(len(pred))), classes, pred, true, conf, images, [])
    qtbot.wait(10)
    fm = gallery.fontMetrics()
    margin = gallery.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None,
                                         gallery) + 1
    for row in range(gallery.count()):
        item = gallery.item(row)
        i = item.data(Qt.ItemDataRole.UserRole)
        rect = gallery.visualRect(gallery.model().index(row, 0))
        lines = item.text().split("\n")
        # two lines, each painted in full (no wrapping into a third line that is cut)
        assert len(lines) == 2, lines
        assert rect.height() >= THUMB + 2 * fm.lineSpacing()
        for line in lines:
            assert fm.horizontalAdvance(line) <= rect.width() - 2 * margin, (line, rect)
        assert rect.width() <= gallery.gridSize().width()
        p, t = classes[pred[i]], classes[true[i]]
        assert lines[0].startswith("pred ") and lines[0].endswith(f" ({conf[i]:.0%})")
        assert lines[1].startswith("true ")
        if fm.horizontalAdvance(p) < 100:  # short names are never shortened
            assert lines[0] == f"pred {p} ({conf[i]:.0%})"
        if fm.horizontalAdvance(t) < 100:
            assert lines[1] == f"true {t}"
        tip = item.toolTip()
        assert p in tip and t in tip and f"{conf[i]:.1%}" in tip  # everything, unabridged


def test_a_model_with_unused_outputs_gets_a_column_per_output(qtbot):
    from app.panels.evaluation_views import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    # 3 classes, 5 outputs: a prediction of an unused output is a wrong answer in its column
    view.show_matrix([[4, 1, 0, 0, 1], [0, 5, 0, 0, 0], [0, 0, 3, 2, 0]], ["a", "b", "c"])
    assert (view.rowCount(), view.columnCount()) == (3, 5)
    headers = [view.horizontalHeaderItem(c).text() for c in range(5)]
    assert headers == ["a", "b", "c", "out 3", "out 4"]
    assert view.item(2, 3).text() == "2"
    assert view.total() == 16
