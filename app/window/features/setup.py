"""The setup and evaluation panels in the editor window.

Where the docks go in each perspective is app/window/perspectives.py's business. The
training feature hands runs and events to the evaluation, samples and Try it panels
(``show_run(run_dir)`` / ``on_event(event)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from app.canvas.tabs import CanvasTabs
from app.panels.dataset import DatasetPanel
from app.panels.evaluation import EvaluationPanel
from app.panels.hyperparams import HyperparamsPanel
from app.panels.samples import SamplesPanel
from app.panels.try_it import TryItPanel
from app.window.features.explain import ExplainFeature
from app.window.features.health import HealthFeature

if TYPE_CHECKING:
    from app.document import GraphDocument
    from app.window.main_window import MainWindow


class SetupFeature(QObject):
    """Owns the five panels and their docks; stops their background work at shutdown."""

    def __init__(self, window: MainWindow, document: GraphDocument, tabs: CanvasTabs) -> None:
        super().__init__(window)
        self.window = window
        self.dataset_panel = DatasetPanel(document)
        self.hyperparams_panel = HyperparamsPanel(document)
        self.evaluation_panel = EvaluationPanel(document=document)
        self.samples_panel = SamplesPanel()
        # Try it opens a run from its weights and data.json alone (no data set), not
        # through the evaluation's cache, which loads the data
        self.try_panel = TryItPanel()
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks: dict[str, QDockWidget] = {
            "dataset": window.add_dock(self.dataset_panel, "Dataset", right, "dataset"),
            "hyperparams": window.add_dock(self.hyperparams_panel, "Hyperparameters", right,
                                           "hyperparams"),
            "evaluation": window.add_dock(self.evaluation_panel, "Evaluation", bottom,
                                          "evaluation"),
            "samples": window.add_dock(self.samples_panel, "Samples", bottom, "samples"),
            "try": window.add_dock(self.try_panel, "Try it", bottom, "try"),
        }
        self.dataset_panel.data_loaded.connect(self.hyperparams_panel.set_train_size)
        self._lr_finder: Any = None  # the open learning-rate finder, if any
        self.hyperparams_panel.lr_find_requested.connect(
            self._on_hyperparams_panel_lr_find_requested)
        self.evaluation_panel.try_requested.connect(self._on_evaluation_panel_try_requested)
        # A panel starts its background work (which imports torch) when its dock is first
        # on screen, never at start-up behind another tab.
        # A dock placed or tabbed by a perspective is shown for a moment even behind
        # another tab: activate only once it is really on screen after that layout pass.
        for key, panel in (("dataset", self.dataset_panel),
                           ("hyperparams", self.hyperparams_panel)):
            dock = self.docks[key]
            dock.visibilityChanged.connect(
                lambda visible, p=panel, d=dock: visible and QTimer.singleShot(
                    0, p, lambda: self._activate_if_shown(d, p)))
        window.theme.theme_changed.connect(self._on_theme_theme_changed)
        # Training health follows the runs as the result views do; its badges need the
        # canvas, which the workspace made before this feature (see HealthFeature).
        self.health = HealthFeature(window, document, tabs)
        self.docks["health"] = self.health.dock
        # Explanations of the evaluated samples; the block selected on the canvas too
        self.explain = ExplainFeature(window, self.evaluation_panel, tabs)
        self.docks["explain"] = self.explain.dock

    @staticmethod
    def _activate_if_shown(dock: QDockWidget, panel: DatasetPanel | HyperparamsPanel) -> None:
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            panel.activate()

    @property
    def result_views(self) -> list[EvaluationPanel | SamplesPanel | TryItPanel | HealthFeature
                                   | ExplainFeature]:
        """The views that show a run's results."""
        return [self.evaluation_panel, self.samples_panel, self.try_panel, self.health,
                self.explain]

    def _on_evaluation_panel_try_requested(self) -> None:
        """"Try your own text in the Try it tab": bring that tab to the front, its input
        field focused."""
        dock = self.docks["try"]
        dock.show()
        dock.raise_()
        self.try_panel.focus_input()

    def _on_hyperparams_panel_lr_find_requested(self) -> None:
        """"Find…" beside the learning rate: the finder on the project as it is now."""
        from app.dialogs.lr_finder import open_lr_finder

        if self._lr_finder is not None and self._lr_finder.isVisible():
            self._lr_finder.raise_()  # one finder at a time: show the open one
            return
        self._lr_finder = open_lr_finder(self.hyperparams_panel.document, self.window)
        self._lr_finder.destroyed.connect(self._on_lr_finder_destroyed)

    def _on_lr_finder_destroyed(self, *_args: object) -> None:
        self._lr_finder = None

    def _on_theme_theme_changed(self, _theme: object) -> None:
        self.hyperparams_panel.restyle()
        self.evaluation_panel.restyle()
        self.try_panel.restyle()

    def shutdown(self) -> None:
        """Stop generation and wait for background jobs (each job is short)."""
        if self._lr_finder is not None:
            self._lr_finder.wait()
        self.health.shutdown()
        self.explain.shutdown()
        for p in (self.try_panel, self.samples_panel, self.evaluation_panel, self.dataset_panel,
                  self.hyperparams_panel):
            p.shutdown()
