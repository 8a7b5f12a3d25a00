"""The experiment view: a sweep's trials and its plots, in the Experiment dock.

The Sweep dock (app/panels/sweep.py) sits in the Train perspective's narrow right column
with the sweep's settings and its Run / Resume / Stop; this view needs the room of the
middle column (a tab beside Plots), where a table of ten columns and the plots are
readable at 1280x800. On top, the best trial so far, "Apply to project" and "Curves" (brings
Plots forward, where the selected trials' curves are overlaid); below, the trials table and,
under a splitter, tabs: best-so-far, parallel coordinates, parameter importance and, with
two objectives, the Pareto front. The view only shows what it is given and reports what the
user asked for; the Sweep feature (app/window/features/sweep.py) runs the sweep.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.sweep_plots import BestSoFarPlot, ParallelPlot, ParetoPlot
from app.panels.sweep_table import TrialsTable, fmt_value, lane_of, short_key
from app.widgets.bar_chart import BarChart
from app.widgets.flow_layout import FlowLayout
from app.widgets.labels import plain_label
from engine.sweep.results import TrialRecord, best
from engine.sweep.space import SearchRange
from engine.sweep.study import Objective

#: completed trials needed before parameter importance means anything
IMPORTANCE_MIN = 3
IMPORTANCE_WAIT = ("Parameter importance shows once {n} trials have completed "
                   "({done} so far).")
NO_TRIALS = "No trials yet: set the sweep up in the Sweep tab (right) and press Run sweep."


class ExperimentView(QWidget):
    """Signals: ``apply_requested(number)``, ``trials_selected(numbers)``,
    ``curves_requested()`` (show the Plots dock)."""

    apply_requested = Signal(int)
    trials_selected = Signal(list)
    curves_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExperimentView")
        self.records: list[TrialRecord] = []
        self.objectives: list[Objective] = []
        self.best_number: int | None = None
        self.best_label = plain_label(NO_TRIALS, role="muted")
        self.message = plain_label("", role="error")
        self.message.hide()
        self.apply_button = QPushButton("Apply to project")
        self.apply_button.setToolTip("Write the selected trial's values into the project "
                                     "(one undo step)")
        self.curves_button = QPushButton("Curves")
        self.curves_button.setToolTip("Show Plots, where the selected trials' curves are "
                                      "overlaid (double-clicking a trial does too)")
        self.best_label.setMinimumWidth(40)  # wraps: the dock may be as narrow as Plots
        buttons = FlowLayout()  # the buttons stack rather than widen a narrow dock
        buttons.addWidget(self.curves_button)
        buttons.addWidget(self.apply_button)
        top = QHBoxLayout()
        top.addWidget(self.best_label, 1)
        top.addLayout(buttons)
        self.table = TrialsTable()
        self.best_plot = BestSoFarPlot()
        self.parallel = ParallelPlot()
        self.pareto = ParetoPlot()
        self.importance = BarChart()
        self.importance_note = plain_label(IMPORTANCE_WAIT.format(n=IMPORTANCE_MIN, done=0),
                                           role="muted")
        importance = QWidget()
        box = QVBoxLayout(importance)
        box.addWidget(self.importance_note)
        box.addWidget(self.importance)
        box.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for w, title in ((self.best_plot, "Best so far"),
                         (self.parallel, "Parallel coordinates"), (importance, "Importance"),
                         (self.pareto, "Pareto front")):
            self.tabs.addTab(w, title)
        self._pareto_tab = self.tabs.indexOf(self.pareto)
        self.tabs.setTabVisible(self._pareto_tab, False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([500, 500])  # half each (scaled to the dock's height)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self.apply_button.clicked.connect(self._on_apply_button_clicked)
        self.curves_button.clicked.connect(self.curves_requested)
        self.table.selected.connect(self._on_table_selected)
        self.table.doubleClicked.connect(lambda _index: self.curves_requested.emit())
        self._update_buttons()

    # -- results ----------------------------------------------------------------------------
    def set_results(self, records: list[TrialRecord], objectives: list[Objective],
                    space: dict[str, SearchRange], lanes: dict[int, str] | None = None) -> None:
        """Show the sweep's trials (every one, by number) in the table and the plots;
        ``lanes``: trial number -> the lane it ran on, where the records do not say."""
        self.records, self.objectives = list(records), list(objectives)
        if not objectives:
            return
        first = objectives[0]
        two = len(objectives) > 1
        top = best(records, objectives, k=1)
        self.best_number = top[0].number if top else None
        lanes = {r.number: lane_of(r) or (lanes or {}).get(r.number, "") for r in records}
        several = len(set(lanes.values()) - {""}) > 1  # one lane says nothing
        self.table.set_columns([o.metric for o in objectives], list(space), several)
        self.table.set_records(records, self.best_number, lanes)
        self.best_plot.set_data(records, first)
        self.parallel.set_data(records, first, space)
        self.tabs.setTabVisible(self._pareto_tab, two)
        if two:
            self.pareto.set_data(records, objectives)
        self.best_label.setProperty("role", "" if top else "muted")
        self.best_label.style().polish(self.best_label)
        self.best_label.setText(self._best_text(top[0] if top else None))
        done = sum(r.state == "complete" for r in records)
        if done < IMPORTANCE_MIN:
            self.set_importance(None, done)
        self._update_buttons()

    def _best_text(self, r: TrialRecord | None) -> str:
        if r is None:
            return "No trial has completed yet." if self.records else NO_TRIALS
        first = self.objectives[0]
        params = ", ".join(f"{short_key(k)}={fmt_value(v)}" for k, v in r.params.items())
        text = (f"Best: trial {r.number}, {first.metric} "
                f"{fmt_value(r.values[first.metric])} ({params})")
        if len(self.objectives) > 1:
            text += f"; {len(self.pareto.front_numbers)} trials on the Pareto front"
        return text

    def show_message(self, text: str) -> None:
        """A sentence about what went wrong (empty: none)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def completed(self) -> int:
        return sum(r.state == "complete" for r in self.records)

    def set_importance(self, importances: dict[str, float] | None, done: int = 0,
                       note: str = "") -> None:
        """Bars of each range's importance; None: a sentence (``note``, or how many
        completed trials are still needed)."""
        if importances is None:
            self.importance.set_items([])
            self.importance_note.setText(note or IMPORTANCE_WAIT.format(n=IMPORTANCE_MIN,
                                                                        done=done))
            return
        self.importance_note.setText("How much each range explains the objective's changes "
                                     "across the completed trials (fANOVA, Optuna).")
        self.importance.set_items([(short_key(k), round(v, 3)) for k, v in importances.items()])

    def clear_results(self) -> None:
        self.records = []
        self.best_number = None
        self.table.set_columns([], [])
        self.best_label.setProperty("role", "muted")
        self.best_label.style().polish(self.best_label)
        self.best_label.setText(NO_TRIALS)
        self.best_plot.points.setData([], [])
        self.best_plot.line.setData([], [])
        self.parallel.set_data([], Objective("value", True), {})
        self.pareto.set_data([], [Objective("value", True), Objective("other", False)])
        self.set_importance(None, 0)
        self.tabs.setTabVisible(self._pareto_tab, False)
        self._update_buttons()

    def restyle(self) -> None:
        for plot in (self.best_plot, self.parallel, self.pareto):
            plot.restyle()

    # -- handlers ----------------------------------------------------------------------------
    def _selected_with_params(self) -> list[int]:
        return [n for n in self.table.selected_numbers()
                if (r := self.table.record(n)) is not None and r.params]

    def _update_buttons(self) -> None:
        self.apply_button.setEnabled(len(self._selected_with_params()) == 1)
        self.curves_button.setEnabled(bool(self.table.selected_numbers()))

    def _on_apply_button_clicked(self) -> None:
        chosen = self._selected_with_params()
        if len(chosen) == 1:
            self.apply_requested.emit(chosen[0])

    def _on_table_selected(self, numbers: list[int]) -> None:
        self._update_buttons()
        self.trials_selected.emit(numbers)
