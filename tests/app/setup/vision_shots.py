"""Drive the real app to a segmentation or detection run's evaluation, as the guide's
screenshots show it (not a test). Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 40 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.vision_shots RUN_DIR [THRESHOLD]

It opens the run's project snapshot, switches to the Evaluate perspective and shows the
run (what choosing it in the Runs list does); for a detection run, THRESHOLD moves the
confidence slider once the evaluation is shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def evaluate(run_dir: str, threshold: float | None):
    def act(ws) -> None:
        ws.perspectives.switch("evaluate")
        for view in ws.setup.result_views:
            view.show_run(run_dir)
        panel = ws.setup.evaluation_panel
        if threshold is not None:
            panel.evaluated.connect(lambda _r: panel.detection.set_threshold(threshold))
    return act


def main(argv: list[str]) -> int:
    run_dir = str(Path(argv[0]).resolve())
    threshold = float(argv[1]) if len(argv) > 1 else None
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(evaluate(run_dir, threshold)))
    from app.main import main as app_main

    del app
    return app_main([str(Path(run_dir) / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
