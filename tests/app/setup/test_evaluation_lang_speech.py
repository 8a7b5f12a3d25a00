"""The evaluation panel on a real speech-to-text run (a small CTC model on a few dozen
generated spoken digits, one epoch, once per module): CER and WER are the run's, and the
chosen transcript's clip is drawn. (A WAV file is transcribed in the Try it tab:
tests/app/test_try_it_sound.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.app.setup.conftest import _train, wait_idle
from tests.app.setup.lang_runs import speech_project


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory):
    return _train(speech_project(), tmp_path_factory.mktemp("lang") / "speech")


def test_a_speech_run_shows_its_transcripts_and_the_chosen_clip(panel, qtbot, speech_run):
    panel.show_run(str(speech_run))
    wait_idle(qtbot, panel.jobs, timeout=120000)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    r = panel.result
    saved = json.loads((speech_run / "evaluation.json").read_text())["val"]
    s = panel.speech
    assert s.isVisibleTo(panel) and not panel.splitter.isVisibleTo(panel)
    assert s.metrics.value("CER (characters)", "Value") == pytest.approx(saved["cer"])
    assert s.metrics.value("WER (words)", "Value") == pytest.approx(saved["wer"])
    assert s.table.rowCount() == len(saved["samples"])
    assert s.table.texts(0)[:2] == [saved["samples"][0]["reference"],
                                   saved["samples"][0]["output"]]
    assert len(r.clips) == len(r.samples) and r.sample_rate
    assert np.array_equal(s.audio.clip, r.clips[0])  # the first row is chosen
    s.table.selectRow(1)
    assert np.array_equal(s.audio.clip, r.clips[1])
    assert s.try_link.isVisibleTo(panel)
