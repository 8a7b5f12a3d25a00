"""The Try it panel on real text runs trained here: a text classifier answers a typed text
with its classes, a translator a typed date at the beam width chosen, a language model
continues a prompt, and the real window tabs Try it with the evaluation, follows the run
chosen in the Runs list and brings it to the front from the evaluation's link."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.panels.try_it_lang import LanguagePage, TextPage
from tests.app.trained_runs import CORPUS, train_lm, train_run, train_template
from tests.app.try_panel import answered, shown_panel


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("try_lang")


@pytest.fixture(scope="module")
def sentiment_run(root) -> str:
    return str(train_template("sentiment_lstm", root / "sentiment", epochs=2, samples=600))


@pytest.fixture(scope="module")
def lm_run(root) -> str:
    corpus = root / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    return str(train_lm(corpus, root / "lm"))


@pytest.fixture(scope="module")
def translator_run(root) -> str:
    from tests.app.setup.lang_runs import translator_project

    return str(train_run(translator_project(), root / "translator"))


@pytest.fixture
def panel(qtbot):
    with shown_panel(qtbot) as p:
        yield p


def test_a_typed_text_gets_its_classes(qtbot, panel, sentiment_run):
    import torch

    from engine.train.inference import open_run

    panel.show_run(sentiment_run)
    assert panel.title.text().endswith("on sentiment: a text, 2 classes")
    page = panel.current_page()
    assert isinstance(page, TextPage) and not page.beam.isVisibleTo(page)
    text = "the battery is great and the screen is lovely"
    page.edit.setText(text)
    page.button.click()
    answered(qtbot, panel)
    # the model's own probabilities for the text, likeliest first
    loaded = open_run(sentiment_run)
    ids = loaded.bundle.tokenizer.encode_batch([text], int(loaded.bundle.input_shape[-1]))
    with torch.no_grad():
        probs = torch.softmax(loaded.task.forward(ids)[0], -1)
    bars = panel.output.bars.items
    assert [n for n, _ in bars] == [loaded.bundle.classes[i]
                                    for i in probs.argsort(descending=True).tolist()]
    assert [p for _, p in bars] == pytest.approx(sorted(probs.tolist(), reverse=True),
                                                 abs=1e-5)

    page.edit.clear()
    page.button.click()  # nothing typed: a sentence, not a question
    assert panel.error.text() == "type a text first"


def test_a_typed_date_is_translated_at_the_beam_width_chosen(qtbot, panel, translator_run,
                                                              monkeypatch):
    import app.panels.try_it as try_it
    from engine.project import load_project
    from engine.train.inference import open_run

    asked = []  # predict's options of each question (a wider beam may say the same)
    real = try_it.answer
    monkeypatch.setattr(try_it, "answer",
                        lambda *a, **options: asked.append(options) or real(*a, **options))
    panel.show_run(translator_run)
    page = panel.current_page()
    assert isinstance(page, TextPage) and page.button.text() == "Translate"
    assert page.beam.isVisibleTo(page) and page.beam.value() == 1  # the project's own
    page.edit.setText("3 March 2021")
    page.edit.returnPressed.emit()
    answered(qtbot, panel)
    task = open_run(translator_run).task
    assert panel.answer.result["output"] == task.translate(["3 March 2021"], 1)[0]
    first = panel.answer
    page.beam.box.setValue(3)  # answers the same text again
    qtbot.waitUntil(lambda: panel.answer is not first, timeout=60000)
    answered(qtbot, panel)
    assert panel.answer.result["output"] == task.translate(["3 March 2021"], 3)[0]
    assert panel.output.headline.text() == "Translation"
    assert panel.output.took.text().endswith("beam width 3")
    assert asked == [{"beam_width": 1}, {"beam_width": 3}]
    assert load_project(Path(translator_run) / "project.lforge").task.beam_width == 1


def test_a_language_model_continues_the_prompt(qtbot, panel, lm_run):
    panel.show_run(lm_run)
    page = panel.current_page()
    assert isinstance(page, LanguagePage)
    page.edit.setText("def ")
    page.length.setValue(12)
    page.temperature.setValue(0.0)
    page.button.click()
    answered(qtbot, panel)
    out = panel.output.text.text()
    assert not panel.error.isVisible()
    assert out.startswith("def ") and len(out) == len("def ") + 12


def test_the_window_tabs_try_it_with_the_evaluation_and_follows_the_chosen_run(
        qtbot, window, ws, sentiment_run):
    from PySide6.QtWidgets import QDockWidget

    dock = window.findChild(QDockWidget, "dock_try")
    assert dock is not None and dock.windowTitle() == "Try it"
    ws.perspectives.switch("evaluate")
    qtbot.waitUntil(lambda: dock.isVisible())
    evaluation = window.findChild(QDockWidget, "dock_evaluation")
    assert dock in window.tabifiedDockWidgets(evaluation)
    assert not evaluation.visibleRegion().isEmpty()  # the evaluation stays in front
    panel = ws.setup.try_panel
    ws.training._on_runs_selection_changed([sentiment_run])
    assert panel.run_dir == sentiment_run and isinstance(panel.current_page(), TextPage)
    # the evaluation's "Try your own text" line brings Try it to the front, ready to type
    evaluation_panel = ws.setup.evaluation_panel
    qtbot.waitUntil(lambda: evaluation_panel.result is not None, timeout=60000)
    evaluation.raise_()
    qtbot.waitUntil(lambda: dock.visibleRegion().isEmpty())
    evaluation_panel.text_samples.try_link.click()
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    assert evaluation.visibleRegion().isEmpty()
    assert panel.current_page().edit.hasFocus()
    ws.document.replace_project(ws.document.project.model_copy())  # another project
    assert panel.run_dir is None and panel.current_page() is None
