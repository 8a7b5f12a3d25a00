"""MainWindow: the shell that paints first, then the editor that fills it.

Construction imports only Qt and small app modules, so the window paints quickly; the
editor (document, engine, canvas, panels) is built by ``finish_startup`` right after the
first paint. Training panels plug in later through ``add_dock``, which also lists them in
View > Panels.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QDragEnterEvent, QDropEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from app.icons import app_icon
from app.theme import ThemeManager

if TYPE_CHECKING:
    from app.window.workspace import Workspace

ENV_REPORT = "LAYERFORGE_REPORT_STARTUP"  # print "layerforge-<stage> <unix time>" lines


def report(stage: str) -> None:
    if os.environ.get(ENV_REPORT):
        print(f"layerforge-{stage} {time.time():.6f}", flush=True)


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
    first_painted = Signal()

    def __init__(self, theme: ThemeManager, settings: QSettings) -> None:
        super().__init__()
        self.theme = theme
        self.settings = settings
        self.workspace: Workspace | None = None
        self.setWindowTitle("LayerForge")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(1440, 900)
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
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
        report("first-paint")
        self.first_painted.emit()

    def finish_startup(self, path: str | None = None) -> Workspace:
        """Build the editor (the heavy imports happen here) and open ``path``, or offer
        back what a crash left unsaved."""
        from app.window.workspace import Workspace

        self.workspace = Workspace(self)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self._placeholder.deleteLater()
        self.workspace.open_initial(path)
        self.statusBar().clearMessage()
        report("ready")
        return self.workspace

    # -- closing and drops -----------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        ws = self.workspace
        if ws is not None and not ws.files.confirm_close():
            event.ignore()
            return
        if ws is not None:
            ws.welcome.leave()  # save the docks as the editor has them, not hidden
            ws.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        from app.canvas.view import dropped_project

        if self.workspace is not None and dropped_project(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        from app.canvas.view import dropped_project

        path = dropped_project(event.mimeData())
        if self.workspace is not None and path:
            event.acceptProposedAction()
            # Opening may ask questions: do it after the drop has returned to the source.
            QTimer.singleShot(0, self, lambda: self.workspace and self.workspace.files.open_path(path))

