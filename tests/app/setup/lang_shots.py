"""Drive the real app to a language or speech run's evaluation and ask its Try box, as a
user does (not a test). Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 40 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.lang_shots RUN_DIR [--try TEXT_OR_WAV] [--beam N]

It opens the run's project snapshot, switches to the Evaluate perspective and shows the
run; once the evaluation is shown it types TEXT (or opens the WAV) in the view's Try box,
and with ``--beam`` sets the beam width box (which evaluates again).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def _try_box(panel):
    view = {"text": panel.text_samples, "sound": panel.sound_samples,
            "seq2seq": panel.seq2seq, "speech": panel.speech}
    from app.panels.lang_results import view_of

    r = panel.result
    section = view.get(view_of(r.kind, r.input_kind)) if r is not None else None
    return None if section is None else section.try_box, section


def act_on(run_dir: str, question: str | None, beam: int | None):
    done = {"asked": False, "beam": False}

    def evaluated(_r) -> None:
        panel = act.panel
        box, section = _try_box(panel)
        if beam and not done["beam"] and hasattr(section, "beam"):
            done["beam"] = True
            section.beam.box.setValue(beam)
            return
        if question and box is not None and not done["asked"]:
            done["asked"] = True
            box.edit.setText(question)
            box.ask(question)

    def act(ws) -> None:
        ws.perspectives.switch("evaluate")
        act.panel = ws.setup.evaluation_panel
        act.panel.evaluated.connect(evaluated)
        for view in ws.setup.result_views:
            view.show_run(run_dir)
    return act


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0]).resolve()
    question = argv[argv.index("--try") + 1] if "--try" in argv else None
    beam = int(argv[argv.index("--beam") + 1]) if "--beam" in argv else None
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(str(run_dir), question, beam)))
    from app.main import main as app_main

    del app
    return app_main([str(run_dir / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
