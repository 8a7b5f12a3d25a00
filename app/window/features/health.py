"""Training health in the window: the Health dock (app/panels/block_health.py) and the
health badges on the canvas (app/canvas/health_badge.py), both showing one run's block
statistics: the live run's, or the run chosen in Runs.

The training feature hands this feature what it hands every result view: each event of the
live run (``on_event``), the run chosen in Runs (``show_run``) and ``reset`` for another
project. A live run's ``BlockStats`` events grow the shown :class:`HealthHistory` as they
arrive; a chosen run's statistics are read from its events.jsonl
(``engine.train.stats.read_block_stats``) in the background. The training doctor
(``engine.train.doctor.diagnose_run``) reads the run folder in the background too: when a
run is shown, after each epoch and at its end, and at most every few seconds while
statistics stream in. Its fixes are applied to the document as one undo step each
(``health_fixes.py``).

Nothing of another project or run stays: a new project clears the badges and the panel, and
the live run's statistics are ignored after that until the next run starts (they would name
the previous project's blocks).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer

from app.canvas.health_badge import HealthBadges
from app.canvas.health_stats import HealthHistory
from app.panels.block_health import NO_RUN, NO_STATS, NO_STATS_HOW, BlockHealthPanel
from app.runs.jobs import Jobs
from app.window.features.health_fixes import apply_fix
from engine.errors import UserError
from engine.train.events import (
    ENDS,
    BlockStats,
    EpochEnded,
    Event,
    RunStarted,
    Warning,
)

if TYPE_CHECKING:
    from app.canvas.tabs import CanvasTabs
    from app.document import GraphDocument
    from app.window.main_window import MainWindow

#: while statistics stream in, the doctor looks again at most this often (seconds)
DOCTOR_EVERY_S = 5.0
NO_FINDINGS = "The training doctor found nothing wrong so far."


def load_history(run_dir: str) -> HealthHistory:
    """A run folder's block statistics (job thread: reads events.jsonl)."""
    from engine.train.stats import read_block_stats

    history = HealthHistory(run_dir)
    history.add_events(read_block_stats(run_dir))
    return history


def diagnose(run_dir: str) -> list[Any] | None:
    """The doctor's findings on a run folder (job thread); None without a doctor."""
    try:
        from engine.train.doctor import diagnose_run
    except ImportError:
        return None
    return list(diagnose_run(run_dir))


