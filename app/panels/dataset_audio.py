"""Sound data in the dataset panel (sound classes, speech with transcripts and their built-in
sets): which specs they are, and the background jobs that read what the panel shows of
them through the engine's ``engine.data.audio`` (``preview``: the clips with their label or
transcript and length, the class counts, the lengths' histogram, the entries skipped and
why; ``clip_for_view``: one clip's samples) and compute a clip's spectrogram there too
(``app.widgets.audio_view.sound``, never in the GUI thread).

Nothing here touches a widget: the jobs return plain values; the drawing is
``dataset_audio_views``' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.panels.dataset_text import Histogram, data_kind, status_line
from app.widgets.audio_view import Sound, sound
from engine.project import DatasetSpec

AUDIO_SOURCES = ("audio", "speech")
PREVIEW_CLIPS = 12


def audio_kind(spec: DatasetSpec) -> str:
    """"audio" (sound classes), "speech" (clips with transcripts) or "" for other data."""
    return data_kind(spec, AUDIO_SOURCES)


def missing(spec: DatasetSpec) -> str:
    """What the user must choose before ``spec``'s clips can be read ("" when nothing)."""
    if spec.source in AUDIO_SOURCES and not spec.path.strip():
        return "Choose the folder of clips."
    return ""


@dataclass
class Clip:
    """One clip of the list: its file (under the clips folder), its label (or transcript),
    seconds, rate and channels as recorded, and its ``index`` for ``clip_for_view``."""

    index: int
    file: str
    label: str
    seconds: float
    rate: int = 0
    channels: int = 0
    voice: str = ""  # a generated clip's espeak-ng voice, speed and pitch


@dataclass
class ClipView(Sound):
    """One clip to draw and play, with its spectrogram: ``row`` of the clip list."""

    row: int = 0


@dataclass
class AudioData:
    """What the panel shows of sound data, and the (resolved) spec its clips come from."""

    kind: str
    spec: DatasetSpec
    clips: list[Clip] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)
    durations: Histogram | None = None
    samples: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: the first clip, drawn at once (the others load when picked)
    first: ClipView | None = None


def clip_view(spec: DatasetSpec, row: int, index: int) -> ClipView:
    """Clip ``index`` of ``spec`` (``row`` of the list) with its spectrogram (worker
    thread). Raises the engine's ``DataError`` naming the file when it cannot be read."""
    from engine.data.audio import clip_for_view

    wave, rate = clip_for_view(spec, index)
    return ClipView(**vars(sound(wave, rate)), row=row)


def _histogram(value: Any) -> Histogram | None:
    if not isinstance(value, dict):
        return None
    edges = [float(e) for e in value.get("bins", value.get("edges", []))]
    counts = [int(c) for c in value.get("counts", [])]
    if not counts or len(edges) != len(counts) + 1:
        return None
    return Histogram("Clip lengths (seconds)", edges, counts)


def _clip(kind: str, c: dict[str, Any], root: str) -> Clip:
    """A preview row as a list entry: a file under the clips folder by its shorter name, a
    generated clip as "clip 12"."""
    label = c.get("label") if kind == "audio" else c.get("transcript")
    file = str(c.get("file", ""))
    if root:
        try:
            file = str(Path(file).relative_to(Path(root).expanduser()))
        except ValueError:
            pass
    elif file.startswith("builtin:"):  # "builtin:keywords clip 12"
        file = file.partition(" ")[2] or file
    return Clip(int(c.get("index", 0)), file, str(label or ""), float(c.get("seconds", 0.0)),
                int(c.get("rate", 0)), int(c.get("channels", 0)), str(c.get("voice") or ""))


def read(spec: DatasetSpec, clips: int = PREVIEW_CLIPS) -> AudioData:
    """The summary, the first ``clips`` clips of ``spec`` and the first one's samples
    (worker thread). Raises the engine's ``DataError`` for data it cannot use."""
    from engine.data.audio import preview

    kind = audio_kind(spec)
    p = preview(spec, clips=clips)
    data = AudioData(kind, spec, summary=p)
    root = spec.path if spec.source != "builtin" else ""
    data.clips = [_clip(kind, c, root) for c in p.get("rows", [])]
    data.counts = [(str(k), int(n)) for k, n in dict(p.get("classes") or {}).items()]
    data.durations = _histogram(p.get("durations"))
    data.samples = int(p.get("clips", len(data.clips)))
    data.skipped = int(p.get("skipped", 0))
    data.problems = [str(m) for m in p.get("problems", [])]
    if data.clips:
        data.first = clip_view(spec, 0, data.clips[0].index)
    return data


def train_size(samples: int, spec: DatasetSpec) -> int:
    """How many of ``samples`` the loader's split gives to training (0 for none)."""
    if samples < 1:
        return 0
    from engine.data.core import split_indices

    train, _val, _test = split_indices(samples, spec.val_fraction, spec.test_fraction,
                                       spec.split_seed, spec.describe())
    return len(train)


def describe(spec: DatasetSpec, data: AudioData, train: int) -> str:
    """The status line of sound data."""
    what = (f"{len(data.counts)} classes" if data.kind == "audio" else "transcribed")
    return status_line(spec, data.samples, "clips", train, what)


def load(spec: DatasetSpec) -> tuple[AudioData, int]:
    """What the panel shows of ``spec`` and the size of its train split (worker thread)."""
    data = read(spec)
    return data, train_size(data.samples, spec)
