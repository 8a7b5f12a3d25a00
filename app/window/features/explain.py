"""Explanations in the window: the Explain dock of the Evaluate perspective
(app/panels/explain.py) and what leads to it: "Explain" on a sample of the evaluation's
gallery brings the tab to the front with that sample, and a block selected on the canvas
shows its output for the sample chosen.

The feature is a result view like the evaluation panel: the training feature hands it
the run chosen in Runs (``show_run``), the live run's events (``on_event``) and ``reset``
for another project, and it passes them to the panel. The panel opens runs through the
evaluation panel's cache, so a sample is read from the data the evaluation loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt

from app.panels.explain import ExplainPanel
from engine.train.events import Event

if TYPE_CHECKING:
    from app.canvas.tabs import CanvasTabs
    from app.panels.evaluation import EvaluationPanel
    from app.window.main_window import MainWindow

#: the graph whose blocks are explained (a classifier's one graph)
GRAPH = "model"


class ExplainFeature(QObject):
    """Owns the Explain panel and its dock; ``canvas`` (the window's CanvasTabs, None in
    a window without one) says which block is selected."""

    def __init__(self, window: MainWindow, evaluation: EvaluationPanel,
                 canvas: CanvasTabs | None) -> None:
        super().__init__(window)
        self.panel = ExplainPanel(evaluation.cache)
        self.dock = window.add_dock(self.panel, "Explain", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    "explain")
        self.canvas = canvas
        evaluation.explain_requested.connect(self._on_evaluation_explain_requested)
        if canvas is not None:
            canvas.selection_changed.connect(self._on_canvas_selection_changed)
        window.theme.theme_changed.connect(self._on_theme_changed)

    # -- a result view ------------------------------------------------------------------
    @property
    def run_dir(self) -> str | None:
        """The run the Explain tab shows (as the other result views name it)."""
        return self.panel.run_dir

    def show_run(self, run_dir: str) -> None:
        self.panel.show_run(run_dir)

    def on_event(self, event: Event) -> None:
        self.panel.on_event(event)

    def reset(self) -> None:
        self.panel.reset()

    def shutdown(self) -> None:
        self.panel.shutdown()

    # -- slots --------------------------------------------------------------------------
    def _on_evaluation_explain_requested(self, split: str, index: int) -> None:
        """"Explain" on a gallery sample: the Explain tab to the front, with that sample."""
        self.dock.show()
        self.dock.raise_()
        self.panel.explain(split, index)

    def _on_canvas_selection_changed(self) -> None:
        canvas = self.canvas
        if canvas is None or canvas.current_graph() != GRAPH:
            return
        ids = canvas.current_scene().selected_node_ids()
        if len(ids) == 1:
            self.panel.show_block(ids[0])

    def _on_theme_changed(self, _theme: object) -> None:
        self.panel.restyle()
