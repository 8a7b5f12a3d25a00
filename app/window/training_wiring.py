"""Training in the window: the run controller, the Training menu and its shortcuts, and the
training, plots and runs docks, wired to the document.

``install_training(workspace)`` is the one call the workspace makes. The run controller's
events go to the panels (and to the evaluation and samples views when those are built);
runs are recorded in the project (see app/runs/records.py). A project whose device is
``remote:HOST`` trains on that SSH host through the :class:`RemoteRunner`, whose signals
are the controller's: the same handlers feed the same panels.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from app.dialogs.host_key import HostKeyAsker
from app.panels.eval_common import JobRunner
from app.panels.plots import PlotsPanel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel
from app.runs.controller import Job, RunController
from app.runs.history import RunSummary, load_history, summarize
from app.runs.records import (
    add_run_ref,
    known_run_dirs,
    remote_host,
    remote_train_job,
    remove_run_ref,
    resume_job,
    train_job,
)
from app.runs.remote import RemoteJob, RemoteRunner, fetch_artifacts
from engine.project import ProjectError
from engine.remote.config import device_host

if TYPE_CHECKING:
    from app.window.workspace import Workspace

ENV_WARM = "LAYERFORGE_WARM_WORKER"  # ms after start-up to start the warm worker; "off": never
# "1": press Train once the warm worker is ready (screenshots, demos); "overlay": also show
# the Runs dock with the earlier runs selected, so their curves are overlaid.
ENV_AUTOTRAIN = "LAYERFORGE_AUTOTRAIN"
DEFAULT_WARM_MS = 2000  # after the editor settles; Train before that starts one at once


class TrainingUI(QObject):
    """Everything training adds to one window."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        self.ws = ws
        self.window = w = ws.window
        self.controller = RunController()  # no parent: see app.runs.controller._LIVE
        self.host_keys = HostKeyAsker(w)  # unknown host keys are asked about in this thread
        self.remote = RemoteRunner(self.host_keys.ask)  # no parent either
        self.fetcher = JobRunner(self)  # "Download" of a remote run's files, one at a time
        self.live_run: str | None = None
        self._closing = False
        self.train_action = self._action("&Train", "Ctrl+Return", "Train the project now")
        self.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.pause_action = self._action("&Pause", "Ctrl+Alt+P", "Pause the run after this step")
        self.resume_action = self._action("&Resume", "Ctrl+Alt+R", "Continue the paused run")
        self.stop_action = self._action("&Stop", "Ctrl+.", "Stop the run (it keeps a checkpoint)")
        actions = [self.train_action, self.pause_action, self.resume_action, self.stop_action]
        self.menu = QMenu("&Training", w)
        self.menu.addActions(actions)
        w.menuBar().insertMenu(w.menus["help"].menuAction(), self.menu)
        w.menus["training"] = self.menu
        self.panel = TrainingPanel(actions)
        self.plots = PlotsPanel(w.theme.theme)
        self.runs = RunsPanel()
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.panel_dock = w.add_dock(self.panel, "Training", bottom, "training")
        self.plots_dock = w.add_dock(self.plots, "Plots", bottom, "plots")
        self.runs_dock = w.add_dock(self.runs, "Runs", bottom, "runs")
        # Problems | Training (Runs tabbed behind it) | Plots, the plots taking the width.
        # (bottom docks line up side by side; a tabbed Problems dock cannot be split)
        w.splitDockWidget(self.panel_dock, self.plots_dock, Qt.Orientation.Horizontal)
        w.tabifyDockWidget(self.panel_dock, self.runs_dock)
        self.panel_dock.raise_()
        QTimer.singleShot(0, self, self._size_docks)  # once the other docks are in place
        self.result_views: list[Any] = []
        self._connect()
        self._update_actions()
        self.refresh_runs()
        w.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        warm = os.environ.get(ENV_WARM, str(DEFAULT_WARM_MS))
        if warm != "off":
            QTimer.singleShot(int(warm or 0), self, self._on_warm_timer_timeout)
        QTimer.singleShot(0, self, self._attach_result_views)
        if os.environ.get(ENV_AUTOTRAIN) == "overlay":
            QTimer.singleShot(0, self, self._show_earlier_runs)

    def _size_docks(self) -> None:
        w = self.window
        w.resizeDocks([self.ws.problems_dock, self.panel_dock, self.plots_dock],
                      [280, 380, 780], Qt.Orientation.Horizontal)
        w.resizeDocks([self.plots_dock], [440], Qt.Orientation.Vertical)

    def _action(self, text: str, key: str, tip: str) -> QAction:
        a = QAction(text, self.window)
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        return a

    def _connect(self) -> None:
        c, d, r = self.controller, self.ws.document, self.remote
        self.train_action.triggered.connect(self.train)
        self.pause_action.triggered.connect(lambda: self._runner().pause_run())
        self.resume_action.triggered.connect(lambda: self._runner().resume_run())
        self.stop_action.triggered.connect(lambda: self._runner().stop_run())
        for runner in (c, r):  # the same signals: the panels do not know where a run is
            runner.event_received.connect(self._on_controller_event_received)
            runner.run_ended.connect(self._on_controller_run_ended)
            runner.worker_died.connect(self._on_controller_worker_died)
        c.state_changed.connect(self._on_controller_state_changed)
        r.state_changed.connect(self._on_remote_state_changed)
        r.transfer.connect(self.panel.show_transfer)
        r.detached.connect(self._on_remote_detached)
        self.runs.selection_changed.connect(self._on_runs_selection_changed)
        self.runs.resume_requested.connect(self.resume)
        self.runs.attach_requested.connect(self.attach)
        self.runs.download_requested.connect(self.download)
        self.fetcher.finished.connect(self._on_fetcher_finished)
        self.fetcher.failed.connect(self._on_fetcher_failed)
        self.fetcher.busy_changed.connect(self.runs.set_downloading)
        self.runs.delete_confirmed.connect(self._on_runs_delete_confirmed)
        self.runs.refresh_requested.connect(self.refresh_runs)
        d.project_replaced.connect(self._on_document_project_replaced)
        d.path_changed.connect(self.refresh_runs)
        self.window.theme.theme_changed.connect(self.plots.set_theme)

    def _attach_result_views(self) -> None:
        """Hand runs and events to the evaluation and samples views (built elsewhere)."""
        classes = []
        try:
            from app.panels.evaluation import EvaluationPanel
            classes.append(EvaluationPanel)
        except ImportError:
            pass
        try:
            from app.panels.samples import SamplesPanel
            classes.append(SamplesPanel)
        except ImportError:
            pass
        for cls in classes:
            self.result_views += self.window.findChildren(cls)

    # -- commands -------------------------------------------------------------------
    def train(self) -> bool:
        """Train the document's project as it is now (unsaved edits included)."""
        doc = self.ws.document
        errors = [p for p in doc.problems() if p.severity == "error"]
        if errors:
            self._say(f"Cannot train: {errors[0]} (see Problems)", error=True)
            return False
        host = device_host(doc.project.training.device)
        if host is not None:
            return self._submit(remote_train_job(doc, host))
        return self._submit(train_job(doc))

    def resume(self, run_dir: str) -> bool:
        """Continue a stopped run from its checkpoint (a remote one on its host)."""
        if remote_host(run_dir) is not None:
            return self._submit(RemoteJob("resume", run_dir))
        try:
            job = resume_job(run_dir)
        except ProjectError as e:
            self._say(str(e), error=True)
            return False
        return self._submit(job)

    def attach(self, run_dir: str) -> bool:
        """Follow a remote run again (after a restart, or a link that stayed down)."""
        if remote_host(run_dir) is None:
            self._say(f"{run_dir}: not a remote run; nothing to attach to", error=True)
            return False
        return self._submit(RemoteJob("attach", run_dir))

    def download(self, run_dir: str) -> bool:
        """Fetch a remote run's files as they are now (also mid-run), in the background."""
        host = remote_host(run_dir)
        if host is None:
            self._say(f"{run_dir}: not a remote run; its files are already here", error=True)
            return False
        if self.fetcher.busy:
            return False
        self.window.statusBar().showMessage(f"Downloading {Path(run_dir).name} from {host}…")
        self.fetcher.submit(lambda: fetch_artifacts(run_dir))
        return True

    def _runner(self) -> RunController | RemoteRunner:
        """The runner of the run in progress (the local controller when none runs)."""
        return self.remote if self.remote.busy else self.controller

    def _submit(self, job: Job | RemoteJob) -> bool:
        if self._closing:
            return False
        if self.controller.busy or self.remote.busy:
            self._say("A run is already in progress", error=False)
            return False
        remote = isinstance(job, RemoteJob)
        if not (self.remote.submit(job) if remote else self.controller.submit(job)):
            self._say("A run is already in progress", error=False)
            return False
        self.live_run = str(Path(job.run_dir).resolve())
        resume = job.kind != "start" if remote else job.resume
        if not resume:
            add_run_ref(self.ws.document, job.run_dir, job.host if remote else "local")
        self.panel.show_message("")
        self.panel.status.setText({"start": f"Connecting to {job.host}…",
                                   "resume": "Resuming the run on its host…",
                                   "attach": "Attaching to the remote run…"}[job.kind]
                                  if remote else
                                  "Resuming the run…" if job.resume else "Starting the run…")
        self._update_actions()
        self.refresh_runs()
        return True

    def refresh_runs(self, *_args: object) -> list[RunSummary]:
        dirs = [str(p) for p in known_run_dirs(self.ws.document)]
        if self.live_run and self.live_run not in dirs:
            dirs.append(self.live_run)
        summaries = [summarize(p) for p in dirs]
        self.runs.set_runs(summaries, self.live_run)
        return summaries

    def _on_document_project_replaced(self) -> None:
        """List the project's runs and follow again the newest remote run that may still be
        going (its host was trusted when it started); any others are pointed out, to be
        attached from the Runs list."""
        detached = [s for s in self.refresh_runs() if s.status == "detached"]
        if self._closing or self.live_run or self.controller.busy or self.remote.busy:
            return
        self.panel.show_message("")  # what was said about the previous project
        if not detached:
            return
        self.attach(detached[-1].run_dir)
        others = detached[:-1]
        if others:
            hosts = ", ".join(sorted({s.host for s in others}))
            what = (f"Another run on {hosts} ({others[0].name})" if len(others) == 1
                    else f"{len(others)} other runs on {hosts}")
            self.panel.show_message(f"{what} may still be going: select it in the Runs list "
                                    "and press Attach to follow it instead.", False)

    def shutdown(self) -> None:
        """Stop the run (keeping its checkpoint) and the worker; join the threads. Once."""
        if self._closing:
            return
        self._closing = True
        self.fetcher.cancel()  # a download in flight ends cleanly (no torn file) first
        self.fetcher.wait(60_000)
        self.remote.shutdown()  # detaches: a remote run goes on, and can be attached later
        self.controller.shutdown()
        # The runners have no Qt parent. Delete them here, in the GUI thread, rather than
        # whenever (and in whichever thread) Python's cyclic GC collects this object.
        self.remote.deleteLater()
        self.controller.deleteLater()
        self.plots.dispose()

    def _say(self, text: str, error: bool = True) -> None:
        self.window.statusBar().showMessage(text, 8000)
        self.panel.show_message(text, error)

    def _update_actions(self) -> None:
        runner = self._runner()
        state, busy = runner.state, runner.busy
        self.train_action.setEnabled(not self.controller.busy and not self.remote.busy
                                     and not self._closing)
        self.pause_action.setEnabled(busy and state == "running")
        self.resume_action.setEnabled(busy and state == "paused")
        self.stop_action.setEnabled(busy and state in ("running", "paused", "reconnecting"))

    # -- signal handlers ------------------------------------------------------------
    def _on_warm_timer_timeout(self) -> None:
        if not self._closing and self.window.isVisible():
            self.controller.start_worker()

    def _on_controller_event_received(self, ev: Any) -> None:
        self.plots.on_event(ev)
        self.panel.on_event(ev)
        for view in self.result_views:
            view.on_event(ev)
        if ev.type == "run_started":
            self.refresh_runs()

    def _on_controller_run_ended(self, ev: Any) -> None:
        finished = self.live_run
        self.live_run = None
        self._update_actions()
        self.refresh_runs()
        if ev.type == "stopped":
            self.window.statusBar().showMessage("Training stopped", 6000)
        elif ev.type == "finished":
            self.window.statusBar().showMessage("Training finished", 6000)
        if finished and self.runs.selected_runs() == [finished]:
            self._on_runs_selection_changed([finished])

    def _on_controller_worker_died(self, message: str) -> None:
        self._say(message, error=True)

    def _on_controller_state_changed(self, state: str) -> None:
        if not self.remote.busy:  # during a remote run the panel shows the remote state
            self.panel.set_state(state)
        self._update_actions()
        auto = os.environ.get(ENV_AUTOTRAIN, "")
        if state == "ready" and auto in ("1", "overlay") and not self._autotrained:
            self._autotrained = True
            self.train()

    _autotrained = False

    def _on_remote_state_changed(self, state: str) -> None:
        # idle/detached: the local worker's state is the one worth showing again
        self.panel.set_state(self.controller.state if state in ("idle", "detached") else state)
        self._update_actions()

    def _on_remote_detached(self, run_dir: str) -> None:
        if self.live_run == run_dir:
            self.live_run = None
        self._update_actions()
        self.refresh_runs()
        if not self._closing:
            self.panel.status.setText("Not following the remote run (it goes on on its host); "
                                      "select it in Runs and press Attach")

    def _on_fetcher_finished(self, result: tuple[str, str, list[str]]) -> None:
        run_dir, host, got = result
        what = ", ".join(got) if got else "nothing yet (no files written on the host)"
        self.window.statusBar().showMessage(f"Fetched from {host}: {what}", 8000)
        self.refresh_runs()
        if run_dir in self.runs.selected_runs() and run_dir != self.live_run:
            for view in self.result_views:
                view.show_run(run_dir)

    def _on_fetcher_failed(self, message: str) -> None:
        self._say(f"Could not download the run's files: {message}", error=True)

    def _show_earlier_runs(self) -> None:
        self.runs_dock.raise_()
        self.runs.select_runs(self.runs.run_dirs())

    def _on_runs_selection_changed(self, run_dirs: list[str]) -> None:
        self.plots.set_overlays({Path(d).name: load_history(d) for d in run_dirs
                                 if d != self.live_run})
        if run_dirs:
            for view in self.result_views:
                view.show_run(run_dirs[-1])

    def _on_runs_delete_confirmed(self, run_dirs: list[str]) -> None:
        for d in run_dirs:
            if d == self.live_run:
                continue
            try:
                shutil.rmtree(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                self._say(f"{d}: cannot delete the run folder ({e.strerror})")
                continue
            remove_run_ref(self.ws.document, d)
        self.refresh_runs()

    # -- closing --------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # closeEvent may be refused (Save/Discard/Cancel); a Hide right after a Close means
        # the window really closed.
        if watched is self.window:
            if event.type() == QEvent.Type.Close:
                self._close_seen = True
                QTimer.singleShot(0, self, self._on_close_settled)
            elif event.type() == QEvent.Type.Hide and self._close_seen:
                self.shutdown()
        return False

    _close_seen = False

    def _on_close_settled(self) -> None:
        self._close_seen = False


def install_training(ws: Workspace) -> TrainingUI:
    """Add training to the workspace's window; kept as ``ws.training``."""
    ui = TrainingUI(ws)
    ws.training = ui  # type: ignore[attr-defined]
    return ui


