"""Drive the real app to a finished sweep in the Train perspective (not a test). Run it as
the command of ``../shared/tools/xshot`` on a project whose sweep has run
(``layerforge sweep FILE`` first)::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot docs/screenshots/guide-sweep.png \\
        25 1280x800 -- .venv/bin/python -m tests.app.setup.sweep_shots FILE [TAB]

It opens FILE, switches to Train, brings the Sweep dock to the front, selects the best
trial (its curves overlaid in Plots) and shows the tab TAB (``trials``, ``best``,
``parallel``, ``importance``, ``pareto``, ``settings``; default ``trials``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready

TABS = ("trials", "best", "parallel", "importance", "pareto", "settings")


def act_on(tab: str):
    def shown(ws, tries: int = 100) -> None:
        panel = ws.sweep.panel
        if ws.sweep.snapshot is None or panel.best_number is None:
            if tries:
                QTimer.singleShot(200, lambda: shown(ws, tries - 1))
            return
        panel.table.select_trial(panel.best_number)
        panel.tabs.setCurrentIndex(TABS.index(tab))

    def act(ws) -> None:
        ws.perspectives.switch("train")
        ws.sweep.dock.raise_()
        shown(ws)
    return act


def main(argv: list[str]) -> int:
    path = Path(argv[0]).resolve()
    tab = argv[1] if len(argv) > 1 else "trials"
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(tab)))
    from app.main import main as app_main

    del app
    return app_main([str(path)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
