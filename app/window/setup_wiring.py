"""The setup and evaluation panels in the editor window.

``install_setup(workspace)`` is called once, at the end of ``Workspace.__init__``. It adds
the Dataset and Hyperparameters docks (tabbed with the inspector) and the Evaluation and
Samples docks (tabbed with the problems list), and sets ``workspace.dataset_panel``,
``hyperparams_panel``, ``evaluation_panel`` and ``samples_panel``. The run side calls
``evaluation_panel.show_run(run_dir)`` / ``on_event(event)`` and the same on
``samples_panel``.

For screenshots and manual checks: ``LAYERFORGE_SHOW_PANEL=dataset|hyperparams|evaluation|
samples`` floats that dock over the window after start-up, and ``LAYERFORGE_SHOW_RUN=RUN_DIR`` shows a run
folder in the evaluation and samples panels (and, with the samples dock and a language
model, starts a generation).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar

from app.panels.dataset import DatasetPanel
from app.panels.evaluation import EvaluationPanel
from app.panels.hyperparams import HyperparamsPanel
from app.panels.samples import SamplesPanel

if TYPE_CHECKING:
    from app.window.workspace import Workspace

ENV_PANEL = "LAYERFORGE_SHOW_PANEL"
ENV_RUN = "LAYERFORGE_SHOW_RUN"
TAB_SLACK = 8  # pixels beside the tabs of a dock group (frame and rounding)
SHOT_SIZES = {"dataset": (560, 940), "hyperparams": (560, 940), "evaluation": (1240, 700),
              "samples": (1100, 640)}


class SetupWiring(QObject):
    """Owns the four panels' docks and stops their background work when the window
    closes or the application quits."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        window = ws.window
        self.window = window
        self.dataset_panel = DatasetPanel(ws.document)
        self.hyperparams_panel = HyperparamsPanel(ws.document)
        self.evaluation_panel = EvaluationPanel()
        self.samples_panel = SamplesPanel()
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks: dict[str, QDockWidget] = {
            "dataset": window.add_dock(self.dataset_panel, "Dataset", right, "dataset"),
            "hyperparams": window.add_dock(self.hyperparams_panel, "Hyperparameters", right,
                                           "hyperparams"),
            "evaluation": window.add_dock(self.evaluation_panel, "Evaluation", bottom,
                                          "evaluation"),
            "samples": window.add_dock(self.samples_panel, "Samples", bottom, "samples"),
        }
        inspector = ws.inspector.parentWidget()
        if isinstance(inspector, QDockWidget):
            window.tabifyDockWidget(inspector, self.docks["dataset"])
            window.tabifyDockWidget(self.docks["dataset"], self.docks["hyperparams"])
            inspector.raise_()
            # Once the window has laid the docks out: wide enough for whole tab titles.
            QTimer.singleShot(0, self, lambda: self.fit_tabs(inspector))
        problems = getattr(ws, "problems_dock", None)
        if isinstance(problems, QDockWidget):
            window.tabifyDockWidget(problems, self.docks["evaluation"])
            window.tabifyDockWidget(self.docks["evaluation"], self.docks["samples"])
            problems.raise_()
        self.dataset_panel.data_loaded.connect(self.hyperparams_panel.set_train_size)
        # A panel starts its background work (which imports torch) when its dock is first
        # on screen, never at start-up behind another tab.
        for key, panel in (("dataset", self.dataset_panel),
                           ("hyperparams", self.hyperparams_panel)):
            self.docks[key].visibilityChanged.connect(
                lambda visible, p=panel: visible and p.activate())
        window.installEventFilter(self)
        window.theme.theme_changed.connect(self._on_theme_theme_changed)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        panel, run = os.environ.get(ENV_PANEL), os.environ.get(ENV_RUN)
        if panel in self.docks or run:
            QTimer.singleShot(0, self, lambda: self._show_from_env(panel, run))

    def dock_tab_bar(self, dock: QDockWidget) -> QTabBar | None:
        """The tab bar of the group of tabbed docks ``dock`` belongs to (the main window
        makes these bars itself)."""
        title = dock.windowTitle()
        for bar in self.window.findChildren(QTabBar):
            if bar.parent() is self.window and bar.isVisible() and any(
                    bar.tabText(i) == title for i in range(bar.count())):
                return bar
        return None

    def fit_tabs(self, dock: QDockWidget) -> None:
        """Widen the dock area of ``dock`` so that its group's tab titles ("Inspector",
        "Dataset", "Hyperparameters") are not elided; never narrows it."""
        bar = self.dock_tab_bar(dock)
        if bar is None or dock.isFloating():
            return
        needed = sum(bar.tabSizeHint(i).width() for i in range(bar.count())) + TAB_SLACK
        if dock.width() < needed:
            self.window.resizeDocks([dock], [needed], Qt.Orientation.Horizontal)

    def _show_from_env(self, panel: str | None, run: str | None) -> None:
        if run:
            self.evaluation_panel.show_run(run)
            self.samples_panel.show_run(run)
            if panel == "samples" and self.samples_panel.kind == "language_model":
                self.samples_panel.generate()
        if panel in self.docks:
            # Float the dock over the window at a readable size, for screenshots.
            dock = self.docks[panel]
            w, h = SHOT_SIZES[panel]
            dock.setFloating(True)
            dock.setGeometry(40, 40, w, h)
            dock.show()
            dock.raise_()
            if panel in ("dataset", "hyperparams"):
                getattr(self, f"{panel}_panel").activate()

    def _on_theme_theme_changed(self, _theme: object) -> None:
        self.hyperparams_panel.restyle()
        self.evaluation_panel.restyle()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop generation and wait for background jobs (each job is short)."""
        for p in (self.samples_panel, self.evaluation_panel, self.dataset_panel,
                  self.hyperparams_panel):
            p.shutdown()


def install_setup(ws: Workspace) -> SetupWiring:
    wiring = SetupWiring(ws)
    ws.setup_wiring = wiring
    ws.dataset_panel = wiring.dataset_panel
    ws.hyperparams_panel = wiring.hyperparams_panel
    ws.evaluation_panel = wiring.evaluation_panel
    ws.samples_panel = wiring.samples_panel
    return wiring
