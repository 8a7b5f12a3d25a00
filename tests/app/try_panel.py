"""The Try it panel as its tests use it: shown at a size, shut down afterwards, and a wait
for the answer to the latest question."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtGui import QGuiApplication

from app.panels.try_it import TryItPanel


@contextmanager
def shown_panel(qtbot, height: int = 520) -> Iterator[TryItPanel]:
    """A Try it panel shown 1000 pixels wide; afterwards its jobs are shut down and the
    clipboard (which a test may have pasted from) is emptied."""
    p = TryItPanel()
    qtbot.addWidget(p)
    p.resize(1000, height)
    p.show()
    yield p
    p.shutdown()
    QGuiApplication.clipboard().clear()


def answered(qtbot, panel: TryItPanel, timeout: int = 60000) -> None:
    """Wait until the latest question has its answer (or its sentence) on screen."""
    qtbot.waitUntil(lambda: not panel.jobs.busy and panel._pending is None, timeout=timeout)
