"""Widgets the segmentation and detection sections share: a legend of colour swatches and
a gallery of pictures with a caption each, in a given order."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QStyle, QWidget

from app.panels.vision_draw import swatch
from app.text import plain_tooltip
from app.widgets.flow_layout import FlowLayout

INDEX_ROLE = Qt.ItemDataRole.UserRole  # the split position of a gallery item
VERSION_ROLE = Qt.ItemDataRole.UserRole + 1  # which drawing of that sample it shows
GALLERY_SHOWN = 200  # pictures drawn at once; the title says how many there are


class Legend(QWidget):
    """Colour swatches with their names, wrapping onto more lines when narrow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=10)

    def set_entries(self, entries: list[tuple[str, QColor, bool]]) -> None:
        """``(name, colour, dashed)`` per entry, in order."""
        self.clear_all()
        for name, color, dashed in entries:
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setText(name)
            icon = QLabel()
            icon.setPixmap(swatch(color, dashed=dashed))
            icon.setToolTip(plain_tooltip(name))
            for w in (icon, label):
                self._layout.addWidget(w)
        self.updateGeometry()

    def names(self) -> list[str]:
        """The entries' names, in order (for tests)."""
        out = []
        for i in range(self._layout.count()):
            w = self._layout.itemAt(i).widget()
            if isinstance(w, QLabel) and w.text():
                out.append(w.text())
        return out

    def clear_all(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()


class PictureGallery(QListWidget):
    """Pictures with a caption and a tooltip each; ``indices`` are the split positions
    shown, in order. ``set_pictures`` reuses the items it has, so a redraw (the detection
    threshold moving) costs the pictures, not the widgets."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indices: list[int] = []
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(4)

    def set_picture_size(self, width: int, height: int, caption_lines: int = 1) -> None:
        self.setIconSize(QSize(width, height))
        fm = self.fontMetrics()
        self.setGridSize(QSize(width + 12, height + caption_lines * fm.lineSpacing() + 14))
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        self.setMinimumWidth(self.gridSize().width() + 2 * self.spacing() + bar
                             + 2 * self.frameWidth() + 4)  # one picture a row at least

    def set_pictures(self, pictures: list[tuple[int, int, QPixmap, str, str]]) -> None:
        """``(index, version, pixmap, caption, tooltip)`` per picture, in the order shown;
        a row that already shows that version of that sample is left as it is."""
        self.setUpdatesEnabled(False)
        try:
            while self.count() > len(pictures):
                self.takeItem(self.count() - 1)
            for row, (index, version, pixmap, caption, tip) in enumerate(pictures):
                item = self.item(row)
                if item is None:
                    item = QListWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                    self.addItem(item)
                elif item.data(INDEX_ROLE) == index and item.data(VERSION_ROLE) == version:
                    continue
                item.setIcon(QIcon(pixmap))
                item.setText(caption)
                item.setToolTip(plain_tooltip(tip))
                item.setData(INDEX_ROLE, index)
                item.setData(VERSION_ROLE, version)
        finally:
            self.setUpdatesEnabled(True)
        self.indices = [p[0] for p in pictures]

    def captions(self) -> list[str]:
        """Every caption shown, in order (for tests)."""
        return [self.item(r).text() for r in range(self.count())]

    def clear_all(self) -> None:
        self.clear()
        self.indices = []
