"""The evaluation panel's text, sound, sequence-to-sequence and speech views, fed
hand-made evaluations whose outcomes were worked out by hand
(tests/app/setup/lang_evaluations.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.panels.evaluation_lang import FULL_ROLE
from app.widgets.audio_view import spectrogram
from tests.app.setup.lang_evaluations import (
    KEYWORDS,
    LONG,
    RATE,
    seq2seq_evaluation,
    sound_evaluation,
    speech_evaluation,
    text_evaluation,
)


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


def _visible(panel) -> set[str]:
    names = ("gallery", "text_samples", "sound_samples", "seq2seq", "speech", "matrix_box",
             "segmentation", "detection", "splitter")
    return {n for n in names if getattr(panel, n).isVisibleTo(panel)}


def test_text_classifier_lists_its_wrong_texts_most_confident_first(panel):
    panel.show_evaluation(text_evaluation())
    assert _visible(panel) == {"splitter", "matrix_box", "text_samples"}
    table = panel.text_samples.table
    assert table.positions() == [3, 1]
    assert table.texts(0) == ["not bad", "negative", "positive", "95.0%"]
    assert table.texts(1)[0] == LONG  # kept whole; the cell elides it, the tooltip has it
    assert LONG[-40:] in table.item(1, 0).toolTip()
    assert table.item(1, 3).data(FULL_ROLE) == pytest.approx(0.6)
    assert "Misclassified: 2 of 5" in panel.gallery_title.text()
    assert "5 texts" in panel.status.text()
    assert panel.text_samples.try_link.isVisibleTo(panel)
    assert panel.text_samples.try_link.text() == "Try your own text in the Try it tab"


def test_a_confusion_cell_lists_its_texts(panel):
    panel.show_evaluation(text_evaluation())
    assert panel.show_cell(1, 1) == [0, 4]
    assert panel.text_samples.table.positions() == [0, 4]
    assert panel.text_samples.table.texts(1)[:3] == ["very good screen", "positive", "positive"]


def test_sound_classifier_lists_wrong_clips_and_draws_the_chosen_one(panel, qtbot):
    r = sound_evaluation()
    panel.show_evaluation(r)
    assert _visible(panel) == {"splitter", "matrix_box", "sound_samples"}
    section = panel.sound_samples
    assert section.table.positions() == [2, 0]
    assert section.table.texts(0) == ["#2", "left", "no", "70.0%"]
    audio = section.audio
    assert np.array_equal(audio.clip, r.clips[2])  # the first row is chosen
    assert audio.rate == RATE and audio.player.button.isEnabled()
    assert audio.title_text() == "#2: true left, predicted no"
    section.table.selectRow(1)
    assert np.array_equal(audio.clip, r.clips[0])
    # the spectrogram's brightest band is the tone's frequency (200 Hz)
    db, _top, _hop = spectrogram(r.clips[0], RATE)
    hz = np.argmax(db.mean(axis=1)) * (RATE / 2) / (db.shape[0] - 1)
    assert abs(hz - 200) < 40
    assert audio.spectrogram.image.image.shape == db.shape
    assert panel.show_cell(3, 3) == [3]
    assert section.table.texts(0)[1:3] == [KEYWORDS[3], KEYWORDS[3]]


def test_seq2seq_shows_its_metrics_beam_and_wrong_outputs_first(panel):
    panel.show_evaluation(seq2seq_evaluation())
    assert _visible(panel) == {"seq2seq"}
    s = panel.seq2seq
    assert s.metrics.value("exact match", "Value") == pytest.approx(2 / 3)
    assert s.metrics.value("BLEU", "Value") == pytest.approx(81.5)
    assert s.metrics.value("ROUGE-L", "Value") == pytest.approx(0.9)
    assert s.beam.box.value() == 1
    assert s.table.positions() == [1, 0, 2]
    assert s.table.texts(0) == ["Wed 4 Mar 21", "2021-03-04", "2021-03-14", "no"]
    assert s.table.texts(2)[0] == LONG
    assert "3 of 600" in s.table_title.text() and "1 wrong" in s.table_title.text()
    assert "exact_match 0.6667" in panel.status.text()


def test_the_beam_box_evaluates_again_with_its_width(panel, qtbot):
    panel.run_dir = "run-s2s"
    panel.show_evaluation(seq2seq_evaluation())
    # what the background job would compute for width 3 (a real run: the runs tests)
    panel.results[("run-s2s", "val", 3)] = seq2seq_evaluation(beam=3)
    panel.seq2seq.beam.box.setValue(3)
    qtbot.waitUntil(lambda: panel.result.beam == 3, timeout=3000)
    assert panel.beam == 3
    assert "beam width 3" in panel.seq2seq.table_title.text()
    assert panel.seq2seq.beam.box.value() == 3


def test_speech_shows_cer_wer_transcripts_and_the_chosen_clip(panel):
    r = speech_evaluation()
    panel.show_evaluation(r)
    assert _visible(panel) == {"speech"}
    s = panel.speech
    assert s.metrics.value("CER (characters)", "Value") == pytest.approx(0.2)
    assert s.metrics.value("WER (words)", "Value") == pytest.approx(0.25)
    assert s.table.texts(1)[:2] == ["seven two", "seven"]
    assert s.table.item(1, 2).data(FULL_ROLE) == pytest.approx(4 / 9)
    assert np.array_equal(s.audio.clip, r.clips[0])
    s.table.selectRow(1)
    assert np.array_equal(s.audio.clip, r.clips[1])
    assert s.audio.title_text() == "#1: seven two"
    assert "2 clips" not in panel.status.text() and "400 clips" in panel.status.text()


def test_switching_kinds_leaves_nothing_of_the_previous_view(panel):
    panel.show_evaluation(speech_evaluation())
    panel.show_evaluation(text_evaluation())
    assert panel.speech.table.rowCount() == 0 and panel.speech.audio.clip is None
    panel.show_evaluation(sound_evaluation())
    assert panel.text_samples.table.rowCount() == 0
    panel.show_evaluation(seq2seq_evaluation())
    assert panel.sound_samples.table.rowCount() == 0 and panel.sound_samples.audio.clip is None
    panel.reset()
    assert panel.seq2seq.table.rowCount() == 0
    assert _visible(panel) == {"splitter"}


def test_each_language_view_links_to_the_try_it_tab(panel, qtbot):
    """Trying one's own text or clip is the Try it tab's: each view has one line that
    asks the window for it (the window raises the tab: tests/app/test_try_it_sound.py)."""
    for evaluation, section, what in ((text_evaluation(), "text_samples", "text"),
                                      (sound_evaluation(), "sound_samples", "clip"),
                                      (seq2seq_evaluation(), "seq2seq", "text"),
                                      (speech_evaluation(), "speech", "clip")):
        panel.show_evaluation(evaluation)
        link = getattr(panel, section).try_link
        assert link.isVisibleTo(panel) and f"your own {what}" in link.text()
        with qtbot.waitSignal(panel.try_requested, timeout=1000):
            link.click()
