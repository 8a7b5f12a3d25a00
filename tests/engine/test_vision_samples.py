"""Per-epoch sample pictures of the vision tasks: segmentation shows the first validation
images above their predicted masks, detection the boxes it finds, each as one PNG grid."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import nn

from engine.data.core import DataBundle, Split, StreamingSplit
from engine.data.loader import load_dataset
from engine.project import TaskSpec
from engine.tasks import DetectionTask, SegmentationTask
from engine.tasks.images import BASE_GAIN, BASE_LIFT, MASK_ALPHA, class_colors
from engine.train.setup import build_models
from tests.engine.vision_projects import tiny_detector, tiny_segmenter

SIDE = 64
GREY = 0.5  # every test image is this flat grey once denormalised
MEAN, STD = [0.25, 0.5, 0.75], [0.5, 0.25, 0.5]


def grey_images(n: int) -> torch.Tensor:
    """``n`` normalised RGB images that denormalise to flat GREY."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((torch.full((n, 3, SIDE, SIDE), GREY) - mean) / std).contiguous()


def bundle(val, target: str, classes: list[str], y_shape: tuple[int, ...]) -> DataBundle:
    return DataBundle(train=val, val=val, test=None, kind="image", input_shape=(3, SIDE, SIDE),
                      input_dtype="float32", target=target, classes=classes, mean=MEAN,
                      std=STD, target_shape=y_shape)


def png(sample) -> np.ndarray:
    assert sample is not None and sample.kind == "image"
    return np.asarray(Image.open(io.BytesIO(sample.png)).convert("RGB")).astype(int)


def picture_pixel(img: np.ndarray, top: int, left: int, scale: int):
    """A function giving the grid's pixel at image point (x, y) of the picture placed at
    (top, left) and enlarged ``scale`` times."""
    return lambda x, y: img[top + round(scale * y), left + round(scale * x)]


class LeftHalf(nn.Module):
    """Class 2 on the left half of every image, background on the right; notes whether it
    ran in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        out = torch.zeros(x.shape[0], 3, x.shape[2], x.shape[3]) + self.w
        out[:, 2, :, : x.shape[3] // 2] = 5.0
        out[:, 0, :, x.shape[3] // 2:] = 5.0
        return out


def left_half_masks(n: int) -> torch.Tensor:
    y = torch.zeros(n, SIDE, SIDE, dtype=torch.long)
    y[:, :, : SIDE // 2] = 2
    return y


def test_segmentation_sample_shows_images_above_masks_tinted_in_the_class_colour() -> None:
    model = LeftHalf()
    data = bundle(Split(grey_images(10), left_half_masks(10)), "mask",
                  ["background", "circle", "square"], (SIDE, SIDE))
    task = SegmentationTask(TaskSpec(kind="segmentation"), data, {"model": model})
    model.train()
    sample = task.sample(3)
    img = png(sample)
    # 8 images in a row, masks in the row below, 2 px apart, enlarged twice (64 -> 128)
    assert img.shape[:2] == ((2 * (SIDE + 2) + 2) * 2, (8 * (SIDE + 2) + 2) * 2)
    assert model.modes == [False] and model.training  # eval for the sample, then back
    assert sample.caption.startswith("epoch 3:") and "mIoU 1.00" in sample.caption

    grey = round(GREY * 255)
    base = grey * BASE_GAIN + BASE_LIFT
    tinted = base * (1 - MASK_ALPHA) + class_colors(3)[2] * MASK_ALPHA
    for col in (0, 7):
        left = (2 + col * (SIDE + 2)) * 2
        top_row, mask_row = 2 * 2, (2 + SIDE + 2) * 2
        assert (img[top_row + 20, left + 20] == grey).all()  # the image itself, denormalised
        assert np.abs(img[mask_row + 20, left + 20] - tinted).max() <= 1  # class 2 pixels
        assert np.abs(img[mask_row + 20, left + 100] - base).max() <= 1  # background: no tint


def test_segmentation_caption_scores_the_shown_images() -> None:
    y = left_half_masks(8)
    y[:, :, : SIDE // 4] = 1  # half of the class-2 prediction is really class 1
    data = bundle(Split(grey_images(8), y), "mask", ["background", "circle", "square"],
                  (SIDE, SIDE))
    task = SegmentationTask(TaskSpec(kind="segmentation"), data, {"model": LeftHalf()})
    # background IoU 1, circle 0 (never predicted), square 1/2
    assert "mIoU 0.50" in task.sample(1).caption


class FixedMaps(nn.Module):
    """Detector maps at stride 4: a sure class-1 peak and a doubtful class-0 one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, h, w = 2, x.shape[2] // 4, x.shape[3] // 4
        maps = torch.full((x.shape[0], k + 4, h, w), -10.0)
        maps[:, k:] = 0.0
        for cls, row, col, score, size in ((1, 6, 8, 0.9, (5.0, 4.0)), (0, 12, 3, 0.2, (4.0, 4.0))):
            maps[:, cls, row, col] = torch.logit(torch.tensor(score))
            maps[:, k:k + 2, row, col] = torch.tensor(size)
        return maps


