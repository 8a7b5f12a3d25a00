"""The evaluation panel on real language and sound runs trained by the engine (tiny ones,
once per module): the right view fills in from the run folder, Try asks the trained model,
and a run of another kind leaves nothing behind."""

from __future__ import annotations

import numpy as np
import pytest

from engine.project import DatasetSpec, Project
from tests.app.setup.conftest import _train, wait_idle
from tests.engine.export.helpers import chain


@pytest.fixture
def panel(evaluation_panel):
    return evaluation_panel


def _project(name: str, graph, dataset: DatasetSpec) -> Project:
    p = Project(name=name, graphs={"model": graph}, dataset=dataset)
    p.training = p.training.model_copy(update={"epochs": 2, "threads": 1})
    return p


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """Embedding -> mean over the sequence -> Linear on 400 generated reviews."""
    g = chain({"shape": [32], "dtype": "long", "vocab": 0},
              [("embed", "Embedding", {"embedding_dim": 16, "padding": True}),
               ("pool", "SequencePool", {"mode": "mean"}),
               ("fc", "Linear", {"out_features": 2})])
    data = DatasetSpec(source="builtin", name="sentiment", samples=400, seq_len=32)
    return _train(_project("sentiment", g, data), tmp_path_factory.mktemp("lang") / "text")


@pytest.fixture(scope="module")
def sound_run(tmp_path_factory):
    """Log-mel -> Linear on 96 spoken keywords at 8 kHz (espeak-ng)."""
    g = chain({"shape": [1, 8000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 20}), ("flat", "Flatten", {}),
               ("fc", "Linear", {"out_features": 8})])
    data = DatasetSpec(source="builtin", name="keywords", samples=96, sample_rate=8000)
    return _train(_project("keywords", g, data), tmp_path_factory.mktemp("lang") / "sound")


def _shown(panel, qtbot, run_dir) -> None:
    panel.show_run(str(run_dir))
    wait_idle(qtbot, panel.jobs)
    assert not panel.error.isVisibleTo(panel), panel.error.text()
    assert panel.result is not None


def _ask(qtbot, box, text: str):
    with qtbot.waitSignal(box.answered, timeout=20000) as got:
        box.ask(text)
    return got.args[0]


def test_a_text_run_lists_its_wrong_texts_and_answers_typed_text(panel, qtbot, text_run):
    import torch

    from engine.train.inference import open_run

    _shown(panel, qtbot, text_run)
    r = panel.result
    loaded = open_run(text_run)
    assert r.texts == loaded.bundle.texts["val"]
    section = panel.text_samples
    assert section.isVisibleTo(panel) and not panel.gallery.isVisibleTo(panel)
    wrong = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=True)) if t != p]
    assert sorted(section.table.positions()) == wrong
    for row, i in enumerate(section.table.positions()[:5]):
        assert section.table.texts(row)[:3] == [r.texts[i], r.classes[r.true[i]],
                                               r.classes[r.pred[i]]]
    text = "i really love this lamp, it is wonderful."
    answer = _ask(qtbot, section.try_box, text)
    ids = loaded.bundle.tokenizer.encode_batch([text], 32)
    with torch.no_grad():
        probs = torch.softmax(loaded.task.forward(ids)[0], -1)
    assert [name for name, _ in answer] == [loaded.bundle.classes[i]
                                            for i in probs.argsort(descending=True).tolist()]
    assert [p for _, p in answer] == pytest.approx(sorted(probs.tolist(), reverse=True),
                                                   abs=1e-5)
    assert section.try_box.top.rowCount() == 2


def test_a_sound_run_plays_its_wrong_clips_and_classifies_a_wav(panel, qtbot, sound_run,
                                                                tmp_path):
    import soundfile

    _shown(panel, qtbot, sound_run)
    r = panel.result
    section = panel.sound_samples
    assert section.isVisibleTo(panel) and r.sample_rate == 8000
    assert len(r.clips) == len(r.true) and r.clips[0].shape == (8000,)
    wrong = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=True)) if t != p]
    assert sorted(section.table.positions()) == wrong
    if wrong:
        first = section.table.positions()[0]
        assert np.array_equal(section.audio.clip, r.clips[first])
    # a validation clip as a stereo WAV: the model hears what it heard in evaluation
    wav = tmp_path / "clip.wav"
    i = 0
    soundfile.write(str(wav), np.stack([r.clips[i]] * 2, axis=1), 8000, subtype="FLOAT")
    answer = _ask(qtbot, section.try_box, str(wav))
    assert len(answer) == 5
    assert sum(p for _, p in answer) <= 1.0 + 1e-6
    assert answer[0][0] == r.classes[r.pred[i]]
    assert section.audio.clip.shape == (8000,) and section.audio.title_text() == "Tried: clip.wav"


def test_a_wav_that_is_not_one_says_so(panel, qtbot, sound_run, tmp_path):
    _shown(panel, qtbot, sound_run)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wave file at all")
    box = panel.sound_samples.try_box
    box.ask(str(bad))
    qtbot.waitUntil(lambda: box.error.isVisibleTo(box), timeout=20000)
    assert box.error.text().startswith(str(bad)) and "libsndfile" in box.error.text()


def test_switching_to_a_run_of_another_kind_clears_the_view(panel, qtbot, text_run, sound_run):
    _shown(panel, qtbot, sound_run)
    assert panel.sound_samples.isVisibleTo(panel)
    panel.show_run(str(text_run))
    # while the text run is evaluated, nothing of the sound run shows (nor answers Try)
    assert panel.result is None and not panel.sound_samples.isVisibleTo(panel)
    assert not panel.sound_samples.try_box.isEnabled()
    _shown(panel, qtbot, text_run)
    assert not panel.sound_samples.isVisibleTo(panel)
    assert panel.sound_samples.table.rowCount() == 0
    assert panel.sound_samples.audio.clip is None
    assert not panel.sound_samples.try_box.isEnabled()
    assert panel.text_samples.try_box.isEnabled()
