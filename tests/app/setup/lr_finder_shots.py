"""Drive the real app to the learning-rate finder, as a user does (not a test). Run it as
the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 30 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.lr_finder_shots PROJECT [--panel FIELD] [--stop-at N]
        [--alone [--steps N]]

It opens the project in the Train perspective and presses "Find…" beside the learning rate
(opening the finder as the window does); the dialog runs and shows its curve. ``--panel
FIELD`` leaves the dialog closed and scrolls the hyperparameter panel to that training
field instead (``lr``: the rate and its "Find…", ``stats_every``); ``--stop-at N`` presses Stop once N steps are plotted;
``--alone`` shows the dialog on the project without the main window (``--steps N``: a ramp of
N steps, to see it while it runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def act_on(argv: list[str]):
    def act(ws) -> None:
        from app.dialogs.lr_finder import open_lr_finder

        ws.perspectives.switch("train")
        panel = ws.setup.hyperparams_panel
        ws.setup.docks["hyperparams"].raise_()
        if "--panel" in argv:
            field = argv[argv.index("--panel") + 1]
            QTimer.singleShot(300, lambda: panel.ensureWidgetVisible(
                panel.widgets[("training", field)], 50, 200))
            return
        # the window's wiring of "Find…" (app/window/features/setup.py) may not be there
        # yet: open the finder here when the button asks and nobody answers
        if not panel.receivers("2lr_find_requested()"):
            panel.lr_find_requested.connect(
                lambda: place(open_lr_finder(ws.document, ws.window)))
        panel.lr_row.find_button.click()
        if "--stop-at" in argv:
            stop_at = int(argv[argv.index("--stop-at") + 1])
            QTimer.singleShot(200, lambda: stop_when(stop_at))

    def place(dialog) -> None:
        dialog.move(240, 110)  # no window manager: it would open at the top left

    def stop_when(n: int) -> None:
        from app.dialogs.lr_finder import LRFinderDialog

        dialog = next((w for w in QApplication.topLevelWidgets()
                       if isinstance(w, LRFinderDialog) and w.isVisible()), None)
        if dialog is not None and len(dialog.live[0]) >= n:
            dialog.stop()
        else:
            QTimer.singleShot(50, lambda: stop_when(n))

    return act


def alone(project: Path, steps: int) -> int:
    from app.dialogs.lr_finder import LRFinderDialog
    from app.document import GraphDocument
    from engine.project import load_project

    app = QApplication.instance() or QApplication(["layerforge"])
    document = GraphDocument(load_project(project), str(project))
    dialog = LRFinderDialog(document)
    dialog.steps.setValue(steps)
    dialog.move(240, 110)
    dialog.show()
    dialog.start()
    return app.exec()


def main(argv: list[str]) -> int:
    project = Path(argv[0]).resolve()
    if "--alone" in argv:
        steps = int(argv[argv.index("--steps") + 1]) if "--steps" in argv else 200
        return alone(project, steps)
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(argv[1:])))
    from app.main import main as app_main

    del app
    return app_main([str(project)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
