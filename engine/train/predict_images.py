"""Images for "Try it": a file, pasted bytes or a drawing, prepared as the run's data were.

A file or pasted bytes go through :func:`engine.data.folder.decode_image` at the run's
input size and channels (Pillow: convert to L or RGB, resize bilinear), then /255 and the
run's mean/std (:class:`engine.data.folder.Normalize`): the very steps an image folder's
samples took, so a file of the data set gives the data set's tensor.

A drawing (a uint8 array [H, W] or [H, W, C] from a drawing pad) is what a user drew on a
large canvas, in whatever colours the pad uses; for a run on grey images it is made to
look like the data before it is prepared:

- polarity: the data's digits, MNIST and shapes are light strokes on a dark ground
  (data.json's mean pixel is below one half); the drawing's ground is its border, and the
  drawing is inverted when its ground is not the data's. A drawing with transparency
  (RGBA) is its alpha: what was painted is the ink.
- framing: the ink's bounding box is centred and scaled so that its longer side fills the
  share of the frame the data's characters fill (all of it for scikit-learn's digits,
  20 of 28 pixels for MNIST-style data, the default), keeping its aspect;
- scaling: area averaging (Pillow's BOX filter), as the digits were made (on-pixels
  counted in 4x4 blocks) and as MNIST was anti-aliased, so a thin stroke stays grey
  rather than vanishing between samples.

On a colour run a drawing is only an image: it is decoded like a file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data import DataError
from engine.train.predict_facts import ink

if TYPE_CHECKING:
    import torch

    from engine.train.inference import LoadedRun

#: the share of the frame the longer side of a character's ink fills, per data source
FILL = {"builtin:digits": 1.0, "builtin:shapes": 0.6}
#: MNIST's convention (a 20x20 box in a 28x28 frame), for data not listed in FILL
DEFAULT_FILL = 20 / 28
#: a pixel is ink when it differs from the ground by more than this (0-255)
INK_LEVEL = 40


def describe(item: Any) -> str:
    """How an answer names its input: the path, "pasted image" or "drawing"."""
    if isinstance(item, np.ndarray):
        return "drawing"
    if isinstance(item, bytes | bytearray | memoryview):
        return "pasted image"
    return str(item)


def read_images(loaded: LoadedRun, inputs: Sequence[Any]) -> np.ndarray:
    """The inputs as the model takes them before normalisation: uint8 [N, C, H, W] at the
    run's input size and channels (see the module's docstring)."""
    c, h, w = (int(d) for d in loaded.bundle.input_shape)
    info = loaded.info or {}
    # greyscale images into an RGB backbone were read grey, then repeated (model_channels)
    read = 1 if c == 3 and info.get("grayscale") else c
    out = np.empty((len(inputs), c, h, w), dtype=np.uint8)
    for i, item in enumerate(inputs):
        image = _one(item, read, h, w, info)
        out[i] = np.repeat(image, c, axis=0) if image.shape[0] != c else image
    return out


def model_input(loaded: LoadedRun, images: np.ndarray) -> torch.Tensor:
    """uint8 images [N, C, H, W] -> /255 -> the run's mean/std per channel, as the data."""
    import torch

    from engine.data.folder import Normalize

    bundle = loaded.bundle
    return Normalize(bundle.mean, bundle.std)(torch.from_numpy(np.array(images, dtype=np.uint8)))


def _one(item: Any, channels: int, h: int, w: int, info: dict[str, Any]) -> np.ndarray:
    from engine.data.folder import decode_image

    if isinstance(item, np.ndarray):
        if channels == 1:
            return drawing(item, h, w, info)[None]
        return decode_image(io.BytesIO(_png(item)), channels, h, w)  # type: ignore[arg-type]
    if isinstance(item, bytes | bytearray | memoryview):
        try:
            return decode_image(io.BytesIO(bytes(item)), channels, h, w)  # type: ignore[arg-type]
        except DataError:
            raise DataError("the pasted image cannot be read: it is damaged or not an image; "
                            "copy an image (PNG, JPEG...) or open a file") from None
    if isinstance(item, str | Path):
        path = Path(item)
        if not path.is_file():
            raise DataError(f"{path}: no such file; choose an image file")
        return decode_image(path, channels, h, w)
    raise DataError(f"an image run takes image files, image bytes or drawings, not "
                    f"{type(item).__name__}")


def _check(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (
            array.ndim == 3 and array.shape[2] not in (1, 3, 4)) or 0 in array.shape:
        raise DataError(f"a drawing is a uint8 array [height, width] or [height, width, 1, 3 "
                        f"or 4], not {array.dtype} {list(array.shape)}")
    return array


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    array = _check(array)
    buf = io.BytesIO()
    Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array).save(
        buf, format="PNG")
    return buf.getvalue()


def grey_drawing(array: np.ndarray) -> np.ndarray:
    """A drawing as uint8 [H, W] with light ink on a dark ground: RGBA drawings with
    transparency are their alpha; others are greyed (ITU-R 601, as Pillow's "L") and
    inverted when their ground (the median of the border) is light."""
    from PIL import Image

    array = _check(array)
    if array.ndim == 3 and array.shape[2] == 4 and array[..., 3].min() < 255:
        return np.ascontiguousarray(array[..., 3])
    if array.ndim == 3:
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[array.shape[2]]
        grey = np.asarray(Image.fromarray(array[..., 0] if mode == "L" else array, mode)
                          .convert("L"))
    else:
        grey = array
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 255 - grey if np.median(border) > 127 else grey.copy()


def drawing(array: np.ndarray, h: int, w: int, info: dict[str, Any]) -> np.ndarray:
    """A drawing as a grey run's data look: uint8 [h, w] (see the module's docstring)."""
    from PIL import Image

    grey = grey_drawing(array)
    rows, cols = np.nonzero(grey > INK_LEVEL)
    if rows.size:
        grey = grey[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        fill = FILL.get(str(info.get("source") or ""), DEFAULT_FILL)
        # the frame, in drawing pixels, with the run's aspect: the ink's longer side
        # (relative to the frame's) fills ``fill`` of it
        scale = max(grey.shape[0] / h, grey.shape[1] / w) / fill
        fh, fw = max(grey.shape[0], round(h * scale)), max(grey.shape[1], round(w * scale))
        frame = np.zeros((fh, fw), dtype=np.uint8)
        top, left = (fh - grey.shape[0]) // 2, (fw - grey.shape[1]) // 2
        frame[top:top + grey.shape[0], left:left + grey.shape[1]] = grey
        grey = frame
    im = Image.fromarray(grey, "L")
    shrink = im.width >= w and im.height >= h
    im = im.resize((w, h), Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR)
    out = np.asarray(im, dtype=np.uint8)
    return 255 - out if ink(info) == "dark" else out.copy()
