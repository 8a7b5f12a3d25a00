"""The Try it panel on real text runs trained here: a text classifier answers a typed text
with its classes, a language model continues a prompt, and the real window tabs Try it
with the evaluation and follows the run chosen in the Runs list."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from app.panels.try_it import TryItPanel
from app.panels.try_it_inputs import LanguagePage, TextPage

#: the template samples from "def " while it trains: the corpus holds those characters
CORPUS = "def add(a, b):\n    return a + b\n\nclass Point:\n    x = 0\n    y = 0\n\n" * 30


def _train(project, run_dir: Path) -> str:
    from engine.data import load_dataset
    from engine.train import RunDir, fit_project, record, train
    from engine.train.events import Finished

    bundle = load_dataset(project.dataset)
    fit_project(project, bundle)
    events = list(record(train(project, run_dir, bundle=bundle), RunDir(run_dir)))
    assert isinstance(events[-1], Finished), events[-1]
    return str(run_dir)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("try_lang")


@pytest.fixture(scope="module")
def sentiment_run(root) -> str:
    from engine.templates import load_template

    p = load_template("sentiment_lstm")
    p.dataset = p.dataset.model_copy(update={"samples": 600})
    p.training = p.training.model_copy(update={"epochs": 2, "threads": 1})
    return _train(p, root / "sentiment")


@pytest.fixture(scope="module")
def lm_run(root) -> str:
    from engine.project import DatasetSpec
    from engine.templates import load_template

    corpus = root / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    p = load_template("charlstm")
    p.dataset = DatasetSpec(source="text", path=str(corpus), seq_len=16, val_fraction=0.1)
    p.training = p.training.model_copy(update={"epochs": 1, "threads": 1})
    return _train(p, root / "lm")


@pytest.fixture
def panel(qtbot):
    p = TryItPanel()
    qtbot.addWidget(p)
    p.resize(1000, 520)
    p.show()
    yield p
    p.shutdown()
    QGuiApplication.clipboard().clear()


def answered(qtbot, panel: TryItPanel) -> None:
    qtbot.waitUntil(lambda: not panel.jobs.busy and panel._pending is None, timeout=60000)


def test_a_typed_text_gets_its_classes(qtbot, panel, sentiment_run):
    panel.show_run(sentiment_run)
    assert panel.title.text().endswith("on sentiment: a text, 2 classes")
    page = panel.current_page()
    assert isinstance(page, TextPage)
    page.edit.setText("the battery is great and the screen is lovely")
    page.button.click()
    answered(qtbot, panel)
    bars = panel.output.bars.items
    assert {n for n, _ in bars} == {"negative", "positive"}
    assert sum(p for _, p in bars) == pytest.approx(1.0, abs=1e-4)

    page.edit.clear()
    page.button.click()  # nothing typed: a sentence, not a question
    assert panel.error.text() == "type a text first"


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
    ws.document.replace_project(ws.document.project.model_copy())  # another project
    assert panel.run_dir is None and panel.current_page() is None
