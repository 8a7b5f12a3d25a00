"""The learning-rate finder dialog: it runs in the background on the document's project,
shows the curve and the suggestion, "Use this rate" is one undo step, Stop keeps the
partial curve, failures are sentences; the panel's "Find…" asks for it."""

from __future__ import annotations

import math

import pytest

from app.dialogs.lr_finder import LRFinderDialog
from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from engine.templates import load_template
from engine.train.overrides import apply_overrides

FAST = {"dataset.samples": 1000, "training.device": "cpu", "training.threads": 1}


def _document(template: str = "mlp", **settings) -> GraphDocument:
    return GraphDocument(apply_overrides(load_template(template), FAST | settings))


@pytest.fixture
def dialog(qtbot):
    d = LRFinderDialog(_document())
    d.steps.setValue(80)
    qtbot.addWidget(d)
    yield d
    d.wait()


def _finish(qtbot, dialog: LRFinderDialog) -> None:
    dialog.start()
    assert dialog.running
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)


def test_runs_in_the_background_and_shows_the_curve_and_the_mark(qtbot, dialog) -> None:
    dialog.show()
    _finish(qtbot, dialog)
    found = dialog.found
    assert found is not None and found.suggestion is not None, dialog.status.text()
    # the live curve followed the job's reports, up to its last step
    assert dialog.live[0] and len(dialog.live[0]) <= 80
    assert dialog.live[0][-1] == pytest.approx(found.lrs[-1])
    xs, ys = dialog.curve.getData()  # pyqtgraph keeps log10 of x in log mode
    assert len(xs) == len(found.lrs)
    assert ys.tolist() == pytest.approx(found.losses)
    assert dialog.mark_line.isVisible()
    assert dialog.mark_line.value() == pytest.approx(math.log10(found.suggestion))
    assert f"{found.suggestion:.3g}" in dialog.mark_line.label.format
    assert dialog.use_button.isEnabled() and not dialog.progress.isVisible()
    assert dialog.status.text() == found.message


def test_use_this_rate_is_one_undo_step(qtbot, dialog) -> None:
    doc = dialog.document
    doc.set_field("training", "lr", 0.005)  # typed just before: a step of its own
    count = doc.undo_stack.count()
    _finish(qtbot, dialog)
    dialog.use_button.click()
    rate = float(f"{dialog.found.suggestion:.3g}")
    assert doc.project.training.lr == rate
    assert doc.undo_stack.count() == count + 1
    assert not dialog.isVisible() and dialog.result() == LRFinderDialog.DialogCode.Accepted
    doc.undo()
    assert doc.project.training.lr == 0.005
    doc.redo()
    assert doc.project.training.lr == rate


def test_stop_keeps_the_partial_curve_without_a_suggestion(qtbot, dialog) -> None:
    dialog.steps.setValue(5000)
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.live[0]) >= 3, timeout=60_000)
    dialog.run_button.click()  # "Stop"
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert dialog.found.suggestion is None and "Stopped after" in dialog.found.message
    assert len(dialog.found.lrs) < 5000
    assert not dialog.use_button.isEnabled() and not dialog.mark_line.isVisible()
    assert dialog.run_button.text() == "Run again"


def test_a_gan_gets_a_sentence_not_a_traceback(qtbot) -> None:
    d = LRFinderDialog(_document("dcgan", **{"dataset.samples": 200}))
    qtbot.addWidget(d)
    _finish(qtbot, d)
    text = d.status.text()
    assert "one optimizer" in text and "Traceback" not in text
    assert d.status.property("role") == "error" and not d.use_button.isEnabled()
    d.wait()


def test_the_panel_asks_for_the_finder_and_shows_stats_every(qtbot) -> None:
    doc = _document()
    panel = HyperparamsPanel(doc)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.lr_find_requested, timeout=1000):
        panel.lr_row.find_button.click()
    stats = panel.widgets[("training", "stats_every")]
    assert stats.value() == doc.project.training.stats_every
    assert "health" in stats.toolTip() and "0 turns it off" in stats.toolTip()
    stats.setValue(0)
    assert doc.project.training.stats_every == 0
    assert stats.text() == "off"
    doc.undo()
    assert stats.value() == 50
    panel.shutdown()


def test_a_range_the_ramp_cannot_use_is_a_sentence(qtbot, dialog) -> None:
    dialog.start_lr.setText("1")
    dialog.end_lr.setText("0.1")
    _finish(qtbot, dialog)
    assert "the start must be above 0 and below the end" in dialog.status.text()
    assert dialog.found is None and not dialog.use_button.isEnabled()


def test_closing_while_it_runs_stops_the_job(qtbot, dialog) -> None:
    dialog.steps.setValue(5000)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.live[0]) >= 3, timeout=60_000)
    dialog.reject()
    assert not dialog.running and not dialog.isVisible()


def test_find_in_the_window_opens_one_finder_on_the_open_project(qtbot, window, ws) -> None:
    """The panel's "Find…" in the real window opens the finder dialog on the project shown
    (pressed again, the same dialog comes forward); closing the window stops it."""
    panel = ws.setup.hyperparams_panel
    panel.lr_row.find_button.click()
    qtbot.waitUntil(lambda: ws.setup._lr_finder is not None)
    finder = ws.setup._lr_finder
    assert isinstance(finder, LRFinderDialog) and finder.isVisible()
    assert finder.document is ws.document
    panel.lr_row.find_button.click()
    assert ws.setup._lr_finder is finder
    finder.wait()
    finder.close()
    qtbot.waitUntil(lambda: ws.setup._lr_finder is None)
