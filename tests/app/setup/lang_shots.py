"""Drive the real app to a language or speech run's evaluation, as a user does (not a
test). Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 40 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.lang_shots RUN_DIR [--beam N]

It opens the run's project snapshot, switches to the Evaluate perspective and shows the
run; once the evaluation is shown, ``--beam`` sets the beam width box (which evaluates
again). A text or a clip of one's own is tried in the Try it tab: ``try_it_shots``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def act_on(run_dir: str, beam: int | None):
    done = {"beam": False}

    def evaluated(_r) -> None:
        panel = act.panel
        section = {"seq2seq": panel.seq2seq, "speech": panel.speech}.get(
            panel.result.kind if panel.result is not None else "")
        if beam and not done["beam"] and section is not None:
            done["beam"] = True
            section.beam.box.setValue(beam)

    def act(ws) -> None:
        ws.perspectives.switch("evaluate")
        act.panel = ws.setup.evaluation_panel
        act.panel.evaluated.connect(evaluated)
        for view in ws.setup.result_views:
            view.show_run(run_dir)
    return act


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0]).resolve()
    beam = int(argv[argv.index("--beam") + 1]) if "--beam" in argv else None
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(str(run_dir), beam)))
    from app.main import main as app_main

    del app
    return app_main([str(run_dir / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
