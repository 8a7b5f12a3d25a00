"""What the built-in spoken sets hold, without generating them (numpy only).

"keywords": eight command words, one class each (a small Speech Commands); "spoken_digits":
one to four digits spoken as words ("three seven"), the transcript being the words. The
words of every clip are drawn from the seed alone, before any audio is made, so the
editor's data checks (:mod:`engine.data.audio.facts`) know the classes, the vocabulary and
the longest transcript at once, and agree with the generated set.
"""

from __future__ import annotations

import numpy as np

from engine.project import DatasetSpec

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "stop", "go")
#: the keywords' classes, sorted as every folder's classes are
KEYWORD_CLASSES = tuple(sorted(KEYWORDS))
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: the characters of the digits' transcripts (the CTC blank "_" comes first in the vocabulary)
DIGIT_ALPHABET = tuple(sorted(set("".join(DIGIT_WORDS)) | {" "}))
MAX_DIGITS = 4
DEFAULT_SAMPLES = {"keywords": 1600, "spoken_digits": 2000}
#: spoken_digits clips last this long while dataset.clip_seconds has its default (1.0 s,
#: too short for four digits at a slow voice)
DIGITS_SECONDS = 2.0
#: the shortest clips each set can be spoken into (faster voices make up the rest)
MIN_SECONDS = {"keywords": 0.5, "spoken_digits": 1.5}
_DEFAULT_CLIP_SECONDS = 1.0


def clip_seconds(spec: DatasetSpec) -> float:
    """The clip length of the built-in set: ``dataset.clip_seconds``, except that
    spoken_digits takes :data:`DIGITS_SECONDS` while it is left at the default."""
    if spec.name == "spoken_digits" and spec.clip_seconds == _DEFAULT_CLIP_SECONDS:
        return DIGITS_SECONDS
    return float(spec.clip_seconds)


def clip_samples(rate: int, seconds: float) -> int:
    """Samples per clip: ``round(rate * seconds)``, at least one."""
    return max(1, int(round(rate * seconds)))


def sample_count(spec: DatasetSpec) -> int:
    """How many clips the set has: ``dataset.samples``, else the set's default."""
    return int(spec.samples) if spec.samples is not None else DEFAULT_SAMPLES[spec.name]


def generation_seed(spec: DatasetSpec) -> int | None:
    """The seed the set is generated from: ``dataset.options["seed"]`` when given, else
    ``dataset.split_seed`` (as the other built-ins), folded below 2**32; None when the
    option is not a whole number."""
    value = spec.options.get("seed", spec.split_seed)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        return None
    return value % 2**32


def words_of(name: str, n: int, seed: int) -> tuple[np.ndarray | None, list[str]]:
    """``(labels, texts)`` of the set's ``n`` clips: keywords: class ids into
    :data:`KEYWORD_CLASSES` (as balanced as ``n`` allows, in random order) and the words;
    spoken_digits: None and the transcripts."""
    rng = np.random.default_rng([seed, 1])
    if name == "keywords":
        labels = rng.permutation(np.arange(n) % len(KEYWORD_CLASSES)).astype(np.int64)
        return labels, [KEYWORD_CLASSES[k] for k in labels]
    counts = rng.integers(1, MAX_DIGITS + 1, size=n)
    digits = rng.integers(0, 10, size=(n, MAX_DIGITS))
    texts = [" ".join(DIGIT_WORDS[d] for d in row[:c]) for row, c in zip(digits, counts, strict=True)]
    return None, texts
