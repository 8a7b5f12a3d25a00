"""Reading sound clips from real files: formats, rates, channels, lengths, and the folder
and speech readers with their bad entries (written with soundfile into tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.data.audio import clip_for_view, load_audio_data, preview, summary
from engine.data.audio.facts import audio_facts
from engine.data.audio.wav import ClipError, fit_length, read_clip
from engine.data.core import DataError, split_indices
from engine.data.facts import facts_of
from engine.data.loader import load_dataset
from engine.project import DatasetSpec


def tone(freq: float, seconds: float, rate: int, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path: Path, data: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def peak_frequency(clip: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
    return float(np.fft.rfftfreq(len(clip), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_a_tones_frequency_and_the_clip_duration(tmp_path, rate) -> None:
    path = write(tmp_path / "a.wav", tone(440.0, 0.5, rate), rate)
    clip = read_clip(path, 16000)
    assert clip.dtype == np.float32
    assert abs(len(clip) - 8000) <= 1
    assert abs(peak_frequency(clip, 16000) - 440.0) < 5.0
    assert np.abs(clip).max() == pytest.approx(0.5, abs=0.03)  # the recorded level is kept


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT", "PCM_U8"])
def test_every_sample_format_reads_at_its_recorded_level(tmp_path, subtype) -> None:
    data = tone(300.0, 0.2, 16000, level=0.25)
    clip = read_clip(write(tmp_path / "a.wav", data, subtype=subtype), 16000)
    assert np.allclose(clip, data, atol=0.01 if subtype == "PCM_U8" else 1e-4)


def test_stereo_is_mixed_down_to_mono(tmp_path) -> None:
    left, right = tone(200.0, 0.1, 16000), np.zeros(1600, np.float32)
    clip = read_clip(write(tmp_path / "s.wav", np.stack([left, right], axis=1)), 16000)
    assert clip.shape == (1600,)
    assert np.allclose(clip, left / 2, atol=1e-4)


def test_fit_length_pads_and_cuts_in_the_middle_or_at_the_end() -> None:
    clip = np.arange(1, 5, dtype=np.float32)
    assert fit_length(clip, 8).tolist() == [0, 0, 1, 2, 3, 4, 0, 0]
    assert fit_length(clip, 6, "end").tolist() == [1, 2, 3, 4, 0, 0]
    assert fit_length(clip, 2).tolist() == [2, 3]
    assert fit_length(clip, 2, "end").tolist() == [1, 2]


def test_broken_files_are_refused_with_the_reason(tmp_path) -> None:
    good = write(tmp_path / "good.wav", tone(440.0, 0.5, 16000)).read_bytes()
    (tmp_path / "truncated.wav").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.wav").write_bytes(b"not a sound" * 20)
    (tmp_path / "empty.wav").write_bytes(b"")
    write(tmp_path / "silent.wav", np.zeros(0, np.float32))
    write(tmp_path / "fast.wav", tone(440.0, 0.1, 96000), 96000)
    expected = {"truncated": "truncated", "junk": "not a sound file", "empty": "not a sound file",
                "silent": "no samples", "fast": "96000 Hz"}
    for name, words in expected.items():
        with pytest.raises(ClipError, match=words):
            read_clip(tmp_path / f"{name}.wav", 16000)


def class_folder(root: Path, counts: dict[str, int], freqs: dict[str, float],
                 seconds: float = 0.5) -> Path:
    """One folder per class; each class a tone of its own frequency, in mixed formats."""
    formats = [(16000, "PCM_16", 1), (44100, "PCM_24", 2), (8000, "FLOAT", 1)]
    for name, n in counts.items():
        for i in range(n):
            rate, subtype, channels = formats[i % len(formats)]
            data = tone(freqs[name], seconds + 0.1 * i, rate)
            if channels == 2:
                data = np.stack([data, data], axis=1)
            write(root / name / f"{name}{i}.wav", data, rate, subtype)
    return root


def test_a_folder_per_class_loads_as_clips_of_the_set_length(tmp_path) -> None:
    root = class_folder(tmp_path / "set", {"high": 4, "low": 6}, {"high": 2000.0, "low": 300.0})
    spec = DatasetSpec(source="audio", path=str(root), clip_seconds=0.75, val_fraction=0.2)
    bundle = load_dataset(spec)
    assert bundle.kind == "audio" and bundle.target == "class"
    assert bundle.classes == ["high", "low"] and bundle.sample_rate == 16000
    assert bundle.input_shape == (1, 12000) and bundle.input_dtype == "float"
    assert bundle.mean is None and bundle.std is None
    assert len(bundle.train) + len(bundle.val) == 10
    for split in (bundle.train, bundle.val):
        assert split.x.dtype == torch.float32 and split.x.shape[1:] == (1, 12000)
        for clip, label in zip(split.x, split.y, strict=True):
            freq = peak_frequency(clip[0].numpy(), 16000)
            assert abs(freq - (2000.0 if label == 0 else 300.0)) < 20
    assert bundle.summary["classes"] == {"high": 4, "low": 6}
    assert bundle.summary["cut"] == 4  # the clips of 0.8 s and longer are centre-cropped
    assert audio_facts(spec) == facts_of(bundle)


def test_a_bad_clip_stops_naming_the_file_or_is_skipped_and_counted(tmp_path) -> None:
    root = class_folder(tmp_path / "set", {"a": 3, "b": 3}, {"a": 500.0, "b": 900.0})
    (root / "b" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    spec = DatasetSpec(source="audio", path=str(root))
    with pytest.raises(DataError, match=r"broken\.wav: is not a sound file.*Skip"):
        load_dataset(spec)
    bundle = load_dataset(spec.model_copy(update={"bad_entries": "skip"}))
    assert bundle.summary["skipped"] == 1 and "broken.wav" in bundle.summary["problems"][0]
    assert len(bundle.train) + len(bundle.val) == 6


@pytest.mark.parametrize(("layout", "message"), [
    ("none", "no sub-folders with sound clips"),
    ("loose", "not in class folders"),
    ("one", "only one class folder"),
    ("missing", "no such folder"),
])
def test_a_folder_that_is_not_a_class_set_says_what_to_do(tmp_path, layout, message) -> None:
    root = tmp_path / "set"
    root.mkdir()
    if layout == "loose":
        write(root / "a.wav", tone(300.0, 0.2, 16000))
    elif layout == "one":
        write(root / "only" / "a.wav", tone(300.0, 0.2, 16000))
    elif layout == "missing":
        root = tmp_path / "nowhere"
    else:
        (root / "notes").mkdir()  # a sub-folder, but without clips
    with pytest.raises(DataError, match=message):
        load_audio_data(DatasetSpec(source="audio", path=str(root)))


def speech_folder(root: Path, transcripts: dict[str, str], *, csv: bool) -> Path:
    for i, (name, text) in enumerate(transcripts.items()):
        write(root / "wavs" / f"{name}.wav", tone(200.0 + 50 * i, 0.3 + 0.1 * i, 22050), 22050)
        if not csv:
            (root / "wavs" / f"{name}.txt").write_text(text, encoding="utf-8")
    if csv:
        rows = "".join(f'{name}.wav,"{text}"\n' for name, text in transcripts.items())
        (root / "transcripts.csv").write_text("file,text\n" + rows, encoding="utf-8")
    return root


DIGITS = {"c1": "One two", "c2": "two  THREE", "c3": "three one", "c4": "one", "c5": "two one",
          "c6": "three two one"}


@pytest.mark.parametrize("csv", [True, False], ids=["csv", "txt"])
def test_speech_clips_with_transcripts_load_as_character_ids(tmp_path, csv) -> None:
    root = speech_folder(tmp_path / "speech", DIGITS, csv=csv)
    spec = DatasetSpec(source="speech", path=str(root), clip_seconds=1.0, val_fraction=0.34)
    bundle = load_dataset(spec)
    assert bundle.kind == "audio" and bundle.target == "transcript"
    vocab = bundle.target_vocab
    assert vocab[0] == "_" and vocab[1:] == sorted(set("".join(bundle.target_texts["train"])))
    width = max(len(t) for t in DIGITS.values())
    assert bundle.target_shape == (width,)
    for part in ("train", "val"):
        split = getattr(bundle, part)
        for y, text in zip(split.y, bundle.target_texts[part], strict=True):
            assert "".join(vocab[i] for i in y[y >= 0].tolist()) == text
            assert (y[len(text):] == -1).all()
        assert set(bundle.target_texts[part]) <= {" ".join(t.lower().split()) for t in DIGITS.values()}
    first = bundle.train.x[0, 0].numpy()  # clips padded at the end, not in the middle
    assert first[0] != 0 and (first[-100:] == 0).all()
    assert audio_facts(spec) == facts_of(bundle)


def test_speech_bad_entries_name_the_file_and_csv_row(tmp_path) -> None:
    root = speech_folder(tmp_path / "speech", DIGITS, csv=True)
    table = root / "transcripts.csv"
    table.write_text(table.read_text() + "ghost.wav,boo\nc1.wav,again\n", encoding="utf-8")
    write(root / "wavs" / "long.wav", tone(300.0, 1.5, 16000))
    write(root / "wavs" / "unlisted.wav", tone(300.0, 0.2, 16000))
    table.write_text(table.read_text() + "long.wav,one\n", encoding="utf-8")
    spec = DatasetSpec(source="speech", path=str(root), clip_seconds=1.0)
    with pytest.raises(DataError, match=r"transcripts\.csv row 8: names the clip 'ghost\.wav'"):
        load_dataset(spec)
    bundle = load_dataset(spec.model_copy(update={"bad_entries": "skip"}))
    problems = "\n".join(bundle.summary["problems"])
    assert bundle.summary["skipped"] == 4
    assert "row 9 (c1.wav): lists this clip a second time" in problems
    assert "row 10 (long.wav): is 1.50 s long" in problems
    assert "unlisted.wav: has no transcript" in problems


def test_a_missing_txt_transcript_is_a_bad_entry(tmp_path) -> None:
    root = speech_folder(tmp_path / "speech", DIGITS, csv=False)
    (root / "wavs" / "c3.txt").unlink()
    with pytest.raises(DataError, match=r"c3\.wav: has no transcript: write it into c3\.txt"):
        load_dataset(DatasetSpec(source="speech", path=str(root)))


def test_a_validation_transcript_with_unseen_characters_is_a_bad_entry(tmp_path) -> None:
    texts = {f"c{i}": "ab" for i in range(8)} | {"odd": "abz"}
    root = speech_folder(tmp_path / "speech", texts, csv=True)
    # the odd clip (the CSV's last, index 8) must fall into the validation split
    seed = next(s for s in range(100) if 8 in split_indices(9, 0.5, 0.0, s)[1].tolist())
    spec = DatasetSpec(source="speech", path=str(root), val_fraction=0.5, split_seed=seed,
                       clip_seconds=2.0)
    bundle = load_dataset(spec.model_copy(update={"bad_entries": "skip"}))
    assert bundle.summary["skipped"] == 1 and len(bundle.val) == 3
    assert "'z'" in bundle.summary["problems"][0] and "abz" not in bundle.target_texts["val"]
    with pytest.raises(DataError, match=r"odd\.wav\): its transcript has characters no training"):
        load_dataset(spec)


def test_the_panel_summarises_from_headers_and_plays_a_clip(tmp_path) -> None:
    root = class_folder(tmp_path / "set", {"a": 3, "b": 2}, {"a": 500.0, "b": 900.0})
    (root / "a" / "broken.wav").write_bytes(b"junk")
    spec = DatasetSpec(source="audio", path=str(root), bad_entries="stop")
    info = summary(spec)
    assert info["classes"] == {"a": 3, "b": 2} and info["skipped"] == 1
    assert info["rates"] == {8000: 1, 16000: 2, 44100: 2} and info["channels"] == {1: 3, 2: 2}
    assert sum(info["durations"]["counts"]) == 5
    rows = preview(spec, clips=3)["rows"]
    assert [r["label"] for r in rows] == ["a", "b", "a"]  # every class shows
    clip, rate = clip_for_view(spec, rows[1]["index"])
    assert rate == 16000 and abs(peak_frequency(clip, rate) - 900.0) < 20
    assert len(clip) == round(rows[1]["seconds"] * 16000)


def test_mean_and_std_are_refused_for_sound(tmp_path) -> None:
    root = class_folder(tmp_path / "set", {"a": 2, "b": 2}, {"a": 500.0, "b": 900.0})
    with pytest.raises(DataError, match="remove them"):
        load_dataset(DatasetSpec(source="audio", path=str(root), mean=[0.0], std=[1.0]))


def test_background_noise_comes_from_the_noise_folder(tmp_path) -> None:
    root = class_folder(tmp_path / "set", {"a": 2, "b": 2}, {"a": 500.0, "b": 900.0})
    write(tmp_path / "noise" / "hum.wav", tone(3000.0, 0.3, 8000), 8000)
    spec = DatasetSpec(source="audio", path=str(root), augment_noise=1.0,
                       noise_path=str(tmp_path / "noise"))
    bundle = load_dataset(spec)
    silent = torch.zeros(3, 1, 8000)
    silent[:, 0, 0] = 1.0  # a peak of 1, so the noise is mixed in at up to 1.0
    noisy = bundle.augment(silent, torch.Generator().manual_seed(0))[:, 0, 1:]
    for clip in noisy:
        assert abs(peak_frequency(clip.numpy(), 16000) - 3000.0) < 20  # the recording's hum
    (tmp_path / "quiet").mkdir()
    with pytest.raises(DataError, match="no sound clips in the background noise folder"):
        load_dataset(spec.model_copy(update={"noise_path": str(tmp_path / "quiet")}))
