"""The Export dialog: one graph of the project (untrained) or of a run (trained weights) to
ONNX, safetensors, standalone PyTorch code or torch.export, verified in the background.

The export itself is :func:`engine.export.export`; this dialog only gathers its arguments,
runs it as its background job (one at a time: the button is disabled while it runs) and
shows the report or the error sentence. Blocks that cannot go to ONNX are listed before
the user tries (the canvas flags them too, see ``app/window/features/export.py``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.job_dialog import JobDialog
from app.document import GraphDocument
from app.widgets.combos import shrink_combo
from app.widgets.path_field import PathField, PathMode
from engine.export import DEFAULT_OPSET, FORMATS, SUFFIX, ExportReport, onnx_problems
from engine.project import Project, ProjectError, load_project

PROJECT_SOURCE = ""  # the source combo's data for "this project (untrained)"
FORMAT_TEXT = {
    "onnx": "ONNX (.onnx), checked with onnxruntime",
    "safetensors": "safetensors (weights + graph)",
    "python": "Standalone PyTorch code (model.py)",
    "pt2": "torch.export program (.pt2)",
}
PT2_CAVEAT = ("A .pt2 file is tied to the PyTorch version that wrote it, and loading it\n"
              "may unpickle parts of the archive: load only files you trust.")
UNTRAINED_NOTE = ("Exports the project as it is now, with UNTRAINED weights (the seeded\n"
                  "initial values). Pick a run for trained weights.")


def plain_label(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def describe_report(report: ExportReport) -> str:
    """The result view's text: what was written and how it was verified."""
    lines = [f"Exported graph {report.graph} as {report.format}"
             + (" (trained weights)." if report.trained else " (untrained weights).")]
    lines += [f"Warning: {w}" for w in report.warnings]
    if report.max_abs_diff:
        lines.append("")
        lines.append("Max absolute difference from PyTorch:")
        lines += [f"  {case}: {diff:.3g}" for case, diff in report.max_abs_diff.items()]
        if report.tolerance is not None:
            lines.append(f"  (tolerance {report.tolerance:g} + relative)")
    if report.opset is not None:
        lines.append(f"ONNX opset: {report.opset}")
    lines.append("")
    lines.append("Files:")
    lines += [f"  {f}" for f in report.files]
    cards = [f for f in report.files if f.name.endswith("README.md")]
    if cards:
        lines.append(f"Model card: {cards[0]}")
    return "\n".join(lines)


