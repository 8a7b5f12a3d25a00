"""Runs list: every run of the project with its settings, best metric, duration and status.

Selecting runs overlays their curves in the plots; a stopped or interrupted run can be
resumed (a remote one on its host, a failed remote one too); a remote run that is not
followed ("detached": the app was closed, or the link stayed down) can be attached again;
a remote run's artifacts as they are now (checkpoints, samples, metrics) can be
downloaded, also mid-run; a run's folder can be opened or deleted (after a confirmation).
What each run cost (wall time, GPU- or core-hours, peak memory, cost; its usage.json, see
engine.train.usage) has its columns, and the line under the list totals the project.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.runs.history import RunSummary
from app.runs.records import run_usage
from app.widgets.flow_layout import FlowLayout
from engine.train.usage import (
    Usage,
    describe,
    describe_total,
    fmt_compute,
    fmt_cost,
    fmt_memory,
    fmt_wall,
    project_total,
)

COLUMNS = ("Run", "Status", "Best", "Wall time", "Compute", "Peak memory", "Cost", "Settings")
#: the usage columns (wall time is the run's usage record, else the epochs' time)
USAGE_COLUMNS = (3, 4, 5, 6)
PATH_ROLE = Qt.ItemDataRole.UserRole
HOST_ROLE = Qt.ItemDataRole.UserRole + 1
RESUMABLE = ("stopped", "interrupted")
REMOTE_RESUMABLE = ("stopped", "failed")
ATTACHABLE = ("detached", "queued")  # queued: a Slurm job waiting for the scheduler


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
        # Run, Status, Best fit a side dock; the usage columns fit "0.0123 core-h"
        for col, width in enumerate((150, 72, 110, 84, 104, 92, 96)):
            self.tree.setColumnWidth(col, width)
        self.total_label = QLabel()
        self.total_label.setObjectName("RunsTotal")
        self.total_label.setTextFormat(Qt.TextFormat.PlainText)
        self.total_label.setWordWrap(True)
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
        layout.addWidget(self.total_label)
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
        usages: list[Usage | None] = []
        for s in sorted(runs, key=lambda r: r.name, reverse=True):
            status = "running" if s.run_dir == live and s.status != "queued" else s.status
            name = f"{s.name} @ {s.host}" if s.host else s.name
            usage = run_usage(s.run_dir)
            usages.append(usage)
            wall, compute, memory, cost = _usage_cells(usage)
            if not wall and s.epochs:
                wall = fmt_wall(s.seconds)  # the epochs' time: a run from before usage.json
            item = QTreeWidgetItem([name, status, s.best, wall, compute, memory, cost,
                                    s.settings])
            item.setData(0, PATH_ROLE, s.run_dir)
            item.setData(0, HOST_ROLE, s.host)
            tip = s.run_dir + (f"\n{s.message}" if s.message else "")
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            if usage is not None:
                for col in USAGE_COLUMNS:
                    item.setToolTip(col, describe(usage))
            self.tree.addTopLevelItem(item)
            item.setSelected(s.run_dir in selected)
        self.tree.blockSignals(False)
        self._show_total(usages)
        self._update_buttons()
        if set(self.selected_runs()) != selected:
            self.selection_changed.emit(self.selected_runs())

    def _show_total(self, usages: list[Usage | None]) -> None:
        """The project's total under the list (runs without a record are left out)."""
        total = project_total(usages)
        self.total_label.setVisible(bool(usages))
        missing = sum(u is None for u in usages)
        more = (f" ({missing} run{'s' if missing != 1 else ''} without a usage record)"
                if missing and total["runs"] else "")
        self.total_label.setText(f"Project total: {describe_total(total)}{more}")
        self.total_label.setToolTip("Wall time from each job's start to its end; compute = "
                                    "hours x GPUs (or CPU cores); cost = hours x the host's "
                                    "price per hour. Queue time, storage and data transfer "
                                    "are not counted.")

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
        self.attach_button.setEnabled(remote and status in ATTACHABLE and sel[0] != self._live)
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


def _usage_cells(u: Usage | None) -> tuple[str, str, str, str]:
    """Wall time, compute, peak memory and cost of a run's record ("" without one)."""
    if u is None:
        return "", "", "", ""
    cost = fmt_cost(u.cost, u.currency) if u.cost is not None else "no price"  # tooltip: why
    return fmt_wall(u.wall_s), fmt_compute(u), fmt_memory(u.peak_memory_mb), cost
