"""Image folders: one sub-folder per class, read with Pillow.

Scanning reads only image headers (size and mode) to check the folder and decide whether
the decoded set fits in memory; decoding then runs on a thread pool (Pillow releases the GIL
while decoding). Images are resized to ``image_size`` squares when it is set, and must all
have the same size when it is not. They are greyscale (1 channel) when ``grayscale`` is set
or every image is greyscale, else RGB.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from engine.data import limits
from engine.data.core import DataError
from engine.errors import os_reason

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
_PIL_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError)
Progress = Callable[[str, int, int], None]


@dataclass
class FolderScan:
    """What a scan of an image folder found."""

    root: Path
    files: list[Path]
    labels: np.ndarray  # int64, one per file
    classes: list[str]
    channels: int
    height: int
    width: int

    @property
    def decoded_bytes(self) -> int:
        """Memory the whole set takes as float32 tensors."""
        return len(self.files) * self.channels * self.height * self.width * 4


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()


def scan_folder(
    root: Path, image_size: int | None, grayscale: bool, progress: Progress | None = None
) -> FolderScan:
    """Check the folder layout and every image header; :class:`DataError` names the problem."""
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is a file; an image data set is a folder of class folders")
    class_dirs = _class_dirs(root)
    if not class_dirs:
        raise DataError(
            f"{root}: no class folders; put the images of each class in a sub-folder named "
            f"after the class (for example {root / 'cat'})"
        )
    files, labels = image_files(class_dirs)
    sizes: dict[tuple[int, int], Path] = {}
    grey = True
    for i, path in enumerate(files):
        try:
            with Image.open(path) as im:
                sizes.setdefault(im.size, path)
                grey = grey and im.mode in _GREY_MODES
        except _PIL_ERRORS as e:
            raise DataError(f"{path}: cannot read this image; it is damaged or not an image ({_reason(e)})") from None
        if progress is not None and i % 256 == 0:
            progress("Checking images", i, len(files))
    if image_size is None and len(sizes) > 1:
        (a, pa), (b, pb) = list(sizes.items())[:2]
        raise DataError(
            f"{root}: images have different sizes ({a[0]}x{a[1]} in {pa.relative_to(root)}, "
            f"{b[0]}x{b[1]} in {pb.relative_to(root)}); set an image size so that they are "
            f"all resized to it"
        )
    width, height = (image_size, image_size) if image_size else next(iter(sizes))
    channels = 1 if grayscale or grey else 3
    return FolderScan(
        root, files, np.array(labels, dtype=np.int64), [d.name for d in class_dirs],
        channels, height, width,
    )


def image_files(class_dirs: list[Path]) -> tuple[list[Path], list[int]]:
    """The images of each class folder (sorted; also those in its sub-folders, which a
    bias report can group by: docs/fairness.md) and their class indices, in the order
    the loaded data holds them."""
    files: list[Path] = []
    labels: list[int] = []
    for k, d in enumerate(class_dirs):
        found = sorted(p for p in d.rglob("*") if _is_image(p)
                       and not any(part.startswith(".") for part in p.relative_to(d).parts))
        if not found:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise DataError(f"{d}: the class folder '{d.name}' has no images ({kinds})")
        files += found
        labels += [k] * len(found)
    return files, labels


def list_images(root: Path) -> list[Path]:
    """Every image of an image folder in the loaded data's order (sample ``i`` is file
    ``i`` before splitting), without reading any image."""
    return image_files(_class_dirs(root))[0]


def _class_dirs(root: Path) -> list[Path]:
    """The class folders of ``root``, sorted; refused past ``limits.MAX_CLASSES`` while
    listing, so a folder of a million sub-folders is not listed in full first."""
    found: list[Path] = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                if len(found) >= limits.MAX_CLASSES:
                    raise DataError(
                        f"{root}: more than {limits.MAX_CLASSES:,} class folders; LayerForge "
                        f"supports at most {limits.MAX_CLASSES:,} classes (one sub-folder each)"
                    )
                found.append(Path(entry.path))
    except OSError as e:
        raise DataError(f"{root}: cannot list the folder ({os_reason(e)})") from None
    return sorted(found)


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.replace(" cannot identify image file", " not a recognised image format")


def decode_image(path: Path, channels: int, height: int, width: int) -> np.ndarray:
    """One image as uint8 [C, H, W]; :class:`DataError` names the file when it is broken."""
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (width, height):
                im = im.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.array(im, dtype=np.uint8)  # a writable copy
    except _PIL_ERRORS as e:
        raise DataError(f"{path}: cannot read this image; it is damaged or not an image ({_reason(e)})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_all(scan: FolderScan, progress: Progress | None = None) -> torch.Tensor:
    """Every image of the scan as one uint8 tensor [N, C, H, W]."""
    n = len(scan.files)
    out = np.empty((n, scan.channels, scan.height, scan.width), dtype=np.uint8)

    def one(i: int) -> None:
        out[i] = decode_image(scan.files[i], scan.channels, scan.height, scan.width)

    threads = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(one, range(n)), start=1):
            if progress is not None and (done % 256 == 0 or done == n):
                progress("Reading images", done, n)
    return torch.from_numpy(out)


class ImageFileDataset(torch.utils.data.Dataset):
    """Map-style dataset over image files, for streaming splits: ``(uint8 [C,H,W], label)``."""

    def __init__(self, files: list[Path], labels: np.ndarray, channels: int, height: int, width: int):
        self.files = [str(f) for f in files]
        self.labels = labels
        self.shape = (channels, height, width)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = decode_image(Path(self.files[i]), *self.shape)
        return torch.from_numpy(image), int(self.labels[i])


class Normalize:
    """uint8 pixels -> float in [0, 1] -> (x - mean) / std per channel; picklable.
    ``channels`` 3 repeats a greyscale batch's one channel (for an RGB backbone)."""

    def __init__(self, mean: list[float] | None, std: list[float] | None,
                 channels: int | None = None) -> None:
        self.mean = mean
        self.std = std
        self.channels = channels

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().div_(255.0)
        if self.channels == 3 and x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if self.mean is None or self.std is None:
            return x
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return x.sub_(mean).div_(std)


def sample_stats(
    scan: FolderScan, index: np.ndarray, limit: int, seed: int
) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of up to ``limit`` images of ``index`` (a train split)."""
    rng = np.random.default_rng(seed)
    pick = index if len(index) <= limit else rng.choice(index, size=limit, replace=False)
    total = np.zeros(scan.channels)
    total_sq = np.zeros(scan.channels)
    for i in sorted(pick.tolist()):
        img = decode_image(scan.files[i], scan.channels, scan.height, scan.width) / 255.0
        total += img.sum(axis=(1, 2))
        total_sq += (img * img).sum(axis=(1, 2))
    count = len(pick) * scan.height * scan.width
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))
    return mean.tolist(), [s if s > 1e-6 else 1.0 for s in std.tolist()]