def _started(run_dir: Path) -> float:
    """When a run began: its project snapshot is written first."""
    for path in (run_dir / "project.lforge", run_dir):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def _finished_with_weights(run_dir: Path) -> bool:
    """Whether a run folder holds the trained weights of a run that finished (a failed or
    stopped run, or a remote one not yet downloaded, does not)."""
    from app.runs.history import summarize
    from engine.train.rundir import WEIGHTS

    return (run_dir / WEIGHTS).is_file() and summarize(run_dir).status == "finished"


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
        self._source_project: Project | None = None  # the run snapshot, once read

        self.source = QComboBox()
        self.source_browse = QPushButton("Run folder…")
        self.source_note = plain_label()  # wraps: a refusal names the run folder
        self.graph = QComboBox()
        self.format = QComboBox()
        for fmt in FORMATS:
            self.format.addItem(FORMAT_TEXT[fmt], fmt)
        self.caveat = plain_label(PT2_CAVEAT, wrap=False)
        self.opset = QSpinBox()
        self.opset.setRange(7, 30)
        self.opset.setValue(DEFAULT_OPSET)
        self.opset.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.out = PathField(PathMode.SAVE_FILE)
        self.problems = plain_label()
        self.log = self.make_job_log("Progress and the verification results appear here.", 240)
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
        self.out.edited.connect(self._on_out_edited)
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        self._on_source_changed()

    def _layout(self) -> None:
        form = QFormLayout()
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
        form.addRow("ONNX opset:", self.opset)
        form.addRow("Save to:", self.out)
        form.addRow("", self.problems)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.log, 1)
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
        """The project, then its runs newest first: the ones recorded in the project and
        the run folders of this project found on disk (a run of a project that was not
        saved afterwards), the same list the Runs panel shows (``known_run_dirs``)."""
        from app.runs.records import known_run_dirs, resolve_ref

        self.source.addItem("This project (untrained weights)", PROJECT_SOURCE)
        doc = self.document
        refs = {resolve_ref(doc, r).resolve(): r for r in doc.project.runs}
        found = [p for p in known_run_dirs(doc) if p.is_dir()]
        for path in sorted(found, key=_started, reverse=True):
            run = refs.get(path)
            if run is not None:
                when = f", {run.started}" if run.started else ""
                self.source.addItem(f"Run {run.id} ({run.host}{when})", str(path))
            else:
                self.source.addItem(f"Run {path.name} (found on disk)", str(path))

    def select_default_source(self) -> None:
        """Select the newest finished run (listed newest first): its trained weights are
        what one exports; the untrained project only when no run has finished."""
        for i in range(1, self.source.count()):
            path = self.source.itemData(i)
            if path and _finished_with_weights(Path(path)):
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
        if path:
            try:
                self._source_project = load_project(Path(path) / "project.lforge")
                self.source_note.setText("Trained weights from this run's weights.safetensors.")
            except ProjectError as e:
                self.source_note.setText(f"This run cannot be exported: {e}")
        else:
            self.source_note.setText(UNTRAINED_NOTE)
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
        self._on_format_changed()

    def _on_format_changed(self, *_args: object) -> None:
        fmt = self.chosen_format()
        self.caveat.setVisible(fmt == "pt2")
        self.opset.setEnabled(fmt == "onnx")
        if fmt == "python":
            self.out.set_mode(PathMode.FOLDER, "Export into folder",
                              start_dir=lambda: str(self._base_dir()))
        else:
            self.out.set_mode(PathMode.SAVE_FILE, "Export to", suffix=SUFFIX[fmt],
                              name_filter=f"{fmt} files (*{SUFFIX[fmt]})")
        if not self._out_edited:
            self.out.setText(str(self.default_out()))
        self._update_problems()

    def default_out(self) -> Path:
        fmt, graph = self.chosen_format(), self.graph.currentText() or "model"
        if fmt == "python":
            return self._base_dir() / f"{graph}-python"
        return self._base_dir() / f"{graph}{SUFFIX[fmt]}"

    def onnx_issues(self) -> list[tuple[str, str]]:
        project = self._graph_project()
        graph = project.graphs.get(self.graph.currentText()) if project else None
        return onnx_problems(graph) if graph is not None else []

    def _update_problems(self) -> None:
        issues = self.onnx_issues() if self.chosen_format() == "onnx" else []
        if issues:
            lines = [f"{node}: {reason}" for node, reason in issues]
            self.problems.setText("These blocks cannot be exported to ONNX (flagged on the "
                                  "canvas):\n" + "\n".join(lines))
        self.problems.setVisible(bool(issues))
        project_ok = self._graph_project() is not None and self.graph.count() > 0
        self.export_button.setEnabled(not self.busy() and project_ok and not issues)

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
        path = self.source_path()
        if path:
            source: str | Source = path
        else:  # the project as edited now, saved or not: a snapshot for the thread
            project = self.document.project.model_copy(deep=True)
            origin = Path(self.document.path or f"{project.name}.lforge")
            source = Source(project, graph, project.graphs[graph], origin)
        self.report, self.error = None, ""
        self.log.setPlainText(f"Exporting {graph} as {fmt}…")
        self._set_running(True)
        self.run_job(lambda report: export(source, fmt, out, graph=graph, opset=opset,
                                           progress=report))
        return True

    def _set_running(self, running: bool) -> None:
        for w in (self.source, self.source_browse, self.format, self.opset, self.out):
            w.setEnabled(not running)
        self.graph.setEnabled(not running and self.graph.count() > 1)
        if running:
            self.export_button.setEnabled(False)
        self.opset.setEnabled(not running and self.chosen_format() == "onnx")

    def job_succeeded(self, result: ExportReport) -> None:
        self.report = result
        self.log.setPlainText(describe_report(result))

    def job_failed(self, message: str) -> None:
        self.error = message
        self.log.setPlainText(f"Export failed: {message}")

    def job_ended(self) -> None:
        self._set_running(False)
        self._update_problems()
        self.finished_export.emit(self.report is not None)
