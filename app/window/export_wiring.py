"""Export, import-from-code and remote hosts in the editor: menu actions, the dialogs, and
the canvas flags on blocks that cannot be exported to ONNX.

``install_export(workspace)`` is called once, at the end of ``Workspace.__init__``. It adds
File > Export…, File > Import from PyTorch Code… and Tools > Remote Hosts…, and keeps a grey
badge (tooltip: the reason, from ``engine.export.onnx_problems``) on every block whose
``onnx_issue`` is set, refreshed on each ``analysis_updated``.

For screenshots and manual checks, ``LAYERFORGE_OPEN_DIALOG=export|import|hosts`` opens that
dialog right after start-up and prints ``layerforge-dialog X Y W H`` (its place on the
screen, to crop a screenshot to); ``export!`` also starts the export.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu

from engine.export.onnx_export import onnx_problems

if TYPE_CHECKING:
    from app.dialogs.export import ExportDialog
    from app.dialogs.hosts import HostsDialog
    from app.dialogs.import_module import ImportDialog
    from app.window.workspace import Workspace

ENV_DIALOG = "LAYERFORGE_OPEN_DIALOG"
ONNX_PREFIX = "Cannot be exported to ONNX: "


def _menu(window, key: str, title: str) -> QMenu:
    """The window's menu ``key``, made (before Help) when no other module made it yet."""
    menus: dict[str, QMenu] = window.menus
    if key not in menus:
        menu = QMenu(title, window)
        help_menu = menus.get("help")
        bar = window.menuBar()
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        menus[key] = menu
    return menus[key]


class ExportWiring(QObject):
    """Owns the three actions and the dialogs they open, and the ONNX flags on the canvas."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        self.ws = ws
        window = ws.window
        self.export_action = QAction("&Export…", window)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Export a graph to ONNX, safetensors, PyTorch code or "
                                        "torch.export")
        self.import_action = QAction("&Import from PyTorch Code…", window)
        self.import_action.setStatusTip("Turn a PyTorch nn.Module into a project")
        self.hosts_action = QAction("&Remote Hosts…", window)
        self.hosts_action.setStatusTip("Add, edit and test SSH hosts for remote training")
        file_menu = window.menus["file"]
        quit_action = ws.actions.quit
        file_menu.insertActions(quit_action, [self.export_action, self.import_action])
        file_menu.insertSeparator(quit_action)
        _menu(window, "tools", "&Tools").addAction(self.hosts_action)
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.hosts_dialog: HostsDialog | None = None
        self.export_action.triggered.connect(self.open_export)
        self.import_action.triggered.connect(self.open_import)
        self.hosts_action.triggered.connect(self.open_hosts)
        doc = ws.document
        doc.analysis_updated.connect(self._on_document_analysis_updated)
        doc.project_replaced.connect(self._on_document_project_replaced)
        self.flag_all()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        which = os.environ.get(ENV_DIALOG, "")
        opener = {"export": self.open_export, "import": self.open_import,
                  "hosts": self.open_hosts}.get(which.rstrip("!"))
        if opener is not None:
            QTimer.singleShot(300, lambda: self._open_for_screenshot(opener,
                                                                     which.endswith("!")))

    @staticmethod
    def _open_for_screenshot(opener, start: bool) -> None:
        dialog = opener()
        if start and hasattr(dialog, "start_export"):  # "export!": export at once
            dialog.start_export()
        # Where it landed, so a screenshot of the whole screen can be cropped to it.
        QTimer.singleShot(500, lambda: print(
            "layerforge-dialog {} {} {} {}".format(*dialog.frameGeometry().getRect()),
            flush=True))

    # -- ONNX flags on the canvas ------------------------------------------------------
    def flag_graph(self, graph: str) -> dict[str, str]:
        """Set or clear the export badge of every block of ``graph``; node id -> reason."""
        view = self.ws.tabs.views.get(graph)
        if view is None or graph not in self.ws.document.project.graphs:
            return {}
        issues = dict(onnx_problems(self.ws.document.graph(graph), self.ws.document.analysis(graph)))
        for node_id, item in view.graph_scene.nodes.items():
            reason = issues.get(node_id)
            item.set_export_issue(ONNX_PREFIX + reason if reason else "")
        return issues

    def flag_all(self) -> None:
        for graph in self.ws.document.graph_names():
            self.flag_graph(graph)

    def _on_document_analysis_updated(self, graph: str) -> None:
        self.flag_graph(graph)

    def _on_document_project_replaced(self) -> None:
        self.flag_all()

    # -- dialogs -----------------------------------------------------------------------
    def _start_dir(self) -> Path:
        path = self.ws.document.path
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
            self.export_dialog = ExportDialog(self.ws.document, self.ws.window)
            self.export_dialog.show()
        return self.export_dialog

    def open_import(self) -> ImportDialog:
        from app.dialogs.import_module import ImportDialog

        if not self._reuse(self.import_dialog):
            if self.import_dialog is not None:
                self.import_dialog.deleteLater()
            self.import_dialog = ImportDialog(self._start_dir(), self.ws.window,
                                              open_project=self.ws.files.open_path)
            self.import_dialog.show()
        return self.import_dialog

    def open_hosts(self) -> HostsDialog:
        from app.dialogs.hosts import HostsDialog

        if not self._reuse(self.hosts_dialog):
            if self.hosts_dialog is not None:
                self.hosts_dialog.deleteLater()
            self.hosts_dialog = HostsDialog(self.ws.window)
            self.hosts_dialog.show()
        return self.hosts_dialog

    def shutdown(self) -> None:
        """Wait for background jobs of open dialogs (closing the window)."""
        for dialog in (self.export_dialog, self.import_dialog, self.hosts_dialog):
            if dialog is not None:
                dialog.wait()


def install_export(ws: Workspace) -> ExportWiring:
    """Add export, import and remote-hosts actions to the window, and the ONNX flags."""
    wiring = ExportWiring(ws)
    ws.export_wiring = wiring  # type: ignore[attr-defined]
    return wiring
