"""The evaluation panel on a real sequence-to-sequence run (the "translator" template on
a few hundred generated dates, one epoch, once per module): its samples and metrics are
the engine's, and the beam width box decodes the split again. (A typed date is translated
in the Try it tab: tests/app/test_try_it_lang.py.)"""

from __future__ import annotations

import json

import pytest

from engine.project import load_project
from tests.app.setup.conftest import _train, wait_idle
from tests.app.setup.lang_runs import translator_project


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory):
    return _train(translator_project(), tmp_path_factory.mktemp("lang") / "translator")


def _shown(panel, qtbot, run_dir) -> None:
    panel.show_run(str(run_dir))
    wait_idle(qtbot, panel.jobs, timeout=120000)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert panel.result is not None


def test_the_samples_and_metrics_are_the_runs(panel, qtbot, translator_run):
    _shown(panel, qtbot, translator_run)
    saved = json.loads((translator_run / "evaluation.json").read_text())["val"]
    s = panel.seq2seq
    assert s.isVisibleTo(panel) and not panel.splitter.isVisibleTo(panel)
    assert s.metrics.value("exact match", "Value") == pytest.approx(saved["exact_match"])
    assert s.metrics.value("BLEU", "Value") == pytest.approx(saved["bleu"])
    samples = saved["samples"]
    assert s.table.rowCount() == len(samples) == len(panel.result.samples)
    for row, i in enumerate(s.table.positions()[:10]):
        cells = s.table.texts(row)
        assert cells[:3] == [samples[i]["source"], samples[i]["reference"], samples[i]["output"]]
    assert s.beam.box.value() == 1


def test_the_beam_box_decodes_again_and_leaves_the_project_alone(panel, qtbot, translator_run):
    _shown(panel, qtbot, translator_run)
    before = panel.result
    panel.seq2seq.beam.box.setValue(3)
    qtbot.waitUntil(lambda: panel.result is not before and panel.result.beam == 3,
                    timeout=120000)
    r = panel.result
    assert r.beam_width == 3 and r.metrics["beam_width"] == 3
    assert "beam width 3" in panel.seq2seq.table_title.text()
    assert load_project(translator_run / "project.lforge").task.beam_width == 1
    # back to the run's own width: the first evaluation again, from the panel's cache
    panel.seq2seq.beam.box.setValue(1)
    qtbot.waitUntil(lambda: panel.result is before, timeout=5000)
    assert panel.beam is None and panel.seq2seq.beam.box.value() == 1
