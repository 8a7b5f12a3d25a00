"""Built-in data sets, generated on the fly (no download) and deterministic by seed.

The generation seed is ``spec.options["seed"]`` when given, else ``spec.split_seed``.
``spec.samples`` sets the size of generated sets; other knobs live in ``spec.options``
(``arms``, ``turns``, ``noise`` for spirals; ``noise`` for moons, shapes, shapes_seg and
shapes_det; ``centers``, ``features``, ``spread`` for blobs; ``noise`` for sines).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from engine.data.audio.sets import DEFAULT_SAMPLES as SOUND_SAMPLES
from engine.data.core import DataError, number_option, split_indices
from engine.data.corpus import pytext_corpus
from engine.data.raw import Raw
from engine.data.scenes import DET_CLASSES, MAX_SHAPES, MIN_SIZE, SEG_CLASSES, Scenes, draw_scenes
from engine.data.shapes import SHAPE_CLASSES, draw_shapes
from engine.data.texts.generate import DEFAULT_SAMPLES as TEXT_SAMPLES
from engine.project import DatasetSpec

BUILTIN: dict[str, str] = {
    "spirals": "2-D points on 2 or 3 interleaved spiral arms (classification)",
    "moons": "2-D points on two interleaving half circles (classification)",
    "blobs": "2-D Gaussian clusters, 4 by default (classification)",
    "shapes": "28x28 grey images of circles, squares, triangles, crosses, stars, rings",
    "sines": "noisy sine waves: a window of values -> the next value (regression)",
    "digits": "scikit-learn's 8x8 handwritten digits, 1797 images, 10 classes",
    "pytext": "Python's own documentation as a character corpus (next character)",
    "shapes_seg": "64x64 colour scenes of 1-4 shapes with a mask per pixel (segmentation)",
    "shapes_det": "64x64 colour scenes of 1-4 shapes with a box per shape (detection)",
    "sentiment": "generated product reviews, positive or negative, negations included (text)",
    "dates": "dates written many ways -> the same date in ISO form (sequence to sequence)",
    "keywords": "spoken command words (yes, no, up, down...) by espeak-ng voices (sound)",
    "spoken_digits": "digit strings spoken by espeak-ng voices -> their words (speech to text)",
}

#: what a built-in image set's raw pixel values are divided by to lie in [0, 1] (sets not
#: named here are generated in [0, 1]); the model card reads the same table
#: (engine/export/preprocessing.py), so what it tells a user cannot drift from the data
PIXEL_SCALE: dict[str, float] = {"digits": 16.0}  # scikit-learn's digits are 0..16

_DEFAULT_SAMPLES = {"spirals": 3000, "moons": 2000, "blobs": 2000, "shapes": 6000, "sines": 2000,
                    "shapes_seg": 2000, "shapes_det": 2000,
                    # the language and sound sets are made by their own packages
                    **TEXT_SAMPLES, **SOUND_SAMPLES}
SCENE_SIZE = 64  # side of the shapes_seg / shapes_det images unless dataset.image_size sets it


def generate(spec: DatasetSpec) -> Raw:
    """Generate the built-in set ``spec.name``."""
    make = _MAKERS.get(spec.name)
    if make is None:
        names = ", ".join(sorted(BUILTIN))
        raise DataError(f"'{spec.name}' is not a built-in data set; choose one of {names}")
    return make(spec)


def _seed(spec: DatasetSpec) -> int:
    # numpy and scikit-learn take seeds below 2**32 (sklearn) or 2**63: fold larger ones
    return int(number_option(spec.options, "seed", spec.split_seed, -(2**63), 2**63)) % 2**32


def _samples(spec: DatasetSpec) -> int:
    return int(spec.samples or _DEFAULT_SAMPLES[spec.name])


def _opt(spec: DatasetSpec, key: str, default: float, lo: float, hi: float) -> float:
    value = spec.options.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DataError(f"builtin:{spec.name}: option {key} must be a number, not {value!r}") from None
    if not lo <= value <= hi:
        raise DataError(f"builtin:{spec.name}: option {key} must be between {lo:g} and {hi:g}")
    return value


def _counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _classified(
    spec: DatasetSpec, x: np.ndarray, y: np.ndarray, classes: list[str], kind: str = "vector"
) -> Raw:
    return Raw(
        kind=kind,
        x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        y=torch.from_numpy(np.asarray(y, dtype=np.int64)),
        target="class",
        source=f"builtin:{spec.name}",
        classes=classes,
    )


def _spirals(spec: DatasetSpec) -> Raw:
    arms = int(_opt(spec, "arms", 3, 2, 8))
    turns = _opt(spec, "turns", 1.0, 0.25, 4.0)
    noise = _opt(spec, "noise", 0.04, 0.0, 1.0)
    rng = np.random.default_rng(_seed(spec))
    xs, ys = [], []
    for k, m in enumerate(_counts(_samples(spec), arms)):
        # sqrt spreads points evenly along the arm's length; keep clear of the crowded centre
        t = np.sqrt(rng.uniform(0.01, 1.0, m))
        theta = 2 * math.pi * (k / arms + turns * t)
        pts = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
        xs.append(pts + rng.normal(0.0, noise, pts.shape))
        ys.append(np.full(m, k))
    order = rng.permutation(sum(len(y) for y in ys))
    x, y = np.concatenate(xs)[order], np.concatenate(ys)[order]
    return _classified(spec, x, y, [f"arm {k + 1}" for k in range(arms)])


def _moons(spec: DatasetSpec) -> Raw:
    from sklearn.datasets import make_moons

    noise = _opt(spec, "noise", 0.1, 0.0, 1.0)
    x, y = make_moons(n_samples=_samples(spec), noise=noise, random_state=_seed(spec))
    return _classified(spec, x, y, ["moon 1", "moon 2"])


def _blobs(spec: DatasetSpec) -> Raw:
    from sklearn.datasets import make_blobs

    centers = int(_opt(spec, "centers", 4, 2, 100))
    features = int(_opt(spec, "features", 2, 1, 1000))
    spread = _opt(spec, "spread", 1.0, 0.0, 100.0)
    x, y = make_blobs(
        n_samples=_samples(spec),
        centers=centers,
        n_features=features,
        cluster_std=spread,
        random_state=_seed(spec),
    )
    return _classified(spec, x, y, [f"blob {k + 1}" for k in range(centers)])


def _shapes(spec: DatasetSpec) -> Raw:
    images, labels, _ = _draw_shapes(spec, with_masks=False)
    return _classified(spec, images, labels, list(SHAPE_CLASSES), kind="image")


def _draw_shapes(spec: DatasetSpec, with_masks: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``builtin:shapes``' images [N, 1, S, S], labels [N] and, ``with_masks``, the shape
    masks [N, S, S] (bool); the images are the same either way."""
    noise = _opt(spec, "noise", 0.05, 0.0, 1.0)
    size = spec.image_size or 28
    rng = np.random.default_rng(_seed(spec))
    n = _samples(spec)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    images = np.empty((n, 1, size, size), dtype=np.float32)
    masks = np.empty((n, size, size), dtype=bool) if with_masks else None
    chunk = 8192  # bounds the temporary arrays of the distance fields
    for lo in range(0, n, chunk):
        part = None if masks is None else masks[lo : lo + chunk]
        images[lo : lo + chunk, 0] = draw_shapes(labels[lo : lo + chunk], size, rng, noise,
                                                 masks=part)
    return images, labels, masks


