"""Drive the real app to the Runs list with its cost columns (not a test), to look at them
at 1280x800. First make the runs (a real local run, a GPU run on an SSH host, a run from
before usage was recorded; about 10 seconds)::

    .venv/bin/python -m tests.app.setup.runs_usage_shots --prepare /tmp/usage-runs

then run this as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot /tmp/runs-usage.png 12 \\
        1280x800 -- .venv/bin/python -m tests.app.setup.runs_usage_shots /tmp/usage-runs/mlp.lforge [train|evaluate [cost]]

It opens the project and shows Train (the Runs dock beside the plots) or Evaluate (the
Runs list on the left); with ``cost`` the list is scrolled to its cost columns.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def act_on(perspective: str, scrolled: bool):
    def act(ws) -> None:
        ws.perspectives.switch(perspective)
        ws.training.runs_dock.raise_()
        ws.training.refresh_runs()
        if scrolled:  # the list scrolled to its cost columns
            tree = ws.training.runs.tree
            tree.horizontalScrollBar().setValue(tree.header().sectionPosition(3))
    return act


def main(argv: list[str]) -> int:
    if argv[:1] == ["--prepare"]:
        from tests.app.usage_runs import make_usage_runs

        folder = Path(argv[1]).resolve()
        print("\n".join(str(p) for p in make_usage_runs(folder)))
        return 0
    path = Path(argv[0]).resolve()
    perspective = argv[1] if len(argv) > 1 else "train"
    scrolled = argv[2:3] == ["cost"]
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(perspective, scrolled)))
    from app.main import main as app_main

    del app
    return app_main([str(path)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
