"""The dataset panel previews sound data: the clips with their labels or transcripts and
lengths, the class counts, the problems found, and the picked clip's waveform and
spectrogram with a Play button that plays and stops without a sound device."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from app.widgets.audio_player import NO_DEVICE, has_audio_output
from tests.app.setup.conftest import cells, load_preview, set_dataset, wait_idle

RATE = 16000
#: what Qt's multimedia backend says on a machine without sound (the tests' machine)
NO_SOUND_MESSAGES = (r"Couldn't (load|resolve) ", "PulseAudioService", "No audio device",
                     "Using Qt multimedia with FFmpeg")


@pytest.fixture
def panel(dataset_panel):
    return dataset_panel


def _tone(path, hz: float, seconds: float, rate: int = RATE, channels: int = 1) -> None:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * hz * t).astype(np.float32)
    sf.write(path, np.stack([wave] * channels, axis=1) if channels > 1 else wave, rate,
             subtype="PCM_16")


def _classes(root) -> None:
    """Two classes: "high" (two clips, one of them stereo at 44.1 kHz) and "low" (one
    clip and a file that is not a WAV)."""
    for name in ("high", "low"):
        (root / name).mkdir()
    _tone(root / "high" / "a.wav", 3000, 0.5)
    _tone(root / "high" / "b.wav", 2500, 0.8, rate=44100, channels=2)
    _tone(root / "low" / "c.wav", 200, 0.6)
    (root / "low" / "broken.wav").write_bytes(b"RIFF not really a wave")


def test_a_folder_of_classes_shows_clips_counts_plots_and_problems(panel, qtbot, tmp_path):
    _classes(tmp_path)
    set_dataset(panel, source="audio", path=str(tmp_path), val_fraction=0.34)
    load_preview(panel, qtbot)
    view = panel.view.audio
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert view.isVisibleTo(panel) and not panel.view.texts.isVisibleTo(panel)
    assert sorted(cells(view.clips, 0)) == ["high/a.wav", "high/b.wav", "low/c.wav"]
    assert sorted(cells(view.clips, 1)) == ["high", "high", "low"]
    assert "0.80" in cells(view.clips, 2)
    assert view.counts.items == [("high", 2), ("low", 1)]
    facts = view.facts.text()
    assert "Clips: 3" in facts and "Classes: 2" in facts
    assert "44,100 Hz (1)" in facts and "stereo (1)" in facts
    assert "Bad entries: 1" in facts
    assert view.problems.isVisibleTo(panel)
    assert "broken.wav" in view.problems.text.toPlainText()
    assert "loading stops at the first one" in view.problems.title.text()
    # the first clip is drawn at once, resampled to the project's rate
    first = view.clip
    assert first is not None and first.row == 0 and first.rate == RATE
    assert view.sound.wave.shown and view.sound.spectrogram.shown
    assert view.durations.isVisibleTo(panel)
    assert view.player.button.isEnabled()
    # the spectrogram of a tone is loudest at its frequency
    row = cells(view.clips, 0).index("low/c.wav")
    view.clips.setCurrentCell(row, 0)
    qtbot.waitUntil(lambda: view.clip is not None and view.clip.row == row, timeout=20000)
    clip = view.clip
    peak_hz = clip.db.mean(axis=1).argmax() * clip.top_hz / (clip.db.shape[0] - 1)
    assert abs(peak_hz - 200) < 60
    assert abs(clip.seconds - 0.6) < 0.01
    assert "low/c.wav: 0.60 s at 16,000 Hz" in view.sound.title.text()


@pytest.mark.qt_log_ignore(*NO_SOUND_MESSAGES)
def test_play_starts_and_stops_without_a_sound_device(panel, qtbot, tmp_path):
    _classes(tmp_path)
    set_dataset(panel, source="audio", path=str(tmp_path), bad_entries="skip")
    load_preview(panel, qtbot)
    player = panel.view.audio.player
    assert player.button.text() == "Play"
    player.button.click()
    qtbot.waitUntil(lambda: player.playing, timeout=10000)
    assert player.button.text() == "Stop"
    if not has_audio_output():
        assert player.note.text() == NO_DEVICE and player.note.isVisibleTo(panel)
    path = player._file
    assert sf.info(path).samplerate == RATE  # the clip as the model gets it
    player.button.click()
    qtbot.waitUntil(lambda: not player.playing, timeout=10000)
    assert player.button.text() == "Play"
    # played to the end, it comes back to Play on its own
    player.button.click()
    qtbot.waitUntil(lambda: player.playing, timeout=10000)
    qtbot.waitUntil(lambda: not player.playing, timeout=10000)
    assert player.button.text() == "Play"
    panel.shutdown()
    assert not player._file  # the temporary WAV is removed


def test_speech_clips_show_their_transcripts(panel, qtbot, tmp_path):
    for name, hz in (("one.wav", 300), ("two.wav", 500)):
        _tone(tmp_path / name, hz, 0.7)
    (tmp_path / "transcripts.csv").write_text("file,text\none.wav,Hello there\n"
                                              "two.wav,good bye\n", encoding="utf-8")
    set_dataset(panel, source="speech", path=str(tmp_path))
    load_preview(panel, qtbot)
    view = panel.view.audio
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert view.clips.horizontalHeaderItem(1).text() == "Transcript"
    assert sorted(cells(view.clips, 1)) == ["good bye", "hello there"]  # lowercased
    assert "Transcripts: " in view.facts.text() and "transcripts.csv" in view.facts.text()
    assert not view.counts.isVisibleTo(panel)  # no classes to count
    assert view.sound.wave.shown


def test_a_clip_spoilt_since_the_preview_is_said_when_picked(panel, qtbot, tmp_path):
    _classes(tmp_path)
    set_dataset(panel, source="audio", path=str(tmp_path), bad_entries="skip")
    load_preview(panel, qtbot)
    view = panel.view.audio
    row = cells(view.clips, 0).index("low/c.wav")
    (tmp_path / "low" / "c.wav").write_bytes(b"RIFF spoilt")
    view.clips.setCurrentCell(row, 0)
    wait_idle(qtbot, view.loader)
    assert view.clip_error.isVisibleTo(panel)
    assert "c.wav" in view.clip_error.text()


def test_a_missing_folder_is_said_in_a_sentence(panel, qtbot, tmp_path):
    set_dataset(panel, source="audio", path=str(tmp_path / "nowhere"))
    load_preview(panel, qtbot)
    assert panel.error.isVisibleTo(panel)
    assert "nowhere: no such folder" in panel.error.text()
    assert not panel.view.audio.isVisibleTo(panel)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng speaks the set")
def test_the_built_in_keywords_are_listed_by_class_and_one_clip_spoken(panel, qtbot):
    set_dataset(panel, source="builtin", name="keywords", samples=80)
    load_preview(panel, qtbot)
    view = panel.view.audio
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert len(view.counts.items) == 8 and sum(n for _, n in view.counts.items) == 80
    assert len(set(cells(view.clips, 1))) == 8  # every class in the list
    assert "Voices: " in view.facts.text()
    assert not view.durations.isVisibleTo(panel)  # every clip 1 s long: nothing to draw
    assert view.clip is not None and view.clip.rate == RATE
    assert np.abs(view.clip.wave).max() > 0.01  # a word was spoken
