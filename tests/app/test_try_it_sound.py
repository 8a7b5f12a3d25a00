"""The Try it panel on real sound runs trained here (clips espeak-ng speaks; tiny models,
once per module): a WAV file gets its classes, or its transcript at the beam width
chosen, with its waveform, spectrogram and Play; a file that is not a clip says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.panels.try_it_lang import SoundPage
from tests.app.setup.lang_runs import sound_project, speech_project
from tests.app.trained_runs import train_run
from tests.app.try_panel import answered, shown_panel


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("try_sound")


@pytest.fixture(scope="module")
def sound_run(root) -> str:
    return str(train_run(sound_project(), root / "sound"))


@pytest.fixture(scope="module")
def speech_run(root) -> str:
    return str(train_run(speech_project(), root / "speech"))


@pytest.fixture
def panel(qtbot):
    with shown_panel(qtbot, height=620) as p:
        yield p


def _first_val_clip(run_dir: str):
    """The run's loaded model and its first validation clip (a float array)."""
    from engine.train.inference import open_run

    loaded = open_run(run_dir)
    return loaded, loaded.bundle.val.x[:1]


def test_a_wav_file_gets_its_classes_and_is_drawn_with_play(qtbot, panel, sound_run,
                                                            tmp_path, monkeypatch):
    import torch

    loaded, x = _first_val_clip(sound_run)
    # the clip as a stereo WAV file: the model hears what it heard in evaluation
    wav = tmp_path / "clip.wav"
    clip = x[0, 0].numpy()
    soundfile.write(str(wav), np.stack([clip] * 2, axis=1), 8000, subtype="FLOAT")
    panel.show_run(sound_run)
    assert panel.title.text().endswith("sound clips at 8000 Hz, 8 classes")
    page = panel.current_page()
    assert isinstance(page, SoundPage) and not page.beam.isVisibleTo(page)
    monkeypatch.setattr("app.panels.try_it_lang.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(wav), ""))
    page.button.click()
    answered(qtbot, panel)
    assert not panel.error.isVisible(), panel.error.text()
    with torch.no_grad():
        probs = torch.softmax(loaded.task.forward(x), -1)[0]
    want = probs.argsort(descending=True)[:5].tolist()
    bars = panel.output.bars.items
    assert [n for n, _ in bars] == [loaded.bundle.classes[i] for i in want]
    assert [p for _, p in bars] == pytest.approx(probs[want].tolist(), abs=1e-5)
    audio = panel.output.audio
    assert audio.isVisible() and audio.rate == 8000
    assert np.allclose(audio.clip, clip, atol=1e-6)
    assert audio.title_text() == "clip.wav, as the model hears it"
    assert audio.player.button.isEnabled()
    assert page.file.text() == str(wav)


def test_a_file_that_is_not_a_clip_shows_a_sentence(qtbot, panel, sound_run, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wave file at all")
    panel.show_run(sound_run)
    panel.ask(str(bad))
    answered(qtbot, panel)
    assert panel.error.isVisible()
    text = panel.error.text()
    assert text.startswith(str(bad)) and "libsndfile" in text and "Traceback" not in text
    assert panel.output.bars.items == [] and not panel.output.audio.isVisible()


def test_a_recording_is_transcribed_at_the_beam_width_chosen(qtbot, panel, speech_run,
                                                             tmp_path, monkeypatch):
    import app.panels.try_it as try_it
    from engine.project import load_project

    asked = []  # predict's options of each question (a poor model may say the same)
    real = try_it.answer
    monkeypatch.setattr(try_it, "answer",
                        lambda *a, **options: asked.append(options) or real(*a, **options))

    loaded, x = _first_val_clip(speech_run)
    wav = tmp_path / "digits.wav"
    soundfile.write(str(wav), x[0, 0].numpy(), 8000, subtype="FLOAT")
    panel.show_run(speech_run)
    page = panel.current_page()
    assert isinstance(page, SoundPage) and page.beam.isVisibleTo(page)
    assert page.beam.value() == 1  # the project's own
    panel.ask(str(wav))
    answered(qtbot, panel)
    assert not panel.error.isVisible(), panel.error.text()
    greedy = loaded.task.transcribe(x, 1)[0]
    assert panel.answer.result["output"] == greedy
    assert panel.output.text.text() == (greedy or "(nothing)")
    assert panel.output.headline.text() == "Transcript"
    assert panel.output.audio.isVisible() and panel.output.audio.clip.shape == (16000,)
    # a wider beam answers the same clip again, with the project left as it is
    first = panel.answer
    page.beam.box.setValue(4)
    qtbot.waitUntil(lambda: panel.answer is not first, timeout=60000)
    answered(qtbot, panel)
    assert panel.answer.result["input"] == str(wav)
    assert panel.answer.result["output"] == loaded.task.transcribe(x, 4)[0]
    assert asked == [{"beam_width": 1}, {"beam_width": 4}]
    assert load_project(Path(speech_run) / "project.lforge").task.beam_width == 1
