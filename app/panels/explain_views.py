"""The Explain tab's views: a captioned picture, the block's activations (feature maps as
a grid, or a histogram of a vector), and the link-like button the evaluation's gallery
offers. They show plain arrays given to them."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from app.widgets.images import image_from_array
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot

#: the side of the image and overlay pictures (a 28x28 sample is drawn 7 times as large)
PICTURE = 196
#: the most a feature-map grid takes a side
GRID = 300


def picture_label(side: int) -> QLabel:
    label = QLabel()
    label.setFixedSize(side, side)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setProperty("role", "picture")
    return label


def set_picture(label: QLabel, arr: Any, side: int) -> None:
    """``arr`` (uint8 grey or RGB) scaled to fit ``side`` pixels; pixels stay square and
    crisp (a sample is a few dozen pixels)."""
    from PySide6.QtGui import QPixmap

    img = image_from_array(arr).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.FastTransformation)
    label.setPixmap(QPixmap.fromImage(img))


class Picture(QWidget):
    """A caption over a picture of fixed size."""

    def __init__(self, caption: str, side: int = PICTURE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.caption = plain_label(caption, wrap=False)  # one line: the pictures align
        self.caption.setFixedWidth(side)
        self.image = picture_label(side)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.caption)
        lay.addWidget(self.image)
        lay.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)

    def show_array(self, arr: Any, caption: str | None = None) -> None:
        if caption is not None:
            self.set_caption(caption)
        set_picture(self.image, arr, self.side)

    def clear(self, caption: str | None = None) -> None:
        self.image.clear()
        if caption is not None:
            self.set_caption(caption)

    def set_caption(self, text: str) -> None:
        """One line, its end elided to the picture's width (the tooltip has it whole)."""
        fm = self.caption.fontMetrics()
        self.caption.setText(fm.elidedText(text, Qt.TextElideMode.ElideRight, self.side))
        self.caption.setToolTip(text)

    @property
    def shown(self) -> bool:
        pixmap = self.image.pixmap()
        return pixmap is not None and not pixmap.isNull()


class ActivationView(QStackedWidget):
    """A block's output for the sample: a grid of its feature maps (page 0) or a
    histogram of its values (page 1); an empty page when there is nothing to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = picture_label(GRID)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(GRID, 220)
        self.plot.setMaximumHeight(GRID)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "activation")
        self.plot.setLabel("left", "units")
        self.bars: pg.BarGraphItem | None = None
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.grid, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.addWidget(holder)
        self.addWidget(self.plot)
        self.addWidget(QWidget())
        self.restyle()
        self.clear_all()

    @property
    def mode(self) -> str:
        """"maps", "histogram" or "" (nothing shown)."""
        return ("maps", "histogram", "")[self.currentIndex()]

    def show_maps(self, grid: Any) -> None:
        set_picture(self.grid, grid, GRID)
        self.setCurrentIndex(0)

    def show_histogram(self, counts: list[int], edges: list[float]) -> None:
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        width = (edges[1] - edges[0]) if len(edges) > 1 else 1.0
        centres = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
        self.bars = pg.BarGraphItem(x=centres, height=counts, width=width * 0.9,
                                    brush=pg.mkBrush("#2f6fde"), pen=pg.mkPen(None))
        self.plot.addItem(self.bars)
        self.plot.autoRange()
        self.setCurrentIndex(1)

    def clear_all(self) -> None:
        self.grid.clear()
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None
        self.setCurrentIndex(2)

    def restyle(self) -> None:
        style_plot(self.plot)


class ExplainLink(QPushButton):
    """"Explain the selected sample in the Explain tab": a flat button that reads like a
    link, under the evaluation's gallery (as the Try it links are)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Explain the selected sample in the Explain tab", parent)
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("See why the model answered as it did for the sample selected in the "
                        "gallery (or double-click a sample): saliency, Grad-CAM, feature maps")
        self.setStyleSheet("QPushButton { border: none; padding: 2px 0; text-align: left;"
                           " color: palette(link); text-decoration: underline; }"
                           " QPushButton:disabled { color: palette(mid); }")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
