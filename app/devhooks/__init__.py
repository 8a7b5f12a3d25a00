"""Development hooks: what tests, benchmarks, screenshots and demos ask of a started app,
read from ``LAYERFORGE_*`` environment variables in this one place and carried out through
the app's public API (nothing here reaches into a feature's insides).

========================== ==========================================================
``LAYERFORGE_THEME``        ``system``, ``light`` or ``dark`` for this run
``LAYERFORGE_WARM_WORKER``  ms after start-up before the warm worker starts (default
                            2000); ``off``: only when Train is pressed
``LAYERFORGE_AUTOSAVE_MS``  the autosave delay (default: the setting, 30000)
``LAYERFORGE_RECOVERY``     ``restore`` or ``discard``: answer the recovery offer unasked
``LAYERFORGE_EXAMPLES_DIR`` where Train an Example puts its copies
``LAYERFORGE_WORKER``       a JSON list: the command that starts a training worker
                            (tests start one that crashes on purpose)
``LAYERFORGE_SELFTEST_TIMEOUT`` seconds ``--self-test`` may take (default 300)
``LAYERFORGE_SELFTEST_KEEP`` ``1``: keep the self-test's folder (run, export)
``LAYERFORGE_REPORT_STARTUP`` print ``layerforge-first-paint <t>`` and ``layerforge-ready <t>``
``LAYERFORGE_SCRIPT``       a JSON list of edits to make after start-up (see script.py)
``LAYERFORGE_AUTOTRAIN``    ``1``: press Train once the warm worker is ready; ``overlay``:
                            also select the earlier runs in the Runs list
``LAYERFORGE_SHOW_PANEL``   ``dataset``, ``hyperparams``, ``evaluation`` or ``samples``:
                            float that dock over the window (screenshots)
``LAYERFORGE_SHOW_RUN``     a run folder to show in the evaluation and samples panels
``LAYERFORGE_OPEN_DIALOG``  ``export``, ``import`` or ``hosts`` (``export!`` also starts
                            the export): open it and print ``layerforge-dialog X Y W H``
========================== ==========================================================
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.window.options import DEFAULT_WARM_MS, WindowOptions

if TYPE_CHECKING:
    from app.window.main_window import MainWindow
    from app.window.workspace import Workspace

PREFIX = "LAYERFORGE_"
#: a floated dock's size for screenshots
SHOT_SIZES = {"dataset": (560, 940), "hyperparams": (560, 940), "evaluation": (1240, 700),
              "samples": (1100, 640)}


@dataclass(frozen=True)
class DevHooks:
    """What the environment asks of this run of the app."""

    theme: str = ""
    options: WindowOptions = field(default_factory=WindowOptions)
    report_startup: bool = False
    script: list[dict[str, Any]] = field(default_factory=list)
    autotrain: str = ""
    show_panel: str = ""
    show_run: str = ""
    open_dialog: str = ""
    selftest_timeout_s: float = 300.0
    selftest_keep: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DevHooks:
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(PREFIX + name, "")

        warm = get("WARM_WORKER")
        autosave = get("AUTOSAVE_MS")
        script = get("SCRIPT")
        worker = get("WORKER")
        return cls(
            theme=get("THEME"),
            options=WindowOptions(
                warm_delay_ms=None if warm == "off" else int(warm or DEFAULT_WARM_MS),
                autosave_ms=int(autosave) if autosave else None,
                recovery_answer=get("RECOVERY"),
                examples_dir=get("EXAMPLES_DIR") or None,
                worker_command=tuple(json.loads(worker)) if worker else None),
            report_startup=bool(get("REPORT_STARTUP")),
            script=json.loads(script) if script else [],
            autotrain=get("AUTOTRAIN"),
            show_panel=get("SHOW_PANEL"),
            show_run=get("SHOW_RUN"),
            open_dialog=get("OPEN_DIALOG"),
            selftest_timeout_s=float(get("SELFTEST_TIMEOUT") or 300.0),
            selftest_keep=get("SELFTEST_KEEP") == "1")

    def report(self, stage: str) -> None:
        """Print when a start-up stage was reached (the editor benchmark reads these)."""
        if self.report_startup:
            print(f"layerforge-{stage} {time.time():.6f}", flush=True)

    def watch(self, window: MainWindow) -> None:
        """Before the window shows: report its first paint."""
        window.first_painted.connect(lambda: self.report("first-paint"))

    def apply(self, ws: Workspace) -> None:
        """Once the editor is built: carry out what was asked, after the start-up settles."""
        from PySide6.QtCore import QTimer

        self.report("ready")
        if self.script:
            from app.devhooks.script import run_script

            QTimer.singleShot(0, ws, lambda: run_script(ws, self.script))
        if self.autotrain in ("1", "overlay"):
            _autotrain(ws, overlay=self.autotrain == "overlay")
        if self.show_panel in SHOT_SIZES or self.show_run:
            QTimer.singleShot(0, ws, lambda: _show(ws, self.show_panel, self.show_run))
        if self.open_dialog:
            QTimer.singleShot(300, ws, lambda: _open_dialog(ws, self.open_dialog))


def _autotrain(ws: Workspace, overlay: bool) -> None:
    """Press Train once the warm worker is ready (once)."""
    training = ws.training
    if overlay:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, ws, training.show_earlier_runs)

    def on_ready(_pid: int) -> None:
        training.warm.ready.disconnect(on_ready)
        training.train()

    training.warm.ready.connect(on_ready)
    training.start_warm_worker()


def _show(ws: Workspace, panel: str, run: str) -> None:
    setup = ws.setup
    if run:
        setup.evaluation_panel.show_run(run)
        setup.samples_panel.show_run(run)
        if panel == "samples" and setup.samples_panel.kind == "language_model":
            setup.samples_panel.generate()
    if panel in SHOT_SIZES:
        dock = setup.docks[panel]
        w, h = SHOT_SIZES[panel]
        dock.setFloating(True)
        dock.setGeometry(40, 40, w, h)
        dock.show()
        dock.raise_()
        if panel == "dataset":
            setup.dataset_panel.activate()
        elif panel == "hyperparams":
            setup.hyperparams_panel.activate()


def _open_dialog(ws: Workspace, which: str) -> None:
    from PySide6.QtCore import QTimer

    export = ws.export
    opener = {"export": export.open_export, "import": export.open_import,
              "hosts": export.open_hosts}.get(which.rstrip("!"))
    if opener is None:
        return
    dialog = opener()
    if which.endswith("!") and hasattr(dialog, "start_export"):
        dialog.start_export()
    # Where it landed, so a screenshot of the whole screen can be cropped to it.
    QTimer.singleShot(500, ws, lambda: print(
        "layerforge-dialog {} {} {} {}".format(*dialog.frameGeometry().getRect()), flush=True))
