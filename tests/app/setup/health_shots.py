"""Drive the real app to a trained run's block health (not a test). Train a project with
block statistics into its runs folder first, then run this as the command of
``../shared/tools/xshot``::

    .venv/bin/layerforge train FILE --epochs 3 --set training.stats_every=20 \\
        --out "$(dirname FILE)/runs/$(basename FILE .lforge)-health" --quiet
    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot /tmp/lf/shots/health.png 20 \\
        1280x800 -- .venv/bin/python -m tests.app.setup.health_shots FILE RUN_DIR [SCENE]

It opens FILE, selects RUN_DIR in the Runs list (as a user does) and shows SCENE:
``health`` (default) the Train perspective with the Health tab in front and the least
healthy block's history plotted; ``canvas`` the Design perspective, the badges on the
blocks and the tooltip of the least healthy block's badge; ``stat NAME`` as ``health``
with the statistic NAME plotted (``grad_out``, ``dead``...).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready

SCENES = ("health", "canvas", "stat")


def _worst(feature) -> str:
    h = feature.history
    order = {"bad": 0, "warn": 1, "ok": 2}
    return min(h.blocks, key=lambda k: order[h.grade(k).level]) if h else ""


def act_on(run_dir: str, scene: str, stat: str = ""):
    def shown(ws, tries: int = 100) -> None:
        feature = ws.setup.health
        if not feature.history or (not feature.panel.findings.rows and tries > 60):
            if tries:
                QTimer.singleShot(200, lambda: shown(ws, tries - 1))
            return
        if scene == "canvas":
            ws.perspectives.switch("design")
            ws.view().fit_all(readable=True)
            QTimer.singleShot(1500, lambda: tip(ws, _worst(feature)))
            return
        ws.perspectives.switch("train")
        feature.dock.raise_()
        if stat:
            box = feature.panel.plot.stat_box
            box.setCurrentIndex(box.findData(stat))

    def tip(ws, key: str) -> None:
        """Rest the pointer on the badge, as a user does: its tooltip comes up."""
        badge = ws.setup.health.badges.badges().get(key)
        if badge is None:
            return
        view = ws.tabs.view(key.rpartition("/")[0])
        ws.window.activateWindow()  # Qt shows tooltips in the active window only
        QCursor.setPos(view.viewport().mapToGlobal(view.mapFromScene(badge.scenePos())))

    def act(ws) -> None:
        ws.training.runs.select_runs([run_dir])
        shown(ws)
    return act


def main(argv: list[str]) -> int:
    path = Path(argv[0]).resolve()
    run_dir = str(Path(argv[1]).resolve())
    scene = argv[2] if len(argv) > 2 else "health"
    stat = argv[3] if scene == "stat" and len(argv) > 3 else ""
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(run_dir, scene, stat)))
    from app.main import main as app_main

    del app
    return app_main([str(path)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
