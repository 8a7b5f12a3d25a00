"""What a data set gives a model, as a small plain value: :class:`DataFacts`.

The editor checks the model against the data after every edit (``engine.train.fit``), long
before anything trains, so the facts must come cheaply: :func:`quick_facts` knows the
built-in and downloadable sets without generating or downloading them (and without torch);
:func:`data_facts` falls back to reading the files of the other sources. A test checks
:func:`quick_facts` against :func:`facts_of` of the loaded data for every built-in set, so
the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.project import DatasetSpec

if TYPE_CHECKING:
    from engine.data.core import DataBundle


@dataclass(frozen=True, slots=True)
class DataFacts:
    """The shapes and targets of a data set, as a model sees them.

    ``kind``: "vector", "image", "sequence" or "tokens"; ``input_shape`` is per sample;
    ``target``: "class", "real", "next_token" or "none"; ``classes`` (class names) or
    ``vocab`` (characters of a corpus); ``target_shape`` per sample for real targets and
    tokens. The same names as :class:`~engine.data.core.DataBundle`, so fit checks take
    either."""

    source: str
    kind: str
    input_shape: tuple[int, ...]
    input_dtype: str
    target: str
    classes: tuple[str, ...] | None = None
    vocab: tuple[str, ...] | None = None
    target_shape: tuple[int, ...] = ()
    #: pairs and speech: the output side's tokens (``vocab`` is the input's)
    target_vocab: tuple[str, ...] | None = None
    #: audio and speech: the clips' sample rate (Hz), which the front-end blocks need
    sample_rate: int | None = None

    @property
    def num_classes(self) -> int:
        """Output classes: the class count, the vocabulary size for tokens, else 0."""
        return count_classes(self.classes, self.target, self.target_vocab or self.vocab)

    @property
    def resizable(self) -> bool:
        """Images follow ``dataset.image_size`` (every image source resizes to it)."""
        return self.kind == "image" and len(self.input_shape) == 3

    def resized(self, size: int) -> DataFacts:
        """The facts of the same images with ``dataset.image_size`` set to ``size``."""
        if not self.resizable:
            return self
        target_shape = (size, size) if self.target == "mask" else self.target_shape
        return replace(self, input_shape=(self.input_shape[0], size, size),
                       target_shape=target_shape)


def facts_of(bundle: DataBundle) -> DataFacts:
    """The facts of a loaded data set."""
    return DataFacts(
        source=bundle.source,
        kind=bundle.kind,
        input_shape=tuple(int(d) for d in bundle.input_shape),
        input_dtype=bundle.input_dtype,
        target=bundle.target,
        classes=tuple(bundle.classes) if bundle.classes else None,
        vocab=tuple(bundle.vocab) if bundle.vocab else None,
        target_shape=tuple(int(d) for d in bundle.target_shape),
        target_vocab=tuple(bundle.target_vocab) if bundle.target_vocab else None,
        sample_rate=int(bundle.sample_rate) if bundle.sample_rate else None,
    )


def _number(spec: DatasetSpec, key: str, default: float, lo: float, hi: float) -> int | None:
    """A built-in's whole-number option as its generator reads it; None when the value is
    wrong (the loader then says why)."""
    value = spec.options.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if lo <= number <= hi else None


def model_channels(spec: DatasetSpec, channels: int) -> int:
    """The channels of the images a model receives: greyscale images (or images made
    greyscale) go into an RGB backbone with their one channel repeated three times, when
    the fixed normalisation (``dataset.mean``, a pretrained backbone's) has three values."""
    if spec.grayscale and channels == 3:
        channels = 1
    if channels == 1 and spec.mean is not None and len(spec.mean) == 3:
        return 3
    return channels


def _image(spec: DatasetSpec, source: str, channels: int, size: int, classes: list[str]) -> DataFacts:
    channels = model_channels(spec, channels)
    side = spec.image_size or size
    return DataFacts(source, "image", (channels, side, side), "float", "class", tuple(classes))


def _classes(spec: DatasetSpec, shape: tuple[int, ...], names: list[str]) -> DataFacts:
    return DataFacts(f"builtin:{spec.name}", "vector", shape, "float", "class", tuple(names))


def _builtin_facts(spec: DatasetSpec) -> DataFacts | None:
    name = spec.name
    if name == "spirals":
        arms = _number(spec, "arms", 3, 2, 8)
        return None if arms is None else _classes(spec, (2,), [f"arm {k + 1}" for k in range(arms)])
    if name == "moons":
        return _classes(spec, (2,), ["moon 1", "moon 2"])
    if name == "blobs":
        centers = _number(spec, "centers", 4, 2, 100)
        features = _number(spec, "features", 2, 1, 1000)
        if centers is None or features is None:
            return None
        return _classes(spec, (features,), [f"blob {k + 1}" for k in range(centers)])
    if name == "shapes":
        return _image(spec, "builtin:shapes", 1, 28, SHAPE_NAMES)
    if name == "digits":
        return _image(spec, "builtin:digits", 1, 8, [str(d) for d in range(10)])
    if name == "sines":
        return DataFacts("builtin:sines", "sequence", (spec.seq_len, 1), "float", "real",
                         target_shape=(1,))
    if name in ("shapes_seg", "shapes_det"):
        return _scene_facts(spec)
    if name in TEXT_BUILTINS:
        from engine.data.texts.facts import text_facts

        return text_facts(spec)
    if name in AUDIO_BUILTINS:
        from engine.data.audio.facts import audio_facts

        return audio_facts(spec)
    if name == "pytext":
        from engine.data.corpus import pytext_corpus, vocabulary

        return DataFacts("builtin:pytext", "tokens", (spec.seq_len,), "long", "next_token",
                         vocab=tuple(vocabulary(pytext_corpus())), target_shape=(spec.seq_len,))
    return None


#: the built-in language and sound sets, loaded by engine.data.texts and engine.data.audio
TEXT_BUILTINS = ("sentiment", "dates")
AUDIO_BUILTINS = ("keywords", "spoken_digits")

#: engine.data.shapes.SHAPE_CLASSES, without numpy (the facts test checks they agree)
SHAPE_NAMES = ["circle", "square", "triangle", "cross", "star", "ring"]
#: engine.data.scenes' side, most shapes per image and least side, without numpy
_SCENE_SIZE, _SCENE_SHAPES, _SCENE_MIN_SIZE = 64, 4, 16


def _scene_facts(spec: DatasetSpec) -> DataFacts | None:
    """shapes_seg: a mask per pixel, "background" then the shapes; shapes_det: up to four
    boxes per image, one class per shape. Drawn at ``image_size``, so masks follow it."""
    side = spec.image_size or _SCENE_SIZE
    if side < _SCENE_MIN_SIZE:
        return None  # the loader says why
    channels = model_channels(spec, 3)
    source = f"builtin:{spec.name}"
    if spec.name == "shapes_seg":
        return DataFacts(source, "image", (channels, side, side), "float", "mask",
                         ("background", *SHAPE_NAMES), target_shape=(side, side))
    return DataFacts(source, "image", (channels, side, side), "float", "boxes",
                     tuple(SHAPE_NAMES), target_shape=(_SCENE_SHAPES, 5))
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CIFAR_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]
#: the downloadable sets: (channels, side, number of classes); see engine.data.download
_DOWNLOADS = {"mnist": (1, 28, 10), "fashion-mnist": (1, 28, 10), "cifar10": (3, 32, 10)}
_DOWNLOAD_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
                     "cifar-10": "cifar10"}


