"""The experiment view: a sweep's controls, its trials and its plots, in the Sweep dock.

Run sweep / Resume sweep / Stop / Apply to project on top, with a status line, a sentence
for anything that went wrong and the best trial so far; below, tabs: the trials table, the
best-so-far plot, parallel coordinates, parameter importance, the Pareto front (two
objectives only) and the sweep's settings. The view only shows what it is given and reports
what the user asked for; the Sweep feature (app/window/features/sweep.py) runs the sweep.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.sweep_plots import BestSoFarPlot, ParallelPlot, ParetoPlot
from app.panels.sweep_settings import SweepSettingsForm
from app.panels.sweep_table import TrialsTable, fmt_value, short_key
from app.widgets.bar_chart import BarChart
from app.widgets.flow_layout import FlowLayout
from app.widgets.labels import plain_label
from engine.project import SweepSpec
from engine.sweep.results import TrialRecord, best
from engine.sweep.space import SearchRange
from engine.sweep.study import Objective

#: completed trials needed before parameter importance means anything
IMPORTANCE_MIN = 3
IMPORTANCE_WAIT = ("Parameter importance shows once {n} trials have completed "
                   "({done} so far).")


class SweepPanel(QWidget):
    """Signals: ``run_requested()``, ``resume_requested()``, ``stop_requested()``,
    ``apply_requested(number)``, ``trials_selected(numbers)``,
    ``field_edited(name, value)`` (a sweep setting)."""

    run_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    apply_requested = Signal(int)
    trials_selected = Signal(list)
    field_edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SweepPanel")
        self.records: list[TrialRecord] = []
        self.objectives: list[Objective] = []
        self.best_number: int | None = None
        self.run_button = QPushButton("Run sweep")
        self.run_button.setToolTip("Train the project's trials over its search ranges")
        self.resume_button = QPushButton("Resume sweep")
        self.resume_button.setToolTip("Finish the study: interrupted trials continue from "
                                      "their checkpoints, then the rest are run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the sweep (running trials keep a checkpoint; "
                                    "Resume sweep finishes them)")
        self.apply_button = QPushButton("Apply to project")
        self.apply_button.setToolTip("Write the selected trial's values into the project "
                                     "(one undo step)")
        buttons = FlowLayout()  # wraps in a narrow dock rather than widening the window
        for b in (self.run_button, self.resume_button, self.stop_button, self.apply_button):
            buttons.addWidget(b)
        self.status = plain_label("No sweep yet.", role="muted")
        self.message = plain_label("", role="error")
        self.message.hide()
        self.best_label = plain_label("")
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
        self.settings = SweepSettingsForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.settings)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for w, title in ((self.table, "Trials"), (self.best_plot, "Best so far"),
                         (self.parallel, "Parallel coordinates"), (importance, "Importance"),
                         (self.pareto, "Pareto front"), (scroll, "Settings")):
            self.tabs.addTab(w, title)
        self._pareto_tab = self.tabs.indexOf(self.pareto)
        self.tabs.setTabVisible(self._pareto_tab, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.message)
        layout.addWidget(self.best_label)
        layout.addWidget(self.tabs, 1)
        self.run_button.clicked.connect(self.run_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.apply_button.clicked.connect(self._on_apply_button_clicked)
        self.table.selected.connect(self._on_table_selected)
        self.settings.field_edited.connect(self.field_edited)
        self.set_state(running=False, resumable=False)

    # -- state ----------------------------------------------------------------------------
    def set_state(self, running: bool, resumable: bool, stopping: bool = False) -> None:
        """The buttons: Run and Resume while no sweep runs (Resume only when the study has
        unfinished trials), Stop while one does."""
        self.run_button.setEnabled(not running)
        self.resume_button.setEnabled(not running and resumable)
        self.stop_button.setEnabled(running and not stopping)
        self.settings.setEnabled(not running)
        self._update_apply()

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_message(self, text: str) -> None:
        """A sentence about what went wrong (empty: none)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_spec(self, spec: SweepSpec, default_first: str) -> None:
        self.settings.show_spec(spec, default_first)

    # -- results ----------------------------------------------------------------------------
    def set_results(self, records: list[TrialRecord], objectives: list[Objective],
                    space: dict[str, SearchRange]) -> None:
        """Show the sweep's trials (every one, by number) in the table and the plots."""
        self.records, self.objectives = list(records), list(objectives)
        if not objectives:
            return
        first = objectives[0]
        top = best(records, objectives, k=1)
        self.best_number = top[0].number if top else None
        self.table.set_columns([o.metric for o in objectives], list(space))
        self.table.set_records(records, self.best_number)
        self.best_plot.set_data(records, first)
        self.parallel.set_data(records, first, space)
        two = len(objectives) > 1
        self.tabs.setTabVisible(self._pareto_tab, two)
        if two:
            self.pareto.set_data(records, objectives)
        if top:
            r = top[0]
            params = ", ".join(f"{short_key(k)}={fmt_value(v)}"
                               for k, v in r.params.items())
            self.best_label.setText(f"Best: trial {r.number}, {first.metric} "
                                    f"{fmt_value(r.values[first.metric])} ({params})")
        else:
            self.best_label.setText("")
        done = sum(r.state == "complete" for r in records)
        if done < IMPORTANCE_MIN:
            self.set_importance(None, done)
        self._update_apply()

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
        self.importance.set_items([(k, round(v, 3)) for k, v in importances.items()])

    def clear_results(self) -> None:
        self.records = []
        self.best_number = None
        self.table.set_columns([], [])
        self.best_label.setText("")
        self.best_plot.points.setData([], [])
        self.best_plot.line.setData([], [])
        self.parallel.set_data([], Objective("value", True), {})
        self.set_importance(None, 0)
        self.tabs.setTabVisible(self._pareto_tab, False)
        self._update_apply()

    def restyle(self) -> None:
        for plot in (self.best_plot, self.parallel, self.pareto):
            plot.restyle()

    # -- handlers ----------------------------------------------------------------------------
    def _selected_with_params(self) -> list[int]:
        return [n for n in self.table.selected_numbers()
                if (r := self.table.record(n)) is not None and r.params]

    def _update_apply(self) -> None:
        self.apply_button.setEnabled(len(self._selected_with_params()) == 1)

    def _on_apply_button_clicked(self) -> None:
        chosen = self._selected_with_params()
        if len(chosen) == 1:
            self.apply_requested.emit(chosen[0])

    def _on_table_selected(self, numbers: list[int]) -> None:
        self._update_apply()
        self.trials_selected.emit(numbers)
