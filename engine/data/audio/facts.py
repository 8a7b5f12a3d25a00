"""What a sound set gives a model (:class:`DataFacts`), for the editor's data check.

The built-in sets are known from their seed in milliseconds, without torch or espeak-ng.
Files: the classes are the class folders; a speech set's vocabulary and longest transcript
come from the transcripts and the clips' headers (a clip too long for ``clip_seconds`` is
left out as loading leaves it out), with the same split as loading, so the facts agree with
the loaded bundle.
"""

from __future__ import annotations

import math

from engine.data.audio import sets
from engine.data.facts import DataFacts
from engine.project import DatasetSpec

#: the CTC blank, index 0 of a transcript vocabulary, as it is shown
BLANK = "_"


def audio_facts(spec: DatasetSpec) -> DataFacts | None:
    """The facts of ``spec`` (built-in "keywords"/"spoken_digits", or an "audio" or
    "speech" folder). Built-ins with options the loader refuses give None (the loader says
    why); unreadable files raise :class:`~engine.data.core.DataError`."""
    if spec.source == "builtin":
        return _builtin(spec)
    if spec.source == "audio":
        return _class_files(spec)
    return _speech_files(spec)


def _builtin(spec: DatasetSpec) -> DataFacts | None:
    seed = sets.generation_seed(spec)
    seconds = sets.clip_seconds(spec)
    if seed is None or spec.name not in sets.MIN_SECONDS or seconds < sets.MIN_SECONDS[spec.name]:
        return None
    shape = (1, sets.clip_samples(spec.sample_rate, seconds))
    source = f"builtin:{spec.name}"
    if spec.name == "keywords":
        return DataFacts(source, "audio", shape, "float", "class",
                         classes=sets.KEYWORD_CLASSES, sample_rate=spec.sample_rate)
    texts = sets.words_of(spec.name, sets.sample_count(spec), seed)[1]
    return DataFacts(source, "audio", shape, "float", "transcript",
                     target_shape=(max(len(t) for t in texts),),
                     target_vocab=(BLANK, *sets.DIGIT_ALPHABET), sample_rate=spec.sample_rate)


def _class_files(spec: DatasetSpec) -> DataFacts:
    from engine.data.audio.entries import class_entries, folder_of

    classes = class_entries(folder_of(spec.path, "audio"))[1]
    shape = (1, sets.clip_samples(spec.sample_rate, spec.clip_seconds))
    return DataFacts(f"audio:{spec.path}", "audio", shape, "float", "class",
                     classes=tuple(classes), sample_rate=spec.sample_rate)


def _speech_files(spec: DatasetSpec) -> DataFacts:
    from engine.data.audio.entries import folder_of, speech_entries
    from engine.data.audio.wav import ClipError, clip_header
    from engine.data.core import split_indices
    from engine.data.problems import Problems

    problems = Problems(spec.bad_entries)
    entries = speech_entries(folder_of(spec.path, "speech"), spec.target_path, spec.lowercase,
                             problems)
    length = sets.clip_samples(spec.sample_rate, spec.clip_seconds)
    texts = []
    for entry in entries:
        try:
            rate, _, frames = clip_header(entry.path)
        except ClipError as e:
            problems.add(entry.where, "", str(e))
            continue
        g = math.gcd(rate, spec.sample_rate)
        if math.ceil(frames * (spec.sample_rate // g) / (rate // g)) > length + 1:
            problems.add(entry.where, "", f"is longer than the clips ({spec.clip_seconds:g} s, "
                                      "dataset.clip_seconds)")
            continue
        texts.append(entry.label)
    if not texts:
        from engine.data.core import DataError

        raise DataError(f"{spec.path}: none of the {len(entries)} clips can be used")
    train, val, test = split_indices(len(texts), spec.val_fraction, spec.test_fraction,
                                     spec.split_seed, f"speech:{spec.path}")
    known = set("".join(texts[i] for i in train.tolist()))
    used = train.tolist() + [i for i in val.tolist() + test.tolist() if set(texts[i]) <= known]
    return DataFacts(f"speech:{spec.path}", "audio", (1, length), "float", "transcript",
                     target_shape=(max(len(texts[i]) for i in used),),
                     target_vocab=(BLANK, *sorted(known)), sample_rate=spec.sample_rate)
