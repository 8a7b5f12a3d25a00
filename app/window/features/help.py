"""The Help menu's windows: the user guide (one per main window, raised if open), the
keyboard shortcuts and About."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from app.dialogs.help import UserGuideDialog
    from app.dialogs.shortcuts import ShortcutsDialog
    from app.window.actions import EditorActions
    from app.window.main_window import MainWindow


class HelpFeature(QObject):
    """``guide_path``: the guide shown (None: docs/user-guide.md; tests point elsewhere)."""

    def __init__(self, window: MainWindow, actions: EditorActions) -> None:
        super().__init__(window)
        self.window = window
        self.guide_path: str | None = None
        self._guide: UserGuideDialog | None = None
        actions.user_guide.triggered.connect(self.show_user_guide)
        actions.shortcuts.triggered.connect(self.show_shortcuts)
        actions.about.triggered.connect(self.about)

    def show_user_guide(self) -> UserGuideDialog:
        """Show the user guide window (one per main window; raised if already open)."""
        from app.dialogs.help import UserGuideDialog

        path = Path(self.guide_path) if self.guide_path else None
        if self._guide is None or (path is not None and self._guide.path != path):
            if self._guide is not None:
                self._guide.deleteLater()
            self._guide = UserGuideDialog(path, self.window)
        self._guide.show()
        self._guide.raise_()
        self._guide.activateWindow()
        return self._guide

    def show_guide_at(self, anchor: str) -> UserGuideDialog:
        """The user guide, scrolled to the heading a GitHub-style anchor names."""
        guide = self.show_user_guide()
        guide.show_anchor(anchor)
        return guide

    def show_shortcuts(self) -> ShortcutsDialog:
        from app.dialogs.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def about(self) -> None:
        QMessageBox.about(self.window, "About LayerForge",
                          "LayerForge: design, train and ship neural networks from a graph editor.")

    def shutdown(self) -> None:
        """Nothing runs in the background."""