class HealthFeature(QObject):
    """Owns the Health dock, the canvas badges and the background reads; a result view of
    the training feature (``on_event``, ``show_run``, ``reset``)."""

    def __init__(self, window: MainWindow, document: GraphDocument,
                 tabs: CanvasTabs | None) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.tabs = tabs
        self.panel = BlockHealthPanel()
        self.dock = window.add_dock(self.panel, "Health", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    "health")
        self.badges = HealthBadges(tabs, self) if tabs is not None else None
        self.history: HealthHistory | None = None
        self.live_dir: str | None = None  # the run training now
        self.shown_dir: str | None = None
        self.stats_every: int | None = None  # of the live run, when its config says
        self._ignore_live = False  # another project opened while a run goes on
        self._loads = Jobs(self)
        self._doctor = Jobs(self)
        self._doctor_again = False
        self._doctor_pending = False  # asked while the tab was hidden during a live run
        self._doctor_at = 0.0
        self._closing = False
        self._connect()
        self._on_theme_changed()

    def _connect(self) -> None:
        p, d = self.panel, self.document
        p.finding_activated.connect(self._on_panel_finding_activated)
        p.fix_requested.connect(self.apply)
        self._loads.finished.connect(self._on_loads_finished)
        self._loads.failed.connect(self._on_loads_failed)
        self._doctor.finished.connect(self._on_doctor_finished)
        self._doctor.failed.connect(self._on_doctor_failed)
        self._doctor.busy_changed.connect(self._on_doctor_busy_changed)
        self.dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        d.project_replaced.connect(self._on_document_project_replaced)
        d.edited.connect(self._update_types)
        if self.tabs is not None:
            self.tabs.selection_changed.connect(self._on_tabs_selection_changed)
        self.window.theme.theme_changed.connect(lambda _t: self._on_theme_changed())

    # -- result view: the live run, the chosen run, another project ----------------------
    def on_event(self, ev: Event) -> None:
        match ev:
            case RunStarted():
                self._on_run_started(ev)
            case BlockStats() if self._following_live():
                assert self.history is not None
                self.history.add_stats(ev.step, ev.blocks)
                self._changed()
                if time.monotonic() - self._doctor_at > DOCTOR_EVERY_S:
                    self._ask_doctor()
            case Warning() if self._following_live() and getattr(ev, "block", ""):
                assert self.history is not None
                self.history.mark_nonfinite(ev.block)
                self._changed()
            case EpochEnded() if self._following_live():
                # short epochs come many a second: the doctor reads the whole run folder
                # on a thread that shares the GIL with the GUI, so at most every few seconds
                if time.monotonic() - self._doctor_at > DOCTOR_EVERY_S:
                    self._ask_doctor()
            case _ if isinstance(ev, ENDS) and self.live_dir is not None:
                following = self._following_live()
                self.live_dir = None
                if following:
                    self._present()
                    self._ask_doctor()

    @property
    def run_dir(self) -> str | None:
        """The run shown (as the other result views name it)."""
        return self.shown_dir

    def show_run(self, run_dir: str) -> None:
        """Show a run chosen in Runs: the live one follows its events again; another is
        read from its folder in the background."""
        run_dir = str(Path(run_dir).resolve())
        if run_dir == self.shown_dir and self.history is not None:
            return
        self._loads.cancel()
        if run_dir == self.live_dir and not self._ignore_live:
            # its events so far are in its folder; those still to come extend them
            self._show(HealthHistory(run_dir), run_dir)
        else:
            self._show(None, run_dir, loading=True)
        self._loads.submit(lambda _report: load_history(run_dir))

    def reset(self) -> None:
        """Show no run (another project was opened)."""
        self._loads.cancel()
        self._doctor.cancel()
        self.shown_dir = None
        self.history = None
        if self.badges is not None:
            self.badges.set_history(None)
            self.badges.refresh()  # now: no badge of the previous run may stay a frame
        self.panel.set_history(None)
        self.panel.set_findings([])

    def apply(self, fix: Any) -> bool:
        """Apply a doctor's fix to the project (one undo step)."""
        try:
            text = apply_fix(self.document, fix)
        except UserError as e:
            self.window.statusBar().showMessage(str(e), 10000)
            return False
        self.window.statusBar().showMessage(text, 8000)
        return True

    def select_block(self, key: str) -> bool:
        """Select the block ``key`` ("GRAPH/NODE") on its canvas tab, centred."""
        graph, _, node = key.rpartition("/")
        if self.tabs is None or graph not in self.tabs.views:
            return False
        view = self.tabs.show_graph(graph)
        if node not in view.graph_scene.nodes:
            return False
        view.graph_scene.select_nodes([node])
        view.centre_on_node(node)
        return True

    def shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        for jobs in (self._loads, self._doctor):
            jobs.cancel()
            jobs.wait()

    # -- internals ---------------------------------------------------------------------
    def _following_live(self) -> bool:
        return (self.live_dir is not None and self.shown_dir == self.live_dir
                and self.history is not None and not self._ignore_live)

    def _on_run_started(self, ev: RunStarted) -> None:
        self._ignore_live = False
        self._loads.cancel()
        self.live_dir = str(Path(ev.run_dir).resolve()) if ev.run_dir else ""
        every = ev.config.get("stats_every")  # the run's training settings
        self.stats_every = every if isinstance(every, int) else None
        self._show(HealthHistory(self.live_dir), self.live_dir)
        if ev.resumed_from:  # the statistics before the checkpoint are in the folder
            live = self.live_dir
            self._loads.submit(lambda _report: load_history(live))

    def _show(self, history: HealthHistory | None, run_dir: str | None,
              loading: bool = False) -> None:
        self._doctor.cancel()
        self._doctor_again = False
        self.history = history
        self.shown_dir = run_dir
        if self.badges is not None:
            self.badges.set_history(history)
        self.panel.set_findings([])
        self._present(loading)
        if run_dir and not loading:
            self._ask_doctor()

    def _present(self, loading: bool = False) -> None:
        """Hand the panel the history with the line that says what it is."""
        run = self.shown_dir
        name = Path(run).name if run else ""
        live = run is not None and run == self.live_dir
        if not run:
            message = NO_RUN
        elif loading:
            message = f"Reading the block statistics of {name}…"
        elif live and self.stats_every == 0:
            message = f"{name} measures no block statistics. {NO_STATS_HOW}"
        elif live:
            message = f"{name}: waiting for the first block statistics…"
        else:
            message = f"{name}: {NO_STATS}"
        self.panel.set_history(self.history, f"{name} (training)" if live else name, message)
        self._update_types()

    def _changed(self) -> None:
        if self.badges is not None:
            self.badges.changed()
        self.panel.changed()

    def _ask_doctor(self) -> None:
        run = self.shown_dir
        if not run or self._closing:
            return
        if self._following_live() and not self.dock.isVisible():
            # nobody reads the findings now: the doctor, on a thread that shares the GIL
            # with the GUI, waits until the tab shows (or the run ends)
            self._doctor_pending = True
            return
        self._doctor_pending = False
        if self._doctor.busy:
            self._doctor_again = True  # once more when the one in flight is done
            return
        self._doctor_again = False
        self._doctor_at = time.monotonic()
        self._doctor.submit(lambda _report: (run, diagnose(run)))

    def _update_types(self, *_args: object) -> None:
        h = self.history
        if not h:
            return
        types = {}
        for key in h.blocks:
            graph, _, node = key.rpartition("/")
            g = self.document.project.graphs.get(graph)
            n = g.node(node) if g is not None else None
            if n is not None:
                types[key] = n.type
        self.panel.set_types(types)

    # -- signal handlers -----------------------------------------------------------------
    def _on_loads_finished(self, history: HealthHistory) -> None:
        if history.run_dir != self.shown_dir:
            return
        if self.history is not None and self.history.run_dir == history.run_dir:
            # the live run: what the folder had, then what arrived meanwhile
            for key, series in self.history.blocks.items():
                for step, values in zip(series.steps, series.values, strict=True):
                    history.add_stats(step, {key: values})
            history.nonfinite |= self.history.nonfinite
            self.history = history
            if self.badges is not None:
                self.badges.set_history(history)
            self._present()
            return
        self._show(history, history.run_dir)

    def _on_loads_failed(self, message: str) -> None:
        self.panel.set_history(None, message=f"The block statistics cannot be read: {message}")

    def _on_doctor_finished(self, result: tuple[str, list[Any] | None]) -> None:
        run, findings = result
        if run == self.shown_dir and findings is not None:
            h = self.history
            for f in findings:
                if f.kind == "nonfinite" and f.block and h is not None:
                    h.mark_nonfinite(f.block)
            self.panel.set_findings(findings, NO_FINDINGS if self.history else "")
            self._changed()

    def _on_doctor_failed(self, message: str) -> None:
        self.panel.set_findings([], f"The training doctor could not read this run: {message}")

    def _on_doctor_busy_changed(self, busy: bool) -> None:
        if not busy and self._doctor_again:
            # after the finished report of the job that just ended has been delivered
            QTimer.singleShot(0, self, self._ask_doctor)

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible and self._doctor_pending:
            self._ask_doctor()

    def _on_panel_finding_activated(self, key: str) -> None:
        if key and self.select_block(key):
            self.window.statusBar().showMessage(
                f"{key.rsplit('/', 1)[-1]} is selected on the canvas (Design shows it)", 6000)

    def _on_tabs_selection_changed(self) -> None:
        if self.tabs is None or not self.tabs.count() or not self.history:
            return
        ids = self.tabs.current_scene().selected_node_ids()
        if len(ids) == 1:
            self.panel.select_block(f"{self.tabs.current_graph()}/{ids[0]}")

    def _on_document_project_replaced(self) -> None:
        self._ignore_live = self.live_dir is not None
        self.reset()

    def _on_theme_changed(self) -> None:
        self.panel.set_theme_name(self.window.theme.theme.name)
        self.panel.restyle()