def shape_masks(spec: DatasetSpec, split: str | None = None) -> np.ndarray:
    """The shape masks of ``builtin:shapes`` (bool [N, S, S]: the pixels each image's
    shape covers at least half of), drawn alongside the very images the set has; for
    ``split`` ("train", "val" or "test") those of that split's samples in its order, as
    the loader splits them (``split_seed``, ``val_fraction``, ``test_fraction``). They are
    what an explanation of a shapes classifier is checked against (engine.explain)."""
    if spec.name != "shapes":
        raise DataError(f"builtin:{spec.name}: only builtin:shapes has shape masks")
    _, _, masks = _draw_shapes(spec, with_masks=True)
    assert masks is not None
    if split is None:
        return masks
    parts = dict(zip(("train", "val", "test"), split_indices(
        len(masks), spec.val_fraction, spec.test_fraction, spec.split_seed, "builtin:shapes"),
        strict=True))
    if split not in parts:
        raise DataError(f"builtin:shapes: no split {split!r}; choose train, val or test")
    return masks[parts[split].numpy()]


def scenes_of(spec: DatasetSpec, count: int | None = None) -> Scenes:
    """The numpy scenes of ``builtin:shapes_seg`` / ``shapes_det`` (images, masks and
    boxes); ``count`` limits them to the first ``count`` images of the set (a preview)."""
    noise = _opt(spec, "noise", 0.05, 0.0, 1.0)
    size = spec.image_size or SCENE_SIZE
    if size < MIN_SIZE:
        raise DataError(f"builtin:{spec.name}: dataset.image_size must be at least {MIN_SIZE} "
                        f"for the shapes to stay recognisable, not {size}")
    n = _samples(spec) if count is None else min(count, _samples(spec))
    return draw_scenes(n, size, _seed(spec), noise)


