"""LRFinderDialog: the learning-rate finder (:func:`engine.train.lr_find.lr_find`) on the
document's project as it is now (unsaved edits included): the loss against the learning
rate on a log axis, the suggested rate marked, and "Use this rate", which sets
``training.lr`` as one undo step.

The finder trains a copy of the model, so it runs as a background job
(:class:`app.runs.jobs.Jobs`); torch is imported there, off the GUI thread, never here.
It reports each step as a line of numbers (see :func:`find_job`), which the dialog turns
into its progress bar and a live curve; Stop ends the ramp after the step in progress.
Nothing is written: the project changes only through "Use this rate".
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QCloseEvent, QDoubleValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.runs.jobs import Jobs, Report
from app.runs.records import project_data, project_folder
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot

CURVE_COLOR, MARK_COLOR = "#2f6fde", "#d9480f"
#: the least time between two progress reports of the job (a long ramp would flood the
#: GUI thread with one redraw per step)
REPORT_EVERY_S = 0.05
INTRO = ("A copy of the model trains for a few hundred steps while the learning rate rises "
         "from the first value to the last; the loss is plotted against the rate. The "
         "project, its weights and its runs are not changed.")


def find_job(data: dict[str, Any], folder: Path, steps: int, start: float, end: float,
             stop: threading.Event):
    """The background job: the project from ``data`` (as :func:`project_data` gives it;
    relative paths resolved against ``folder``), checked as a run checks it, then the
    finder. It reports "STEP STEPS LR LOSS" at most every :data:`REPORT_EVERY_S`."""

    def job(report: Report):
        from engine.project import Project
        from engine.train.lr_find import lr_find  # imports torch: in this thread only
        from engine.train.prepare import absolute_data, refuse_untrainable

        project = Project.model_validate(data)
        absolute_data(project, folder)
        init = project.training.init_from
        if init and not Path(init).expanduser().is_absolute():
            project.training.init_from = str(folder / init)
        refuse_untrainable(project)
        last = [0.0]

        def progress(step: int, total: int, lr: float, loss: float) -> None:
            now = time.monotonic()
            if now - last[0] >= REPORT_EVERY_S or step == total:
                last[0] = now
                report(f"{step} {total} {lr!r} {loss!r}")

        return lr_find(project, steps=steps, start=start, end=end, progress=progress,
                       should_stop=stop.is_set)

    return job


class LRFinderDialog(QDialog):
    """Runs the finder when :meth:`start` is called (the opener calls it at once), shows
    the curve as it grows, then the whole curve with the suggestion marked."""

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LRFinderDialog")
        self.setWindowTitle("Find a Learning Rate")
        self.document = document
        self.found: Any = None  # the LRFindResult of the last finished ramp
        self.live: tuple[list[float], list[float]] = ([], [])
        self._stop = threading.Event()
        self.jobs = Jobs(self)
        self.jobs.progressed.connect(self._on_jobs_progressed)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        lay = QVBoxLayout(self)
        lay.addWidget(plain_label(INTRO, role="muted"))
        lay.addLayout(self._settings_row())
        lay.addWidget(self._make_plot(), 1)
        self.status = plain_label()
        lay.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.use_button = self.buttons.addButton("Use this rate",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_rate)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        # the curve belongs to the project it was measured on
        document.project_replaced.connect(self.reject)
        self.resize(760, 560)

    def _settings_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.steps = QSpinBox()
        self.steps.setRange(20, 100_000)
        self.steps.setValue(200)
        self.start_lr, self.end_lr = _rate_edit("1e-07"), _rate_edit("1")
        self.run_button = QPushButton("Start")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        for text, w in (("Steps", self.steps), ("from", self.start_lr), ("to", self.end_lr)):
            row.addWidget(QLabel(text))
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.run_button)
        return row

    def _make_plot(self) -> pg.PlotWidget:
        self.plot = pg.PlotWidget(enableMenu=False)
        self.plot.setMinimumHeight(280)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate (log scale)")
        # the smoothed loss only: a batch's own loss jumps by more than the valley is deep
        self.plot.setLabel("left", "loss (smoothed)")
        for axis in ("left", "bottom"):  # plain rates and losses, no "(x0.001)"
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        style_plot(self.plot)
        self.curve = self.plot.plot([], [], pen=pg.mkPen(CURVE_COLOR, width=2))
        self.mark_point = self.plot.plot([], [], pen=None, symbol="o", symbolSize=10,
                                         symbolBrush=MARK_COLOR, symbolPen=MARK_COLOR)
        # in log mode a line's position is log10 of the rate (items other than curves
        # are placed in view coordinates)
        self.mark_line = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen(MARK_COLOR, width=1.5,
                                                      style=Qt.PenStyle.DashLine),
                                         label="", labelOpts={"position": 0.92,
                                                              "color": MARK_COLOR})
        self.mark_line.hide()
        self.plot.addItem(self.mark_line)
        return self.plot

    # -- running -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.jobs.busy

    def start(self) -> None:
        """Run the finder on the project as it is now (the previous curve is cleared)."""
        if self.running:
            return
        try:
            start, end = float(self.start_lr.text()), float(self.end_lr.text())
        except ValueError:
            self._say("The ramp's rates must be numbers, e.g. from 1e-07 to 1.", error=True)
            return
        self.found = None
        self.live = ([], [])
        self._show_curve([], [])
        if 0 < start < end:  # the curve grows across the whole ramp's axis
            self.plot.setXRange(math.log10(start), math.log10(end), padding=0.04)
        self._show_mark(None, None)
        self.use_button.setEnabled(False)
        self._stop = threading.Event()
        steps = self.steps.value()
        self.progress.setRange(0, steps)
        self.progress.setValue(0)
        self.progress.setFormat("Loading the data and building the model…")
        self.progress.show()
        self._say("")
        self.run_button.setText("Stop")
        self.jobs.submit(find_job(project_data(self.document), project_folder(self.document),
                                  steps, start, end, self._stop))

    def stop(self) -> None:
        """End the ramp after the step in progress (its curve is kept, without a
        suggestion)."""
        self._stop.set()
        self.run_button.setEnabled(False)

    def wait(self) -> None:
        """Stop and wait for the job (closing the dialog or the app, tests' teardown)."""
        self._stop.set()
        self.jobs.cancel()
        self.jobs.wait()

    def use_rate(self) -> None:
        """Set training.lr to the suggestion (three significant digits), one undo step."""
        if self.found is None or self.found.suggestion is None:
            return
        rate = float(f"{self.found.suggestion:.3g}")
        stack = self.document.undo_stack
        # a macro of its own: the edit never merges with a rate typed just before
        stack.beginMacro(f"Use the learning rate {rate:g}")
        try:
            self.document.set_field("training", "lr", rate)
        except EditError as e:
            stack.endMacro()
            self._say(str(e), error=True)
            return
        stack.endMacro()
        self.accept()

    # -- job reports (GUI thread) --------------------------------------------------------
    def _on_run_button_clicked(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def _on_jobs_progressed(self, text: str) -> None:
        step, total, lr, loss = text.split()
        self.progress.setValue(int(step))
        self.progress.setFormat(f"Step {step} of {total}: learning rate {float(lr):.3g}")
        lrs, losses = self.live
        lrs.append(float(lr))
        losses.append(float(loss))
        self.curve.setData(lrs, losses)

    def _on_jobs_finished(self, found: Any) -> None:
        self.found = found
        self._end_run()
        self._show_curve(found.lrs, found.losses)
        mark = found.suggestion
        self._show_mark(mark, _loss_at(found.lrs, found.losses, mark) if mark else None)
        self.use_button.setEnabled(mark is not None)
        if mark is not None:
            self.use_button.setToolTip(f"Set the learning rate to {mark:.3g} (one undo step)")
        # no suggestion is a problem to fix, unless the user stopped the ramp
        self._say(found.message, error=mark is None and not self._stop.is_set())

    def _on_jobs_failed(self, message: str) -> None:
        self._end_run()
        self._say(message, error=True)

    def _end_run(self) -> None:
        self.progress.hide()
        self.run_button.setEnabled(True)
        self.run_button.setText("Run again")

    # -- showing -------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.status.setProperty("role", "error" if error else "")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _show_curve(self, lrs: list[float], losses: list[float]) -> None:
        self.curve.setData(lrs, losses)
        finite = [v for v in losses if math.isfinite(v)]
        if not finite:
            self.plot.enableAutoRange()
            return
        # the valley fills the plot; a diverging tail may leave it at the top
        low = losses.index(min(finite))
        top = max(v for v in losses[:low + 1] if math.isfinite(v))
        top = min(max(finite), top + 0.5 * (top - finite[low]))
        span = (top - finite[low]) or 1.0
        self.plot.setYRange(finite[low] - 0.1 * span, top + 0.05 * span, padding=0)
        self.plot.setXRange(math.log10(lrs[0]), math.log10(lrs[-1]), padding=0.04)

    def _show_mark(self, rate: float | None, loss: float | None) -> None:
        if rate is None or loss is None:
            self.mark_line.hide()
            self.mark_point.setData([], [])
            return
        self.mark_line.show()  # first: a hidden line's label does not follow its format
        self.mark_line.setValue(math.log10(rate))
        self.mark_line.label.setFormat(f"suggested {rate:.3g}")
        self.mark_point.setData([rate], [loss])

    def restyle(self) -> None:
        """Follow a theme change."""
        style_plot(self.plot)

    # -- closing -------------------------------------------------------------------------
    def done(self, code: int) -> None:
        if self.running:
            self.wait()
        super().done(code)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.running:
            self.wait()
        super().closeEvent(event)


def _rate_edit(text: str) -> QLineEdit:
    """A field for a learning rate, typed as 0.001 or 1e-3 (the finder checks the range)."""
    edit = QLineEdit(text)
    validator = QDoubleValidator(0.0, 100.0, 15, edit)
    validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
    validator.setLocale(QLocale.c())  # read with float(): a point, never a comma
    edit.setValidator(validator)
    edit.setMaximumWidth(90)
    return edit


def _loss_at(lrs: list[float], losses: list[float], rate: float) -> float:
    """The curve's loss at the point nearest ``rate`` (on the log scale)."""
    i = min(range(len(lrs)), key=lambda k: abs(math.log(lrs[k] / rate)))
    return losses[i]


def open_lr_finder(document: GraphDocument, parent: QWidget | None = None) -> LRFinderDialog:
    """Show the finder for ``document``'s project and start it (the window's "Find…")."""
    dialog = LRFinderDialog(document, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.start()
    return dialog
