"""Training in the window: the Training menu and its shortcuts, the training, plots and runs
docks, the warm worker and the one runner, wired to the document.

Every run, local or on an SSH host, is an event source (:mod:`engine.train.source`)
drained by the one :class:`app.runs.runner.Runner`; the panels get the same events either
way, and the buttons follow the runner's state, which follows the events. Runs are recorded
in the project (app/runs/records.py). Runs on SSH hosts (their sessions and host keys,
Download, re-attaching) are handled by :class:`RemoteRuns` (``remote_runs.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app.panels.plots import PlotsPanel
from app.panels.runs import RunsPanel
from app.panels.training import TrainingPanel, ask_quit_while_training
from app.runs.history import RunSummary, load_history, summarize
from app.runs.records import (
    add_run_ref,
    describe_places,
    known_run_dirs,
    locate_runs,
    new_run,
    remote_host,
    remove_run_ref,
    resume_project,
)
from app.runs.runner import Runner, SourceFactory
from app.runs.warm import WarmWorkerHolder
from app.window.features.privacy_check import PrivateGate
from app.window.features.remote_runs import RemoteRuns
from engine.errors import UserError, os_reason
from engine.remote.config import device_host
from engine.train.events import (
    Detached,
    Event,
    Failed,
    Finished,
    Notice,
    RunStarted,
    Status,
    Stopped,
    WeightsLoaded,
)

if TYPE_CHECKING:
    from app.document import GraphDocument
    from app.window.main_window import MainWindow

from app.window.options import DEFAULT_WARM_MS


class ResultView(Protocol):
    """A view that shows a run's results (the evaluation and samples panels)."""

    def on_event(self, event: Event) -> None: ...

    def show_run(self, run_dir: str) -> None: ...

    def reset(self) -> None: ...


