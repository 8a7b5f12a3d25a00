"""File > Import from PyTorch code: trace an ``nn.Module`` into a project and open it.

The dialog takes ``MODULE:CALLABLE`` (or a .py file and a callable name), one input per line
and a target ``.lforge`` path. :func:`engine.export.importer.import_module` runs on a
background thread and the project is written to the target; then the dialog asks the
window to open it (``open_project(path)``, and ``imported(path)``), which goes through the FileController so unsaved
changes are offered for saving first. A refusal (an unmapped layer, an fx trace failure)
is shown as the engine's sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.dialogs.job_dialog import JobDialog
from app.widgets.path_field import PathField, PathMode
from engine.blocks.base import TensorSpec
from engine.project import FILE_SUFFIX

INPUTS_HELP = ("One line per forward input: the per-sample shape without the batch, e.g.\n"
               "1,28,28 (-1 for a variable length). Token ids: add long and the vocabulary\n"
               "size, e.g. -1 long 100.")


class InputsError(ValueError):
    """The inputs text cannot be read; the message names the line."""


def parse_inputs(text: str) -> list[TensorSpec]:
    """``1,28,28`` / ``-1 long 100`` lines -> TensorSpecs."""
    specs = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputsError("give the shape of at least one input, e.g. 1,28,28")
    for i, line in enumerate(lines, 1):
        parts = line.replace(";", " ").split()
        try:
            dims = [int(d) for d in parts[0].split(",") if d.strip()]
        except ValueError:
            raise InputsError(f"input {i} ({line!r}): expected whole numbers like 1,28,28") from None
        if not dims or any(d == 0 or d < -1 for d in dims):
            raise InputsError(f"input {i} ({line!r}): sizes must be positive, or -1 for a "
                              "variable length")
        dtype, vocab = "float", None
        rest = [p.lower() for p in parts[1:]]
        if rest:
            dtype = rest[0]
            if dtype not in ("float", "long"):
                raise InputsError(f"input {i} ({line!r}): the type is float or long")
            if dtype == "long":
                if len(rest) != 2 or not rest[1].isdigit() or int(rest[1]) < 1:
                    raise InputsError(f"input {i} ({line!r}): a long (token id) input needs "
                                      "the vocabulary size, e.g. -1 long 100")
                vocab = int(rest[1])
            elif len(rest) > 1:
                raise InputsError(f"input {i} ({line!r}): only long inputs take a vocabulary")
        specs.append(TensorSpec(tuple(None if d == -1 else d for d in dims), dtype, vocab))
    return specs


@dataclass(frozen=True)
class Imported:
    """What the background job hands back: the written file and the notes for the user."""

    path: str
    blocks: int
    max_abs_diff: float
    messages: tuple[str, ...]


def run_import(target: str, specs: list[TensorSpec], out: Path,
               progress: Callable[[str], None]) -> Imported:
    """Import ``target`` and write the project to ``out`` (atomically). Worker thread."""
    from engine.export.importer import import_module, load_callable
    from engine.project import save_project

    progress(f"loading {target}")
    module = load_callable(target)
    progress("tracing with torch.fx and mapping layers to blocks")
    result = import_module(module, specs, name=target.rpartition(":")[2] or "imported")
    result.project.name = out.stem
    save_project(result.project, out)
    return Imported(str(out), len(result.graph.nodes), result.max_abs_diff,
                    tuple(result.messages))


class ImportDialog(JobDialog):
    """Emits ``imported(path)`` once a project was imported and written, then calls
    ``open_project(path)`` (the window's FileController), which may decline to open it."""

    busy_text = "The import is still running; close when it has finished."

    imported = Signal(str)

    def __init__(self, start_dir: Path, parent: QWidget | None = None,
                 open_project: Callable[[str], bool] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import from PyTorch code")
        self.setMinimumWidth(620)
        self.start_dir = start_dir
        self.open_project = open_project
        self.result: Imported | None = None
        self.error = ""

        self.target = QLineEdit()
        self.target.setPlaceholderText("mypkg.nets:make_model  or  path/to/model.py:Net")
        self.target_browse = QPushButton("Python file…")
        self.inputs = QPlainTextEdit()
        self.inputs.setPlainText("1,28,28")
        self.inputs.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.inputs.setFixedHeight(self.inputs.fontMetrics().lineSpacing() * 4 + 12)
        self.help = QLabel(INPUTS_HELP)
        self.help.setTextFormat(Qt.TextFormat.PlainText)
        self.help.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.out = PathField(PathMode.SAVE_FILE, "Save the imported project as",
                             name_filter=f"LayerForge projects (*{FILE_SUFFIX})",
                             suffix=FILE_SUFFIX)
        self.out.setText(str(start_dir / f"imported{FILE_SUFFIX}"))
        self.log = self.make_job_log("The import's progress and result appear here.", 120)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = self.buttons.addButton("Import",
                                                    QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button.setDefault(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        row = QHBoxLayout()
        row.addWidget(self.target, 1)
        row.addWidget(self.target_browse)
        form.addRow("Module:", row)
        form.addRow("Inputs:", self.inputs)
        form.addRow("", self.help)
        form.addRow("Save as:", self.out)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.log, 1)
        box.addWidget(self.buttons)

        self.target_browse.clicked.connect(self._on_target_browse_clicked)
        self.import_button.clicked.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)


    def _on_target_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file", str(self.start_dir),
                                              "Python files (*.py)")
        if path:
            name = self.target.text().rpartition(":")[2] if ":" in self.target.text() else ""
            self.target.setText(f"{path}:{name}")
            self.target.setFocus()
            self.target.end(False)

    def _problem(self) -> str:
        target = self.target.text().strip()
        module, sep, name = target.rpartition(":")
        if not sep or not module or not name:
            return ("give MODULE:CALLABLE, e.g. mypkg.nets:make_model, or a Python file and "
                    "the callable's name, e.g. model.py:Net")
        out = self.out.text().strip()
        if not out.endswith(FILE_SUFFIX):
            return f"the project file must end in {FILE_SUFFIX}"
        if not Path(out).parent.is_dir():
            return f"the folder {Path(out).parent} does not exist"
        return ""

    def start_import(self) -> bool:
        """Start the import in the background; False when input is missing or one runs."""
        if self.busy():
            return False
        problem = self._problem()
        specs: list[TensorSpec] = []
        if not problem:
            try:
                specs = parse_inputs(self.inputs.toPlainText())
            except InputsError as e:
                problem = str(e)
        if problem:
            self.log.setPlainText(f"Cannot import: {problem}.")
            return False
        out = Path(self.out.text().strip())
        if out.exists() and not self._confirm_replace(out):
            return False
        target = self.target.text().strip()
        self.result, self.error = None, ""
        self.log.setPlainText(f"Importing {target}…")
        self._set_running(True)
        self.run_job(lambda report: run_import(target, specs, out, report))
        return True

    def _confirm_replace(self, out: Path) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Replace file",
                          f"{out} exists. Replace it with the imported project?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _set_running(self, running: bool) -> None:
        for w in (self.target, self.target_browse, self.inputs, self.out, self.import_button):
            w.setEnabled(not running)

    def job_succeeded(self, result: Imported) -> None:
        self.result = result
        lines = [f"Imported {result.blocks} blocks into {result.path}.",
                 f"Max absolute difference from the module: {result.max_abs_diff:.3g}",
                 *result.messages]
        self.log.setPlainText("\n".join(lines))

    def job_failed(self, message: str) -> None:
        self.error = message
        self.log.setPlainText(f"Import failed: {message}")

    def job_ended(self) -> None:
        self._set_running(False)
        if self.result is not None:
            self.imported.emit(self.result.path)
            if self.open_project is not None and not self.open_project(self.result.path):
                self.log.appendPlainText("The project was saved but not opened.")