def count_classes(classes: Sequence[str] | None, target: str,
                  vocab: Sequence[str] | None) -> int:
    """A data set's output classes: the class count, the vocabulary size when the target is
    tokens (the next token, a target sequence, a transcript: pass the output side's
    vocabulary), else 0 (shared by :class:`DataFacts` and ``DataBundle``)."""
    if classes:
        return len(classes)
    if target in ("next_token", "sequence", "transcript") and vocab:
        return len(vocab)
    return 0


#: sources whose data is in files the user chose (their facts need reading)
FILE_SOURCES = ("folder", "idx", "csv", "text", "segmentation", "detection", "texts", "pairs",
                "audio", "speech")


def reads_files(spec: DatasetSpec) -> bool:
    """The data is in files the user chose (their facts need reading)."""
    return spec.source in FILE_SOURCES and bool(spec.path.strip())


def quick_facts(spec: DatasetSpec) -> DataFacts | None:
    """The facts of a built-in or downloadable set without generating, downloading or
    importing torch (milliseconds); None for file sources, for a set that is not chosen or
    unknown, and for options the loader would refuse."""
    if spec.source == "builtin":
        return _builtin_facts(spec)
    if spec.source == "download":
        name = spec.name.strip().lower()
        name = _DOWNLOAD_ALIASES.get(name, name)
        known = _DOWNLOADS.get(name)
        if known is None:
            return None
        channels, side, n = known
        names = {"fashion-mnist": FASHION_CLASSES, "cifar10": CIFAR_CLASSES}.get(
            name, [str(d) for d in range(n)])
        return _image(spec, f"download:{name}", channels, side, names)
    return None


def data_facts(spec: DatasetSpec) -> DataFacts:
    """The facts of ``spec`` (paths absolute): :func:`quick_facts` where it knows them, else
    from the files (an image folder's headers only, other files loaded). Raises
    :class:`~engine.data.core.DataError` when the data cannot be read."""
    quick = quick_facts(spec)
    if quick is not None:
        return quick
    from engine.data.loader import load_dataset

    if spec.source in ("segmentation", "detection"):
        from engine.data.annotations import vision_facts

        return vision_facts(spec)
    if spec.source in ("texts", "pairs"):
        from engine.data.texts.facts import text_facts

        return text_facts(spec)
    if spec.source in ("audio", "speech"):
        from engine.data.audio.facts import audio_facts

        return audio_facts(spec)
    if spec.source == "folder":
        from engine.data import folder

        root = Path(spec.path).expanduser()
        if spec.path.strip():
            scan = folder.scan_folder(root, spec.image_size, spec.grayscale)
            channels = model_channels(spec, scan.channels)
            return DataFacts(f"folder:{spec.path}", "image",
                             (channels, scan.height, scan.width), "float", "class",
                             tuple(scan.classes))
    return facts_of(load_dataset(spec))


def describe_kind(shape: tuple[Any, ...], dtype: str, kind: str = "") -> str:
    """What a per-sample shape holds, in words: images, vectors, sequences, text or sound
    clips (``kind`` "audio": waveforms look like sequences by their shape alone)."""
    if dtype == "long":
        return "text"
    if kind == "audio":
        return "sound clips"
    return {1: "vectors", 2: "sequences", 3: "images"}.get(len(shape), f"{len(shape)}-D tensors")
