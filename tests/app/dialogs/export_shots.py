"""Drive the real app to the Export dialog after an int8 export, for the user guide's
picture ``docs/screenshots/guide-export-int8.png`` (not a test).

Run it as the command of ``/work/shared/tools/xshot`` with a temporary
``LAYERFORGE_CONFIG_DIR``::

    XSHOT_PY=.venv/bin/python PYTHONPATH=. LAYERFORGE_THEME=light \\
        LAYERFORGE_WARM_WORKER=off LAYERFORGE_CONFIG_DIR=$(mktemp -d) \\
        ../shared/tools/xshot /tmp/shot.png 60 1280x800 -- .venv/bin/python \\
        -m tests.app.dialogs.export_shots PROJECT RUN_DIR OUT_DIR

PROJECT is opened, File > Export… picks RUN_DIR (a trained LeNet-5 run) with Run folder…,
chooses "ONNX int8", saves into OUT_DIR and presses Export. When the export ends the dialog's
frame is written to OUT_DIR/dialog.json (x, y, width, height on the screen) so the shot can
be cropped to the dialog, as the guide's other dialog pictures are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.app.setup.guide_shots import _when_ready


def export_int8(run_dir: str, out_dir: Path):
    def act(ws) -> None:
        dialog = ws.export.open_export()
        dialog.move(150, 20)
        dialog.add_run_source(run_dir)
        dialog.format.setCurrentIndex(dialog.format.findData("onnx-int8"))
        dialog.out.setText(str(out_dir / "lenet5.int8.onnx"))

        def ended(ok: bool) -> None:
            def record() -> None:
                frame = dialog.frameGeometry()
                (out_dir / "dialog.json").write_text(json.dumps(
                    {"ok": ok, "error": dialog.error, "x": frame.x(), "y": frame.y(),
                     "width": frame.width(), "height": frame.height()}))
            QTimer.singleShot(500, record)  # after the tables have been laid out

        dialog.finished_export.connect(ended)
        QTimer.singleShot(300, dialog.export_button.click)
    return act


def main(argv: list[str]) -> int:
    project, run_dir, out_dir = argv[0], argv[1], Path(argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(["layerforge"])
    QTimer.singleShot(200, lambda: _when_ready(export_int8(run_dir, out_dir)))
    from app.main import main as app_main

    del app
    return app_main([project])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
