"""EvaluationPanel: how a trained run does on its validation or test split.

Classification: the metrics table (precision, recall, F1 per class and macro), the
confusion-matrix heatmap (click a cell to see those samples) and a gallery of the
misclassified samples with predicted and true labels and the confidence (texts and clips
for text and sound classifiers). Regression: predicted against true, and
residuals. Segmentation, detection, sequence to sequence and speech: sections of their own.
Other tasks: their metrics. The run's final metrics (evaluation.json) are shown on top.
A classifier's bias report by group is the Fairness tab beside the results
(app/panels/fairness.py).

``show_run(run_dir)`` loads a run folder; ``on_event(event)`` takes engine.train.events
(RunStarted remembers the folder, Finished reloads it). Predictions are computed with the
engine (``run_results``) as a background job and cached per run, split and weights file.

A user's own input is tried in the Try it tab, not here: the text, sound, seq2seq and
speech views end with a link-like line to it (``try_requested``; the window raises the
tab).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.evaluation_audio import SoundSamplesSection, SpeechSection
from app.panels.evaluation_det import DetectionSection
from app.panels.evaluation_regression import plot_regression, regression_plots
from app.panels.evaluation_seg import SegmentationSection
from app.panels.evaluation_seq2seq import Seq2SeqSection
from app.panels.evaluation_text import TextSamplesSection
from app.panels.evaluation_views import VALUE_ROLE, ConfusionMatrixView, MetricsTable, SampleGallery
from app.panels.explain_views import ExplainLink
from app.panels.fairness import FairnessView
from app.panels.lang_results import view_of
from app.panels.run_results import (
    VISION_KINDS,
    Evaluation,
    RunCache,
    RunInfo,
    evaluate,
    read_run,
)
from app.runs.jobs import Jobs
from app.runs.privacy import run_privacy
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot
from engine.errors import user_message
from engine.train.events import Event, Finished, RunStarted, Stopped

if TYPE_CHECKING:
    from app.document import GraphDocument

NO_RUN = "No run to evaluate yet: train one, or pick a run."
#: the figures the status line shows per task (all numbers for the other tasks)
STATUS_FIGURES = {"classification": ("loss", "accuracy"),
                  "segmentation": ("loss", "miou", "pixel_accuracy", "mean_dice"),
                  "detection": ("loss", "map", "map50", "map75"),
                  "seq2seq": ("loss", "exact_match", "bleu", "chrf"),
                  "speech": ("loss", "cer", "wer")}
#: kinds whose own section replaces the metrics | matrix | gallery row
SECTION_KINDS = (*VISION_KINDS, "seq2seq", "speech")


def _fmt_metrics(metrics: dict[str, Any]) -> str:
    parts = [f"{k} {v:.4g}" for k, v in metrics.items()
             if isinstance(v, int | float) and not isinstance(v, bool)]
    return ", ".join(parts)


class EvaluationPanel(QScrollArea):
    """``evaluated(Evaluation)`` when a split's results are shown; ``try_requested`` when
    the user asks to try their own text or clip (the Try it tab's business);
    ``explain_requested(split, index)`` for "Explain" on a gallery sample (the Explain
    tab's)."""

    evaluated = Signal(object)
    try_requested = Signal()
    explain_requested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None,
                 document: GraphDocument | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EvaluationPanel")
        self.run_dir: str | None = None
        self.info: RunInfo | None = None
        self.result: Evaluation | None = None
        self.cache = RunCache()
        #: (run folder, split, beam width asked for or None) -> its evaluation
        self.results: dict[tuple[str, str, int | None], Evaluation] = {}
        self.beam: int | None = None  # the beam width the user chose for this run
        self.jobs = Jobs(self)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 8, 10, 8)
        top = QHBoxLayout()
        self.title = plain_label(NO_RUN)  # wraps: the header never widens the panel
        self.split_combo = QComboBox()
        self.split_combo.addItem("Validation split", "val")
        self.split_combo.addItem("Test split", "test")
        self.reload_button = QPushButton("Evaluate again")
        top.addWidget(self.title, 1)
        top.addWidget(self.split_combo)
        top.addWidget(self.reload_button)
        lay.addLayout(top)
        self.final = plain_label(role="muted")
        self.status = plain_label(role="muted")
        self.error = plain_label(role="error")
        self.error.hide()
        for w in (self.final, self.status, self.error):
            lay.addWidget(w)
        # the results and the Fairness view (bias by group) as two tabs under the header
        self.fairness = FairnessView()
        self.fairness.set_document(document)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        results = QWidget()
        self.views.addTab(results, "Results")
        self.views.addTab(self.fairness, "Fairness")
        lay.addWidget(self.views, 1)
        lay = QVBoxLayout(results)  # the rows below go on the Results tab
        lay.setContentsMargins(0, 0, 0, 0)
        self.metrics_table = MetricsTable()
        self.matrix = ConfusionMatrixView()
        self.gallery = SampleGallery()
        self.gallery_title = plain_label()
        # Metrics | confusion matrix | gallery side by side: the Evaluate perspective gives
        # the panel the window's width, not its height.
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(plain_label("Metrics", wrap=False))
        lv.addWidget(self.metrics_table, 1)
        self.matrix_box = QWidget()
        mv = QVBoxLayout(self.matrix_box)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.addWidget(plain_label("Confusion matrix (rows: true, columns: predicted; click a "
                                 "cell)"))
        mv.addWidget(self.matrix, 1)
        self.gallery_box = QWidget()
        gv = QVBoxLayout(self.gallery_box)
        gv.setContentsMargins(0, 0, 0, 0)
        gv.addWidget(self.gallery_title)
        gv.addWidget(self.gallery)
        self.explain_link = ExplainLink()
        self.explain_link.setEnabled(False)
        gv.addWidget(self.explain_link)
        # text and sound classifiers list texts and clips where images have the gallery
        # (a sound classifier's clip plots are a row of their own below)
        self.text_samples = TextSamplesSection()
        self.sound_samples = SoundSamplesSection()
        gv.addWidget(self.text_samples, 1)
        gv.addWidget(self.sound_samples.table, 1)
        self.scatter, self.residuals = regression_plots()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for w in (left, self.matrix_box, self.gallery_box, self.scatter, self.residuals):
            self.splitter.addWidget(w)
        self.splitter.setChildrenCollapsible(False)
        for index in (0, 1):  # metrics and matrix keep their size; the gallery takes the rest
            self.splitter.setStretchFactor(index, 0)
        for index in (2, 3, 4):
            self.splitter.setStretchFactor(index, 1)
        self.splitter.setMinimumHeight(260)
        lay.addWidget(self.splitter, 1)
        self.segmentation = SegmentationSection()
        self.detection = DetectionSection()
        self.seq2seq = Seq2SeqSection()
        self.speech = SpeechSection()
        lay.addWidget(self.sound_samples, 1)
        for section in (self.segmentation, self.detection, self.seq2seq, self.speech):
            section.setMinimumHeight(300)
            lay.addWidget(section, 1)
        self.setWidget(body)
        self.split_combo.activated.connect(self._on_split_combo_activated)
        self.reload_button.clicked.connect(self._on_reload_button_clicked)
        self.matrix.cell_chosen.connect(self._on_matrix_cell_chosen)
        self.seq2seq.beam_chosen.connect(self._on_beam_chosen)
        self.speech.beam_chosen.connect(self._on_beam_chosen)
        for section in self._lang_sections():
            section.try_requested.connect(self.try_requested)
        self.gallery.itemActivated.connect(self._on_gallery_explain)
        self.gallery.currentItemChanged.connect(
            lambda item, _old: self.explain_link.setEnabled(item is not None))
        self.explain_link.clicked.connect(lambda: self._on_gallery_explain(
            self.gallery.currentItem()))
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self._show_sections("")

    # -- the contract with the run side ------------------------------------------------
    def show_run(self, run_dir: str) -> None:
        """Show a finished or in-progress run folder: its final metrics, and predictions
        for the chosen split computed in the background."""
        if str(run_dir) != self.run_dir:
            self.beam = None  # another run decodes with its own width
        if self.result is not None and self.result.run_dir != str(run_dir):
            self._clear_views()  # nothing of the other run under this one's title
        self.run_dir = str(run_dir)
        self.error.hide()
        try:
            self.info = read_run(self.run_dir)
        except Exception as e:
            self.info = None
            self.fairness.reset()
            self._fail(user_message(e))
            return
        info = self.info
        self.fairness.show_run(self.run_dir, info.kind, self.split)
        self.title.setText(f"{info.name} ({info.kind.replace('_', ' ')})")
        finals = [f"{split}: {_fmt_metrics(m)}" for split, m in info.evaluation.items()
                  if isinstance(m, dict)]
        self.final.setText("Final metrics (evaluation.json): " + "; ".join(finals)
                           if finals else "The run has no final metrics yet.")
        if privacy := run_privacy(self.run_dir):  # a private run: what it spent
            self.final.setText(f"{self.final.text()}\nPrivacy: {privacy}")
        self._evaluate(force=False)

    def on_event(self, event: Event) -> None:
        """React to a training event: RunStarted remembers the run, Finished (and Stopped)
        reload it."""
        match event:
            case RunStarted(run_dir=run_dir) if run_dir:
                self.run_dir = run_dir
                self.fairness.reset()  # its report is read when the run finishes
                self.title.setText(f"Training {run_dir}…")
                self.status.setText("The evaluation is shown when the run finishes.")
            case Finished() | Stopped() if self.run_dir:
                self.results = {k: v for k, v in self.results.items() if k[0] != self.run_dir}
                self.show_run(self.run_dir)

    def reset(self) -> None:
        """Show no run (another project): its metrics, tables, gallery and plots go, and an
        evaluation still computing for it reports nothing."""
        self.jobs.cancel()
        self.run_dir, self.info, self.result, self.beam = None, None, None, None
        self.results.clear()
        self.title.setText(NO_RUN)
        for label in (self.final, self.status, self.error):
            label.clear()
        self.error.hide()
        self._clear_views()
        self.fairness.reset()

    def _clear_views(self) -> None:
        """No result shown: every table, gallery and plot empty."""
        self.result = None
        self.gallery_title.clear()
        self.metrics_table.clear_all()
        self.matrix.clear_all()
        self.gallery.clear_all()
        self.scatter.clear()
        self.residuals.clear()
        for section in self._lang_sections():
            section.clear_all()
        self.segmentation.clear_all()
        self.detection.clear_all()
        self._show_sections("")

    # -- public helpers ----------------------------------------------------------------
    @property
    def split(self) -> str:
        return str(self.split_combo.currentData())

    def show_cell(self, true: int, predicted: int) -> list[int]:
        """Show the samples of one confusion-matrix cell; returns their split indices."""
        r = self.result
        if r is None or r.kind != "classification" or not r.classes:
            return []
        idx = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=False))
               if t == true and p == predicted]
        self.gallery_title.setText(f"True {r.classes[true]}, predicted {r.classes[predicted]}: "
                                   f"{len(idx)} samples")
        self._fill_gallery(idx)
        return idx

    def restyle(self) -> None:
        """Follow a theme change."""
        for plot in (self.scatter, self.residuals):
            style_plot(plot)
        self.detection.restyle()
        for section in (self.sound_samples, self.speech):
            section.restyle()
        self.fairness.restyle()

    def shutdown(self) -> None:
        self.jobs.cancel()
        self.jobs.wait()
        self.fairness.shutdown()
        for section in self._lang_sections():
            section.shutdown()

    # -- internals ---------------------------------------------------------------------
    def _evaluate(self, force: bool) -> None:
        if not self.run_dir:
            return
        key = (self.run_dir, self.split, self.beam)
        if not force and key in self.results:
            self.show_evaluation(self.results[key])
            return
        width = f" with beam width {self.beam}" if self.beam else ""
        self.status.setText(f"Evaluating the {self.split} split{width}…")
        cache, run_dir, split, beam = self.cache, self.run_dir, self.split, self.beam
        self.jobs.submit(lambda _report: evaluate(cache, run_dir, split, beam))

    def _lang_sections(self) -> tuple[Any, ...]:
        return (self.text_samples, self.sound_samples, self.seq2seq, self.speech)

    def _on_beam_chosen(self, width: int) -> None:
        """Decode the split again with another beam width (the project keeps its own)."""
        own = self.results.get((self.run_dir or "", self.split, None))
        self.beam = None if own is not None and own.beam_width == width else width
        self._evaluate(force=False)

    def _on_split_combo_activated(self, _index: int) -> None:
        if self.run_dir and self.info is not None:
            self.fairness.show_run(self.run_dir, self.info.kind, self.split)
        self._evaluate(force=False)

    def _on_reload_button_clicked(self) -> None:
        if self.run_dir:
            self.results.clear()
            self.show_run(self.run_dir)

    def _on_matrix_cell_chosen(self, true: int, predicted: int) -> None:
        self.show_cell(true, predicted)

    def _on_jobs_finished(self, result: object) -> None:
        assert isinstance(result, Evaluation)
        self.results[(result.run_dir, result.split, result.beam)] = result
        if (result.run_dir, result.split, result.beam) == (self.run_dir, self.split, self.beam):
            self.show_evaluation(result)

    def _on_gallery_explain(self, item: object) -> None:
        """Double-click (Enter) on a gallery image, or its link: explain that sample."""
        r = self.result
        if item is not None and r is not None and r.images:
            self.explain_requested.emit(r.split, int(item.data(VALUE_ROLE)))

    def _on_jobs_failed(self, message: str) -> None:
        self._fail(message)

    def _fail(self, message: str) -> None:
        self.status.setText("")
        self.error.setText(message)
        self.error.show()

    def _show_sections(self, kind: str, view: str = "") -> None:
        cls, reg = kind == "classification", kind == "regression"
        self.splitter.setVisible(kind not in SECTION_KINDS)
        self.segmentation.setVisible(kind == "segmentation")
        self.detection.setVisible(kind == "detection")
        self.seq2seq.setVisible(kind == "seq2seq")
        self.speech.setVisible(kind == "speech")
        self.matrix_box.setVisible(cls)
        self.gallery_box.setVisible(cls)
        self.gallery.setVisible(cls and view == "")
        self.explain_link.setVisible(cls and view == "" and self.result is not None
                                     and bool(self.result.images))
        self.text_samples.setVisible(view == "text")
        self.sound_samples.setVisible(view == "sound")
        self.sound_samples.table.setVisible(view == "sound")
        self.scatter.setVisible(reg)
        self.residuals.setVisible(reg)

    def show_evaluation(self, r: Evaluation) -> None:
        """Show a computed evaluation (the background job's result; tests and scripts may
        hand one in)."""
        self.result = r
        self.error.hide()
        n = r.split_size or len(r.true)
        keys = STATUS_FIGURES.get(r.kind)
        shown = {k: r.metrics[k] for k in keys if k in r.metrics} if keys else r.metrics
        view = view_of(r.kind, r.input_kind)
        noun = {"sound": "clips", "speech": "clips", "text": "texts", "seq2seq": "pairs"}.get(
            view, "images" if r.kind in VISION_KINDS else "samples")
        size = f", {n} {noun}" if n else ""
        self.status.setText(f"{r.describe}. {r.split} split{size}: {_fmt_metrics(shown)}")
        for section in self._lang_sections():  # nothing of another run stays behind
            section.clear_all()
        self._show_sections(r.kind, view)
        if r.kind == "classification":
            if view == "text":
                self.text_samples.show_result(r)
            elif view == "sound":
                self.sound_samples.show_result(r)
            self.metrics_table.show_classes(r.metrics, r.classes)
            self.matrix.show_matrix(r.metrics.get("confusion_matrix") or [], r.classes)
            wrong = [i for i, (t, p) in enumerate(zip(r.true, r.pred, strict=False)) if t != p]
            wrong.sort(key=lambda i: -r.confidence[i])
            self.gallery_title.setText(f"Misclassified: {len(wrong)} of {n} "
                                       "(most confident first)")
            self._fill_gallery(wrong)
            self._size_classification()
            QTimer.singleShot(0, self, self._size_classification)  # laid out; not once deleted
        elif r.kind == "segmentation":
            self.segmentation.show_result(r)
        elif r.kind == "detection":
            self.detection.show_result(r)
        elif r.kind == "seq2seq":
            self.seq2seq.show_result(r)
        elif r.kind == "speech":
            self.speech.show_result(r)
        else:
            self.metrics_table.show_scalars(r.metrics)
            if r.kind == "regression":
                plot_regression(self.scatter, self.residuals, r)
                self.splitter.setSizes([260, 0, 0, 420, 420])
        self.evaluated.emit(r)

    def _size_classification(self) -> None:
        """The metrics and the matrix as wide as they need, the gallery the rest."""
        if self.result is None or self.result.kind != "classification":
            return
        metrics = self.metrics_table.sizeHint().width() + 12
        matrix = min(self.matrix.sizeHint().width() + 12, self.splitter.width() // 3)
        rest = max(200, self.splitter.width() - metrics - matrix)
        self.splitter.setSizes([metrics, matrix, rest, 0, 0])

    def _fill_gallery(self, indices: list[int]) -> None:
        r = self.result
        assert r is not None
        view = view_of(r.kind, r.input_kind)
        if view == "text":
            self.text_samples.show_samples(indices)
            return
        if view == "sound":
            self.sound_samples.show_samples(indices)
            return
        self.gallery.show_samples(indices, r.classes, r.pred, r.true, r.confidence,
                                  r.images, r.texts)
