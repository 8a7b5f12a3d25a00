"""SVG icons from resources/icons, drawn in the theme's text colour at any size.

The SVGs use ``currentColor``; an icon engine substitutes the theme colour and renders the
vector at the exact size asked for, so icons stay crisp at every scale and in both themes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"

_color = "#1f2328"


def set_icon_color(color: str) -> None:
    """Colour for icons made from now on (call on theme change, then rebuild icons)."""
    global _color
    _color = color
    icon.cache_clear()


@cache
def _svg(name: str) -> bytes:
    return (ICONS / f"{name}.svg").read_bytes()


class SvgIconEngine(QIconEngine):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data
        self._renderer = QSvgRenderer(QByteArray(data))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.4)
        self._renderer.render(painter, QRectF(rect))
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pm

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._data)


@cache
def icon(name: str) -> QIcon:
    """The named icon in the current colour; a null icon if the file is missing."""
    try:
        data = _svg(name)
    except OSError:
        return QIcon()
    return QIcon(SvgIconEngine(data.replace(b"currentColor", _color.encode())))


def app_icon() -> QIcon:
    """The application icon keeps its own colours."""
    path = ICONS / "layerforge.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
