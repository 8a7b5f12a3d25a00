"""FairnessView: the Fairness tab of the Evaluation panel: how a classifier does across
groups of its samples (the bias report of issue 24, computed with Fairlearn by
:mod:`engine.fairness`).

On top, the project's groupings (``GroupingsEditor``: CSV column, folder level or
metadata file; intersections; the smallest group judged), each change one undo step; then
Compute and the metric the charts show. Below, one section per grouping: the parity
differences and ratios, the table of its groups (count, accuracy, precision, recall, F1,
selection rate; groups too small to judge greyed and flagged, not ranked) and a bar chart
of the chosen metric with the overall value marked.

A run whose report was computed before shows it at once (``RUN/fairness.json``: Compute
writes it, as ``layerforge evaluate`` does, and the model card reads it); Compute runs
``engine.fairness.evaluate_run`` on a background job (it imports torch) with the groupings
as edited now. Results name the run and split they are for: one that arrives for another
run, split or project is dropped, and ``show_run``/``reset`` clear what was shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.document import GraphDocument
from app.panels.fairness_editor import GroupingsEditor
from app.panels.fairness_results import METRICS, FairnessResult, compute, read_saved
from app.panels.fairness_views import GroupingSection
from app.runs.jobs import Jobs
from app.widgets.labels import plain_label
from engine.project import FairnessSpec, load_project

NO_RUN = "No run yet: train a classifier, or pick one in the Runs list."
NOT_CLASSIFIER = "The bias report is for classifiers; this run is a {kind} run."
NO_GROUPINGS = ("Add a grouping (a CSV column, a level of the image folders or a metadata "
                "file), then Compute.")
READY = "Compute the bias report of the {split} split with the groupings above."
SAVED = ("The {split} split as last computed (the run's fairness.json). Compute to use "
         "the groupings as they are now.")
CHANGED = "The groupings changed since this report: Compute again to see them."


class FairnessView(QScrollArea):
    """The Fairness tab. ``set_document`` makes the groupings editable (the project's);
    the evaluation panel hands it the run, the split and ``reset``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FairnessView")
        self.run_dir: str | None = None
        self.kind = ""
        self.split = "val"
        self.result: FairnessResult | None = None
        self.sections: list[GroupingSection] = []
        self._computed_for: str | None = None  # the groupings (JSON) of the result shown
        self._asked: tuple[str, str, str] | None = None  # run, split, groupings computing
        self.jobs = Jobs(self)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 6, 0, 6)
        self.editor = GroupingsEditor()
        lay.addWidget(self.editor)
        row = QHBoxLayout()
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Predict the split with the run's weights and compare "
                                       "the groups (Fairlearn)")
        self.metric_combo = QComboBox()
        for key, title in METRICS:
            self.metric_combo.addItem(title, key)
        row.addWidget(self.compute_button)
        row.addSpacing(12)
        row.addWidget(QLabel("Chart"))
        row.addWidget(self.metric_combo)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = plain_label(NO_RUN, role="muted")
        self.error = plain_label(role="error")
        self.error.hide()
        self.about = plain_label(role="muted")  # the positive class, the report's notes
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        lay.addWidget(self.about)
        self.results = QVBoxLayout()
        self.results.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.results)
        lay.addStretch(1)
        self.setWidget(body)
        self.compute_button.clicked.connect(self.compute)
        self.metric_combo.activated.connect(self._on_metric_combo_activated)
        self.editor.changed.connect(self._on_editor_changed)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.jobs.busy_changed.connect(self._on_jobs_busy_changed)
        self._enable()

    # -- what is shown -------------------------------------------------------------------
    def set_document(self, document: GraphDocument | None) -> None:
        """Edit ``document``'s groupings and compute with them."""
        self.editor.set_document(document)

    @property
    def spec(self) -> FairnessSpec:
        return self.editor.spec

    @property
    def metric(self) -> str:
        return str(self.metric_combo.currentData())

    def show_run(self, run_dir: str, kind: str, split: str) -> None:
        """Show ``run_dir`` (a ``kind`` run) for ``split``: its saved report when its
        evaluation left one, else nothing until Compute."""
        if (str(run_dir), split) != (self.run_dir, self.split):
            self._clear()
        self.run_dir, self.kind, self.split = str(run_dir), kind, split
        if self.editor.document is None:  # no project to edit: the run's own groupings
            self.editor.show_spec(_run_fairness(self.run_dir))
        if self.result is None and kind == "classification":
            saved = read_saved(self.run_dir, split)
            if saved is not None:
                self._show(saved)
        self._say()
        self._enable()

    def reset(self) -> None:
        """No run (another project): nothing of the previous one stays, and a report
        still computing for it is dropped."""
        self.jobs.cancel()
        self.run_dir, self.kind, self._asked = None, "", None
        self._clear()
        self.editor.show_spec(FairnessSpec())
        self._say()
        self._enable()

    def compute(self) -> None:
        """Compute the report of the run's split with the groupings shown (background)."""
        if not self.run_dir or self.kind != "classification":
            return
        self.error.hide()
        spec = self.spec.model_copy(deep=True) if self.editor.document is not None else None
        run_dir, split = self.run_dir, self.split
        self.status.setText(f"Computing the bias report of the {split} split…")
        self.compute_button.setEnabled(False)
        self._asked = (run_dir, split, _key(self.spec))
        self.jobs.submit(lambda _report: compute(run_dir, split, spec))

    def restyle(self) -> None:
        for s in self.sections:
            s.restyle()

    def shutdown(self) -> None:
        self.jobs.cancel()
        self.jobs.wait()

    # -- internals -----------------------------------------------------------------------
    def _clear(self) -> None:
        self.result, self._computed_for = None, None
        for s in self.sections:
            self.results.removeWidget(s)
            s.deleteLater()
        self.sections = []
        self.error.hide()
        self.about.clear()

    def _show(self, result: FairnessResult, computed_for: str | None = None) -> None:
        self._clear()
        self.result, self._computed_for = result, computed_for
        lines = [f"Positive class: {result.positive} (the selection rate and the parity "
                 "figures count it)."] if result.positive else []
        self.about.setText("\n".join([*lines, *result.notes]))
        for report in result.reports:
            section = GroupingSection(report, self.metric)
            self.sections.append(section)
            self.results.addWidget(section)

    def _say(self) -> None:
        r = self.result
        if not self.run_dir:
            text = NO_RUN
        elif self.kind != "classification":
            text = NOT_CLASSIFIER.format(kind=self.kind.replace("_", " ") or "other")
        elif r is not None and r.saved:
            text = SAVED.format(split=self.split)
        elif r is not None and self._computed_for != _key(self.spec):
            text = CHANGED
        elif r is not None:
            n = len(r.reports)
            text = (f"The {r.split} split of {Path(r.run_dir).name}: {n} grouping"
                    f"{'s' if n != 1 else ''}.")
        elif not self.spec.groupings:
            text = NO_GROUPINGS
        else:
            text = READY.format(split=self.split)
        self.status.setText(text)

    def _enable(self) -> None:
        self.compute_button.setEnabled(bool(self.run_dir) and self.kind == "classification"
                                       and bool(self.spec.groupings) and not self.jobs.busy)

    def _on_editor_changed(self) -> None:
        if self.jobs.busy:
            return
        self._say()
        self._enable()

    def _on_jobs_busy_changed(self, _busy: bool) -> None:
        self._enable()

    def _on_metric_combo_activated(self, _index: int) -> None:
        for s in self.sections:
            s.show_metric(self.metric)

    def _on_jobs_finished(self, result: object) -> None:
        assert isinstance(result, FairnessResult)
        asked = self._asked
        if asked is None or (result.run_dir, result.split) != (self.run_dir, self.split):
            return  # for a run or split no longer shown
        self._show(result, asked[2])
        self._say()

    def _on_jobs_failed(self, message: str) -> None:
        self._say()
        self.error.setText(message)
        self.error.show()


def _key(spec: FairnessSpec) -> str:
    return spec.model_dump_json()


def _run_fairness(run_dir: str) -> FairnessSpec:
    """The groupings the run was trained with (none when its project cannot be read)."""
    try:
        return load_project(Path(run_dir) / "project.lforge").fairness
    except Exception:  # a run without a readable project has no groupings to show
        return FairnessSpec()