def _scenes(spec: DatasetSpec) -> Raw:
    """RGB scenes with their masks [N, H, W] (long) or boxes [N, MAX_SHAPES, 5]; the
    images are drawn at ``image_size``, so the loader never resizes them away from their
    targets."""
    scenes = scenes_of(spec)
    x = torch.from_numpy(scenes.images)
    if spec.name == "shapes_seg":
        y, target, shape = torch.from_numpy(scenes.masks).long(), "mask", scenes.masks.shape[1:]
        classes = list(SEG_CLASSES)
    else:
        y, target, shape = torch.from_numpy(scenes.boxes), "boxes", (MAX_SHAPES, 5)
        classes = list(DET_CLASSES)
    return Raw(kind="image", x=x, y=y, target=target, source=f"builtin:{spec.name}",
               classes=classes, target_shape=tuple(int(d) for d in shape))


def _sines(spec: DatasetSpec) -> Raw:
    """x: a window of ``seq_len`` noisy values [T, 1]; y: the next noise-free value [1]."""
    noise = _opt(spec, "noise", 0.05, 0.0, 10.0)
    rng = np.random.default_rng(_seed(spec))
    n, t = _samples(spec), spec.seq_len
    amp = rng.uniform(0.5, 1.5, (n, 1))
    omega = rng.uniform(0.1, 0.6, (n, 1))  # radians per step
    phase = rng.uniform(0.0, 2 * math.pi, (n, 1))
    clean = amp * np.sin(omega * np.arange(t + 1)[None, :] + phase)
    x = clean[:, :t] + rng.normal(0.0, noise, (n, t))
    return Raw(
        kind="sequence",
        x=torch.from_numpy(x.astype(np.float32)[:, :, None]),
        y=torch.from_numpy(clean[:, t:].astype(np.float32)),
        target="real",
        source="builtin:sines",
        target_shape=(1,),
    )


def _digits(spec: DatasetSpec) -> Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None] / PIXEL_SCALE["digits"]
    return _classified(spec, images, digits.target, [str(d) for d in range(10)], kind="image")


def _pytext(spec: DatasetSpec) -> Raw:
    return Raw(
        kind="tokens",
        x=None,
        y=None,
        target="next_token",
        source="builtin:pytext",
        text=pytext_corpus(),
    )


_MAKERS: dict[str, Callable[[DatasetSpec], Raw]] = {
    "spirals": _spirals,
    "moons": _moons,
    "blobs": _blobs,
    "shapes": _shapes,
    "sines": _sines,
    "digits": _digits,
    "pytext": _pytext,
    "shapes_seg": _scenes,
    "shapes_det": _scenes,
}
