"""Synthetic input for driving the real widgets: mouse drags, drops, wheel turns."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def _mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton,
           buttons: Qt.MouseButton, modifiers=NO_MOD) -> None:
    event = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos.toPoint())), button, buttons,
                        modifiers)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: QPointF, end: QPointF, steps: int = 6,
         button: Qt.MouseButton = LEFT, modifiers=NO_MOD) -> None:
    """Press at ``start``, move in steps with the button held, release at ``end``."""
    _mouse(widget, QEvent.Type.MouseButtonPress, start, button, button, modifiers)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        _mouse(widget, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button, modifiers)
    _mouse(widget, QEvent.Type.MouseButtonRelease, end, button, Qt.MouseButton.NoButton, modifiers)


def scene_drag(view: QGraphicsView, start: QPointF, end: QPointF, **kw) -> None:
    """A drag between two scene points, delivered to the view's viewport."""
    drag(view.viewport(), QPointF(view.mapFromScene(start)), QPointF(view.mapFromScene(end)), **kw)


def drop(widget: QWidget, mime: QMimeData, pos: QPoint) -> tuple[bool, bool]:
    """Drag ``mime`` into ``widget`` and drop it at ``pos``; (enter accepted, drop accepted)."""
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, LEFT, NO_MOD)
    QApplication.sendEvent(widget, event)
    return enter.isAccepted(), event.isAccepted()


def wheel(widget: QWidget, pos: QPointF, delta: int) -> None:
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, NO_MOD,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def answer_next_dialog(act: Callable[[QWidget], None], seen: list[QWidget]) -> QTimer:
    """Handle the next modal dialog (a QMessageBox, the gallery...) as a user would."""
    timer = QTimer()

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None:
            timer.stop()
            seen.append(dialog)
            act(dialog)

    timer.timeout.connect(poll)
    timer.start(20)
    return timer