class TrainingFeature(QObject):
    """Owns the warm worker, the runner, the Training menu and the three docks, and the
    :class:`RemoteRuns` that handles runs on SSH hosts."""

    def __init__(self, window: MainWindow, document: GraphDocument, *,
                 result_views: Sequence[ResultView],
                 warm_delay_ms: int | None = DEFAULT_WARM_MS,
                 worker_command: Sequence[str] | None = None) -> None:
        super().__init__(window)
        self.window = w = window
        self.document = document
        self.result_views = list(result_views)
        self.warm = WarmWorkerHolder(self, command=list(worker_command) if worker_command
                                     else None)
        self.runner = Runner()  # no parent: joined and deleted by shutdown(), never by a widget
        self.live_run: str | None = None
        #: "quit"/"stay": how confirm_close answers without asking (tests, scripted demos)
        self.quit_answer = ""
        self._closing = False
        self._train_waiting = False  # Train was pressed while the data's facts were read
        self._failed = False  # the panel shows the last run's failure (until an edit)
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
        self.remote = RemoteRuns(
            w, self.runs, submit=self._submit, say=self._say, show_message=self.panel.show_message,
            refresh_runs=self.refresh_runs, live_run=lambda: self.live_run,
            show_run=self._show_run, parent=self)
        self.fetcher = self.remote.fetcher
        self.private = PrivateGate(w, document, self._say)  # what DP-SGD cannot train
        self._connect()
        self._show_state()
        self.refresh_runs()
        if warm_delay_ms is not None:
            QTimer.singleShot(warm_delay_ms, self, self._on_warm_timer_timeout)

    def _action(self, text: str, key: str, tip: str) -> QAction:
        a = QAction(text, self.window)
        a.setShortcut(QKeySequence(key))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        return a

    def _connect(self) -> None:
        r, d = self.runner, self.document
        self.train_action.triggered.connect(self.train)
        self.pause_action.triggered.connect(r.pause_run)
        self.resume_action.triggered.connect(r.resume_run)
        self.stop_action.triggered.connect(r.stop_run)
        self.stop_action.triggered.connect(self.remote.say_stop)  # a Slurm job: scancel
        r.event_received.connect(self._on_runner_event_received)
        r.run_ended.connect(self._on_runner_run_ended)
        r.state_changed.connect(self._on_runner_state_changed)
        self.warm.state_changed.connect(self._on_warm_state_changed)
        self.warm.died.connect(self._on_warm_died)
        self.runs.selection_changed.connect(self._on_runs_selection_changed)
        self.runs.resume_requested.connect(self.resume)
        self.runs.attach_requested.connect(self.attach)
        self.runs.download_requested.connect(self.download)
        self.runs.delete_confirmed.connect(self._on_runs_delete_confirmed)
        self.runs.refresh_requested.connect(self.refresh_runs)
        d.project_replaced.connect(self._on_document_project_replaced)
        d.edited.connect(self._on_document_edited)
        d.path_changed.connect(self.refresh_runs)
        self.window.theme.theme_changed.connect(self.plots.set_theme)

    # -- commands -------------------------------------------------------------------
    def train(self) -> bool:
        """Train the document's project as it is now (unsaved edits included), on this
        machine or on the SSH host its device names."""
        doc = self.document
        if doc.data_facts_pending():
            # Their fit is not checked yet: a run started now could fail on it after its
            # folder was made (a "failed" run that never trained). Start once they are in.
            if not self._train_waiting:
                self._train_waiting = True
                doc.data_facts_changed.connect(self._on_document_data_facts_changed)
            self._say("Reading the data files to check that the model fits them; training "
                      "starts when that is done…", error=False)
            return False
        if not self.private.allows_training():  # says why, offers the fix
            return False
        errors = [p for p in doc.problems() if p.severity == "error"]
        if errors:
            self._say(f"Cannot train: {errors[0]} (see Problems)", error=True)
            return False
        run_dir, project = new_run(doc)
        host = device_host(doc.project.training.device)
        if host is not None:
            factory = self.remote.session("start", run_dir, host=host, project=project,
                                          gpus=doc.project.training.gpus)
            return self._submit(factory, run_dir, f"Connecting to {host}…", record=host)
        from engine.train.source import Job

        job = Job(project, run_dir)
        return self._submit(lambda: self.warm.run(job), run_dir, "Starting the run…",
                            record="local")

    def resume(self, run_dir: str) -> bool:
        """Continue a stopped run from its checkpoint (a remote one on its host)."""
        if remote_host(run_dir) is not None:
            return self._submit(self.remote.session("resume", run_dir), run_dir,
                                "Resuming the run on its host…")
        try:
            project = resume_project(run_dir)
        except UserError as e:
            self._say(str(e), error=True)
            return False
        from engine.train.source import Job

        job = Job(project, run_dir, resume=True)
        return self._submit(lambda: self.warm.run(job), run_dir, "Resuming the run…")

    def attach(self, run_dir: str) -> bool:
        """Follow a remote run again (after a restart, or a link that stayed down)."""
        return self.remote.attach(run_dir)

    def download(self, run_dir: str) -> bool:
        """Fetch a remote run's files as they are now (also mid-run), in the background."""
        return self.remote.download(run_dir)

    def _submit(self, factory: SourceFactory, run_dir: str, status: str,
                record: str | None = None) -> bool:
        if self._closing:
            return False
        if not self.runner.submit(factory, run_dir):
            self._say("A run is already in progress", error=False)
            return False
        self.live_run = str(Path(run_dir).resolve())
        self._failed = False
        if record is not None:
            add_run_ref(self.document, run_dir, record)
        self.panel.show_message("")
        self.panel.status.setText(status)
        self._show_state()
        self.refresh_runs()
        return True

    def refresh_runs(self, *_args: object) -> list[RunSummary]:
        dirs = [str(p) for p in known_run_dirs(self.document)]
        if self.live_run and self.live_run not in dirs:
            dirs.append(self.live_run)
        summaries = [summarize(p) for p in dirs]
        self.runs.set_runs(summaries, self.live_run)
        return summaries

    def live_runs(self) -> list[str]:
        """The run folders being trained now (Save As leaves them where they are)."""
        return [self.live_run] if self.live_run else []

    def confirm_close(self) -> bool:
        """While a local run trains, ask whether to quit (it stops with a checkpoint); True
        to go on closing. A remote run goes on on its host: nothing to ask."""
        if not self.runner.busy or self._closing or (
                self.live_run and remote_host(self.live_run) is not None):
            return True
        if self.quit_answer in ("quit", "stay"):
            return self.quit_answer == "quit"
        return ask_quit_while_training(self.window)

    def start_warm_worker(self) -> None:
        """Start the warm worker now (it starts by itself a moment after start-up)."""
        if not self._closing:
            self.warm.start()

    def show_earlier_runs(self) -> None:
        """Bring the Runs list forward with every earlier run selected (overlaid)."""
        self.runs_dock.raise_()
        self.runs.select_runs(self.runs.run_dirs())

    def shutdown(self) -> None:
        """Let go of the run (a local one stops with a checkpoint, a remote one goes on on
        its host), end the warm worker and join the threads. Once."""
        if self._closing:
            return
        self._closing = True
        self.remote.shutdown()  # a download in flight ends cleanly (no torn file) first
        self.runner.shutdown()
        self.warm.shutdown()
        # The runner has no Qt parent: delete it here, in the GUI thread, rather than
        # whenever (and in whichever thread) Python's cyclic GC collects it.
        self.runner.deleteLater()
        self.plots.dispose()

    # -- state ----------------------------------------------------------------------
    def _say(self, text: str, error: bool = True) -> None:
        self.window.statusBar().showMessage(text, 8000)
        self.panel.show_message(text, error)

    def _show_state(self) -> None:
        r = self.runner
        self.panel.set_state(r.state if r.busy else self.warm.state)
        state, busy = r.state, r.busy
        self.train_action.setEnabled(not busy and not self._closing)
        self.pause_action.setEnabled(busy and state == "running")
        self.resume_action.setEnabled(busy and state == "paused")
        self.stop_action.setEnabled(busy and state in ("running", "paused", "reconnecting",
                                                       "queued"))

    # -- signal handlers ------------------------------------------------------------
    def _on_warm_timer_timeout(self) -> None:
        if self.window.isVisible():
            self.start_warm_worker()

    def _on_warm_state_changed(self, _state: str) -> None:
        self._show_state()

    def _on_warm_died(self, message: str) -> None:
        self._say(message, error=True)

    def _on_runner_state_changed(self, _state: str) -> None:
        self._show_state()

    def _on_runner_event_received(self, ev: Event) -> None:
        match ev:
            case Status(text=text, done=done, total=total) if text:
                self.panel.show_transfer(text, done, total)
            case Notice(message=message, error=error):
                self._say(message, error)
            case Status() | Detached():
                pass
            case _:
                self.plots.on_event(ev)
                self.panel.on_event(ev)
                for view in self.result_views:
                    view.on_event(ev)
                if isinstance(ev, RunStarted):
                    self.refresh_runs()
                elif isinstance(ev, WeightsLoaded):  # also in the panel, until the next run
                    self.window.statusBar().showMessage(ev.summary(), 10000)

    def _on_runner_run_ended(self, ev: Event) -> None:
        finished = self.live_run
        self.live_run = None
        self._show_state()
        self.refresh_runs()
        match ev:
            case Detached():
                if not self._closing:
                    self.panel.status.setText("Not following the remote run (it goes on on "
                                              "its host); select it in Runs and press Attach")
                return
            case Stopped():
                self.window.statusBar().showMessage("Training stopped", 6000)
            case Finished():
                self.window.statusBar().showMessage("Training finished", 6000)
            case Failed():
                self._failed = True
        if finished and self.runs.selected_runs() == [finished]:
            self._on_runs_selection_changed([finished])

    def _on_document_data_facts_changed(self) -> None:
        if self.document.data_facts_pending():
            return
        self._stop_waiting()
        if not self._closing and not self.runner.busy:
            self.train()

    def _stop_waiting(self) -> None:
        if self._train_waiting:
            self._train_waiting = False
            self.document.data_facts_changed.disconnect(self._on_document_data_facts_changed)

    def _on_document_project_replaced(self) -> None:
        self._stop_waiting()  # a Train pressed for the previous project
        """Nothing of the previous project stays on screen (but a run still training goes
        on, followed by the views); say which runs are not where recorded; follow again the
        newest remote run that may still be going, and point out any others."""
        summaries = self.refresh_runs()
        self._failed = False
        if self._closing:
            return
        live = bool(self.live_run or self.runner.busy)
        if not live:
            for view in self.result_views:
                view.reset()
            self.plots.reset()
            self.panel.reset()
        where = describe_places(locate_runs(self.document))
        if where:
            self.window.statusBar().showMessage(where, 15000)
        if live:
            return
        if where:
            self.panel.show_message(where + " (see the Runs list)", False)
        self.remote.follow_detached(summaries)

    def _on_document_edited(self) -> None:
        """An edit after a failed run: the failure may no longer apply, so the panel goes
        back to its ready text (the Runs list still shows the run as failed)."""
        if self._failed and not self.runner.busy:
            self._failed = False
            self.panel.reset()

    def _on_runs_selection_changed(self, run_dirs: list[str]) -> None:
        self.plots.set_overlays({Path(d).name: load_history(d) for d in run_dirs
                                 if d != self.live_run})
        if run_dirs:
            self._show_run(run_dirs[-1])

    def _show_run(self, run_dir: str) -> None:
        for view in self.result_views:
            view.show_run(run_dir)

    def _on_runs_delete_confirmed(self, run_dirs: list[str]) -> None:
        for d in run_dirs:
            if d == self.live_run:
                continue
            try:
                shutil.rmtree(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                self._say(f"{d}: cannot delete the run folder ({os_reason(e)})")
                continue
            remove_run_ref(self.document, d)
        self.refresh_runs()
