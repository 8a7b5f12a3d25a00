"""The standalone runtime on text and sound: a text classifier, a seq2seq pair, a keyword
model and a speech (CTC) model (stand-in runs with perturbed weights, as the export tests
write them) answer what the PyTorch modules and LayerForge's decoders answer."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.data.texts.tokenizer import TextTokenizer
from engine.deploy.folder import model_folder
from engine.deploy.runtime import BadInput, Predictor, Unsupported
from engine.export.common import build_module, load_source
from engine.export.text_check import greedy_reference
from engine.project import DatasetSpec, Project, TaskSpec
from engine.tasks.ctc_decode import greedy_decode
from tests.engine.export.helpers import chain
from tests.engine.export.test_export_text import classifier_run, seq2seq_run
from tests.engine.export.test_export_text_audio import LENGTH, RATE, _write_run, sound_run

SPEECH_VOCAB = ["_", "a", "b", "c", "d"]


def _folder(root, run):
    (root / "folder").mkdir()
    model_folder(run, root / "folder")
    return Predictor(root / "folder")


def speech_run(folder):
    """[1, 800] samples -> 100 frames of 8 -> scores over blank + 4 characters."""
    graph = chain({"shape": [1, LENGTH]},
                  [("frames", "Reshape", {"shape": [100, 8]}),
                   ("head", "Linear", {"out_features": len(SPEECH_VOCAB)})])
    project = Project(name="speech", graphs={"model": graph}, task=TaskSpec(kind="speech"),
                      dataset=DatasetSpec(source="speech", path=str(folder.parent / "gone")))
    data = {"version": 1, "source": "speech:gone", "kind": "audio", "input_shape": [1, LENGTH],
            "input_dtype": "float", "target": "transcript", "normalize_axis": "feature",
            "mean": None, "std": None, "classes": None, "vocab": None,
            "target_vocab": SPEECH_VOCAB, "sample_rate": RATE}
    return _write_run(folder, project, data)


def _wav(clip: np.ndarray, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, clip, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def test_text_classifier_reads_text_as_training_did(tmp_path):
    run = classifier_run(tmp_path / "run")
    predictor = _folder(tmp_path, run)
    src = load_source(run)
    texts = ["the film was great", "zqxj unseen ÄÖÜ", "a very long text " * 20]
    ids = TextTokenizer.from_json(src.data["tokenizer"]).encode_batch(texts, 12)
    with torch.no_grad():
        ref = torch.softmax(build_module(src)(ids), -1).numpy()
    answer = predictor.predict_json({"texts": texts, "top": 2})
    for row, p in zip(ref, answer["predictions"], strict=True):
        got = {e["class"]: e["probability"] for e in p["top"]}
        assert got == pytest.approx(dict(zip(["negative", "positive"], row.tolist(),
                                             strict=True)), abs=1e-5)
    # token ids given directly answer the same
    by_ids = predictor.predict_json({"inputs": ids.tolist(), "top": 2})
    assert by_ids["predictions"][0]["class"] == answer["predictions"][0]["class"]
    with pytest.raises(BadInput, match="text 2 is empty"):
        predictor.predict_json({"texts": ["fine", "   "]})
    with pytest.raises(BadInput, match="text 1 must be a string"):
        predictor.predict_json({"text": 12})
    with pytest.raises(Unsupported, match="takes JSON, not a file"):
        predictor.predict_file(b"abc", "a.txt", "text/plain", {})


def test_seq2seq_decodes_greedily_as_pytorch(tmp_path):
    run = seq2seq_run(tmp_path)
    predictor = _folder(tmp_path, run)
    assert sorted(predictor.deploy["models"].values()) == ["decoder.onnx", "encoder.onnx"]
    enc, dec = load_source(run, "encoder"), load_source(run, "decoder")
    tok = TextTokenizer.from_json(enc.data["tokenizer"])
    texts = ["2021-03-04", "1999-12-31", "hello"]
    ids = tok.encode_batch(texts, 12)
    with torch.no_grad():
        ref, _ = greedy_reference(build_module(enc), build_module(dec), ids,
                                  predictor.deploy["generation"]["max_length"],
                                  predictor.deploy["generation"]["decoder_inputs"])
    expected = [tok.decode([int(v) for v in row if v >= 0]) for row in ref]
    answer = predictor.predict_json({"texts": texts})
    assert [p["output"] for p in answer["predictions"]] == expected


def test_sound_clips_are_fitted_as_training_fitted_them(tmp_path):
    run = sound_run(tmp_path / "run")
    predictor = _folder(tmp_path, run)
    module = build_module(load_source(run))
    clip = np.sin(np.arange(500) / 3).astype(np.float32) * 0.3  # shorter: centred
    fitted = np.zeros(LENGTH, np.float32)
    fitted[150:650] = clip
    with torch.no_grad():
        ref = torch.softmax(module(torch.from_numpy(fitted)[None, None]), -1)[0].numpy()
    for answer in (predictor.predict_file(_wav(clip), "go.wav", "audio/wav", {"top": 3}),
                   predictor.predict_json({"input": clip.tolist(), "top": 3})):
        got = {e["class"]: e["probability"] for e in answer["predictions"][0]["top"]}
        assert got == pytest.approx(dict(zip(["go", "no", "yes"], ref.tolist(), strict=True)),
                                    abs=1e-5)
    # a clip at another rate is resampled to the run's
    doubled = predictor.predict_file(_wav(np.repeat(clip, 2), 2 * RATE), "a.wav", None, {})
    assert doubled["predictions"][0]["class"] in ("go", "no", "yes")
    with pytest.raises(BadInput, match="not a sound file"):
        predictor.predict_file(b"RIFF....WAVEjunk", "bad.wav", "audio/wav", {})
    with pytest.raises(Unsupported, match="takes a WAV or FLAC clip"):
        predictor.predict_file(b"\x89PNG", "x.png", "image/png", {})


def test_speech_is_ctc_greedy_and_refuses_a_clip_too_long(tmp_path):
    run = speech_run(tmp_path / "run")
    predictor = _folder(tmp_path, run)
    assert predictor.deploy["task"] == "speech"
    clips = np.random.default_rng(0).standard_normal((3, LENGTH)).astype(np.float32) * 0.5
    with torch.no_grad():
        scores = build_module(load_source(run))(torch.from_numpy(clips)[:, None])
    expected = ["".join(SPEECH_VOCAB[i] for i in ids) for ids in greedy_decode(scores)]
    answer = predictor.predict_json({"inputs": clips.tolist()})
    assert [p["output"] for p in answer["predictions"]] == expected
    assert any(expected)
    short = predictor.predict_file(_wav(clips[0, :600]), "a.wav", "audio/wav", {})
    padded = np.zeros(LENGTH, np.float32)
    padded[:600] = clips[0, :600]  # speech is padded at the end
    assert short == predictor.predict_json({"input": padded.tolist()})
    with pytest.raises(BadInput, match="this speech model takes clips of at most 0.10 s"):
        predictor.predict_file(_wav(np.zeros(LENGTH + 1, np.float32)), "long.wav", None, {})
    info = predictor.info()
    assert info["sample_rate"] == RATE and info["examples"][0] == {
        "multipart": {"file": "a WAV or FLAC clip"}}
    assert json.loads((tmp_path / "folder" / "deploy.json").read_text())["generation"][
        "vocab"] == SPEECH_VOCAB
