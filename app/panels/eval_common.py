"""Shared pieces of the setup and evaluation panels: background jobs, plain-text labels,
image conversion and a small class-count bar chart.

Jobs run on a panel's own QThreadPool so the GUI thread never imports torch or loads data;
a job returns plain Python values through a signal. Each job carries a generation number,
and a panel drops results older than the latest request (the user changed something).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRectF, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget


def plain_label(text: str = "", role: str = "", wrap: bool = True) -> QLabel:
    """A label that shows ``text`` literally (file names, class names, messages)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label


def scroll_body(area: QScrollArea) -> QVBoxLayout:
    """Make ``area`` a frameless scroll panel whose body follows its width; returns the
    body's layout (the dataset, hyperparameter and inspector panels are built in one)."""
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    body = QWidget()
    lay = QVBoxLayout(body)
    lay.setContentsMargins(10, 10, 10, 10)
    lay.setSpacing(8)
    area.setWidget(body)
    return lay


def user_message(exc: BaseException) -> str:
    """A sentence for the user: the message of a DataError/ProjectError/EditError, else the
    exception type and message (never a traceback)."""
    name = type(exc).__name__
    text = str(exc).strip()
    if name in ("DataError", "ProjectError", "EditError", "SetupError", "RemoteError",
                "HostKeyError"):
        return text or name
    return f"{name}: {text}" if text else name


class _JobSignals(QObject):
    succeeded = Signal(int, object)
    failed = Signal(int, str, str)


class _Job(QRunnable):
    def __init__(self, generation: int, fn: Callable[[], Any], signals: _JobSignals) -> None:
        super().__init__()
        self.generation, self.fn, self.signals = generation, fn, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # reported to the panel as a message, never raised in Qt
            self.signals.failed.emit(self.generation, user_message(e), traceback.format_exc())
            return
        self.signals.succeeded.emit(self.generation, result)


class JobRunner(QObject):
    """Runs callables in the background, one pool per owner; reports only the latest.

    ``finished(result)`` and ``failed(message)`` are emitted in the GUI thread for the
    most recent :meth:`submit` only; ``busy_changed`` says whether jobs are in flight.
    """

    finished = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._generation = 0
        self._pending = 0
        self._signals = _JobSignals(self)
        self._signals.succeeded.connect(self._on_job_succeeded)
        self._signals.failed.connect(self._on_job_failed)
        self.last_detail = ""

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(self, fn: Callable[[], Any]) -> int:
        self._generation += 1
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        self.pool.start(_Job(self._generation, fn, self._signals))
        return self._generation

    def cancel(self) -> None:
        """Forget jobs in flight: their results will be dropped."""
        self._generation += 1

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for the jobs in flight (tests and shutdown)."""
        return self.pool.waitForDone(msecs)

    def _done(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self.busy_changed.emit(False)

    def _on_job_succeeded(self, generation: int, result: object) -> None:
        self._done()
        if generation == self._generation:
            self.finished.emit(result)

    def _on_job_failed(self, generation: int, message: str, detail: str) -> None:
        self._done()
        if generation == self._generation:
            self.last_detail = detail
            self.failed.emit(message)


def style_plot(plot: Any) -> None:
    """Give a pyqtgraph PlotWidget the application palette's colours (theme-following)."""
    from PySide6.QtGui import QGuiApplication

    pal = QGuiApplication.palette()
    plot.setBackground(pal.color(QPalette.ColorRole.Base))
    text = pal.color(QPalette.ColorRole.Text)
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
    item.titleLabel.setAttr("color", text.name())
    item.titleLabel.setText(item.titleLabel.text)
    item.showGrid(x=True, y=True, alpha=0.15)


def image_from_array(arr: Any) -> QImage:
    """A QImage (copied) from a uint8 numpy array [H, W] (grey) or [H, W, 3] (RGB)."""
    import numpy as np

    a = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def pixmap_from_array(arr: Any, size: int) -> QPixmap:
    img = image_from_array(arr)
    return QPixmap.fromImage(img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))


def images_to_uint8(x: Any, bundle: Any, limit: int) -> list[Any]:
    """Up to ``limit`` samples of an image batch [N, C, H, W] as uint8 arrays (worker side):
    denormalised, scaled to 0..255, grey or RGB."""
    import torch

    x = bundle.denormalize(x[:limit].detach().float().cpu())
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.01 or hi > 1.01:  # not in [0, 1]: stretch for display
        x = (x - lo) / max(hi - lo, 1e-8)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    out = []
    for img in x:
        if img.shape[0] == 3:
            out.append(img.permute(1, 2, 0).numpy().copy())
        else:
            out.append(img[0].numpy().copy())
    return out


class BarChart(QWidget):
    """Horizontal bars with a name and a count each (class counts); names are painted as
    plain text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, items: list[tuple[str, int]]) -> None:
        self.items = list(items)
        self.setFixedHeight(max(1, len(self.items)) * 18 + 6 if self.items else 0)
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        if not self.items:
            return
        p = QPainter(self)
        pal = self.palette()
        fm = p.fontMetrics()
        name_w = min(self.width() // 3, max(fm.horizontalAdvance(n) for n, _ in self.items) + 8)
        count_w = fm.horizontalAdvance("0000000") + 6
        top = max(c for _, c in self.items) or 1
        bar_w = max(10, self.width() - name_w - count_w - 4)
        accent = pal.color(QPalette.ColorRole.Highlight)
        text = pal.color(QPalette.ColorRole.WindowText)
        for i, (name, count) in enumerate(self.items):
            y = 3 + i * 18
            p.setPen(text)
            shown = fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6)
            p.drawText(QRectF(0, y, name_w - 6, 16), Qt.AlignmentFlag.AlignRight
                       | Qt.AlignmentFlag.AlignVCenter, shown)
            w = bar_w * count / top
            p.fillRect(QRectF(name_w, y + 2, w, 12), QColor(accent))
            p.drawText(QRectF(name_w + w + 4, y, count_w, 16), Qt.AlignmentFlag.AlignVCenter,
                       str(count))
        p.end()
