"""`layerforge gui --self-test`: prove an installation works end to end, then exit.

Opens the main window on a copy of the ``mlp`` template, trains it for two short epochs in a
real worker process (the same :class:`~engine.train.worker_client.WorkerClient` the app
uses; in a frozen bundle the worker is the bundle's own binary), exports the trained run to
ONNX with verification against onnxruntime, prints a short report and exits 0. Any failure
prints ``self-test FAILED: <reason>`` and exits 1. Settings and recovery files go to a
temporary folder, so a self-test never touches the user's configuration.

The window stays responsive while the job runs: training and export happen on a plain
thread, and the Qt event loop polls for the result.
"""

from __future__ import annotations

import os
import platform
import queue
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.window.main_window import MainWindow

TEMPLATE = "mlp"
EPOCHS = 2
SAMPLES = 600  # size of the generated data set: enough to learn something, fast on a CPU
TIME_LIMIT_S = float(os.environ.get("LAYERFORGE_SELFTEST_TIMEOUT", "300"))
ENV_KEEP = "LAYERFORGE_SELFTEST_KEEP"  # "1": keep the temporary folder (run, export)
POLL_MS = 50


class SelfTestError(Exception):
    """A step of the self-test did not do what it should; the message says which."""


@dataclass
class Outcome:
    """What the background job found (filled in by the thread, read after it ends)."""

    lines: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


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
    """Create before the settings are opened (it isolates them), then :meth:`run`."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="layerforge-selftest-"))
        os.environ["LAYERFORGE_CONFIG_DIR"] = str(self.folder / "config")
        # The window's own warm worker would compete for the CPU with the one tested here.
        os.environ["LAYERFORGE_WARM_WORKER"] = "off"
        self.status = 1
        self.outcome = Outcome()
        self._started = time.monotonic()
        self._window: MainWindow | None = None
        self._app: QApplication | None = None
        self._thread: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    # -- driving the window ----------------------------------------------------------
    def run(self, app: QApplication, window: MainWindow) -> int:
        """Show ``window``, run the test from its first paint and return the exit status."""
        self._app, self._window = app, window
        print("LayerForge self-test", flush=True)
        print(f"  {version_line()}", flush=True)
        window.first_painted.connect(self._on_window_first_painted)
        window.show()
        QTimer.singleShot(int(TIME_LIMIT_S * 1000), self._on_deadline)
        app.exec()
        return self.status

    def _on_window_first_painted(self) -> None:
        try:
            painted = time.monotonic() - self._started
            project_file = self._copy_template()
            assert self._window is not None
            ws = self._window.finish_startup(str(project_file))
            project = ws.document.project
            if project.name != TEMPLATE or not project.graphs:
                raise SelfTestError(f"the window did not open the {TEMPLATE} template "
                                    f"(it shows {project.name!r})")
            blocks = sum(len(g.nodes) for g in project.graphs.values())
            print(f"  window: {TEMPLATE} template open, {blocks} blocks, first paint "
                  f"{painted:.2f} s", flush=True)
            snapshot = project.model_dump(mode="json")
        except Exception as e:  # noqa: BLE001 - any failure is the test's result
            self._finish(self._reason(e))
            return
        self._thread = threading.Thread(target=self._job, args=(snapshot,), daemon=True,
                                        name="self-test")
        self._thread.start()
        self._timer.start()

    def _copy_template(self) -> Path:
        from engine.templates import template_path

        source = template_path(TEMPLATE)
        target = self.folder / "project" / source.name
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        return target

    def _on_timer_timeout(self) -> None:
        for line in self._drain():
            print(line, flush=True)
        if self.outcome.done.is_set():
            self._finish(self.outcome.error)

    def _on_deadline(self) -> None:
        if self._app is not None and self.status == 1 and not self.outcome.done.is_set():
            self._finish(f"no result within {TIME_LIMIT_S:.0f} s")

    def _drain(self) -> list[str]:
        lines = []
        while not self.outcome.lines.empty():
            lines.append(self.outcome.lines.get_nowait())
        return lines

    def _finish(self, error: str | None) -> None:
        self._timer.stop()
        for line in self._drain():
            print(line, flush=True)
        if error is None:
            total = time.monotonic() - self._started
            print(f"self-test passed in {total:.1f} s", flush=True)
            self.status = 0
        else:
            print(f"self-test FAILED: {error}", flush=True)
            self.status = 1
        if self._window is not None:
            self._window.close()
        keep = os.environ.get(ENV_KEEP) == "1" or self.status != 0
        if keep:
            print(f"  kept {self.folder}", flush=True)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._app is not None:
            self._app.exit(self.status)
        self._app = None

    # -- the job (on a background thread) --------------------------------------------
    def _job(self, project: dict[str, Any]) -> None:
        try:
            run_dir = self._train(project)
            self._export(run_dir)
        except Exception as e:  # noqa: BLE001 - reported, never raised into the event loop
            self.outcome.error = self._reason(e)
        finally:
            self.outcome.done.set()

    def _say(self, line: str) -> None:
        self.outcome.lines.put(line)

    def _train(self, project: dict[str, Any]) -> Path:
        from engine.train.events import EpochEnded, Failed, Finished, RunStarted, Stopped
        from engine.train.worker_client import WorkerClient, worker_command

        run_dir = self.folder / "runs" / "selftest"
        overrides = {"training.epochs": EPOCHS, "dataset.samples": SAMPLES,
                     "training.early_stopping": False}
        started = time.monotonic()
        with WorkerClient(worker_command()) as client:
            ready = client.wait_ready()
            if ready is None:
                tail = client.stderr_tail().strip().splitlines()
                raise SelfTestError("the worker process did not start"
                                    + (f": {tail[-1]}" if tail else ""))
            self._say(f"  worker: pid {ready.pid}, torch {ready.torch_version}, "
                      f"command {' '.join(client.command)}")
            client.submit(project, run_dir, overrides=overrides)
            epochs, finished = 0, None
            for ev in client.events():
                if isinstance(ev, RunStarted):
                    self._say(f"  run dir: {ev.run_dir}")
                    self._say(f"  data: {ev.dataset}; {ev.parameters:,} parameters on "
                              f"{ev.device}")
                elif isinstance(ev, EpochEnded):
                    epochs += 1
                elif isinstance(ev, Finished):
                    finished = ev
                elif isinstance(ev, Failed):
                    raise SelfTestError(f"training failed: {ev.message}")
                elif isinstance(ev, Stopped):
                    raise SelfTestError("training stopped before it finished")
        if finished is None or epochs != EPOCHS:
            raise SelfTestError(f"training ended after {epochs} of {EPOCHS} epochs")
        accuracy = _metric(finished.metrics, "accuracy")
        if accuracy is None:
            raise SelfTestError(f"the run reported no accuracy (metrics: "
                                f"{', '.join(finished.metrics)})")
        self._say(f"  trained {epochs} epochs in {time.monotonic() - started:.1f} s: "
                  f"accuracy {accuracy:.3f}")
        return run_dir

    def _export(self, run_dir: Path) -> None:
        import onnxruntime

        from engine.export import export

        started = time.monotonic()
        report = export(run_dir, "onnx", self.folder / "export")
        onnx_files = [f for f in report.files if str(f).endswith(".onnx")]
        if not onnx_files or not report.max_abs_diff:
            raise SelfTestError("the ONNX export wrote no verified model")
        worst = max(report.max_abs_diff.values())
        self._say(f"  onnx: {Path(onnx_files[0]).name}, opset {report.opset}, onnxruntime "
                  f"{onnxruntime.__version__}, max diff {worst:.2e} "
                  f"({time.monotonic() - started:.1f} s)")

    @staticmethod
    def _reason(e: BaseException) -> str:
        if isinstance(e, SelfTestError):
            return str(e)
        where = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
        at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
        return f"{type(e).__name__}: {e}{at}"


def _metric(metrics: dict[str, Any], name: str) -> float | None:
    """The validation figure if there is one, else the training one."""
    for key in (f"val_{name}", name, f"train_{name}"):
        value = metrics.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None
