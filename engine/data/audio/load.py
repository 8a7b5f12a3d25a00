"""Sound data as a :class:`DataBundle`: clips [N, 1, L] float32 at the project's rate.

Sound classification ("audio", built-in "keywords"): y is the class id [N]; clips are
padded with zeros on both sides or centre-cropped to ``clip_seconds``. Speech to text
("speech", built-in "spoken_digits"): y is [N, U] character ids into ``target_vocab``
(index 0 is the CTC blank "_"), padded with -1; clips are padded at the end, and a clip
longer than ``clip_seconds`` is a bad entry (cutting it would cut words its transcript
still has). Clips keep their recorded level and are not normalised: the front-end block
(LogMel...) works on the raw waveform.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.data import limits
from engine.data.audio import sets
from engine.data.audio.augment import WaveAugment
from engine.data.audio.entries import Entry, class_entries, clips_under, folder_of, speech_entries
from engine.data.audio.facts import BLANK
from engine.data.audio.panel import duration_histogram
from engine.data.audio.speak import SpeechError, spoken_set
from engine.data.audio.wav import ClipError, fit_length, read_clip
from engine.data.core import DataBundle, DataError, Split, split_indices
from engine.data.paths import beside
from engine.data.problems import Problems
from engine.project import DatasetSpec

Progress = Callable[[str, int, int], None]
#: clips read at once may take at most this share of the memory
_MEMORY_SHARE = 0.5


def load_bundle(spec: DatasetSpec, *, progress: Progress | None = None,
                cache_dir: Path | str | None = None) -> DataBundle:
    """The bundle of an "audio" or "speech" source or a built-in spoken set."""
    if spec.mean is not None or spec.std is not None:
        raise DataError("dataset.mean and dataset.std normalise images and numbers; sound clips "
                        "are not normalised (the front-end block works on the waveform): remove them")
    if spec.source == "builtin":
        return _builtin(spec, progress, cache_dir)
    if spec.source == "audio":
        return _classes_from_files(spec, progress)
    if spec.source == "speech":
        return _speech_from_files(spec, progress)
    raise DataError(f"{spec.source}: not a sound data source")


def clip_length(spec: DatasetSpec) -> int:
    """Samples per clip, L = round(sample_rate * clip_seconds)."""
    seconds = sets.clip_seconds(spec) if spec.source == "builtin" else spec.clip_seconds
    return sets.clip_samples(spec.sample_rate, seconds)


def _builtin(spec: DatasetSpec, progress: Progress | None,
             cache_dir: Path | str | None) -> DataBundle:
    from engine.data.download import cache_root

    name = spec.name
    seed = sets.generation_seed(spec)
    if seed is None:
        raise DataError(f"dataset.options.seed must be a whole number, not "
                        f"{spec.options.get('seed')!r}")
    seconds = sets.clip_seconds(spec)
    if seconds < sets.MIN_SECONDS[name]:
        raise DataError(f"builtin:{name} needs clips of at least {sets.MIN_SECONDS[name]:g} s to "
                        f"hold its words; dataset.clip_seconds is {seconds:g}")
    n = sets.sample_count(spec)
    _check_memory(n, clip_length(spec), f"builtin:{name}")
    try:
        made = spoken_set(name, n, seed, spec.sample_rate, seconds,
                          cache_root(cache_dir) / "speech", progress=progress)
    except SpeechError as e:
        raise DataError(f"builtin:{name}: {e}") from None
    x = made.x.astype(np.float32) / 32768.0
    where = [f"builtin:{name} clip {i}" for i in range(n)]
    summary = {"clips": n, "voices": len(set(made.voices)), "skipped": 0, "problems": []}
    if name == "keywords":
        assert made.labels is not None
        return _class_bundle(x, made.labels, list(sets.KEYWORD_CLASSES), spec,
                             f"builtin:{name}", summary)
    vocab = [BLANK, *sets.DIGIT_ALPHABET]
    return _speech_bundle(x, made.texts, where, spec, f"builtin:{name}", summary,
                          Problems(spec.bad_entries), vocab)


def _classes_from_files(spec: DatasetSpec, progress: Progress | None) -> DataBundle:
    root = folder_of(spec.path, "audio")
    entries, classes = class_entries(root)
    problems = Problems(spec.bad_entries)
    x, kept, seconds = _read(entries, spec, problems, progress, where="center")
    index = {name: k for k, name in enumerate(classes)}
    labels = np.array([index[e.label] for e in kept], dtype=np.int64)
    summary = _file_summary(kept, seconds, problems)
    summary["cut"] = sum(s > spec.clip_seconds for s in seconds)
    return _class_bundle(x, labels, classes, spec, f"audio:{spec.path}", summary)


def _speech_from_files(spec: DatasetSpec, progress: Progress | None) -> DataBundle:
    root = folder_of(spec.path, "speech")
    problems = Problems(spec.bad_entries)
    entries = speech_entries(root, spec.target_path, spec.lowercase, problems)
    x, kept, seconds = _read(entries, spec, problems, progress, where="end", too_long=True)
    summary = _file_summary(kept, seconds, problems)
    return _speech_bundle(x, [e.label for e in kept], [e.where for e in kept], spec,
                          f"speech:{spec.path}", summary, problems)


def _read(entries: list[Entry], spec: DatasetSpec, problems: Problems,
          progress: Progress | None, *, where: str,
          too_long: bool = False) -> tuple[np.ndarray, list[Entry], list[float]]:
    """The clips of ``entries`` fitted to the clip length, the entries kept and each kept
    clip's own length in seconds. ``too_long``: a clip longer than the clip length is a bad
    entry (speech) instead of being cut."""
    rate, length = spec.sample_rate, clip_length(spec)
    _check_memory(len(entries), length, spec.path)
    x = np.zeros((len(entries), length), dtype=np.float32)
    kept: list[Entry] = []
    seconds: list[float] = []
    for i, entry in enumerate(entries):
        try:
            clip = read_clip(entry.path, rate)
        except ClipError as e:
            problems.add(entry.where, "", str(e))
            continue
        finally:
            if progress is not None:
                progress("Reading the clips", i + 1, len(entries))
        # one sample of slack: resampling rounds the length up
        if too_long and clip.shape[0] > length + 1:
            problems.add(entry.where, "", f"is {clip.shape[0] / rate:.2f} s long, longer than the "
                                      f"clips ({spec.clip_seconds:g} s, dataset.clip_seconds); "
                                      "raise the clip length or cut the recording")
            continue
        x[len(kept)] = fit_length(clip, length, where)
        kept.append(entry)
        seconds.append(clip.shape[0] / rate)
    if not kept:
        raise DataError(f"{spec.path}: none of the {len(entries)} clips can be used "
                        f"({problems.skipped} bad entries, e.g. {problems.shown[0]})"
                        if problems.shown else f"{spec.path}: no clips to read")
    return x[: len(kept)], kept, seconds


def _check_memory(n: int, length: int, where: object) -> None:
    need = n * length * 4
    have = limits.physical_memory()
    if have is not None and need > have * _MEMORY_SHARE:
        raise DataError(f"{where}: {n:,} clips of {length:,} samples take "
                        f"{limits.format_bytes(need)} as float32, more than half of this "
                        f"machine's memory ({limits.format_bytes(have)}); use fewer or shorter "
                        "clips (dataset.clip_seconds) or a lower sample rate")


def _splits(n: int, spec: DatasetSpec, source: str) -> tuple[torch.Tensor, torch.Tensor,
                                                             torch.Tensor | None]:
    tr, va, te = split_indices(n, spec.val_fraction, spec.test_fraction, spec.split_seed, source)
    return tr, va, (te if spec.test_fraction > 0 else None)


def _class_bundle(x: np.ndarray, labels: np.ndarray, classes: list[str], spec: DatasetSpec,
                  source: str, summary: dict) -> DataBundle:
    xt = torch.from_numpy(x).unsqueeze(1)
    yt = torch.from_numpy(labels)
    tr, va, te = _splits(len(xt), spec, source)

    def take(index: torch.Tensor) -> Split:
        return Split(xt.index_select(0, index), yt.index_select(0, index))

    counts = Counter(labels.tolist())
    summary["classes"] = {name: counts.get(k, 0) for k, name in enumerate(classes)}
    return DataBundle(
        train=take(tr), val=take(va), test=None if te is None else take(te),
        kind="audio", input_shape=(1, x.shape[1]), input_dtype="float", target="class",
        classes=list(classes), source=source, augment=_augment(spec),
        summary=_finish(summary, spec), sample_rate=spec.sample_rate,
    )


def _speech_bundle(x: np.ndarray, texts: list[str], where: list[str], spec: DatasetSpec,
                   source: str, summary: dict, problems: Problems,
                   vocab: list[str] | None = None) -> DataBundle:
    """The speech bundle; ``vocab`` None: the blank and the training transcripts'
    characters, and a validation or test transcript with other characters is a bad entry."""
    tr, va, te = _splits(len(texts), spec, source)
    if vocab is None:
        vocab = [BLANK, *sorted(set("".join(texts[i] for i in tr.tolist())))]
    known = set(vocab[1:])

    def usable(index: torch.Tensor) -> torch.Tensor:
        keep = []
        for i in index.tolist():
            unknown = sorted(set(texts[i]) - known)
            if unknown:
                shown = " ".join(repr(c) for c in unknown[:10])
                problems.add(where[i], "", f"its transcript has characters no training transcript "
                                       f"has ({shown}), which the model cannot write")
            else:
                keep.append(i)
        return torch.tensor(keep, dtype=torch.long)

    va = usable(va)
    te = None if te is None else usable(te)
    used = [tr, va] + ([] if te is None else [te])
    width = max(len(texts[i]) for part in used for i in part.tolist())
    char_id = {c: k for k, c in enumerate(vocab) if k > 0}
    y = torch.full((len(texts), width), -1, dtype=torch.long)
    for i, text in enumerate(texts):
        if set(text) <= known:
            y[i, : len(text)] = torch.tensor([char_id[c] for c in text], dtype=torch.long)
    xt = torch.from_numpy(x).unsqueeze(1)

    def take(index: torch.Tensor) -> Split:
        return Split(xt.index_select(0, index), y.index_select(0, index))

    target_texts = {"train": [texts[i] for i in tr.tolist()], "val": [texts[i] for i in va.tolist()],
                    "test": [] if te is None else [texts[i] for i in te.tolist()]}
    summary.update(transcripts=sum(len(t) for t in target_texts.values()),
                   longest_transcript=width, skipped=problems.skipped,
                   problems=list(problems.shown))
    return DataBundle(
        train=take(tr), val=take(va), test=None if te is None else take(te),
        kind="audio", input_shape=(1, x.shape[1]), input_dtype="float", target="transcript",
        source=source, target_shape=(width,), augment=_augment(spec), target_vocab=vocab,
        target_texts=target_texts, summary=_finish(summary, spec), sample_rate=spec.sample_rate,
    )


def _file_summary(kept: list[Entry], seconds: list[float], problems: Problems) -> dict:
    return {"clips": len(kept), "skipped": problems.skipped, "problems": list(problems.shown),
            "durations": duration_histogram(seconds)}


def _finish(summary: dict, spec: DatasetSpec) -> dict:
    summary.setdefault("skipped", 0)
    summary.setdefault("problems", [])
    summary["sample_rate"] = spec.sample_rate
    summary["clip_seconds"] = (sets.clip_seconds(spec) if spec.source == "builtin"
                               else spec.clip_seconds)
    return summary


def _augment(spec: DatasetSpec) -> WaveAugment | None:
    """The training split's augmentation, or None when it is switched off."""
    if spec.augment_shift <= 0 and spec.augment_noise <= 0:
        return None
    bank = None
    if spec.augment_noise > 0 and spec.noise_path.strip():
        bank = torch.from_numpy(noise_bank(spec))
    return WaveAugment(int(round(spec.augment_shift * spec.sample_rate)), spec.augment_noise, bank)


def noise_bank(spec: DatasetSpec) -> np.ndarray:
    """Every clip of ``dataset.noise_path`` at the project's rate, joined end to end."""
    root = beside(spec, spec.noise_path)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder of background noise (dataset.noise_path); "
                        "choose a folder of WAV files, or clear it to mix in generated noise")
    clips = clips_under(root)
    if not clips:
        raise DataError(f"{root}: no sound clips in the background noise folder "
                        "(dataset.noise_path); add WAV files, or clear it to mix in generated "
                        "noise")
    parts = []
    for path in clips:
        try:
            parts.append(read_clip(path, spec.sample_rate))
        except ClipError as e:
            raise DataError(f"{path}: {e}; remove it from the background noise folder") from None
    bank = np.concatenate(parts)
    if not np.abs(bank).max() > 0:
        raise DataError(f"{root}: the background noise clips are silent; choose recordings of "
                        "noise, or clear dataset.noise_path to mix in generated noise")
    return bank
