"""The built-in spoken sets (espeak-ng, installed by packaging/system-deps.sh) and the
waveform augmentation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from engine.data.audio import clip_for_view, preview
from engine.data.audio import speak as speak_module
from engine.data.audio.augment import WaveAugment
from engine.data.audio.sets import DIGIT_WORDS, KEYWORD_CLASSES
from engine.data.core import DataError
from engine.data.facts import facts_of, quick_facts
from engine.data.loader import load_dataset
from engine.project import DatasetSpec


def spec(name: str, **kw) -> DatasetSpec:
    return DatasetSpec(name=name, samples=kw.pop("samples", 24), val_fraction=0.25, **kw)


def voiced_seconds(clip: np.ndarray, rate: int) -> float:
    """How long the clip is loud (10 ms frames above a fifth of the loudest frame)."""
    frames = clip[: len(clip) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt((frames**2).mean(axis=1))
    return float((energy > 0.2 * energy.max()).sum() * 160 / rate)


def test_keywords_are_labelled_words_spoken_differently_each_time(tmp_path) -> None:
    bundle = load_dataset(spec("keywords"), cache_dir=tmp_path)
    assert bundle.classes == list(KEYWORD_CLASSES) and bundle.target == "class"
    assert bundle.input_shape == (1, 16000) and bundle.sample_rate == 16000
    x = torch.cat([bundle.train.x, bundle.val.x])[:, 0].numpy()
    y = torch.cat([bundle.train.y, bundle.val.y]).tolist()
    assert sorted(y) == sorted(list(range(8)) * 3)  # balanced
    assert (np.abs(x).max(axis=1) > 0.05).all() and np.abs(x).max() <= 1.0
    # the same word is never the same recording: voices, speeds, offsets and noise differ
    for k in range(8):
        same = x[[i for i, label in enumerate(y) if label == k]]
        corr = np.corrcoef(same)
        assert (np.abs(corr[np.triu_indices(len(same), 1)]) < 0.9).all()
    assert bundle.summary["voices"] == 24
    assert quick_facts(spec("keywords")) == facts_of(bundle)


def test_spoken_digits_transcripts_match_the_speech(tmp_path) -> None:
    s = spec("spoken_digits", samples=32)
    bundle = load_dataset(s, cache_dir=tmp_path)
    assert bundle.target == "transcript" and bundle.input_shape == (1, 32000)  # 2 s by default
    vocab = bundle.target_vocab
    for y, text in zip(bundle.train.y, bundle.target_texts["train"], strict=True):
        assert "".join(vocab[i] for i in y[y >= 0].tolist()) == text
        assert all(w in DIGIT_WORDS for w in text.split()) and 1 <= len(text.split()) <= 4
    # more words take longer to say: the transcript is what the clip says
    words = np.array([len(t.split()) for t in bundle.target_texts["train"]])
    voiced = np.array([voiced_seconds(c[0].numpy(), 16000) for c in bundle.train.x])
    assert np.corrcoef(words, voiced)[0, 1] > 0.6
    assert quick_facts(s) == facts_of(bundle)


def test_a_generated_set_is_cached_and_read_back_without_espeak(tmp_path, monkeypatch) -> None:
    first = load_dataset(spec("keywords", samples=16), cache_dir=tmp_path)
    (cached,) = (tmp_path / "speech").glob("keywords-n16-*.npz")
    assert not list((tmp_path / "speech").glob(".part-*"))  # written atomically
    monkeypatch.setattr(speak_module, "render", lambda *a, **k: pytest.fail("generated again"))
    again = load_dataset(spec("keywords", samples=16), cache_dir=tmp_path)
    assert torch.equal(first.train.x, again.train.x) and torch.equal(first.val.y, again.val.y)
    cached.write_bytes(b"damaged")  # a damaged cache is made again, not an error
    monkeypatch.undo()
    third = load_dataset(spec("keywords", samples=16), cache_dir=tmp_path)
    assert torch.equal(first.train.x, third.train.x)  # the same seed makes the same set


def test_another_seed_or_rate_makes_another_set(tmp_path) -> None:
    a = load_dataset(spec("keywords", samples=16), cache_dir=tmp_path)
    b = load_dataset(spec("keywords", samples=16, split_seed=1), cache_dir=tmp_path)
    c = load_dataset(spec("keywords", samples=16, sample_rate=8000), cache_dir=tmp_path)
    assert not torch.equal(a.train.x, b.train.x)
    assert c.input_shape == (1, 8000) and c.sample_rate == 8000
    assert len(list((tmp_path / "speech").glob("*.npz"))) == 3


def test_viewing_a_builtin_clip_speaks_exactly_the_generated_one(tmp_path) -> None:
    s = spec("spoken_digits", samples=12)
    made = speak_module.spoken_set("spoken_digits", 12, 0, 16000, 2.0, tmp_path)
    rows = preview(s, clips=4)["rows"]
    assert [r["transcript"] for r in rows] == made.texts[:4]
    clip, rate = clip_for_view(s, 3)
    assert rate == 16000 and np.array_equal(clip, made.x[3].astype(np.float32) / 32768)


def test_without_espeak_the_error_says_to_install_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DataError, match=r"espeak-ng, which is not installed.*apt-get install"):
        load_dataset(spec("keywords"), cache_dir=tmp_path)


def test_clips_too_short_for_the_digits_are_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="at least 1.5 s"):
        load_dataset(spec("spoken_digits", clip_seconds=1.2), cache_dir=tmp_path)
    assert quick_facts(spec("spoken_digits", clip_seconds=1.2)) is None


def test_wave_augment_is_deterministic_from_the_generator_and_keeps_the_input() -> None:
    x = torch.zeros(6, 1, 1000)
    x[:, 0, 400:600] = torch.linspace(0.1, 0.5, 6).view(6, 1)
    before = x.clone()
    augment = WaveAugment(shift_samples=200, noise_level=0.3)

    def run(seed: int) -> torch.Tensor:
        g = torch.Generator()
        g.manual_seed(seed)
        return augment(x, g)

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(x, before)
    shifted = WaveAugment(shift_samples=200)(x, torch.Generator().manual_seed(5))
    for clip, orig in zip(shifted[:, 0], x[:, 0], strict=True):
        start = int(torch.nonzero(clip)[0])
        assert 200 <= start <= 600 and torch.equal(clip[start : start + 200], orig[400:600])
        assert int(torch.count_nonzero(clip)) == 200  # zero-filled, nothing wraps around
    noise = a - WaveAugment(shift_samples=200)(x, torch.Generator().manual_seed(1))
    peaks = x.abs().amax(dim=(1, 2))
    assert (noise.abs().amax(dim=(1, 2)) <= 0.3 * peaks + 1e-6).all()


def test_wave_augment_mixes_the_background_bank_and_is_on_the_training_split(tmp_path) -> None:
    bank = torch.full((50,), 0.5)
    noisy = WaveAugment(noise_level=1.0, noise_bank=bank)(torch.ones(4, 1, 120),
                                                          torch.Generator().manual_seed(0))
    levels = noisy[:, 0, 0] - 1.0
    assert torch.allclose(noisy[:, 0], (1.0 + levels).view(4, 1).expand(4, 120))  # bank is flat
    bundle = load_dataset(spec("keywords", samples=16, augment_shift=0.1, augment_noise=0.2),
                          cache_dir=tmp_path)
    assert isinstance(bundle.augment, WaveAugment) and bundle.augment.shift == 1600
    assert load_dataset(spec("keywords", samples=16), cache_dir=tmp_path).augment is None
