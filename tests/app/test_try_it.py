"""The Try it panel on real runs trained here: a digit drawn with the mouse, an image file
opened, dropped or pasted, a row of numbers typed or pasted, a bad row, and nothing of one
run left when another is shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest

from app.panels.try_it_inputs import ImagePage, VectorPage
from app.panels.try_results import NO_RUN
from tests.app.trained_runs import train_template
from tests.app.try_panel import answered, shown_panel

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("try")


@pytest.fixture(scope="module")
def digits_run(root) -> str:
    """LeNet-5 on the 8x8 digits scaled to 28x28, 3 epochs (about 95% right)."""
    return str(train_template("lenet5", root / "digits", epochs=3))


@pytest.fixture(scope="module")
def iris_run(root) -> str:
    """An MLP on iris read from a CSV file with a header (the features get their names)."""
    from sklearn.datasets import load_iris

    data = load_iris()
    csv = root / "iris.csv"
    rows = [",".join([*IRIS, "species"])]
    rows += [",".join([*map(str, x), str(data.target_names[y])])
             for x, y in zip(data.data, data.target, strict=True)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(train_template("mlp", root / "iris", epochs=40, source="csv", path=str(csv),
                              name="", target="species", samples=None))


@pytest.fixture
def panel(qtbot):
    with shown_panel(qtbot) as p:
        yield p


def digit_png(path: Path, digit_like: str = "one") -> Path:
    """A light vertical stroke on black, as the digits are drawn: a one."""
    a = np.zeros((28, 28), dtype=np.uint8)
    a[4:24, 12:16] = 255
    Image.fromarray(a).save(path)
    return path


def test_a_digit_drawn_with_the_mouse_gets_five_bars_with_class_names(qtbot, panel,
                                                                       digits_run):
    panel.show_run(digits_run)
    assert panel.title.text() == "lenet5 on digits: 28x28 grayscale images, 10 classes"
    page = panel.current_page()
    assert isinstance(page, ImagePage) and page.pad.isVisible()
    pad = page.pad
    side = pad.width()
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(side // 2, side // 5))
    for y in range(side // 5, 4 * side // 5, 6):
        QTest.mouseMove(pad, QPoint(side // 2, y))
    assert panel.output.bars.items == []  # nothing asked before the mouse is let go
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(side // 2, 4 * side // 5))
    answered(qtbot, panel)
    bars = panel.output.bars.items
    assert len(bars) == 5
    assert {name for name, _ in bars} <= {str(d) for d in range(10)}
    probs = [p for _, p in bars]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert panel.output.headline.text().startswith(bars[0][0])
    assert not panel.error.isVisible()
    # the drawing as the model saw it: the pad's strokes scaled to 28x28, light on black
    seen = panel.answer.result["image"]
    assert seen.shape == (1, 28, 28) and seen[0, 14, 14] > 200 and seen[0, 14, 2] < 30
    assert panel.output.picture.isVisible()

    page.clear_button.click()
    assert pad.is_empty() and not pad.array().any()


def test_an_image_file_opened_is_answered_as_the_engine_answers_it(qtbot, panel, digits_run,
                                                                   tmp_path, monkeypatch):
    from engine.train.inference import open_model
    from engine.train.predict import predict

    path = digit_png(tmp_path / "one.png")
    panel.show_run(digits_run)
    page = panel.current_page()
    monkeypatch.setattr("app.panels.try_it_inputs.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(path), ""))
    page.open_button.click()
    answered(qtbot, panel)
    expected = predict(open_model(digits_run), [str(path)], top=5)[0]["top"]
    shown = panel.output.bars.items
    assert [n for n, _ in shown] == [c["class"] for c in expected]
    assert [p for _, p in shown] == pytest.approx([c["probability"] for c in expected],
                                                  abs=1e-5)


def test_an_image_dropped_or_pasted_is_answered(qtbot, panel, digits_run, tmp_path):
    path = digit_png(tmp_path / "dropped.png")
    panel.show_run(digits_run)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(drop)
    answered(qtbot, panel)
    assert panel.answer.result["input"] == str(path)
    assert len(panel.output.bars.items) == 5

    image = QImage(str(path))
    QGuiApplication.clipboard().setImage(image)
    panel.setFocus()
    panel.answer = None
    panel._on_paste_shortcut_activated()  # what Ctrl+V over the panel does
    answered(qtbot, panel)
    assert panel.answer is not None and len(panel.output.bars.items) == 5

    QGuiApplication.clipboard().setText(str(tmp_path / "missing.png"))
    panel._on_paste_shortcut_activated()
    answered(qtbot, panel)
    assert panel.error.isVisible() and "missing.png" in panel.error.text()
    assert panel.output.bars.items == []


def test_not_an_image_shows_the_engines_sentence(qtbot, panel, digits_run, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture", encoding="utf-8")
    panel.show_run(digits_run)
    panel.ask(str(bad))
    answered(qtbot, panel)
    assert panel.error.isVisible()
    text = panel.error.text()
    assert "notes.png" in text and "not an image" in text and "Traceback" not in text
    assert panel.output.bars.items == []


def test_the_latest_input_wins(qtbot, panel, digits_run, tmp_path):
    paths = [digit_png(tmp_path / f"d{i}.png") for i in range(4)]
    panel.show_run(digits_run)
    submitted = []
    real = panel.jobs.submit
    panel.jobs.submit = lambda fn: submitted.append(1) or real(fn)
    for p in paths:
        panel.ask(str(p))
    answered(qtbot, panel)
    assert panel.answer.result["input"] == str(paths[-1])
    assert len(submitted) == 2  # the first, then only the newest of those that waited


def test_a_row_of_numbers_pasted_fills_the_named_fields_and_predicts(qtbot, panel, iris_run):
    panel.show_run(iris_run)
    assert panel.title.text() == "mlp on iris.csv: 4 numbers per sample, 3 classes"
    page = panel.current_page()
    assert isinstance(page, VectorPage)
    assert [f.toolTip() for f in page.fields] == IRIS
    QGuiApplication.clipboard().setText("5.1\t3.5\t1.4\t0.2\n")
    page.paste_button.click()
    answered(qtbot, panel)
    assert [f.text() for f in page.fields] == ["5.1", "3.5", "1.4", "0.2"]
    bars = panel.output.bars.items
    assert len(bars) == 3 and bars[0][0] == "setosa"
    assert {n for n, _ in bars} == {"setosa", "versicolor", "virginica"}

    for field, value in zip(page.fields, ["6.7", "3.0", "5.2", "2.3"], strict=True):
        field.setText(value)
    page.predict_button.click()
    answered(qtbot, panel)
    assert panel.output.bars.items[0][0] == "virginica"


def test_a_bad_row_shows_a_sentence_and_no_answer(qtbot, panel, iris_run):
    panel.show_run(iris_run)
    page = panel.current_page()
    page.paste_text("5.1, 3.5, 1.4")
    answered(qtbot, panel)
    assert panel.error.isVisible()
    assert "takes 4 numbers" in panel.error.text() and "sepal_length" in panel.error.text()
    assert panel.output.bars.items == []

    page.paste_text("5.1, 3.5, 1.4, 0.2")
    answered(qtbot, panel)
    assert not panel.error.isVisible() and len(panel.output.bars.items) == 3
    page.fields[1].setText("wide")
    page.predict_button.click()
    assert panel.error.isVisible()
    assert panel.error.text() == "sepal_width: 'wide' is not a number"
    assert panel.output.bars.items == []


def test_another_run_clears_the_answer_and_an_answer_for_the_old_one_never_shows(
        qtbot, panel, digits_run, iris_run, tmp_path):
    panel.show_run(digits_run)
    panel.current_page().pad.stroke([(0.5, 0.2), (0.5, 0.8)])
    answered(qtbot, panel)
    assert len(panel.output.bars.items) == 5
    panel.show_run(iris_run)
    assert panel.output.bars.items == [] and panel.output.headline.text() == ""
    assert not panel.output.picture.isVisible()
    assert isinstance(panel.current_page(), VectorPage)

    panel.show_run(digits_run)  # the pad starts empty for the run shown again
    assert panel.current_page().pad.is_empty()
    panel.ask(str(digit_png(tmp_path / "late.png")))
    panel.show_run(iris_run)  # before the digit's answer comes
    answered(qtbot, panel)
    assert panel.answer is None and panel.output.bars.items == []

    panel.reset()
    assert panel.title.text() == NO_RUN and panel.current_page() is None


def test_a_run_that_trains_cannot_be_tried_until_it_finishes(qtbot, panel, digits_run):
    from engine.train.events import Finished, RunStarted

    panel.show_run(digits_run)
    panel.on_event(RunStarted(run_dir=digits_run))
    assert "Training" in panel.title.text() and panel.current_page() is None
    panel.on_event(Finished())
    assert panel.title.text().startswith("lenet5 on digits")
    assert isinstance(panel.current_page(), ImagePage)


def test_a_gan_run_says_what_to_do_instead(panel, root):
    from engine.project import save_project
    from engine.templates import load_template

    run = root / "gan"
    run.mkdir()
    save_project(load_template("dcgan"), run / "project.lforge")
    panel.show_run(str(run))
    assert panel.current_page() is None
    assert "GAN" in panel.status.text() and "Samples" in panel.status.text()
