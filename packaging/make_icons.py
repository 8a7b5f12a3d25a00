"""Render the app icon (resources/icons/layerforge.svg) to the hicolor PNG sizes.

    .venv/bin/python packaging/make_icons.py

writes packaging/icons/hicolor/<N>x<N>/apps/layerforge.png for every size in SIZES. The
PNGs are committed; rerun this after changing the SVG. Rendering uses QtSvg (part of
PySide6-Essentials), offscreen, so it needs no display.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "layerforge.svg"
OUT = ROOT / "packaging" / "icons" / "hicolor"
SIZES = (16, 32, 48, 64, 128, 256, 512)
NAME = "layerforge.png"


def icon_path(size: int, root: Path = OUT) -> Path:
    return root / f"{size}x{size}" / "apps" / NAME


def render(svg: Path = SVG, out: Path = OUT, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write one PNG per size (transparent background, antialiased); return their paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = icon_path(size, out)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the PNG")
        written.append(path)
    return written


def main() -> int:
    for path in render():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
