"""New, open, save, save as, recent files, ask-to-save and crash recovery offers.

Every dialog is a small function here; user-facing errors are ProjectError sentences shown
as plain text, never a traceback.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from app.document import EditError, GraphDocument
from app.runs.carry import DEFAULT_NAME, Carried, carry_runs
from app.settings import ENV_CONFIG_DIR, RecentFiles, config_dir
from app.window.gallery import TemplateGalleryDialog
from app.window.recovery import AutosaveController, Recovery, RecoveryStore
from engine.layout import apply_layout
from engine.project import FILE_SUFFIX, Project, ProjectError, load_project
from engine.sweep.config import study_kept
from engine.templates import load_template, template_path

FILTER = f"LayerForge projects (*{FILE_SUFFIX});;All files (*)"


def show_error(parent: QWidget, title: str, message: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok,
                      parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def ask_save_changes(parent: QWidget, name: str) -> str:
    """'save', 'discard' or 'cancel'."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"Save the changes to {name} before closing it?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(
        QMessageBox.StandardButton(answer), "cancel")


def ask_restore(parent: QWidget, recovery: Recovery) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved changes?",
                      f"LayerForge did not close normally. Restore the unsaved changes to "
                      f"{recovery.describe()}?", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore


def needs_layout(project: Project) -> list[str]:
    """Graphs whose blocks all sit on one spot (generated or imported): lay them out."""
    return [name for name, g in project.graphs.items()
            if len(g.nodes) > 1 and len({tuple(n.position) for n in g.nodes}) == 1]


def display_name(path: str | None) -> str:
    return Path(path).name if path else "untitled"


@dataclass(frozen=True)
class RecentEntry:
    path: str
    exists: bool


def examples_dir(chosen: str | None = None) -> Path:
    """A user-writable folder for copies of the shipped examples (they are never edited in
    place: the install may be read-only, and runs are written next to the project):
    ``chosen`` when given (WindowOptions.examples_dir)."""
    if chosen:
        return Path(chosen)
    if os.environ.get(ENV_CONFIG_DIR):  # an isolated configuration keeps its data with it
        return config_dir() / "examples"
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base or Path.home() / ".local" / "share") / "layerforge" / "examples"


def example_copy(name: str, folder: Path | None = None) -> Path:
    """A copy of the template ``name`` in ``folder`` (default :func:`examples_dir`). An
    earlier copy that still loads is reused (it keeps its runs); a broken one is left alone
    for a fresh copy."""
    source = template_path(name)
    folder = folder or examples_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    n = 2
    while target.exists():
        try:
            load_project(target)
            return target
        except ProjectError:
            target = folder / f"{source.stem}-{n}{FILE_SUFFIX}"
            n += 1
    shutil.copyfile(source, target)
    target.chmod(0o644)  # the installed file may be read-only
    return target


