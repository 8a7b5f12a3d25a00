"""`engine.train.predict`: the answers `layerforge predict` and the app's Try it tab gives, on
small real data sets and untrained models (what is checked is that the input is read as
the run's data was and that the answer is the model's, not that the model is good)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from engine.data import DataError, load_dataset
from engine.data.audio.wav import fit_length, read_clip
from engine.errors import UserError
from engine.project import DatasetSpec, Project, TaskSpec
from engine.tasks import task_class
from engine.train.fit import fit_project
from engine.train.inference import LoadedRun
from engine.train.predict import predict, predict_kind
from engine.train.rundir import RunDir
from engine.train.setup import build_models
from tests.engine.export.helpers import chain

RATE = 8000


def loaded(project: Project, tmp_path) -> LoadedRun:
    """The project as :func:`open_run` gives a run of it: data, fitted models, task."""
    bundle = load_dataset(project.dataset)
    fit_project(project, bundle)
    cls = task_class(project.task.kind)
    models = build_models(project, cls, 0, torch.device("cpu"), training=False)
    task = cls(project.task, bundle, models, torch.device("cpu"), lambda: torch.autocast(
        "cpu", enabled=False), 0)
    return LoadedRun(RunDir(tmp_path / "run"), project, bundle, task)


def tone(path, hz: float, seconds: float, rate: int = RATE, channels: int = 1) -> None:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * hz * t).astype(np.float32)
    soundfile.write(str(path), np.stack([wave] * channels, axis=1), rate, subtype="PCM_16")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> LoadedRun:
    g = chain({"shape": [16], "dtype": "long", "vocab": 0},
              [("embed", "Embedding", {"embedding_dim": 8, "padding": True}),
               ("pool", "SequencePool", {"mode": "mean"}),
               ("fc", "Linear", {"out_features": 2})])
    data = DatasetSpec(source="builtin", name="sentiment", samples=80, seq_len=16)
    return loaded(Project(name="t", graphs={"model": g}, dataset=data),
                  tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="module")
def sound_run(tmp_path_factory) -> LoadedRun:
    root = tmp_path_factory.mktemp("sound")
    for label, hz in (("high", 1200.0), ("low", 300.0), ("mid", 600.0)):
        (root / "clips" / label).mkdir(parents=True)
        for i in range(4):
            tone(root / "clips" / label / f"{i}.wav", hz + 10 * i, 0.4)
    g = chain({"shape": [1, 4000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 8}), ("flat", "Flatten", {}),
               ("fc", "Linear", {"out_features": 3})])
    data = DatasetSpec(source="audio", path=str(root / "clips"), sample_rate=RATE,
                       clip_seconds=0.5, val_fraction=0.25)
    return loaded(Project(name="s", graphs={"model": g}, dataset=data), root)


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory) -> LoadedRun:
    root = tmp_path_factory.mktemp("speech")
    (root / "clips").mkdir()
    for i, words in enumerate(["one two", "three", "two one", "four", "one", "three four"]):
        tone(root / "clips" / f"{i}.wav", 300.0 + 100 * i, 0.5)
        (root / "clips" / f"{i}.txt").write_text(words)
    g = chain({"shape": [1, 8000], "dtype": "float", "vocab": 0},
              [("mel", "LogMel", {"n_mels": 8, "hop_length": 160}),
               ("flat", "Reshape", {"shape": [8, -1]}),
               ("perm", "Permute", {"dims": [1, 0]}),
               ("fc", "Linear", {"out_features": 4, "per_position": True})])
    data = DatasetSpec(source="speech", path=str(root / "clips"), sample_rate=RATE,
                       clip_seconds=1.0, val_fraction=0.34)
    return loaded(Project(name="sp", graphs={"model": g}, task=TaskSpec(kind="speech"),
                          dataset=data), root)


def test_the_kinds_predict_covers():
    assert predict_kind("classification", "tokens") == "text"
    assert predict_kind("classification", "audio") == "sound"
    assert predict_kind("seq2seq", "tokens") == "seq2seq"
    assert predict_kind("speech", "audio") == "speech"
    assert predict_kind("classification", "image") == "image"
    assert predict_kind("classification", "vector") == "vector"
    assert predict_kind("regression", "sequence") == "regression"
    assert predict_kind("language_model", "tokens") == "language"
    assert predict_kind("detection", "image") == "detection"
    assert predict_kind("gan", "image") == predict_kind("autoencoder", "image") == ""


def test_text_classes_are_the_models_softmax_in_order_for_each_text(text_run):
    texts = ["a truly great lamp", "not good at all", "terrible"]
    answers = predict(text_run, texts, top=2)
    assert [a["input"] for a in answers] == texts
    ids = text_run.bundle.tokenizer.encode_batch(texts, 16)
    with torch.no_grad():
        probs = text_run.task.forward(ids).softmax(-1)
    for answer, p in zip(answers, probs, strict=True):
        order = p.argsort(descending=True).tolist()
        assert [c["class"] for c in answer["top"]] == [text_run.bundle.classes[i] for i in order]
        assert [c["probability"] for c in answer["top"]] == pytest.approx(p[order].tolist(),
                                                                          abs=1e-6)
    assert len(predict(text_run, texts[:1], top=1)[0]["top"]) == 1
    assert predict(text_run, []) == []


def test_a_sound_clip_is_read_at_the_runs_rate_and_length(sound_run, tmp_path):
    wav = tmp_path / "stereo.wav"
    tone(wav, 600.0, 0.3, rate=16000, channels=2)  # another rate, stereo, shorter
    answer = predict(sound_run, [wav])[0]
    want = fit_length(read_clip(wav, RATE), 4000, "center")
    assert answer["input"] == str(wav) and np.array_equal(answer["clip"], want)
    with torch.no_grad():
        probs = sound_run.task.forward(torch.from_numpy(want).reshape(1, 1, -1)).softmax(-1)[0]
    assert len(answer["top"]) == 3  # fewer classes than the default five
    assert answer["top"][0]["class"] == sound_run.bundle.classes[int(probs.argmax())]
    assert sum(c["probability"] for c in answer["top"]) == pytest.approx(1.0, abs=1e-5)


def test_a_file_that_is_not_a_wav_is_a_sentence_naming_it(sound_run, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wave file")
    with pytest.raises(DataError, match=f"^{bad}: "):
        predict(sound_run, [bad])


def test_a_speech_clip_is_transcribed_and_one_too_long_is_refused(speech_run, tmp_path):
    wav = tmp_path / "short.wav"
    tone(wav, 500.0, 0.6)
    answer = predict(speech_run, [wav], beam_width=2)[0]
    clip = fit_length(read_clip(wav, RATE), 8000, "end")
    assert np.array_equal(answer["clip"], clip) and not clip[-1000:].any()  # padded at the end
    want = speech_run.task.transcribe(torch.from_numpy(clip).reshape(1, 1, -1), 2)[0]
    assert answer["output"] == want
    long = tmp_path / "long.wav"
    tone(long, 500.0, 1.5)
    with pytest.raises(DataError, match=r"long.wav: is 1.50 s long, but the model reads at most "
                                        r"1.00 s"):
        predict(speech_run, [long])


def test_a_seq2seq_run_translates_with_the_beam_asked_for_or_its_own(tmp_path):
    from engine.templates import load_template

    project = load_template("translator")
    project.dataset = project.dataset.model_copy(update={"samples": 60})
    project.task = project.task.model_copy(update={"beam_width": 2})
    run = loaded(project, tmp_path)
    texts = ["3 March 2021", "12/01/2020"]
    answers = predict(run, texts)
    assert [a["input"] for a in answers] == texts
    assert [a["output"] for a in answers] == run.task.translate(texts, 2)
    assert predict(run, texts[:1], beam_width=1)[0]["output"] == run.task.translate(texts[:1], 1)[0]


def test_runs_that_take_no_input_get_a_sentence(tmp_path):
    from engine.templates import load_template

    project = load_template("autoencoder")
    project.dataset = project.dataset.model_copy(update={"samples": 60})
    run = loaded(project, tmp_path)
    with pytest.raises(UserError, match="an autoencoder run on image data takes no input to "
                                        "try; predictions are made for classification, "):
        predict(run, ["1 2"])
