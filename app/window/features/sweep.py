"""Sweeps in the window: the Sweep dock (the experiment view, app/panels/sweep.py) and the
coordinator that runs the project's sweep.

Run sweep starts an :class:`engine.sweep.coordinator.Coordinator` built from the
document's project as it is now (``engine.sweep.config.coordinator_from_project``) on a
background thread; the coordinator's listener hands each trial event to the GUI thread
through a :class:`GuiHop`, where the view's table and plots follow. Stop asks the
coordinator to stop (running trials stop with a checkpoint and stay unfinished in the
study); Resume sweep runs it with ``resume=True``, which finishes exactly the study's N
trials. Whenever a project opens, its study (if it has one) is read in the background, so
its trials show and Resume is offered when some are unfinished. Closing the window stops
the sweep and waits for it (``shutdown``).

Clicking a trial overlays its curves in the Plots dock (a trial is an ordinary run folder);
Apply to project writes its values into the project in one undo step.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt

from app.document import EditError
from app.panels.sweep import IMPORTANCE_MIN, SweepPanel
from app.runs.history import load_history
from app.runs.jobs import GuiHop, Jobs
from app.window.features.sweep_study import (
    Snapshot,
    apply_trial,
    importances,
    read_study,
    sweep_place,
)
from engine.errors import UserError, user_message
from engine.sweep.coordinator import Coordinator, SweepEvent, TrialEnded, TrialEpoch, TrialStarted
from engine.sweep.results import TrialRecord
from engine.sweep.study import default_objective

if TYPE_CHECKING:
    from app.document import GraphDocument
    from app.panels.plots import PlotsPanel
    from app.window.main_window import MainWindow

#: seconds shutdown waits for the running trials to stop with their checkpoints
SHUTDOWN_WAIT_S = 60.0


class SweepFeature(QObject):
    """Owns the Sweep dock, the coordinator's thread and the study's jobs; it is given the
    document and the Plots panel (where a clicked trial's curves are overlaid)."""

    def __init__(self, window: MainWindow, document: GraphDocument, plots: PlotsPanel) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.plots = plots
        self.panel = SweepPanel()
        self.dock = window.add_dock(self.panel, "Sweep", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    "sweep")
        self.hop = GuiHop(self)
        self.study_jobs = Jobs(self)  # reading the study
        self.importance_jobs = Jobs(self)
        self.coordinator: Coordinator | None = None
        self.thread: threading.Thread | None = None
        self.snapshot: Snapshot | None = None  # the study as last read or run
        self.records: dict[int, TrialRecord] = {}
        self._stop_asked = False
        self._events = 0  # trial events of the sweep running now
        self._closing = False
        self._connect()
        self._on_document_sweep_changed()
        self.refresh_study()

    def _connect(self) -> None:
        p, d = self.panel, self.document
        p.run_requested.connect(self.run)
        p.resume_requested.connect(self.resume)
        p.stop_requested.connect(self.stop)
        p.apply_requested.connect(self.apply)
        p.trials_selected.connect(self._on_panel_trials_selected)
        p.field_edited.connect(self._on_panel_field_edited)
        d.sweep_changed.connect(self._on_document_sweep_changed)
        d.project_replaced.connect(self._on_document_project_replaced)
        d.path_changed.connect(self._on_document_project_replaced)
        self.study_jobs.finished.connect(self._on_study_jobs_finished)
        self.study_jobs.failed.connect(self._on_study_jobs_failed)
        self.importance_jobs.finished.connect(self._on_importance_jobs_finished)
        self.importance_jobs.failed.connect(self._on_importance_jobs_failed)
        self.window.theme.theme_changed.connect(lambda _t: self.panel.restyle())

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
        if self.running:
            self.panel.show_status("Stopping: the running trials are saving a checkpoint…")
            self.panel.set_state(running=True, resumable=False, stopping=True)

    def apply(self, number: int) -> bool:
        """Write trial ``number``'s values into the project (one undo step)."""
        record = self.records.get(number)
        if record is None or not record.params:
            return False
        try:
            apply_trial(self.document, number, record.params)
        except (EditError, UserError) as e:
            self.panel.show_message(f"Trial {number} cannot be applied: {e}")
            return False
        self.panel.show_message("")
        self.window.statusBar().showMessage(
            f"Trial {number}'s values applied to the project (Undo takes them back)", 8000)
        return True

    def refresh_study(self) -> None:
        """Read the project's study in the background (its trials, and whether Resume has
        something to finish)."""
        if self._closing or self.running:
            return
        project = self.document.project.model_copy(deep=True)
        path, runs = sweep_place(self.document)
        self.study_jobs.submit(lambda _report: read_study(project, path, runs))

    def shutdown(self) -> None:
        """Stop the sweep (its trials keep their checkpoints) and wait for it. Once."""
        if self._closing:
            return
        self._closing = True
        self.study_jobs.cancel()
        self.importance_jobs.cancel()
        if self.coordinator is not None:
            self.coordinator.stop()
        if self.thread is not None:
            self.thread.join(SHUTDOWN_WAIT_S)
        self.study_jobs.wait()
        self.importance_jobs.wait()

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
            self.panel.clear_results()
        self.panel.show_message("")
        self.panel.show_status("Resuming the sweep…" if resume else "Starting the sweep…")
        self.panel.set_state(running=True, resumable=False)
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
            hop.post(self._on_started, snap, project)
            records = c.run()
        except Exception as e:  # noqa: BLE001 - every failure is a sentence in the view
            hop.post(self._on_failed, user_message(e))
        else:
            hop.post(self._on_ended, records, self._stop_asked)

    # -- GUI thread ------------------------------------------------------------------------------
    def _on_started(self, snap: Snapshot, _project: Any) -> None:
        if self._closing:
            return
        self.snapshot = snap
        if snap.records:
            self.records = {r.number: r for r in snap.records}
        self.panel.show_status(f"Sweep {snap.name}: running {snap.trials} trials…")
        self._show()

    def _on_event(self, ev: SweepEvent) -> None:
        if self._closing:
            return
        self._events += 1
        match ev:
            case TrialStarted(number=n, params=params, run_dir=run_dir, resumed=resumed):
                old = self.records.get(n)
                self.records[n] = TrialRecord(n, "running", dict(params),
                                              old.values if old else {},
                                              old.epochs if old else 0, 0.0, run_dir,
                                              "resumed from its checkpoint" if resumed else "")
            case TrialEpoch(number=n, epoch=epoch, value=value):
                old = self.records.get(n)
                if old is not None and self.snapshot is not None:
                    values = dict(old.values)
                    if value is not None:
                        values[self.snapshot.objectives[0].metric] = value
                    self.records[n] = TrialRecord(n, old.state, old.params, values, epoch,
                                                  old.seconds, old.run_dir, old.message)
            case TrialEnded(record=record):
                self.records[record.number] = record
                self._ask_importance()
        self._show()

    def _on_ended(self, records: list[TrialRecord], stopped: bool) -> None:
        self.thread = None
        self.coordinator = None
        if self._closing:
            return
        self.records = {r.number: r for r in records}
        snap = self.snapshot
        if snap is not None:
            snap.records = list(records)
        unfinished = snap is not None and snap.unfinished
        done = sum(r.state != "running" for r in records)
        total = snap.trials if snap else len(records)
        if stopped:
            self.panel.show_status(f"Stopped after {done} of {total} trials; Resume sweep "
                                   "finishes the study.")
        elif unfinished:
            self.panel.show_status(f"{done} of {total} trials ended; some are unfinished "
                                   "(Resume sweep finishes them).")
        elif not self._events:
            self.panel.show_status(f"The study {snap.name if snap else ''} already holds its "
                                   f"{total} trials: set more trials or another study name "
                                   "to run more.")
        else:
            self.panel.show_status(f"Sweep done: {total} trials.")
        self.panel.set_state(running=False, resumable=unfinished)
        self._show()
        self._ask_importance()

    def _on_failed(self, message: str) -> None:
        self.thread = None
        self.coordinator = None
        if self._closing:
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
        self.panel.set_results(records, snap.objectives, snap.space)

    def _ask_importance(self) -> None:
        snap = self.snapshot
        done = sum(r.state == "complete" for r in self.records.values())
        if snap is None or done < IMPORTANCE_MIN or self._closing:
            return
        n = len(snap.objectives)
        self.importance_jobs.submit(lambda _r: importances(snap.storage, snap.name, n))

    def _on_importance_jobs_finished(self, found: object) -> None:
        if isinstance(found, dict) and found:
            self.panel.set_importance(found)

    def _on_importance_jobs_failed(self, message: str) -> None:
        self.panel.set_importance(None, note=f"Parameter importance cannot be computed yet: "
                                  f"{message}")

    def _on_study_jobs_finished(self, snap: object) -> None:
        if self._closing or self.running:
            return
        self.snapshot = snap if isinstance(snap, Snapshot) else None
        self.records = {r.number: r for r in self.snapshot.records} if self.snapshot else {}
        if self.snapshot is None:
            self.panel.clear_results()
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

    def _on_panel_trials_selected(self, numbers: list[int]) -> None:
        overlays = {}
        for n in numbers:
            r = self.records.get(n)
            if r is not None and r.run_dir and r.state != "running":
                overlays[f"trial {n}"] = load_history(r.run_dir)
        if numbers:
            self.plots.set_overlays(overlays)

    def _on_panel_field_edited(self, name: str, value: object) -> None:
        try:
            self.document.set_sweep_field(name, value)
        except EditError as e:
            self.panel.show_message(str(e))
            self._on_document_sweep_changed()
        else:
            self.panel.show_message("")

    def _on_document_sweep_changed(self, *_: object) -> None:
        project = self.document.project
        self.panel.show_spec(project.sweep, default_objective(project.task.kind).text())

    def _on_document_project_replaced(self, *_: object) -> None:
        self._on_document_sweep_changed()
        if not self.running:
            self.snapshot = None
            self.refresh_study()
