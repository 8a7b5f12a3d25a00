"""MainWindow: the shell that paints first, then the editor that fills it.

Construction imports only Qt and small app modules, so the window paints quickly; the
editor (document, engine, canvas, panels: the workspace) is built right after the first
paint (``first_painted``) and set as the window's content. Features add their panels
through ``add_dock``, which also lists them in View > Panels.

The shell knows its content only through :class:`WindowContent`: a close asks it to
confirm (unsaved changes) and then shuts it down, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from app.icons import app_icon
from app.theme import ThemeManager


class WindowContent(Protocol):
    """What fills the window (the workspace), as the shell sees it."""

    def confirm_close(self) -> bool: ...

    def shutdown(self) -> None: ...

    def open_dropped(self, path: str) -> None: ...


class StartupCanvas(QWidget):
    """What the window shows for the few hundred ms before the editor is built."""

    painted = Signal()

    def __init__(self, color: str) -> None:
        super().__init__()
        self._color = color
        self._done = False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self._color))
        painter.end()
        if not self._done:
            self._done = True
            self.painted.emit()


class MainWindow(QMainWindow):
    """Signals: ``first_painted()`` once the placeholder is on screen, ``closed()`` after
    a confirmed close has shut the content down."""

    first_painted = Signal()
    closed = Signal()

    def __init__(self, theme: ThemeManager, settings: QSettings) -> None:
        super().__init__()
        self.theme = theme
        self.settings = settings
        self.content: WindowContent | None = None
        #: asked, in order, before the project is closed (the window, or another project
        #: opened): a feature with work in flight (a running sweep) asks the user; False
        #: keeps everything open
        self.leave_guards: list[Callable[[], bool]] = []
        self.setWindowTitle("LayerForge")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        geometry = settings.value("window/geometry")
        if not (isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)):
            self.resize(1440, 900)
        self.fit_to_screen()
        bar = self.menuBar()
        self.menus: dict[str, QMenu] = {
            key: bar.addMenu(title) for key, title in (
                ("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("graph", "&Graph"),
                ("help", "&Help"))}
        self.panels_menu = self.menus["view"].addMenu("&Panels")
        self._placeholder = StartupCanvas(theme.theme.canvas)
        self._placeholder.painted.connect(self._on_placeholder_painted)
        self.setCentralWidget(self._placeholder)
        self.statusBar().showMessage("Loading…")

    def fit_to_screen(self, area: QRect | None = None) -> None:
        """Keep the window inside ``area`` (the available area of its screen): a saved
        size from a bigger screen, or the default size on a small one, would put panels
        off its edges. Shrinks it to fit, then moves it in."""
        if area is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            area = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w = max(0, frame.width() - self.width())  # the window manager's frame
        extra_h = max(0, frame.height() - self.height())
        width = min(self.width(), area.width() - extra_w)
        height = min(self.height(), area.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        x = min(max(self.x(), area.left()), area.right() + 1 - width - extra_w)
        y = min(max(self.y(), area.top()), area.bottom() + 1 - height - extra_h)
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    # -- extension point -------------------------------------------------------------
    def add_dock(self, panel: QWidget, title: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                 name: str | None = None) -> QDockWidget:
        """Add a panel as a dock widget, listed in View > Panels (its visibility and place
        are restored with the window state)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name or panel.objectName() or title.lower()}")
        dock.setWidget(panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def docks(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)

    # -- start-up --------------------------------------------------------------------
    def _on_placeholder_painted(self) -> None:
        self.first_painted.emit()

    def set_content(self, content: WindowContent) -> None:
        """The editor is built: it replaces the placeholder (it set its own central widget)."""
        self.content = content
        self._placeholder.deleteLater()
        self.statusBar().clearMessage()

    # -- closing and drops -----------------------------------------------------------
    def confirm_leave(self) -> bool:
        """Ask the leave guards; True when every one lets the project close."""
        return all(guard() for guard in self.leave_guards)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        content = self.content
        if content is not None and not (self.confirm_leave() and content.confirm_close()):
            event.ignore()
            return
        if content is not None:
            content.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.remove("window/state")  # each perspective saves its own
        self.settings.sync()
        event.accept()
        self.closed.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        from app.canvas.view import dropped_project

        if self.content is not None and dropped_project(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        from app.canvas.view import dropped_project

        path = dropped_project(event.mimeData())
        if self.content is not None and path:
            event.acceptProposedAction()
            self.content.open_dropped(path)

