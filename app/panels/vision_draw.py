"""Pictures of the vision evaluation galleries: masks laid over their image in one colour
per class, image / truth / prediction side by side, and boxes drawn by outcome (true
positive, false positive, miss). Plain numpy for the masks (any size, quick), QPainter for
the boxes (drawn on the thumbnail, so lines stay thin and crisp whatever the image size).
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

from app.widgets.images import image_from_array
from app.widgets.plot_style import CLASS_COLORS

IGNORE = 255  # the mask value no class has (contract: fixed 255 in the data)
MASK_ALPHA = 0.7
#: under a mask the picture is shown in grey, dimmed, so that the class colours stand out
#: on colourful scenes: grey * BASE_GAIN + BASE_LIFT
BASE_GAIN, BASE_LIFT = 0.55, 40.0
GAP = 3  # pixels between the three pictures of a segmentation sample
#: detection outcomes: colour and whether the line is dashed (a miss is where a box
#: should be, not a box the model drew)
OUTCOME_STYLE = {"tp": ("#2ca02c", False), "fp": ("#d62728", False), "miss": ("#f0a30a", True)}
OUTCOME_NAMES = {"tp": "true positive", "fp": "false positive", "miss": "missed"}
IGNORE_COLOR = "#ffffff"


def class_colors(count: int) -> list[QColor]:
    """One colour per class: the plots' categorical palette for the first ten, then hues
    spread evenly, so no two classes of a large set share a colour."""
    out = [QColor(c) for c in CLASS_COLORS[:count]]
    extra = count - len(out)
    for i in range(extra):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.65, 0.9)
        out.append(QColor(round(r * 255), round(g * 255), round(b * 255)))
    return out


def is_background(name: str) -> bool:
    """A class drawn without a tint: the picture shows through where nothing was found."""
    return name.strip().lower() in ("background", "_background_", "bg")


class MaskPalette:
    """Look-up tables from mask values to RGB and opacity: each class its colour (the
    background none), the ignore value a pale veil, anything else nothing."""

    def __init__(self, classes: list[str]) -> None:
        self.classes = list(classes)
        self.colors = class_colors(len(classes))
        self.rgb = np.zeros((256, 3), dtype=np.float32)
        self.alpha = np.zeros(256, dtype=np.float32)
        for i, (name, c) in enumerate(zip(classes[:IGNORE], self.colors, strict=False)):
            self.rgb[i] = (c.red(), c.green(), c.blue())
            self.alpha[i] = 0.0 if is_background(name) else MASK_ALPHA
        ignore = QColor(IGNORE_COLOR)
        self.rgb[IGNORE] = (ignore.red(), ignore.green(), ignore.blue())
        self.alpha[IGNORE] = 0.35

    def legend(self) -> list[tuple[str, QColor]]:
        """(name, colour) of every tinted class, for a legend."""
        return [(n, c) for n, c in zip(self.classes, self.colors, strict=False)
                if not is_background(n)]


def as_rgb(image: Any) -> np.ndarray:
    """A uint8 picture [H, W] or [H, W, 3] as RGB [H, W, 3]."""
    a = np.asarray(image, dtype=np.uint8)
    return np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a


def overlay(image: Any, mask: Any, palette: MaskPalette) -> np.ndarray:
    """``mask`` (class per pixel, uint8 [H, W]) laid over ``image`` in the class colours,
    the picture in dimmed grey beneath."""
    rgb = as_rgb(image).astype(np.float32)
    m = np.asarray(mask, dtype=np.uint8)
    if m.shape != rgb.shape[:2]:  # never expected; a picture without overlay beats a crash
        return rgb.astype(np.uint8)
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    base = (grey * BASE_GAIN + BASE_LIFT)[:, :, None]
    a = palette.alpha[m][:, :, None]
    return (base * (1 - a) + palette.rgb[m] * a + 0.5).astype(np.uint8)


def triptych(image: Any, true: Any, pred: Any, palette: MaskPalette) -> np.ndarray:
    """Image, truth overlay and prediction overlay side by side, GAP white pixels apart."""
    img = as_rgb(image)
    h = img.shape[0]
    gap = np.full((h, GAP, 3), 255, dtype=np.uint8)
    return np.concatenate([img, gap, overlay(img, true, palette), gap,
                           overlay(img, pred, palette)], axis=1)


def scaled_pixmap(image: Any, width: int, height: int) -> QPixmap:
    """``image`` (uint8) scaled to fit width x height, pixels kept sharp (masks, small
    images: nearest neighbour reads better than a blur)."""
    img = image_from_array(image)
    return QPixmap.fromImage(img.scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))


def draw_boxes(base: QPixmap, scale: float,
               boxes: Iterable[tuple[str, tuple[float, float, float, float]]]) -> QPixmap:
    """A copy of ``base`` with ``(outcome, (x0, y0, x1, y1))`` boxes drawn on it, box
    coordinates in image pixels (``scale`` thumbnail pixels each)."""
    out = base.copy()
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    for outcome, (x0, y0, x1, y1) in boxes:
        color, dashed = OUTCOME_STYLE[outcome]
        pen = QPen(QColor(color), 2)
        pen.setStyle(Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        painter.setPen(pen)
        painter.drawRect(QRectF(x0 * scale, y0 * scale, max((x1 - x0) * scale, 1.0),
                                max((y1 - y0) * scale, 1.0)))
    painter.end()
    return out


def swatch(color: QColor, size: int = 12, dashed: bool = False) -> QPixmap:
    """A small square of ``color`` for a legend (an outline when ``dashed``)."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    if dashed:
        pen = QPen(color, 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(1, 1, size - 2, size - 2)
    else:
        painter.fillRect(0, 0, size, size, color)
    painter.end()
    return pix
