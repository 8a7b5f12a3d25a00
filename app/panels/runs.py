"""Runs list: every run of the project with its settings, best metric, duration and status.

Selecting runs overlays their curves in the plots; a stopped or interrupted run can be
resumed (a remote one on its host, a failed remote one too); a remote run that is not
followed ("detached": the app was closed, or the link stayed down) can be attached again;
a remote run's artifacts as they are now (checkpoints, samples, metrics) can be
downloaded, also mid-run; a run's folder can be opened or deleted (after a confirmation).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.training import fmt_duration
from app.runs.history import RunSummary
from app.widgets.flow_layout import FlowLayout

COLUMNS = ("Run", "Status", "Best", "Duration", "Settings")
PATH_ROLE = Qt.ItemDataRole.UserRole
HOST_ROLE = Qt.ItemDataRole.UserRole + 1
RESUMABLE = ("stopped", "interrupted")
REMOTE_RESUMABLE = ("stopped", "failed")
ATTACHABLE = ("detached",)


class RunsPanel(QWidget):
    """Signals: ``selection_changed(run_dirs)``, ``resume_requested(run_dir)``,
    ``attach_requested(run_dir)``, ``download_requested(run_dir)``,
    ``delete_confirmed(run_dirs)`` (the user agreed to delete these folders),
    ``refresh_requested()``."""

    selection_changed = Signal(list)
    resume_requested = Signal(str)
    attach_requested = Signal(str)
    download_requested = Signal(str)
    delete_confirmed = Signal(list)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsPanel")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        for col, width in enumerate((150, 72, 110, 64)):  # Run, Status, Best fit a side dock
            self.tree.setColumnWidth(col, width)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected stopped run from its checkpoint "
                                      "(a remote run on its host)")
        self.attach_button = QPushButton("Attach")
        self.attach_button.setToolTip("Follow the selected remote run again: its events so far, "
                                      "then live ones; the artifacts download at its end")
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Fetch the selected remote run's files as they are now: "
                                        "last checkpoint, samples, metrics (also mid-run; "
                                        "Evaluation then uses the last checkpoint)")
        self.open_button = QPushButton("Open Folder")
        self.delete_button = QPushButton("Delete…")
        self.refresh_button = QPushButton("Refresh")
        row = FlowLayout()  # wraps in a narrow dock rather than widening the window
        for b in (self.resume_button, self.attach_button, self.download_button,
                  self.open_button, self.delete_button, self.refresh_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        self._summaries: dict[str, RunSummary] = {}
        self._live: str | None = None
        self._downloading = False
        self.tree.itemSelectionChanged.connect(self._on_tree_selection_changed)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.download_button.clicked.connect(self._on_download_button_clicked)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self._update_buttons()

    # -- content --------------------------------------------------------------------
    def set_runs(self, runs: list[RunSummary], live: str | None = None) -> None:
        """Show these runs, newest first; ``live`` is the run being trained now."""
        selected = set(self.selected_runs())
        self._live = live
        self._summaries = {s.run_dir: s for s in runs}
        self.tree.blockSignals(True)
        self.tree.clear()
        for s in sorted(runs, key=lambda r: r.name, reverse=True):
            status = "running" if s.run_dir == live else s.status
            name = f"{s.name} @ {s.host}" if s.host else s.name
            item = QTreeWidgetItem([name, status, s.best, fmt_duration(s.seconds) if s.epochs
                                    else "", s.settings])
            item.setData(0, PATH_ROLE, s.run_dir)
            item.setData(0, HOST_ROLE, s.host)
            tip = s.run_dir + (f"\n{s.message}" if s.message else "")
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            self.tree.addTopLevelItem(item)
            item.setSelected(s.run_dir in selected)
        self.tree.blockSignals(False)
        self._update_buttons()
        if set(self.selected_runs()) != selected:
            self.selection_changed.emit(self.selected_runs())

    def run_dirs(self) -> list[str]:
        return [self.tree.topLevelItem(i).data(0, PATH_ROLE)
                for i in range(self.tree.topLevelItemCount())]

    def status_of(self, run_dir: str) -> str:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, PATH_ROLE) == run_dir:
                return item.text(1)
        return ""

    def host_of(self, run_dir: str) -> str:
        """The SSH host of a listed remote run ("" for a local one)."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, PATH_ROLE) == run_dir:
                return item.data(0, HOST_ROLE) or ""
        return ""

    def selected_runs(self) -> list[str]:
        return [item.data(0, PATH_ROLE) for item in self.tree.selectedItems()]

    def select_runs(self, run_dirs: list[str]) -> None:
        wanted = set(run_dirs)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, PATH_ROLE) in wanted)

    def _update_buttons(self) -> None:
        sel = self.selected_runs()
        one = len(sel) == 1
        status = self.status_of(sel[0]) if one else ""
        remote = bool(one and self.host_of(sel[0]))
        self.resume_button.setEnabled(one and status in (REMOTE_RESUMABLE if remote else RESUMABLE))
        self.attach_button.setEnabled(remote and status in ATTACHABLE)
        self.download_button.setEnabled(remote and not self._downloading)
        self.open_button.setEnabled(one)
        self.delete_button.setEnabled(bool(sel) and self._live not in sel)

    def set_downloading(self, busy: bool) -> None:
        """A download is in flight (the button waits for it)."""
        self._downloading = busy
        self.download_button.setText("Downloading…" if busy else "Download")
        self._update_buttons()

    # -- handlers -------------------------------------------------------------------
    def _on_tree_selection_changed(self) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected_runs())

    def _on_resume_button_clicked(self) -> None:
        sel = self.selected_runs()
        if len(sel) == 1:
            self.resume_requested.emit(sel[0])

    def _on_attach_button_clicked(self) -> None:
        sel = self.selected_runs()
        if len(sel) == 1:
            self.attach_requested.emit(sel[0])

    def _on_download_button_clicked(self) -> None:
        sel = self.selected_runs()
        if len(sel) == 1:
            self.download_requested.emit(sel[0])

    def _on_open_button_clicked(self) -> None:
        sel = self.selected_runs()
        if len(sel) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(sel[0]))

    def _on_delete_button_clicked(self) -> None:
        sel = [s for s in self.selected_runs() if s != self._live]
        if not sel:
            return
        names = "\n".join(self._summaries[s].name if s in self._summaries else s for s in sel)
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete runs",
                          f"Delete {len(sel)} run folder(s) and everything in them?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(names)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.delete_confirmed.emit(sel)
