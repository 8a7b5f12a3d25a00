"""The evaluation panel on a real speech-to-text run (a small CTC model on a few dozen
generated spoken digits, one epoch, once per module): CER and WER are the run's, the
chosen transcript's clip is drawn, and Try transcribes a WAV file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.app.setup.conftest import _train, wait_idle


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory):
    """Log-mel -> frames x mels -> bidirectional GRU -> Linear per frame (CTC), on 60
    spoken digit strings at 8 kHz (espeak-ng), one epoch: a poor model, a real run."""
    from engine.project import DatasetSpec, Project, TaskSpec
    from tests.engine.export.helpers import chain

    g = chain({"shape": [1, 16000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 20, "hop_length": 160}),
               ("flat", "Reshape", {"shape": [20, -1]}),
               ("perm", "Permute", {"dims": [1, 0]}),
               ("gru", "GRU", {"hidden_size": 32, "bidirectional": True}),
               ("fc", "Linear", {"out_features": 16, "per_position": True})])
    data = DatasetSpec(source="builtin", name="spoken_digits", samples=60, sample_rate=8000,
                       clip_seconds=2.0)
    p = Project(name="speech", graphs={"model": g}, task=TaskSpec(kind="speech"), dataset=data)
    p.training = p.training.model_copy(update={"epochs": 1, "threads": 1})
    return _train(p, tmp_path_factory.mktemp("lang") / "speech")


def test_a_speech_run_shows_its_transcripts_and_transcribes_a_wav(panel, qtbot, speech_run,
                                                                  tmp_path):
    import soundfile

    from engine.train.inference import open_run

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
    wav = tmp_path / "digits.wav"
    soundfile.write(str(wav), r.clips[0], r.sample_rate, subtype="FLOAT")
    with qtbot.waitSignal(s.try_box.answered, timeout=30000) as got:
        s.try_box.ask(str(wav))
    loaded = open_run(speech_run)
    want = loaded.task.transcribe(loaded.bundle.val.x[:1], r.beam_width)[0]
    assert got.args[0] == want
    assert s.audio.title_text() == "Tried: digits.wav"