class Pictures(torch.utils.data.Dataset):
    """A streaming split's samples: (image, boxes)."""

    def __init__(self, n: int) -> None:
        self.x = grey_images(n)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int):
        return self.x[i], torch.full((1, 5), -1.0)


def test_detection_sample_draws_the_confident_box_in_its_class_colour_only() -> None:
    # a streaming split read with a DataLoader, which seeds itself from torch's global state
    val = StreamingSplit(Pictures(10), torch.full((10, 1, 5), -1.0), num_workers=0)
    data = bundle(val, "boxes", ["circle", "square"], (1, 5))
    task = DetectionTask(TaskSpec(kind="detection"), data, {"model": FixedMaps()})
    found = task.predict(val, 10, limit=1)[0]
    assert found["labels"] == [1, 0]
    assert found["boxes"][0] == [22.0, 16.0, 42.0, 32.0]  # the sure box, in input pixels
    low = found["boxes"][1]  # the doubtful one, below the sample's 0.3

    state = torch.get_rng_state()
    sample = task.sample(2)
    assert torch.equal(torch.get_rng_state(), state)
    img = png(sample)
    # 4 pictures a row, enlarged three times (64 -> 192), 2 px apart
    tile = 3 * SIDE + 2
    assert img.shape[:2] == (2 * tile + 2, 4 * tile + 2)
    assert sample.caption == "epoch 2: 8 boxes scoring at least 0.3 on 8 validation images"

    square = class_colors(2)[1]
    grey = round(GREY * 255)
    for top, left in ((2, 2), (2 + tile, 2 + 3 * tile)):  # the first picture and the last
        at = picture_pixel(img, top, left, 3)
        assert (at(32, 32 - 0.5) == square).all()  # bottom edge of the box
        assert (at(22 + 0.3, 24) == square).all()  # left edge
        assert (at(42 - 0.5, 24) == square).all()  # right edge
        assert (at(32, 24) == grey).all()  # inside: the picture
        cx, y1 = (low[0] + low[2]) / 2, low[3]
        assert (at(cx, y1 - 0.5) == grey).all()  # the doubtful box is not drawn


def test_real_tiny_models_give_samples_without_touching_the_random_state() -> None:
    for project, task_type in ((tiny_segmenter(samples=40), SegmentationTask),
                               (tiny_detector(samples=40), DetectionTask)):
        data = load_dataset(project.dataset)
        models = build_models(project, task_type, 0, torch.device("cpu"))
        task = task_type(project.task, data, models)
        state = torch.get_rng_state()
        first, again = task.sample(1), task.sample(1)
        assert torch.equal(torch.get_rng_state(), state)
        assert first.png == again.png  # the same images and model: the same picture
        side = project.dataset.image_size
        assert Image.open(io.BytesIO(first.png)).size[0] > 8 * side
