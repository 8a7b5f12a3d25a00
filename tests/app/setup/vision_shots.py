"""Drive the real app to a segmentation or detection run's evaluation, as the guide's
screenshots show it (not a test). Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 40 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.vision_shots RUN_DIR [THRESHOLD]

It opens the run's project snapshot, switches to the Evaluate perspective and shows the
run (what choosing it in the Runs list does); for a detection run, THRESHOLD moves the
confidence slider once the evaluation is shown. Given a project file (``.lforge``) instead
of a run folder, it opens the project and chooses its first recorded run in the Runs list,
as a user does; ``--train`` shows the Train perspective (the run's curves) instead.
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


def choose_run(threshold: float | None, perspective: str):
    def act(ws) -> None:
        ws.perspectives.switch(perspective)
        runs = ws.training.runs
        panel = ws.setup.evaluation_panel
        if threshold is not None:
            panel.evaluated.connect(lambda _r: panel.detection.set_threshold(threshold))
        runs.select_runs(runs.run_dirs()[:1])
    return act


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--train"]
    target = Path(args[0]).resolve()
    threshold = float(args[1]) if len(args) > 1 else None
    app = QApplication.instance() or QApplication(["layerforge"])
    if target.suffix == ".lforge":
        act = choose_run(threshold, "train" if "--train" in argv else "evaluate")
        project = target
    else:
        act, project = evaluate(str(target), threshold), target / "project.lforge"
    QTimer.singleShot(200, lambda: _when_ready(act))
    from app.main import main as app_main

    del app
    return app_main([str(project)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
