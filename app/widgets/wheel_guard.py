"""install_wheel_guard: the mouse wheel scrolls a form, not the value field under the cursor.

Turning the wheel to scroll a long panel must not change whatever spin box, combo box or
slider happens to pass under the cursor. One application-wide event filter hands such a
wheel event to the enclosing scroll area instead, unless the field has keyboard focus (the
user clicked or tabbed into it, so the wheel is meant for it).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QSlider,
    QWidget,
)

GUARDED: tuple[type[QWidget], ...] = (QAbstractSpinBox, QComboBox, QSlider)


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """The application event filter behind :func:`install_wheel_guard`."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, GUARDED):
            self._no_wheel_focus(watched)
        elif (kind == QEvent.Type.Wheel and isinstance(watched, GUARDED)
              and not watched.hasFocus()):
            self._forward(watched, event)  # type: ignore[arg-type]
            return True
        return False

    @staticmethod
    def _no_wheel_focus(widget: QWidget) -> None:
        # WheelFocus would hand focus to a field the wheel merely passes over, and a focused
        # field takes the wheel: keep click and Tab focus only.
        if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @staticmethod
    def _forward(widget: QWidget, event: QWheelEvent) -> None:
        event.ignore()
        area = _scroll_area_of(widget)
        if area is None:
            return  # ignored: a real wheel event goes on to the parents
        viewport = area.viewport()
        pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
        forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(),
                                event.angleDelta(), event.buttons(), event.modifiers(),
                                event.phase(), event.inverted(), event.source())
        QApplication.sendEvent(viewport, forwarded)
        event.setAccepted(forwarded.isAccepted())


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Make the wheel over an unfocused spin box, combo box or slider scroll the enclosing
    scroll area for every widget of ``app``. Install once, before the window is built (the
    filter also downgrades those widgets' wheel focus when they are first polished)."""
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard
