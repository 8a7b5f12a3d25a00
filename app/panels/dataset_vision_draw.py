"""Pictures of annotated samples for the dataset preview: the image with its mask laid
over it (one colour per class, from ``vision_draw``, which the evaluation galleries share) or
with its boxes drawn in their class colours, each with its class name.

Drawn in the GUI thread, on the thumbnail rather than on the image, so lines and names stay
thin and readable whatever the image size. The thin halo around each line and name tag is
the palette's base colour, so boxes read on light and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPalette, QPen, QPixmap

from app.panels.vision_draw import MaskPalette, overlay, scaled_pixmap

THUMB = 96  # pixels on the longer side of a preview picture (two across a narrow dock)
LINE = 2  # box line width, in thumbnail pixels
TAG_FONT_PX = 10
UNKNOWN_COLOR = "#808080"  # a class index the data's classes do not name


def text_color_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (its luminance)."""
    luminance = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor("#000000") if luminance > 150 else QColor("#ffffff")


def class_name(classes: Sequence[str], index: int) -> str:
    return classes[index] if 0 <= index < len(classes) else f"class {index}"


def draw_named_boxes(base: QPixmap, scale: float, boxes: Iterable[Sequence[float]],
                     palette: MaskPalette) -> QPixmap:
    """A copy of ``base`` with ``(class, x0, y0, x1, y1)`` boxes (image pixels; ``scale``
    thumbnail pixels each) drawn in their class colours, each tagged with its name."""
    out = base.copy()
    halo = QGuiApplication.palette().color(QPalette.ColorRole.Base)
    painter = QPainter(out)
    font = QFont(painter.font())
    font.setPixelSize(TAG_FONT_PX)
    painter.setFont(font)
    fm = painter.fontMetrics()
    tags: list[QRectF] = []  # the names drawn so far, which a new name should not cover
    for row in boxes:
        cls, x0, y0, x1, y1 = (int(row[0]), *(float(v) * scale for v in row[1:5]))
        if cls < 0:  # an unused row
            continue
        known = 0 <= cls < len(palette.colors)
        color = palette.colors[cls] if known else QColor(UNKNOWN_COLOR)
        rect = QRectF(x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0))
        painter.setPen(QPen(halo, LINE + 2))
        painter.drawRect(rect)
        painter.setPen(QPen(color, LINE))
        painter.drawRect(rect)
        name = class_name(palette.classes, cls)
        tag = _place_tag(QRectF(0, 0, fm.horizontalAdvance(name) + 4, fm.height()),
                         rect, out.width(), out.height(), tags)
        tags.append(tag)
        painter.fillRect(tag.adjusted(-1, -1, 1, 1), halo)
        painter.fillRect(tag, color)
        painter.setPen(text_color_on(color))
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, name)
    painter.end()
    return out


def _place_tag(tag: QRectF, box: QRectF, width: int, height: int,
               taken: list[QRectF]) -> QRectF:
    """Where a box's name goes: above its top left corner, else inside it at the top, else
    below or inside at the bottom: the first place on the picture that covers no name
    drawn before (the first place on the picture when each covers one)."""
    left = min(max(0.0, box.left()), max(0.0, width - tag.width()))
    tops = (box.top() - tag.height(), box.top(), box.bottom(), box.bottom() - tag.height())
    places = [QRectF(left, top, tag.width(), tag.height()) for top in tops
              if 0 <= top <= height - tag.height()] or [QRectF(left, 0, tag.width(), tag.height())]
    return next((p for p in places if not any(p.intersects(t) for t in taken)), places[0])


def sample_picture(sample: Any, palette: MaskPalette, size: int = THUMB) -> QPixmap:
    """The picture of one ``VisionSample``: its mask as an overlay, its boxes with names."""
    image = sample.image
    if sample.mask is not None:
        image = overlay(image, sample.mask, palette)
    h, w = image.shape[:2]
    scale = size / max(h, w, 1)
    pix = scaled_pixmap(image, max(1, round(w * scale)), max(1, round(h * scale)))
    if sample.boxes:
        pix = draw_named_boxes(pix, pix.width() / max(w, 1), sample.boxes, palette)
    return pix
