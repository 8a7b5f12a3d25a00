"""What the dataset panel shows of a sound set, from the files' headers only.

:func:`summary` counts the clips per class (or the transcripts), their lengths, rates and
channels, and lists the bad entries (always collected here, never raised: the panel shows
them, loading then stops or skips as ``dataset.bad_entries`` says). :func:`preview` adds
the rows of a few clips and :func:`clip_for_view` decodes one for drawing and playing. A
built-in spoken set is described from its seed without generating it; viewing one of its
clips speaks just that clip, exactly as the generated set has it.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, zip_longest
from typing import Any

import numpy as np

from engine.data.audio import sets
from engine.data.audio.entries import (
    Entry,
    class_entries,
    folder_of,
    speech_entries,
    transcripts_file,
)
from engine.data.audio.wav import ClipError, clip_header, read_clip
from engine.data.problems import Problems

_HISTOGRAM_BINS = 20


def summary(spec) -> dict[str, Any]:
    """``{"kind": "audio"|"speech", "clips", "classes": {name: count}`` (sound
    classification) or ``"transcripts"`` and ``"characters"`` (speech), ``"durations":
    {"bins", "counts"}``, ``"rates"`` and ``"channels"`` (value: clips), ``"too_long"``
    (clips longer than the clip length: cut, or bad entries for speech), ``"skipped"``,
    ``"problems"``, ``"sample_rate"``, ``"clip_seconds"``}."""
    return _scan(spec)[0]


def preview(spec, clips: int = 12) -> dict[str, Any]:
    """:func:`summary` plus ``"rows"``: ``{"index", "file", "label"`` or
    ``"transcript", "seconds", "rate", "channels"}`` (built-ins add ``"voice"``) of the
    first ``clips`` usable clips, taking each class in turn so every class shows."""
    result, rows = _scan(spec)
    if result["kind"] == "audio":
        by_class: dict[str, list[dict]] = {}
        for row in rows:
            by_class.setdefault(row["label"], []).append(row)
        rows = [r for r in chain.from_iterable(zip_longest(*by_class.values())) if r is not None]
    return {**result, "rows": rows[: max(0, clips)]}


def clip_for_view(spec, index: int) -> tuple[np.ndarray, int]:
    """Clip ``index`` (a :func:`preview` row's) as float32 mono at ``dataset.sample_rate``,
    at its own length (not padded or cut), and that rate."""
    from engine.data.core import DataError

    if spec.source == "builtin":
        return _builtin_clip(spec, index), spec.sample_rate
    entries = _entries(spec, Problems("skip"))
    if not 0 <= index < len(entries):
        raise DataError(f"{spec.path}: there is no clip {index} (the set has {len(entries)})")
    try:
        return read_clip(entries[index].path, spec.sample_rate), spec.sample_rate
    except ClipError as e:
        raise DataError(f"{entries[index].path}: {e}") from None


def _entries(spec, problems: Problems) -> list[Entry]:
    root = folder_of(spec.path, spec.source)
    if spec.source == "audio":
        return class_entries(root)[0]
    return speech_entries(root, spec.target_path, spec.lowercase, problems)


def _scan(spec) -> tuple[dict[str, Any], list[dict]]:
    if spec.source == "builtin":
        return _builtin_scan(spec)
    kind = "audio" if spec.source == "audio" else "speech"
    problems = Problems("skip")
    entries = _entries(spec, problems)
    classes = class_entries(folder_of(spec.path, "audio"))[1] if kind == "audio" else []
    rows: list[dict] = []
    rates: Counter[int] = Counter()
    channels: Counter[int] = Counter()
    too_long = 0
    for i, entry in enumerate(entries):
        try:
            rate, chans, frames = clip_header(entry.path)
        except ClipError as e:
            problems.add(entry.where, "", str(e))
            continue
        seconds = frames / rate
        too_long += seconds > spec.clip_seconds
        rates[rate] += 1
        channels[chans] += 1
        key = "label" if kind == "audio" else "transcript"
        rows.append({"index": i, "file": str(entry.path), key: entry.label,
                     "seconds": round(seconds, 4), "rate": rate, "channels": chans})
    result: dict[str, Any] = {
        "kind": kind, "clips": len(rows),
        "durations": duration_histogram([r["seconds"] for r in rows]),
        "rates": dict(sorted(rates.items())), "channels": dict(sorted(channels.items())),
        "too_long": too_long, "skipped": problems.skipped, "problems": list(problems.shown),
        "sample_rate": spec.sample_rate, "clip_seconds": spec.clip_seconds,
    }
    if kind == "audio":
        counts = Counter(r["label"] for r in rows)
        result["classes"] = {name: counts.get(name, 0) for name in classes}
    else:
        result.update(_transcript_facts([r["transcript"] for r in rows]))
        table = transcripts_file(folder_of(spec.path, "speech"), spec.target_path)
        result["transcripts_file"] = str(table) if table else ""
    return result, rows


def _builtin_scan(spec) -> tuple[dict[str, Any], list[dict]]:
    from engine.data.audio.speak import draw_voices

    name, n, seed = spec.name, sets.sample_count(spec), _seed(spec)
    seconds = sets.clip_seconds(spec)
    labels, texts = sets.words_of(name, n, seed)
    voices = draw_voices(name, n, seed)
    kind = "audio" if name == "keywords" else "speech"
    key = "label" if kind == "audio" else "transcript"
    rows = [{"index": i, "file": f"builtin:{name} clip {i}", key: texts[i], "seconds": seconds,
             "rate": spec.sample_rate, "channels": 1, "voice": voices[i].label()}
            for i in range(n)]
    result: dict[str, Any] = {
        "kind": kind, "clips": n, "durations": duration_histogram([seconds] * n),
        "rates": {spec.sample_rate: n}, "channels": {1: n}, "too_long": 0, "skipped": 0,
        "problems": [], "sample_rate": spec.sample_rate, "clip_seconds": seconds,
        "voices": len({v.label() for v in voices}),
    }
    if kind == "audio":
        counts = Counter(texts)
        result["classes"] = {c: counts.get(c, 0) for c in sets.KEYWORD_CLASSES}
    else:
        result.update(_transcript_facts(texts))
    return result, rows


def _builtin_clip(spec, index: int) -> np.ndarray:
    from engine.data.audio.speak import SpeechError, draw_voices, espeak_path, render
    from engine.data.core import DataError

    name, n, seed = spec.name, sets.sample_count(spec), _seed(spec)
    if not 0 <= index < n:
        raise DataError(f"builtin:{name}: there is no clip {index} (the set has {n})")
    texts = sets.words_of(name, n, seed)[1]
    voice = draw_voices(name, n, seed)[index]
    length = sets.clip_samples(spec.sample_rate, sets.clip_seconds(spec))
    try:
        clip = render(espeak_path(), texts[index], voice, spec.sample_rate, length)
    except SpeechError as e:
        raise DataError(f"builtin:{name}: {e}") from None
    return clip.astype(np.float32) / 32768.0


def _seed(spec) -> int:
    seed = sets.generation_seed(spec)
    if seed is None:
        from engine.data.core import DataError

        raise DataError(f"dataset.options.seed must be a whole number, not "
                        f"{spec.options.get('seed')!r}")
    return seed


def _transcript_facts(texts: list[str]) -> dict[str, Any]:
    return {"transcripts": len(texts), "characters": "".join(sorted(set("".join(texts)))),
            "longest_transcript": max((len(t) for t in texts), default=0)}


def duration_histogram(seconds: list[float]) -> dict[str, list]:
    """Clip lengths as ``{"bins": edges in seconds, "counts": clips per bin}``."""
    if not seconds:
        return {"bins": [], "counts": []}
    counts, edges = np.histogram(np.asarray(seconds), bins=_HISTOGRAM_BINS)
    return {"bins": [round(float(e), 4) for e in edges], "counts": counts.tolist()}
