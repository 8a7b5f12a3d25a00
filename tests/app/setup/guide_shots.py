"""Drive the real app into the states the user guide's screenshots show (not a test).

Run it as the command of ``/work/shared/tools/xshot`` (a real X server, so dialogs land on
the screen the capture grabs), with a temporary HOME and ``LAYERFORGE_CONFIG_DIR``::

    XSHOT_PY=.venv/bin/python ../shared/tools/xshot docs/screenshots/guide-hosts.png 20 \\
        1440x900 -- .venv/bin/python -m tests.app.setup.guide_shots hosts-test NAME FILE

Scenes:

``hosts-test`` Tools > Remote Hosts…, the host NAME selected, Test connection pressed; with
               an unknown host key the Unknown host key question is left open on screen.
``problems``   FILE opened, then a Linear block added without a wire: the Problems dock
               lists it and the block is selected.
``export``     File > Export… on FILE; with a RUN_DIR, Run folder… picks it as the source and
               Export is pressed (``export FILE [RUN_DIR]``).
``dataset``    FILE opened, the Dataset tab brought to the front (its preview loads) and,
               once loaded, scrolled to WHAT: ``form`` (the top), ``preview`` (the summary
               and samples) or ``bars`` (the end) (``dataset FILE [WHAT]``).

Every scene only uses what a user can click; the window stays open until xshot ends it.

The guide's other pictures come from the app's own hooks (see docs/setup-and-evaluation.md):
``guide-window`` plain start on the fitted shapes.lforge; ``guide-training`` with
``LAYERFORGE_AUTOTRAIN=1``; ``guide-dataset``, ``guide-evaluation`` and ``guide-samples-*``
with ``LAYERFORGE_SHOW_PANEL`` and ``LAYERFORGE_SHOW_RUN``; all at 1440x900, light theme, then
cropped to the floated dock or dialog. ``guide-hostkey`` is ``hosts-test`` with a config
folder whose known_hosts lacks the host; ``guide-hosts-test`` the same after trusting it.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication


def _workspace():
    for w in QApplication.topLevelWidgets():
        ws = getattr(w, "content", None)
        if ws is not None:
            return ws
    return None


def _when_ready(action, tries: int = 200) -> None:
    """Call ``action(ws)`` once the editor is built (after the first paint)."""
    ws = _workspace()
    if ws is None:
        if tries:
            QTimer.singleShot(100, lambda: _when_ready(action, tries - 1))
        return
    QTimer.singleShot(800, lambda: action(ws))


def hosts_test(name: str):
    def act(ws) -> None:
        dialog = ws.export.open_hosts()
        items = dialog.list.findItems(name, Qt.MatchFlag.MatchExactly)
        if items:
            dialog.list.setCurrentItem(items[0])
        dialog.move(120, 120)
        QTimer.singleShot(300, dialog.test_button.click)
    return act


def problems(ws) -> None:
    graph = ws.graph
    nid = ws.document.add_node(graph, "Linear", (0, -220))
    ws.problems_dock.raise_()
    ws.view().graph_scene.select_nodes([nid])
    ws.fit()


def export(run_dir: str | None):
    def act(ws) -> None:
        dialog = ws.export.open_export()
        dialog.move(160, 120)
        if run_dir:
            dialog.add_run_source(run_dir)
            QTimer.singleShot(300, dialog.export_button.click)
    return act


def dataset(where: str):
    def act(ws) -> None:
        panel = ws.setup.dataset_panel
        ws.setup.docks["dataset"].raise_()
        panel.activate()

        def scroll() -> None:
            if panel.loader.busy:
                QTimer.singleShot(300, scroll)
                return
            bar = panel.verticalScrollBar()
            if where == "preview":
                bar.setValue(panel.view.mapTo(panel.widget(), panel.view.rect().topLeft()).y())
            elif where == "bars":
                bar.setValue(bar.maximum())
        # after the preview's layout has settled (the grid sizes itself to its width)
        QTimer.singleShot(2500, scroll)
        QTimer.singleShot(6000, scroll)
    return act


def main(argv: list[str]) -> int:
    scene, rest = argv[0], argv[1:]
    app = QApplication.instance() or QApplication(["layerforge"])
    file = None
    if scene == "hosts-test":
        action, file = hosts_test(rest[0]), (rest[1] if len(rest) > 1 else None)
    elif scene == "problems":
        action, file = problems, rest[0]
    elif scene == "dataset":
        action, file = dataset(rest[1] if len(rest) > 1 else "form"), rest[0]
    elif scene == "export":
        action, file = export(rest[1] if len(rest) > 1 else None), rest[0]
    else:
        print(f"unknown scene {scene}", file=sys.stderr)
        return 2
    QTimer.singleShot(200, lambda: _when_ready(action))
    from app.main import main as app_main

    del app
    return app_main([file] if file else [])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
