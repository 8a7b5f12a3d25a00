"""Drive the real app to a run's Try it tab and give it an input, as a user does (not a
test). Run it as the command of ``../shared/tools/xshot``::

    XSHOT_PY=.venv/bin/python LAYERFORGE_THEME=light LAYERFORGE_WARM_WORKER=off \\
    LAYERFORGE_CONFIG_DIR=$(mktemp -d) ../shared/tools/xshot OUT.png 25 1280x800 -- \\
        .venv/bin/python -m tests.app.setup.try_it_shots RUN_DIR [--draw 7 | --row 5.1,3.5,1.4,0.2 |
        --text "a text" | --wav CLIP.wav | --file IMAGE.png] [--beam N]

It opens the run's project snapshot, switches to the Evaluate perspective, shows the run,
brings Try it to the front, and then draws the digit (strokes on the pad), pastes the row,
types the text and asks, or opens the clip or the image; ``--beam`` sets a seq2seq or speech run's beam
width first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready

#: strokes of a few digits, in fractions of the pad's side
DIGITS = {
    "7": [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.82)]],
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "0": [[(0.5, 0.15), (0.75, 0.3), (0.78, 0.6), (0.5, 0.85), (0.25, 0.65), (0.25, 0.3),
           (0.5, 0.15)]],
}


def act_on(run_dir: str, argv: list[str]):
    def give(ws) -> None:
        panel = ws.setup.try_panel
        page = panel.current_page()
        if "--beam" in argv:
            page.beam.set_width(int(argv[argv.index("--beam") + 1]))
        if "--draw" in argv:
            for stroke in DIGITS[argv[argv.index("--draw") + 1]]:
                page.pad.stroke(stroke)
        elif "--row" in argv:
            QApplication.clipboard().setText(argv[argv.index("--row") + 1])
            page.paste_button.click()
        elif "--text" in argv:
            page.edit.setText(argv[argv.index("--text") + 1])
            page.button.click()
        elif "--wav" in argv or "--file" in argv:
            flag = "--wav" if "--wav" in argv else "--file"
            page.asked.emit(str(Path(argv[argv.index(flag) + 1]).resolve()))

    def act(ws) -> None:
        from app.runs.records import add_run_ref

        ws.perspectives.switch("evaluate")
        add_run_ref(ws.document, run_dir)  # listed in Runs and chosen, as after training
        ws.training.refresh_runs()
        ws.training.runs.select_runs([run_dir])
        ws.setup.docks["try"].raise_()
        QTimer.singleShot(600, lambda: give(ws))
    return act


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0]).resolve()
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(act_on(str(run_dir), argv[1:])))
    from app.main import main as app_main

    del app
    return app_main([str(run_dir / "project.lforge")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
