"""The Export dialog: one graph of the project (untrained) or of a run (trained weights) to
ONNX (fp32 or int8), safetensors, standalone PyTorch code, torch.export or a prediction
server folder, verified in the background.

The export itself is :func:`engine.export.export`; this dialog only gathers its arguments,
runs it as its background job (one at a time: the button is disabled while it runs) and
shows the report or the error sentence, and an int8 export's tables
(:mod:`app.dialogs.export_report`). Blocks that cannot go to ONNX are listed before the user
tries (the canvas flags them too, see ``app/window/features/export.py``). The int8 model and
the server need a trained run (calibration data, weights worth serving), so with the
untrained project chosen they say so instead of exporting.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.export_paths import FILE_SUFFIX, default_out, is_folder_format, retarget
from app.dialogs.export_report import ContentScroll, ReportTables, describe_report
from app.dialogs.export_sources import finished_with_weights, run_sources
from app.dialogs.job_dialog import JobDialog
from app.document import GraphDocument
from app.widgets.combos import shrink_combo
from app.widgets.labels import plain_label
from app.widgets.path_field import PathField, PathMode
from app.widgets.scroll_panel import scroll_body
from engine.export import (
    DEFAULT_CALIBRATION,
    DEFAULT_OPSET,
    FORMATS,
    ExportReport,
    onnx_problems,
)
from engine.project import Project, ProjectError, load_project

PROJECT_SOURCE = ""  # the source combo's data for "this project (untrained)"
FORMAT_TEXT = {
    "onnx": "ONNX (.onnx), checked with onnxruntime",
    "onnx-int8": "ONNX int8 (.onnx), quantized with ONNX Runtime",
    "safetensors": "safetensors (weights + graph)",
    "python": "Standalone PyTorch code (model.py)",
    "pt2": "torch.export program (.pt2)",
    "server": "Prediction server (a folder: ONNX model, server, requirements, Dockerfile)",
}
LOG_HEIGHT = 240  # the log's least height, until a report's tables need the room
LOG_MIN_LINES = 4
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum size"
ONNX_FORMATS = ("onnx", "onnx-int8", "server")  # the ones the opset and ONNX flags apply to
NEEDS_RUN = ("onnx-int8", "server")
PT2_CAVEAT = ("A .pt2 file is tied to the PyTorch version that wrote it, and loading it\n"
              "may unpickle parts of the archive: load only files you trust.")
UNTRAINED_NOTE = ("Exports the project as it is now, with UNTRAINED weights (the seeded\n"
                  "initial values). Pick a run for trained weights.")
NEEDS_RUN_NOTE = ("{what} needs a trained run: its training data calibrates the int8 model "
                  "and its weights are what gets served. Choose a run as the source (train "
                  "one first if there is none).")
NEEDS_RUN_WHAT = {"onnx-int8": "An int8 model", "server": "A prediction server"}
CALIBRATION_TIP = ("How many samples of the run's training data ONNX Runtime runs through "
                   "the model to choose the int8 ranges. More: better ranges, a slower export.")


class ExportDialog(JobDialog):
    """Gathers source, graph, format, destination and opset; runs and reports the export."""

    busy_text = "The export is still running; close when it has finished."

    finished_export = Signal(bool)  # True when the export succeeded

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(620)
        self.document = document
        self.report: ExportReport | None = None
        self.error = ""
        self._out_edited = False
        self._out_path = Path()  # where the running export writes
        self._source_project: Project | None = None  # the run snapshot, once read

        self.source = QComboBox()
        self.source_browse = QPushButton("Run folder…")
        self.source_note = plain_label()
        self.graph = QComboBox()
        self.format = QComboBox()
        for fmt in FORMATS:
            self.format.addItem(FORMAT_TEXT[fmt], fmt)
        self.caveat = plain_label(PT2_CAVEAT, wrap=False)
        self.calibration = QSpinBox()
        self.calibration.setRange(1, 10_000)
        self.calibration.setValue(DEFAULT_CALIBRATION)
        self.calibration.setToolTip(CALIBRATION_TIP)
        self.int8 = QCheckBox("int8 model (smaller; quantized with ONNX Runtime)")
        self.opset = QSpinBox()
        self.opset.setRange(7, 30)
        self.opset.setValue(DEFAULT_OPSET)
        for spin in (self.opset, self.calibration):
            spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.out = PathField(PathMode.SAVE_FILE)
        self.problems = plain_label()
        self.log = self.make_job_log("Progress and the verification results appear here.",
                                     LOG_HEIGHT)
        self.tables = ReportTables()
        self.scroll = ContentScroll()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export",
                                                    QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setDefault(True)
        self._layout()
        self._fill_sources()
        self.select_default_source()
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.source_browse.clicked.connect(self._on_source_browse_clicked)
        self.graph.currentIndexChanged.connect(self._on_graph_changed)
        self.format.currentIndexChanged.connect(self._on_format_changed)
        self.int8.toggled.connect(self._on_int8_toggled)
        self.out.edited.connect(self._on_out_edited)
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        self._on_source_changed()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Wide enough to read the longest format's name (the combo itself may shrink
        in a narrow window, see ``shrink_combo``)."""
        hint = super().sizeHint()
        combo = self.format
        texts = [combo.itemText(i) for i in range(combo.count())]
        text = max(combo.fontMetrics().horizontalAdvance(t) for t in texts)
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        whole = combo.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, option,
                                               QSize(text, combo.fontMetrics().height()), combo)
        form = self.form
        items = [form.itemAt(r, QFormLayout.ItemRole.LabelRole) for r in range(form.rowCount())]
        # every label, shown or not: the column widens when the calibration row appears
        labels = max(item.widget().sizeHint().width() for item in items
                     if item is not None and item.widget() is not None)
        margins = self.layout().contentsMargins()
        width = (labels + form.horizontalSpacing() + whole.width() + margins.left()
                 + margins.right())
        return hint.expandedTo(QSize(width, 0))

    def _layout(self) -> None:
        """The settings stay in view; below them the log and the report's tables scroll
        together (an int8 report is taller than a small screen)."""
        form = self.form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for combo in (self.source, self.graph, self.format):
            shrink_combo(combo)  # long run names must not widen the dialog past the screen
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(self.source_browse)
        form.addRow("Source:", row)
        form.addRow("", self.source_note)
        form.addRow("Graph:", self.graph)
        form.addRow("Format:", self.format)
        form.addRow("", self.caveat)
        form.addRow("", self.int8)
        form.addRow("Calibration samples:", self.calibration)
        form.addRow("ONNX opset:", self.opset)
        form.addRow("Save to:", self.out)
        form.addRow("", self.problems)
        body = scroll_body(self.scroll)
        self.scroll.setMinimumHeight(LOG_HEIGHT)  # the log whole, without a second scroll bar
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.log, 1)
        body.addWidget(self.tables)
        body.addStretch(0)  # below the tables when the log stops growing
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.scroll, 1)
        box.addWidget(self.buttons)
        for label in (self.source_note, self.caveat):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

    # -- state -------------------------------------------------------------------------

    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def source_path(self) -> str:
        return str(self.source.currentData() or PROJECT_SOURCE)

    def _base_dir(self) -> Path:
        return Path(self.document.path).parent if self.document.path else Path.home()

    def _fill_sources(self) -> None:
        self.source.addItem("This project (untrained weights)", PROJECT_SOURCE)
        for label, path in run_sources(self.document):
            self.source.addItem(label, str(path))

    def select_default_source(self) -> None:
        """Select the newest finished run (listed newest first): its trained weights are
        what one exports; the untrained project only when no run has finished."""
        for i in range(1, self.source.count()):
            path = self.source.itemData(i)
            if path and finished_with_weights(Path(path)):
                self.source.setCurrentIndex(i)
                return
        self.source.setCurrentIndex(0)

    def add_run_source(self, folder: str) -> None:
        """Offer (and select) a run folder picked by the user."""
        index = self.source.findData(folder)
        if index < 0:
            self.source.addItem(f"Run folder {folder}", folder)
            index = self.source.count() - 1
        self.source.setCurrentIndex(index)

    def _graph_project(self) -> Project | None:
        return self.document.project if not self.source_path() else self._source_project

    def _on_source_changed(self, *_args: object) -> None:
        path = self.source_path()
        self._source_project = None
        note, refusal = UNTRAINED_NOTE, False
        if path:
            try:
                self._source_project = load_project(Path(path) / "project.lforge")
                note = "Trained weights from this run's weights.safetensors."
            except ProjectError as e:
                note, refusal = f"This run cannot be exported: {e}", True
        # only a refusal (naming the run folder) wraps: a form row sizes a wrapping label
        # for three lines whatever its text, which left gaps around the one-line notes
        self.source_note.setWordWrap(refusal)
        self.source_note.setText(note)
        project = self._graph_project()
        names = list(project.graphs) if project else []
        self.graph.blockSignals(True)
        self.graph.clear()
        self.graph.addItems(names)
        if "model" in names:
            self.graph.setCurrentText("model")
        self.graph.blockSignals(False)
        self.graph.setEnabled(len(names) > 1)
        self._on_graph_changed()

    def _on_graph_changed(self, *_args: object) -> None:
        self._show_format()

    def _on_format_changed(self, *_args: object) -> None:
        if self._out_edited and self.out.text().strip():
            # keep the user's folder and name, with the ending this format needs
            self.out.setText(str(retarget(Path(self.out.text().strip()), self.chosen_format())))
        self._show_format()

    def _on_int8_toggled(self, _checked: bool) -> None:
        self._show_format()

    def _show_format(self) -> None:
        """Show the settings of the chosen format and propose its destination."""
        fmt = self.chosen_format()
        self.caveat.setVisible(fmt == "pt2")
        self.form.setRowVisible(self.int8, fmt == "server")
        self.form.setRowVisible(self.calibration, fmt == "onnx-int8"
                                or (fmt == "server" and self.int8.isChecked()))
        self.opset.setEnabled(fmt in ONNX_FORMATS)
        if is_folder_format(fmt):
            self.out.set_mode(PathMode.FOLDER, "Export into folder",
                              start_dir=lambda: str(self._base_dir()))
        else:
            suffix = FILE_SUFFIX[fmt]
            self.out.set_mode(PathMode.SAVE_FILE, "Export to", suffix=suffix,
                              name_filter=f"{fmt} files (*{suffix})")
        if not self._out_edited:
            self.out.setText(str(self.default_out()))
        self._update_problems()

    def default_out(self) -> Path:
        return default_out(self._base_dir(), self.graph.currentText(), self.chosen_format())

    def onnx_issues(self) -> list[tuple[str, str]]:
        project = self._graph_project()
        graph = project.graphs.get(self.graph.currentText()) if project else None
        return onnx_problems(graph) if graph is not None else []

    def _update_problems(self) -> None:
        """Say why Export is disabled: blocks ONNX cannot express, or an int8 model or a
        server asked of the untrained project."""
        fmt = self.chosen_format()
        issues = self.onnx_issues() if fmt in ONNX_FORMATS else []
        needs_run = fmt in NEEDS_RUN and not self.source_path()
        lines = []
        if needs_run:
            lines.append(NEEDS_RUN_NOTE.format(what=NEEDS_RUN_WHAT[fmt]))
        if issues:
            lines.append("These blocks cannot be exported to ONNX (flagged on the canvas):")
            lines += [f"{node}: {reason}" for node, reason in issues]
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
        project_ok = self._graph_project() is not None and self.graph.count() > 0
        self.export_button.setEnabled(not self.busy() and project_ok and not lines)

    def _on_out_edited(self, _text: str) -> None:
        self._out_edited = True

    def _on_source_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a run folder",
                                                  str(self._base_dir()))
        if folder:
            self.add_run_source(folder)

    # -- running -----------------------------------------------------------------------
    def start_export(self) -> bool:
        """Start the export in the background; False when one is running or input is missing."""
        if self.busy() or not self.export_button.isEnabled():
            return False
        out = self.out.text().strip()
        if not out:
            self.log.setPlainText("Choose where to save the export.")
            return False
        from engine.export import export
        from engine.export.common import Source

        fmt, graph, opset = self.chosen_format(), self.graph.currentText(), self.opset.value()
        calibration, int8 = self.calibration.value(), fmt == "server" and self.int8.isChecked()
        path = self.source_path()
        if path:
            source: str | Source = path
        else:  # the project as edited now, saved or not: a snapshot for the thread
            project = self.document.project.model_copy(deep=True)
            origin = Path(self.document.path or f"{project.name}.lforge")
            source = Source(project, graph, project.graphs[graph], origin)
        self.report, self.error = None, ""
        self._out_path = Path(out)
        self.tables.clear()
        self.log.setMinimumHeight(LOG_HEIGHT)
        self.log.setMaximumHeight(QWIDGETSIZE_MAX)
        self.log.setPlainText(f"Exporting {graph} as {fmt}…")
        self._set_running(True)
        self.run_job(lambda report: export(source, fmt, out, graph=graph, opset=opset,
                                           progress=report, calibration=calibration,
                                           int8=int8))
        return True

    def _set_running(self, running: bool) -> None:
        for w in (self.source, self.source_browse, self.format, self.opset, self.out,
                  self.calibration, self.int8):
            w.setEnabled(not running)
        self.graph.setEnabled(not running and self.graph.count() > 1)
        if running:
            self.export_button.setEnabled(False)
        self.opset.setEnabled(not running and self.chosen_format() in ONNX_FORMATS)

    def job_succeeded(self, result: ExportReport) -> None:
        self.report = result
        self.log.setPlainText(describe_report(result))
        self.tables.show_report(result, self._out_path)
        if not self.tables.isHidden():
            self._show_tables()

    def _show_tables(self) -> None:
        """Make room for the tables: the log shrinks to its few lines, the dialog grows
        toward the report's height (within the screen), and the tables scroll into view:
        they are what the user exported for."""
        lines = self.log.document().lineCount() + 1
        frame = 2 * (self.log.frameWidth() + int(self.log.document().documentMargin()))
        fitted = self.log.fontMetrics().lineSpacing() * lines + frame
        self.log.setFixedHeight(max(LOG_MIN_LINES * self.log.fontMetrics().lineSpacing(),
                                    min(fitted, LOG_HEIGHT)))
        screen = self.screen().availableGeometry()
        chrome = self.height() - self.scroll.viewport().height()  # the form, the buttons
        want = self.scroll.widget().minimumSizeHint().height() + chrome
        top = max(self.geometry().top(), screen.top())
        height = min(want, screen.bottom() - top)
        if height > self.height():
            self.resize(self.width(), height)
        QTimer.singleShot(0, self, self._scroll_to_tables)

    def _scroll_to_tables(self) -> None:
        self.scroll.ensureWidgetVisible(self.tables, 0, 0)

    def job_failed(self, message: str) -> None:
        self.error = message
        self.log.setPlainText(f"Export failed: {message}")

    def job_ended(self) -> None:
        self._set_running(False)
        self._update_problems()
        self.finished_export.emit(self.report is not None)
