"""Sweeps in the window: the Sweep dock (settings, Run / Resume / Stop: app/panels/sweep.py),
the Experiment dock (trials table and plots: app/panels/sweep_experiment.py) and the
coordinator that runs the project's sweep.

Run sweep starts an :class:`engine.sweep.coordinator.Coordinator` built from the
document's project as it is now (``engine.sweep.config.coordinator_from_project``) on a
background thread; the coordinator's listener hands each trial event to the GUI thread
through a :class:`GuiHop`, where the view's table and plots follow. Stop asks the
coordinator to stop (running trials stop with a checkpoint and stay unfinished in the
study); Resume sweep runs it with ``resume=True``, which finishes exactly the study's N
trials. Whenever a project opens, its study (if it has one) is read in the background, so
its trials show and Resume is offered when some are unfinished.

Closing the window or opening another project while a sweep runs asks first
(app/window/features/sweep_leave.py); then the sweep stops, its running trials with a
checkpoint. Closing waits for it (``shutdown``); another project is shown at once and its
study read once the old sweep has ended. Saving under another name leaves a running sweep
running.

Clicking a trial overlays its curves in the Plots dock (a trial is an ordinary run folder);
Apply to project writes its values into the project in one undo step.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget

from app.document import EditError
from app.panels.sweep import SweepPanel
from app.panels.sweep_experiment import IMPORTANCE_MIN, ExperimentView
from app.runs.history import load_history
from app.runs.jobs import GuiHop, Jobs
from app.window.features.sweep_leave import ask_stop_sweep
from app.window.features.sweep_study import (
    Snapshot,
    apply_trial,
    ended_status,
    fold_event,
    importances,
    read_study,
    sweep_place,
)
from engine.errors import UserError, user_message
from engine.sweep.coordinator import Coordinator, SweepEvent
from engine.sweep.results import TrialRecord
from engine.sweep.study import default_objective

if TYPE_CHECKING:
    from app.document import GraphDocument
    from app.panels.plots import PlotsPanel
    from app.window.main_window import MainWindow

#: seconds shutdown waits for the running trials to stop with their checkpoints
SHUTDOWN_WAIT_S = 60.0


class SweepFeature(QObject):
    """Owns the Sweep and Experiment docks, the coordinator's thread and the study's jobs;
    it is given the document and the Plots panel (where a clicked trial's curves are
    overlaid). ``leave_answer`` ("stop" or "cancel") answers the question asked before the
    project closes without asking (tests)."""

    def __init__(self, window: MainWindow, document: GraphDocument, plots: PlotsPanel) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.plots = plots
        self.panel = SweepPanel()
        self.dock = window.add_dock(self.panel, "Sweep", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    "sweep")
        self.view = ExperimentView()
        self.view_dock = window.add_dock(self.view, "Experiment",
                                         Qt.DockWidgetArea.BottomDockWidgetArea, "experiment")
        self.hop = GuiHop(self)
        self.study_jobs = Jobs(self)  # reading the study
        self.importance_jobs = Jobs(self)
        self.hosts_jobs = Jobs(self)  # the configured SSH hosts
        self.leave_answer = ""
        self.coordinator: Coordinator | None = None
        self.thread: threading.Thread | None = None
        self.snapshot: Snapshot | None = None  # the study as last read or run
        self.records: dict[int, TrialRecord] = {}
        #: the lane each trial ran on, from TrialStarted (records name it too once the
        #: engine's TrialRecord has ``lane``)
        self.lanes: dict[int, str] = {}
        self._stop_asked = False
        self._events = 0  # trial events of the sweep running now
        self._closing = False
        self._detached = False  # the running sweep is the previous project's: it is stopping
        self._connect()
        window.leave_guards.append(self.confirm_leave)
        self._on_document_sweep_changed()
        self.refresh_study()
        self.refresh_hosts()

    def _connect(self) -> None:
        p, v, d = self.panel, self.view, self.document
        p.run_requested.connect(self.run)
        p.resume_requested.connect(self.resume)
        p.stop_requested.connect(self.stop)
        p.show_requested.connect(self.show_view)
        p.field_edited.connect(self._on_panel_field_edited)
        v.apply_requested.connect(self.apply)
        v.trials_selected.connect(self._on_view_trials_selected)
        v.curves_requested.connect(self._on_view_curves_requested)
        d.sweep_changed.connect(self._on_document_sweep_changed)
        d.project_replaced.connect(self._on_document_project_replaced)
        d.path_changed.connect(self._on_document_path_changed)
        self.dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        self.hosts_jobs.finished.connect(self._on_hosts_jobs_finished)
        self.study_jobs.finished.connect(self._on_study_jobs_finished)
        self.study_jobs.failed.connect(self._on_study_jobs_failed)
        self.importance_jobs.finished.connect(self._on_importance_jobs_finished)
        self.importance_jobs.failed.connect(self._on_importance_jobs_failed)
        self.window.theme.theme_changed.connect(lambda _t: self.view.restyle())

    # -- commands -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def run(self) -> bool:
        """Start the project's sweep as it is now (unsaved edits included)."""
        return self._start(resume=False)

    def resume(self) -> bool:
        """Finish the study: trials left unfinished continue from their checkpoints."""
        return self._start(resume=True)

    def stop(self) -> None:
        """No new trials; the running ones stop with a checkpoint (Resume finishes them)."""
        self._stop_asked = True
        if self.coordinator is not None:
            self.coordinator.stop()
        if self.running and not self._detached:
            self.panel.show_status("Stopping: the running trials are saving a checkpoint…")
            self.panel.set_state(running=True, resumable=False, stopping=True)

    def confirm_leave(self) -> bool:
        """The project is about to close (the window, or another project opened): while a
        sweep runs, ask whether to stop it; True to go on. A yes stops it at once, so the
        question is not asked twice (the window asks, then the file controller)."""
        if not self.running or self._stop_asked or self._closing:
            return True
        answer = self.leave_answer
        if answer not in ("stop", "cancel"):
            answer = "stop" if ask_stop_sweep(self.window, self._describe()) else "cancel"
        if answer == "cancel":
            return False
        self.stop()
        return True

    def apply(self, number: int) -> bool:
        """Write trial ``number``'s values into the project (one undo step)."""
        record = self.records.get(number)
        if record is None or not record.params:
            return False
        try:
            apply_trial(self.document, number, record.params)
        except (EditError, UserError) as e:
            self.view.show_message(f"Trial {number} cannot be applied: {e}")
            return False
        self.view.show_message("")
        self.window.statusBar().showMessage(
            f"Trial {number}'s values applied to the project (Undo takes them back)", 8000)
        return True

    def show_view(self) -> None:
        """Bring the experiment view (trials and plots) forward."""
        self.view_dock.show()
        self.view_dock.raise_()

    def refresh_study(self) -> None:
        """Read the project's study in the background (its trials, and whether Resume has
        something to finish)."""
        if self._closing or self.running:
            return
        project = self.document.project.model_copy(deep=True)
        path, runs = sweep_place(self.document)
        self.study_jobs.submit(lambda _report: read_study(project, path, runs))

    def refresh_hosts(self) -> None:
        """Look up the configured SSH hosts (a small file, read in the background)."""
        if not self._closing:
            from app.panels.hyperparams_jobs import remote_hosts

            self.hosts_jobs.submit(lambda _report: remote_hosts())

    def shutdown(self) -> None:
        """Stop the sweep (its trials keep their checkpoints) and wait for it. Once."""
        if self._closing:
            return
        self._closing = True
        for jobs in (self.study_jobs, self.importance_jobs, self.hosts_jobs):
            jobs.cancel()
        if self.coordinator is not None:
            self.coordinator.stop()
        if self.thread is not None:
            self.thread.join(SHUTDOWN_WAIT_S)
        for jobs in (self.study_jobs, self.importance_jobs, self.hosts_jobs):
            jobs.wait()

    # -- the coordinator's thread ------------------------------------------------------------
    def _start(self, resume: bool) -> bool:
        if self._closing or self.running:
            return False
        project = self.document.project.model_copy(deep=True)
        path, runs = sweep_place(self.document)
        self.study_jobs.cancel()
        self._stop_asked = False
        self._events = 0
        if not resume:
            self.records = {}
            self.lanes = {}
            self.view.clear_results()
        self.panel.show_message("")
        self.view.show_message("")
        self.panel.show_status("Resuming the sweep…" if resume else "Starting the sweep…")
        self.panel.set_state(running=True, resumable=False)
        self.show_view()
        self.thread = threading.Thread(target=self._work, args=(project, path, runs, resume),
                                       daemon=True, name="sweep-coordinator")
        self.thread.start()
        return True

    def _work(self, project: Any, path: Any, runs: Any, resume: bool) -> None:
        """The coordinator thread: build, run, report (never touches a widget)."""
        from engine.sweep.config import coordinator_from_project

        hop = self.hop
        try:
            c = coordinator_from_project(project, path, lambda ev: hop.post(self._on_event, ev),
                                         runs_folder=runs, resume=resume)
            self.coordinator = c
            if self._stop_asked or self._closing:
                c.stop()
            from engine.sweep.results import study_records

            study = c.open()
            snap = Snapshot(c.config.name, c.config.storage, c.config.objectives,
                            c.config.trials, c.config.space,
                            study_records(study, c.config.objectives, c.config.trials))
            hop.post(self._on_started, snap)
            records = c.run()
        except Exception as e:  # noqa: BLE001 - every failure is a sentence in the view
            hop.post(self._on_failed, user_message(e))
        else:
            hop.post(self._on_ended, records, self._stop_asked)

    # -- GUI thread ------------------------------------------------------------------------------
    def _describe(self) -> str:
        snap = self.snapshot
        return f"study {snap.name}, {snap.trials} trials" if snap else "starting"

    def _on_started(self, snap: Snapshot) -> None:
        if self._closing or self._detached:
            return
        self.snapshot = snap
        if snap.records:
            self.records = {r.number: r for r in snap.records}
        self.panel.show_status(f"Sweep {snap.name}: running {snap.trials} trials…")
        self._show()

    def _on_event(self, ev: SweepEvent) -> None:
        if self._closing or self._detached:
            return
        self._events += 1
        if self.snapshot is None:
            return
        if fold_event(self.records, self.lanes, ev, self.snapshot.objectives[0].metric):
            self._ask_importance()
        self._show()
        ended = sum(r.state not in ("running", "waiting") for r in self.records.values())
        if self.snapshot is not None and not self._stop_asked:
            self.panel.show_status(f"Sweep {self.snapshot.name}: {ended} of "
                                   f"{self.snapshot.trials} trials ended, running…")

    def _on_ended(self, records: list[TrialRecord], stopped: bool) -> None:
        self.thread = None
        self.coordinator = None
        if self._closing:
            return
        if self._detached:  # the previous project's sweep has stopped: show this one's
            self._detached = False
            self.panel.set_state(running=False, resumable=False)
            self.refresh_study()
            return
        self.records = {r.number: r for r in records}
        snap = self.snapshot
        if snap is not None:
            snap.records = list(records)
        unfinished = snap is not None and snap.unfinished
        self.panel.show_status(ended_status(records, snap, stopped, self._events))
        self.panel.set_state(running=False, resumable=unfinished)
        self._show()
        self._ask_importance()

    def _on_failed(self, message: str) -> None:
        self.thread = None
        self.coordinator = None
        if self._closing:
            return
        if self._detached:
            self._detached = False
            self.panel.set_state(running=False, resumable=False)
            self.refresh_study()
            return
        self.panel.show_message(f"The sweep did not run: {message}")
        self.panel.show_status("")
        self.panel.set_state(running=False,
                             resumable=self.snapshot is not None and self.snapshot.unfinished)

    def _show(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        records = [self.records[n] for n in sorted(self.records)]
        self.view.set_results(records, snap.objectives, snap.space, self.lanes)

    def _ask_importance(self) -> None:
        snap = self.snapshot
        done = sum(r.state == "complete" for r in self.records.values())
        if snap is None or done < IMPORTANCE_MIN or self._closing:
            return
        n = len(snap.objectives)
        self.importance_jobs.submit(lambda _r: importances(snap.storage, snap.name, n))

    def _on_importance_jobs_finished(self, found: object) -> None:
        if isinstance(found, dict) and found:
            self.view.set_importance(found)

    def _on_importance_jobs_failed(self, message: str) -> None:
        self.view.set_importance(None, note=f"Parameter importance cannot be computed yet: "
                                 f"{message}")

    def _on_study_jobs_finished(self, snap: object) -> None:
        if self._closing or self.running:
            return
        self.snapshot = snap if isinstance(snap, Snapshot) else None
        self.records = {r.number: r for r in self.snapshot.records} if self.snapshot else {}
        if self.snapshot is None:
            self.view.clear_results()
            self.panel.show_status("No sweep yet.")
            self.panel.set_state(running=False, resumable=False)
            return
        s = self.snapshot
        ended = sum(r.state != "running" for r in s.records)
        more = " Resume sweep finishes it." if s.unfinished else ""
        self.panel.show_status(f"Sweep {s.name}: {ended} of {s.trials} trials ended.{more}")
        self.panel.set_state(running=False, resumable=s.unfinished)
        self._show()
        self._ask_importance()

    def _on_study_jobs_failed(self, message: str) -> None:
        self.panel.show_message(f"The sweep's study cannot be read: {message}")

    def _on_hosts_jobs_finished(self, names: object) -> None:
        if isinstance(names, list):
            self.panel.set_hosts([str(n) for n in names])

    def _on_view_trials_selected(self, numbers: list[int]) -> None:
        overlays = {}
        for n in numbers:
            r = self.records.get(n)
            if r is not None and r.run_dir and r.state != "running":
                overlays[f"trial {n}"] = load_history(r.run_dir)
        if numbers:
            self.plots.set_overlays(overlays)

    def _on_view_curves_requested(self) -> None:
        dock = self.window.findChild(QDockWidget, "dock_plots")
        if dock is not None:
            dock.show()
            dock.raise_()

    def _on_panel_field_edited(self, name: str, value: object) -> None:
        try:
            self.document.set_sweep_field(name, value)
        except EditError as e:
            self.panel.show_message(str(e))
            self._on_document_sweep_changed()
        else:
            self.panel.show_message("")

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible:  # hosts added with Tools > Remote Hosts since
            self.refresh_hosts()

    def _on_document_sweep_changed(self, *_: object) -> None:
        project = self.document.project
        self.panel.show_spec(project.sweep, default_objective(project.task.kind).text())

    def _on_document_project_replaced(self, *_: object) -> None:
        """Another project: a sweep still running is the previous one's (the user agreed
        to stop it, or it was replaced without asking): it stops, and this project's
        study is read once it has."""
        self._on_document_sweep_changed()
        self.snapshot = None
        self.records = {}
        self.lanes = {}
        self.view.clear_results()
        self.panel.show_message("")
        self.view.show_message("")
        if self.running:
            self._detached = True
            self.stop()
            self.panel.show_status("The previous project's sweep is stopping (its running "
                                   "trials save a checkpoint)…")
            self.panel.set_state(running=True, resumable=False, stopping=True)
        else:
            self.panel.show_status("No sweep yet.")
            self.refresh_study()

    def _on_document_path_changed(self, *_: object) -> None:
        """Saved under another name: a running sweep goes on (it belongs to the file it
        was started from); otherwise the study of the new name is read."""
        self._on_document_sweep_changed()
        if not self.running:
            self.snapshot = None
            self.refresh_study()
