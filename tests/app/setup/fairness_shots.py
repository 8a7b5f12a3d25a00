"""Drive the real app to a run's Fairness tab, as a user does (not a test): the Evaluate
perspective, the run chosen in Runs, the Fairness tab of the Evaluation panel, Compute.
With ``--dataset`` it shows the Dataset panel's warnings in the Train perspective instead.

First make the data and the run (a CSV file whose groups differ by construction,
tests/engine/fairness/fair_data.py, and the mlp template trained on it)::

    .venv/bin/python -m tests.app.setup.fairness_shots --make /tmp/fair

then run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 30 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.fairness_shots /tmp/fair/run [--compute|--dataset]
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def make(root: Path) -> Path:
    """The CSV file (1,200 people in groups A, B and a tiny C), the project (the group
    column as a grouping, kept out of the inputs) and its run trained for 12 epochs."""
    from engine.project import Grouping, save_project
    from tests.app.trained_runs import train_run
    from tests.engine.fairness.fair_data import csv_project, write_csv

    root.mkdir(parents=True, exist_ok=True)
    project = csv_project(write_csv(root / "people.csv"),
                          groupings=[Grouping(name="group", kind="column", column="group")])
    project.name = "people"
    save_project(project, root / "people.lforge")
    return train_run(project, root / "run")


def act_on(run_dir: str, compute: bool):
    def act(ws) -> None:
        from app.runs.records import add_run_ref

        panel = ws.setup.evaluation_panel
        ws.perspectives.switch("evaluate")
        add_run_ref(ws.document, run_dir)  # listed in Runs and chosen, as after training
        ws.training.refresh_runs()
        ws.training.runs.select_runs([run_dir])
        ws.setup.docks["evaluation"].raise_()
        panel.views.setCurrentWidget(panel.fairness)
        if compute:
            QTimer.singleShot(600, panel.fairness.compute)
    return act


def dataset(ws) -> None:
    ws.perspectives.switch("train")
    ws.setup.docks["dataset"].raise_()
    panel = ws.setup.dataset_panel
    QTimer.singleShot(300, panel.refresh_preview)
    # the warnings under the preview, in view
    QTimer.singleShot(4000, lambda: panel.ensureWidgetVisible(panel.warnings))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--make":
        print(make(Path(argv[1]).resolve()))
        return 0
    run_dir = Path(argv[0]).resolve()
    app = QApplication.instance() or QApplication(["layerforge"])
    action = dataset if "--dataset" in argv else act_on(str(run_dir), "--compute" in argv)
    QTimer.singleShot(200, lambda: _when_ready(action))
    from app.main import main as app_main

    del app
    return app_main([str(run_dir / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
