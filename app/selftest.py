"""`layerforge gui --self-test`: prove an installation works end to end, then exit.

Opens the main window on a copy of the ``mlp`` template and trains it for two short epochs
the way a user does: the window's own training feature presses Train, the run goes to the
warm worker process through the one runner (in a frozen bundle the worker is the bundle's
own binary). Then the trained run is exported to ONNX with verification against
onnxruntime on a background job, a short report is printed and the app exits 0. Any
failure prints ``self-test FAILED: <reason>`` and exits 1. Settings and recovery files go
to a temporary folder, so a self-test never touches the user's configuration.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.window.main_window import MainWindow
    from app.window.options import WindowOptions
    from app.window.workspace import Workspace
    from engine.train.events import Event

TEMPLATE = "mlp"
EPOCHS = 2
SAMPLES = 600  # size of the generated data set: enough to learn something, fast on a CPU
TIME_LIMIT_S = 300.0
KEEP = False  # keep the temporary folder (run, export) even when the test passes


class SelfTestError(Exception):
    """A step of the self-test did not do what it should; the message says which."""


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def version_line() -> str:
    """One line naming the app, the runtime and the heavy libraries, as this process sees them."""
    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QGuiApplication

    mode = "frozen" if getattr(sys, "frozen", False) else "source"
    qpa = QGuiApplication.platformName() or "?"
    return (f"layerforge {_version('layerforge')} ({mode}), Python {platform.python_version()}, "
            f"Qt {qVersion()}, PySide6 {PySide6.__version__}, platform {qpa}")


class SelfTest(QObject):
    """Create before the settings are opened (it isolates them), then :meth:`run`.
    ``options``: the window's options (the warm worker starts when Train is pressed);
    ``keep`` keeps the temporary folder; ``time_limit_s`` bounds the whole test."""

    def __init__(self, options: WindowOptions | None = None, *, keep: bool = KEEP,
                 time_limit_s: float = TIME_LIMIT_S) -> None:
        super().__init__()
        from app.window.options import WindowOptions

        self.folder = Path(tempfile.mkdtemp(prefix="layerforge-selftest-"))
        os.environ["LAYERFORGE_CONFIG_DIR"] = str(self.folder / "config")
        # The warm worker starts when Train is pressed, not on a timer of its own.
        self.options = options or WindowOptions(warm_delay_ms=None)
        self.keep, self.time_limit_s = keep, time_limit_s
        self.status = 1
        self._started = time.monotonic()
        self._window: MainWindow | None = None
        self._app: QApplication | None = None
        self._ws: Workspace | None = None
        self._epochs = 0
        self._trained_at = 0.0
        self._done = False

    # -- driving the window ----------------------------------------------------------
    def run(self, app: QApplication, window: MainWindow) -> int:
        """Show ``window``, run the test from its first paint and return the exit status."""
        self._app, self._window = app, window
        print("LayerForge self-test", flush=True)
        print(f"  {version_line()}", flush=True)
        window.first_painted.connect(lambda: QTimer.singleShot(0, self, self._on_painted))
        window.show()
        QTimer.singleShot(int(self.time_limit_s * 1000), self, self._on_deadline)
        app.exec()
        return self.status

    def _on_painted(self) -> None:
        try:
            self._start()
        except Exception as e:  # noqa: BLE001 - any failure is the test's result
            self._finish(self._reason(e))

    def _start(self) -> None:
        from app.window.workspace import open_workspace

        painted = time.monotonic() - self._started
        project_file = self._copy_template()
        assert self._window is not None
        ws = self._ws = open_workspace(self._window, str(project_file), self.options)
        project = ws.document.project
        if project.name != TEMPLATE or not project.graphs:
            raise SelfTestError(f"the window did not open the {TEMPLATE} template "
                                f"(it shows {project.name!r})")
        blocks = sum(len(g.nodes) for g in project.graphs.values())
        print(f"  window: {TEMPLATE} template open, {blocks} blocks, first paint "
              f"{painted:.2f} s", flush=True)
        doc, training = ws.document, ws.training
        doc.set_field("training", "epochs", EPOCHS)
        doc.set_field("dataset", "samples", SAMPLES)
        doc.set_field("training", "early_stopping", False)
        training.warm.ready.connect(self._on_warm_ready)
        training.runner.event_received.connect(self._on_runner_event_received)
        training.runner.run_ended.connect(self._on_runner_run_ended)
        self._trained_at = time.monotonic()
        if not training.train():
            raise SelfTestError(f"Train was refused: {training.panel.message.text()}")

    def _copy_template(self) -> Path:
        from engine.templates import template_path

        source = template_path(TEMPLATE)
        target = self.folder / "project" / source.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        return target

    # -- what the window reports -------------------------------------------------------
    def _on_warm_ready(self, pid: int) -> None:
        assert self._ws is not None
        warm = self._ws.training.warm
        print(f"  worker: pid {pid}, torch {warm.torch_version}, command "
              f"{' '.join(warm.command)}", flush=True)

    def _on_runner_event_received(self, ev: Event) -> None:
        from engine.train.events import EpochEnded, RunStarted

        match ev:
            case RunStarted():
                print(f"  run dir: {ev.run_dir}", flush=True)
                print(f"  data: {ev.dataset}; {ev.parameters:,} parameters on {ev.device}",
                      flush=True)
            case EpochEnded():
                self._epochs += 1

    def _on_runner_run_ended(self, ev: Event) -> None:
        from engine.train.events import Failed, Finished

        try:
            match ev:
                case Failed():
                    raise SelfTestError(f"training failed: {ev.message}")
                case Finished() if self._epochs == EPOCHS:
                    accuracy = _metric(ev.metrics, "accuracy")
                    if accuracy is None:
                        raise SelfTestError(f"the run reported no accuracy (metrics: "
                                            f"{', '.join(ev.metrics)})")
                    print(f"  trained {self._epochs} epochs in "
                          f"{time.monotonic() - self._trained_at:.1f} s: accuracy "
                          f"{accuracy:.3f}", flush=True)
                    self._export()
                case _:
                    raise SelfTestError(f"training ended ({ev.type}) after {self._epochs} of "
                                        f"{EPOCHS} epochs")
        except Exception as e:  # noqa: BLE001 - any failure is the test's result
            self._finish(self._reason(e))

    def _export(self) -> None:
        """Export the finished run to ONNX on a background job (as the Export dialog does)."""
        from app.runs.jobs import Jobs

        assert self._ws is not None
        run_dir = self._ws.training.runs.run_dirs()[-1]
        out = self.folder / "export"
        jobs = Jobs(self)
        jobs.finished.connect(self._on_export_finished)
        jobs.failed.connect(lambda message: self._finish(f"export failed: {message}"))
        jobs.submit(lambda _report: _export_onnx(run_dir, out))

    def _on_export_finished(self, line: str) -> None:
        print(line, flush=True)
        self._finish(None)

    def _on_deadline(self) -> None:
        if not self._done:
            self._finish(f"no result within {self.time_limit_s:.0f} s")

    def _finish(self, error: str | None) -> None:
        if self._done:
            return
        self._done = True
        if error is None:
            total = time.monotonic() - self._started
            print(f"self-test passed in {total:.1f} s", flush=True)
            self.status = 0
        else:
            print(f"self-test FAILED: {error}", flush=True)
            self.status = 1
        if self._ws is not None and self._ws.document.is_dirty():
            self._ws.document.save()  # the copy (and its run) is thrown away: nothing to ask
        if self._window is not None:
            self._window.close()
        if self.keep or self.status != 0:
            print(f"  kept {self.folder}", flush=True)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._app is not None:
            self._app.exit(self.status)
        self._app = None

    @staticmethod
    def _reason(e: BaseException) -> str:
        if isinstance(e, SelfTestError):
            return str(e)
        where = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
        at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        return f"{type(e).__name__}: {e}{at}"


def _export_onnx(run_dir: str, out: Path) -> str:
    """Export ``run_dir`` to ONNX in ``out`` (verified against onnxruntime); the report line."""
    import onnxruntime

    from engine.export import export

    started = time.monotonic()
    report = export(run_dir, "onnx", out)
    onnx_files = [f for f in report.files if str(f).endswith(".onnx")]
    if not onnx_files or not report.max_abs_diff:
        raise SelfTestError("the ONNX export wrote no verified model")
    worst = max(report.max_abs_diff.values())
    return (f"  onnx: {Path(onnx_files[0]).name}, opset {report.opset}, onnxruntime "
            f"{onnxruntime.__version__}, max diff {worst:.2e} "
            f"({time.monotonic() - started:.1f} s)")


def _metric(metrics: dict[str, Any], name: str) -> float | None:
    """The validation figure if there is one, else the training one."""
    for key in (f"val_{name}", name, f"train_{name}"):
        value = metrics.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None
