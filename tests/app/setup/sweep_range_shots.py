"""Drive the real app into the user guide's search-range picture (not a test).

Run it as the command of ``/work/shared/tools/xshot`` with a temporary config folder::

    XSHOT_PY=.venv/bin/python ../shared/tools/xshot docs/screenshots/guide-sweep-ranges.png \\
        25 1280x800 -- .venv/bin/python -m tests.app.setup.sweep_range_shots

The spirals MLP (copied to a temporary folder) gets two ranges through the document's edit
API, as the range dialog sets them: the learning rate and fc1's width. The Design
perspective shows the canvas with fc1's "sweep" pill, fc1 in the Inspector, and the
Hyperparameters dock (taken out of the Inspector's tabs) below it, scrolled to the Optimizer group, whose learning rate shows
its range.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready

EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "mlp.lforge"


def show(ws) -> None:
    doc = ws.document
    doc.set_search_range("training.lr", "float:1e-4..1e-1:log")
    doc.set_search_range("model/fc1.out_features", "int:16..256:16")
    ws.perspectives.switch("design")
    window = ws.window
    hyper = ws.setup.docks["hyperparams"]
    ws.view().graph_scene.select_nodes(["fc1"])
    panel = ws.setup.hyperparams_panel
    panel.activate()

    def settle() -> None:
        # the Inspector above, Hyperparameters below (Design tabs them by default)
        window.removeDockWidget(hyper)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, hyper,
                             Qt.Orientation.Vertical)
        hyper.show()
        window.resizeDocks([ws.inspector_dock, hyper], [360, 390], Qt.Orientation.Vertical)
        group = panel.widgets[("training", "optimizer")].parentWidget()
        panel.verticalScrollBar().setValue(group.y() - 4)
        ws.fit()
    QTimer.singleShot(600, settle)


def main() -> int:
    app = QApplication.instance() or QApplication(["layerforge"])
    folder = Path(tempfile.mkdtemp(prefix="lf-shot-"))
    file = folder / "spirals.lforge"
    shutil.copy(EXAMPLE, file)
    QTimer.singleShot(200, lambda: _when_ready(show))
    from app.main import main as app_main

    del app
    return app_main([str(file)])


if __name__ == "__main__":
    sys.exit(main())
