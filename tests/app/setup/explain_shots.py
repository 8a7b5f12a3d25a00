"""Drive the real app to a run's Explain tab, as a user does (not a test): the Evaluate
perspective, the run chosen in Runs, "Explain" on a misclassified sample of the gallery,
then a block selected on the canvas. Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 30 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.explain_shots RUN_DIR [--block conv2]

RUN_DIR is an image classification run (e.g. ``tests.engine.explain_project``'s shapes
CNN trained with ``layerforge train``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def act_on(run_dir: str, block: str):
    def explain(ws, tries: int = 40) -> None:
        gallery = ws.setup.evaluation_panel.gallery
        if gallery.count() == 0 and tries:  # the evaluation is still computing
            QTimer.singleShot(250, lambda: explain(ws, tries - 1))
            return
        if gallery.count():
            gallery.setCurrentRow(0)
            ws.setup.evaluation_panel.explain_link.click()
        QTimer.singleShot(1500, lambda: select(ws))

    def select(ws) -> None:
        scene = ws.tabs.current_scene()
        scene.clearSelection()
        item = scene.nodes.get(block)
        if item is not None:
            item.setSelected(True)  # as a click on the canvas does
        else:
            ws.setup.explain.panel.show_block(block)

    def act(ws) -> None:
        from app.runs.records import add_run_ref

        ws.perspectives.switch("evaluate")
        add_run_ref(ws.document, run_dir)  # listed in Runs and chosen, as after training
        ws.training.refresh_runs()
        ws.training.runs.select_runs([run_dir])
        ws.setup.docks["evaluation"].raise_()
        QTimer.singleShot(800, lambda: explain(ws))
    return act


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0]).resolve()
    block = argv[argv.index("--block") + 1] if "--block" in argv else "conv2"
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(str(run_dir), block)))
    from app.main import main as app_main

    del app
    return app_main([str(run_dir / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
