"""Export, import-from-code and remote hosts in the editor: menu actions, the dialogs, and
the canvas flags on blocks that cannot be exported to ONNX.

Adds File > Export…, File > Import from PyTorch Code… and Tools > Remote Hosts…, and keeps
a grey badge (tooltip: the reason, from ``engine.export.onnx_problems``) on every block
whose ``onnx_issue`` is set, refreshed on each ``analysis_updated``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu

from engine.export.onnx_export import onnx_problems

if TYPE_CHECKING:
    from app.canvas.tabs import CanvasTabs
    from app.dialogs.export import ExportDialog
    from app.dialogs.hosts import HostsDialog
    from app.dialogs.import_module import ImportDialog
    from app.document import GraphDocument
    from app.window.main_window import MainWindow

ONNX_PREFIX = "Cannot be exported to ONNX: "


class ExportFeature(QObject):
    """Owns the three actions and the dialogs they open, and the ONNX flags on the canvas.
    ``open_project(path)`` opens a project the import dialog made."""

    def __init__(self, window: MainWindow, document: GraphDocument, tabs: CanvasTabs, *,
                 before: QAction, open_project: Callable[[str], object]) -> None:
        super().__init__(window)
        self.window, self.document, self.tabs = window, document, tabs
        self._open_project = open_project
        self.export_action = QAction("&Export…", window)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Export a graph to ONNX, safetensors, PyTorch code or "
                                        "torch.export")
        self.import_action = QAction("&Import from PyTorch Code…", window)
        self.import_action.setStatusTip("Turn a PyTorch nn.Module into a project")
        self.hosts_action = QAction("&Remote Hosts…", window)
        self.hosts_action.setStatusTip("Add, edit and test SSH hosts for remote training")
        file_menu = window.menus["file"]
        file_menu.insertActions(before, [self.export_action, self.import_action])
        file_menu.insertSeparator(before)
        tools = QMenu("&Tools", window)
        window.menuBar().insertMenu(window.menus["help"].menuAction(), tools)
        window.menus["tools"] = tools
        tools.addAction(self.hosts_action)
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.hosts_dialog: HostsDialog | None = None
        self.export_action.triggered.connect(self.open_export)
        self.import_action.triggered.connect(self.open_import)
        self.hosts_action.triggered.connect(self.open_hosts)
        document.analysis_updated.connect(self._on_document_analysis_updated)
        document.project_replaced.connect(self._on_document_project_replaced)
        self.flag_all()

    # -- ONNX flags on the canvas ------------------------------------------------------
    def flag_graph(self, graph: str) -> dict[str, str]:
        """Set or clear the export badge of every block of ``graph``; node id -> reason."""
        view = self.tabs.views.get(graph)
        if view is None or graph not in self.document.project.graphs:
            return {}
        issues = dict(onnx_problems(self.document.graph(graph), self.document.analysis(graph)))
        for node_id, item in view.graph_scene.nodes.items():
            reason = issues.get(node_id)
            item.set_export_issue(ONNX_PREFIX + reason if reason else "")
        return issues

    def flag_all(self) -> None:
        for graph in self.document.graph_names():
            self.flag_graph(graph)

    def _on_document_analysis_updated(self, graph: str) -> None:
        self.flag_graph(graph)

    def _on_document_project_replaced(self) -> None:
        self.flag_all()
        # An Export dialog lists the previous project's graphs and runs: close it, unless
        # its export is still running (that one finishes for the project it started from).
        dialog = self.export_dialog
        if dialog is not None and not dialog.busy():
            dialog.close()
            dialog.deleteLater()
            self.export_dialog = None

    # -- dialogs -----------------------------------------------------------------------
    def _start_dir(self) -> Path:
        path = self.document.path
        return Path(path).parent if path else Path.home()

    @staticmethod
    def _reuse(dialog: QDialog | None) -> bool:
        if dialog is not None and dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
            return True
        return False

    def open_export(self) -> ExportDialog:
        from app.dialogs.export import ExportDialog

        if not self._reuse(self.export_dialog):
            if self.export_dialog is not None:
                self.export_dialog.deleteLater()
            self.export_dialog = ExportDialog(self.document, self.window)
            self.export_dialog.show()
        return self.export_dialog

    def open_import(self) -> ImportDialog:
        from app.dialogs.import_module import ImportDialog

        if not self._reuse(self.import_dialog):
            if self.import_dialog is not None:
                self.import_dialog.deleteLater()
            self.import_dialog = ImportDialog(self._start_dir(), self.window,
                                              open_project=self._open_project)
            self.import_dialog.show()
        return self.import_dialog

    def open_hosts(self) -> HostsDialog:
        from app.dialogs.hosts import HostsDialog

        if not self._reuse(self.hosts_dialog):
            if self.hosts_dialog is not None:
                self.hosts_dialog.deleteLater()
            self.hosts_dialog = HostsDialog(self.window)
            self.hosts_dialog.show()
        return self.hosts_dialog

    def shutdown(self) -> None:
        """Wait for background jobs of open dialogs (closing the window)."""
        for dialog in (self.export_dialog, self.import_dialog, self.hosts_dialog):
            if dialog is not None:
                dialog.wait()
