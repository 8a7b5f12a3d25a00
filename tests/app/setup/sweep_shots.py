"""Drive the real app to a sweep in the Train perspective (not a test), for the user
guide's pictures and for looking at the experiment view at 1280x800.

First make the two tiny spirals projects and run their sweeps (about a minute)::

    .venv/bin/python -m tests.app.setup.sweep_shots --prepare /tmp/sweeps

``/tmp/sweeps/one/spirals.lforge`` holds a finished 10-trial sweep of one objective
(validation accuracy), ``/tmp/sweeps/two/spirals.lforge`` a finished 12-trial NSGA-II sweep
of two (validation accuracy, parameters). Then run this as the command of
``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot docs/screenshots/guide-sweep.png \\
        25 1280x800 -- .venv/bin/python -m tests.app.setup.sweep_shots FILE [VIEW]

It opens FILE and switches to Train. VIEW:

- ``settings``: the Sweep tab in front (right column), the experiment view beside Plots;
- ``running``: FILE copied to a new folder (no study yet) and Run sweep pressed: the
  table fills while the trials train (give xshot 20 seconds or so);
- ``closing``: as ``running``, then the window is closed after 8 seconds: the question
  "Stop the sweep and close" or Cancel (give xshot 14 seconds);
- ``best`` (default), ``parallel``, ``importance``, ``pareto``: the finished sweep's
  experiment view with the best trial selected and that plot under the table.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready

PLOTS = ("best", "parallel", "importance", "pareto")
VIEWS = ("settings", "running", "closing", *PLOTS)
EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "mlp.lforge"
RANGES = {"training.lr": "float:0.001..0.1:log", "fc1.out_features": "int:8..64:8",
          "fc2.out_features": "int:8..64:8"}


def prepare(folder: Path) -> None:
    """The two projects of the module docstring, their sweeps run by the engine."""
    from engine.project import SweepSpec, load_project, save_project
    from engine.sweep.config import coordinator_from_project

    for kind, spec in (
            ("one", SweepSpec(ranges=RANGES, trials=10, seed=1)),
            ("two", SweepSpec(ranges=RANGES, trials=12, seed=1,
                              objectives=["val_accuracy:max", "params:min"]))):
        project = load_project(EXAMPLE)
        project.dataset.samples = 600
        project.training.epochs = 6
        project.sweep = spec
        path = folder / kind / "spirals.lforge"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_project(project, path)
        records = coordinator_from_project(load_project(path), path).run()
        print(path, [r.state for r in records])


def act_on(view: str):
    def finished(ws, tries: int = 100) -> None:
        exp = ws.sweep.view
        if ws.sweep.snapshot is None or exp.best_number is None:
            if tries:
                QTimer.singleShot(200, lambda: finished(ws, tries - 1))
            return
        exp.table.select_trial(exp.best_number)
        exp.tabs.setCurrentIndex(PLOTS.index(view))
        ws.sweep.show_view()

    def act(ws) -> None:
        ws.perspectives.switch("train")
        ws.sweep.dock.raise_()
        if view in ("running", "closing"):
            QTimer.singleShot(500, ws.sweep.run)
            if view == "closing":
                QTimer.singleShot(8000, ws.window.close)
        elif view == "settings":
            ws.sweep.show_view()
        else:
            finished(ws)
    return act


def main(argv: list[str]) -> int:
    if argv[:1] == ["--prepare"]:
        prepare(Path(argv[1]).resolve())
        return 0
    path = Path(argv[0]).resolve()
    view = argv[1] if len(argv) > 1 else "best"
    if view not in VIEWS:
        raise SystemExit(f"VIEW is one of {', '.join(VIEWS)}, not {view!r}")
    if view in ("running", "closing"):  # a copy without a study: Run sweep starts one
        copy = Path(tempfile.mkdtemp(prefix="lf-sweep-")) / path.name
        shutil.copy(path, copy)
        path = copy
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(view)))
    from app.main import main as app_main

    del app
    return app_main([str(path)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