class FileController(QObject):
    def __init__(self, window: QWidget, doc: GraphDocument, autosave: AutosaveController,
                 store: RecoveryStore, settings: QSettings, *, recovery_answer: str = "",
                 examples: str | None = None) -> None:
        super().__init__(window)
        self.recovery_answer = recovery_answer  # "restore"/"discard": answer without asking
        self.examples = examples_dir(examples)  # where Train an Example copies the example
        self.window = window
        self.doc = doc
        self.autosave = autosave
        self.store = store
        self.settings = settings
        self.recent = RecentFiles(settings)
        #: the run folders being trained now, which Save As leaves where they are (the
        #: workspace points it at the training feature)
        self.live_runs: Callable[[], list[str]] = list
        #: what the last Save As did with the runs (tests, the status bar)
        self.last_carried: Carried | None = None

    def recent_entries(self) -> list[RecentEntry]:
        """The recent files, newest first, each marked present or missing (the Open Recent
        menu and the welcome page both list these)."""
        return [RecentEntry(p, Path(p).is_file()) for p in self.recent.paths()]

    # -- opening -----------------------------------------------------------------------
    def new_project(self) -> bool:
        if not self.confirm_close():
            return False
        dialog = TemplateGalleryDialog(self.window)
        if dialog.exec() != TemplateGalleryDialog.DialogCode.Accepted:
            return False
        return self.new_from_template(dialog.chosen())

    def new_from_template(self, name: str) -> bool:
        try:
            project = load_template(name) if name else Project()
        except ProjectError as e:
            show_error(self.window, "Cannot create the project", str(e))
            return False
        for graph in needs_layout(project):
            apply_layout(project.graphs[graph])
        self.autosave.discard()
        self.doc.replace_project(project, None)
        return True

    def open_dialog(self) -> bool:
        start = str(Path(self.doc.path).parent) if self.doc.path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, FILTER)
        return self.open_path(path) if path else False

    def open_path(self, path: str, confirm: bool = True) -> bool:
        """Open a project file (asking to save the current one first); False if not opened."""
        if confirm and not self.confirm_close():
            return False
        try:
            project = load_project(path)
        except ProjectError as e:
            show_error(self.window, "Cannot open the project", str(e))
            if not Path(path).exists():
                self.recent.remove(str(Path(path).resolve()))
            return False
        for graph in needs_layout(project):
            apply_layout(project.graphs[graph])
        self.autosave.discard()
        self.doc.replace_project(project, str(Path(path).resolve()))
        self.recent.add(path)
        self.offer_recovery(self.doc.path)
        return True

    def offer_recovery(self, path: str | None) -> bool:
        """If a crash left unsaved changes to ``path`` (or, with None, to any project),
        offer them back; True when they were restored."""
        recovery = self.store.find(path)
        if recovery is None:
            return False
        answer = self.recovery_answer or str(self.settings.value("recovery/answer", ""))
        restore = (answer == "restore" if answer in ("restore", "discard")
                   else ask_restore(self.window, recovery))
        if not restore:
            recovery.file.unlink(missing_ok=True)
            return False
        try:
            project = recovery.load()
        except ProjectError as e:
            show_error(self.window, "Cannot restore the changes", str(e))
            return False
        self.doc.replace_project(project, recovery.path, dirty=True)
        self.autosave.adopt(recovery.path)
        return True

    # -- saving ------------------------------------------------------------------------
    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        """Ask where, then :meth:`save_to_new`."""
        start = self.doc.path or str(Path.home() / f"{self.doc.project.name}{FILE_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", start, FILTER)
        return self.save_to_new(path) if path else False

    def save_to_new(self, path: str) -> bool:
        """Save As ``path``. The project's runs go along (app/runs/carry.py), a project
        still named by default takes the file's name, and the status bar says what was
        done with the runs."""
        if not path.endswith(FILE_SUFFIX):
            path += FILE_SUFFIX
        if self.doc.path is not None and Path(path).resolve() == Path(self.doc.path).resolve():
            return self._save_to(path)
        return self._save_as(path)

    def _save_as(self, path: str) -> bool:
        doc = self.doc
        old_name, old_runs = doc.project.name, list(doc.project.runs)
        name = Path(path).stem if self._named_by_default() else None
        carried = carry_runs(doc, path, live=self.live_runs(), name=name)
        old_sweep = doc.project.sweep
        kept = study_kept(doc.project, doc.path, path) if doc.path is not None else None
        if kept:  # the sweep's study stays where it is: the new file names it
            doc.project.sweep = old_sweep.model_copy(update={"name": kept[0],
                                                             "storage": kept[1]})
        if name:
            doc.project.name = name  # part of the save, like the path: not an undoable edit
        if carried.runs != old_runs:
            doc.set_runs(carried.runs)
        if self._save_to(path):
            self.last_carried = carried
            message = carried.message()
            if message:
                self.say(message)
            return True
        carried.undo()  # the file was not written: the runs go back where the project says
        doc.project.name = old_name
        doc.project.sweep = old_sweep
        if carried.runs != old_runs:
            doc.set_runs(old_runs)
        return False

    def _named_by_default(self) -> bool:
        """Whether the project's name is one it was given, not chosen: "untitled", a
        template's name (an unsaved project), or its file's name (it follows the file)."""
        name = self.doc.project.name
        return (name in ("", DEFAULT_NAME) or self.doc.path is None
                or name == Path(self.doc.path).stem)

    def say(self, message: str) -> None:
        """A message in the window's status bar (long enough to read a path)."""
        bar = self.window.statusBar() if isinstance(self.window, QMainWindow) else None
        if bar is not None:
            bar.showMessage(message, 15000)

    def _save_to(self, path: str) -> bool:
        try:
            self.doc.save(path)
        except (ProjectError, EditError) as e:
            show_error(self.window, "Cannot save the project", str(e))
            return False
        self.recent.add(path)
        return True

    def confirm_close(self) -> bool:
        """Ask the window's leave guards (a running sweep), then to save unsaved changes:
        True to go on (saved or discarded), False to stay."""
        confirm_leave = getattr(self.window, "confirm_leave", None)
        if confirm_leave is not None and not confirm_leave():
            return False
        if not self.doc.is_dirty():
            return True
        answer = ask_save_changes(self.window, display_name(self.doc.path))
        if answer == "save":
            return self.save()
        if answer == "discard":
            self.autosave.discard()
            return True
        return False
