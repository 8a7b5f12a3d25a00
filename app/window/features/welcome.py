"""The welcome page in the window: when it shows, what its buttons do, and leaving it.

The page is the other page of the central stack (the canvas tabs are the first). While it
shows, the perspectives are suspended (the docks step aside so it has the whole window);
leaving with Esc or the back button brings back the perspective the user was in, while
opening or creating a project, or editing the document, goes to the Design perspective.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QStackedWidget

from app.settings import setting_bool
from app.window.files import display_name, example_copy
from app.window.welcome import WelcomePage

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLabel

    from app.canvas.tabs import CanvasTabs
    from app.document import GraphDocument
    from app.theme import Theme
    from app.window.features.training import TrainingFeature
    from app.window.files import FileController
    from app.window.main_window import MainWindow
    from app.window.perspectives import Perspectives

SHOW_KEY = "welcome/show_at_startup"
EXAMPLE = "mlp"  # trains in seconds on a CPU: three spiral arms, a 2-64-64-3 perceptron


class WelcomeFeature(QObject):
    """The welcome page: ``show()``, ``leave()``, and what its cards and buttons do. The
    walk-through's links ask for the Remote Hosts dialog (``hosts_requested``) and the user
    guide at a heading (``guide_requested(anchor)``); the workspace opens them."""

    hosts_requested = Signal()
    guide_requested = Signal(str)

    def __init__(self, window: MainWindow, document: GraphDocument, *, stack: QStackedWidget,
                 tabs: CanvasTabs, totals: QLabel, files: FileController,
                 training: TrainingFeature, perspectives: Perspectives) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.stack, self.tabs, self.totals = stack, tabs, totals
        self.files, self.training, self.perspectives = files, training, perspectives
        self.page: WelcomePage | None = None  # built the first time it shows
        d = document
        d.project_replaced.connect(self._on_document_project_replaced)
        d.dirty_changed.connect(self._on_document_dirty_changed)
        self.window.theme.theme_changed.connect(self._on_theme_theme_changed)

    # -- showing and leaving --------------------------------------------------------
    @property
    def showing(self) -> bool:
        return self.page is not None and self.stack.currentWidget() is self.page

    @property
    def show_at_startup(self) -> bool:
        return setting_bool(self.window.settings, SHOW_KEY, True)

    def show(self, at_startup: bool = False) -> WelcomePage:
        """Show the page; the docks step aside (``at_startup`` is kept for callers)."""
        del at_startup
        page = self._page()
        self.refresh()
        if not self.showing:
            self.perspectives.suspend()
            self.stack.setCurrentWidget(page)
            self.totals.hide()  # the totals of an empty project mean nothing here
        page.focus_first()
        return page

    def leave(self, perspective: str | None = None) -> None:
        """Back to the canvas: into ``perspective``, or the one the user was in."""
        if not self.showing:
            return
        self.stack.setCurrentWidget(self.tabs)
        self.totals.show()
        if perspective is None:
            self.perspectives.resume()
        else:
            self.perspectives.switch(perspective)
        for view in self.tabs.views.values():
            view.request_fit()
        self.tabs.current_view().setFocus(Qt.FocusReason.OtherFocusReason)

    def refresh(self) -> None:
        """Re-read the recent files and the back button's text."""
        if self.page is None:
            return
        self.page.set_recent(self.files.recent_entries())
        doc = self.document
        blank = doc.path is None and not doc.is_dirty() and not any(
            g.nodes for g in doc.project.graphs.values())
        self.page.set_back_text("Empty Canvas" if blank
                                else f"Back to {display_name(doc.path)}")

    def _page(self) -> WelcomePage:
        if self.page is None:
            from app.window.template_cards import template_summaries

            page = WelcomePage(self.window.theme.theme)
            page.set_templates(template_summaries())
            page.show_at_startup.setChecked(self.show_at_startup)
            page.template_chosen.connect(self.new_from_template)
            page.recent_chosen.connect(self.open_recent)
            page.recent_removed.connect(self._on_page_recent_removed)
            page.new_requested.connect(self.files.new_project)
            page.open_requested.connect(self.files.open_dialog)
            page.train_requested.connect(self.train_example)
            page.back_requested.connect(self._on_page_back_requested)
            page.show_at_startup_changed.connect(self._on_page_show_at_startup_changed)
            page.cloud.hosts_requested.connect(self.hosts_requested)
            page.cloud.guide_requested.connect(self.guide_requested)
            self.stack.addWidget(page)
            self.page = page
        return self.page

    # -- requests ---------------------------------------------------------------------
    def new_from_template(self, name: str) -> bool:
        files = self.files
        return files.confirm_close() and files.new_from_template(name)

    def open_recent(self, path: str) -> bool:
        entry = next((e for e in self.files.recent_entries() if e.path == path), None)
        if entry is not None and not entry.exists:
            box = QMessageBox(QMessageBox.Icon.Question, "Project not found",
                              f"{path} no longer exists. Take it off the recent projects?",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                              self.window)
            box.setTextFormat(Qt.TextFormat.PlainText)
            if box.exec() == QMessageBox.StandardButton.Yes:
                self.remove_recent([path])
            return False
        return self.files.open_path(path)

    def remove_recent(self, paths: list[str]) -> None:
        for path in paths:
            self.files.recent.remove(path)
        self.refresh()

    def train_example(self) -> bool:
        """Open a copy of the example (the shipped file is never modified) and train it."""
        files = self.files
        if not files.confirm_close():
            return False
        try:
            path = example_copy(EXAMPLE, files.examples)
        except OSError as e:
            self.window.statusBar().showMessage(f"Cannot copy the example: {e}", 8000)
            return False
        if not files.open_path(str(path), confirm=False):
            return False
        self.perspectives.switch("train")
        started = bool(self.training.train())
        if started:
            self.window.statusBar().showMessage(
                f"Training the {EXAMPLE} example on its copy in {path.parent}", 10000)
        return started

    # -- signal handlers --------------------------------------------------------------
    def _on_page_back_requested(self) -> None:
        self.leave()

    def _on_document_project_replaced(self) -> None:
        self.leave("design")

    def _on_document_dirty_changed(self, dirty: bool) -> None:
        if dirty:  # an edit (a script, a paste): the user wants to see the canvas
            self.leave("design")

    def _on_page_recent_removed(self, paths: list[str]) -> None:
        self.remove_recent(paths)

    def _on_page_show_at_startup_changed(self, on: bool) -> None:
        self.window.settings.setValue(SHOW_KEY, on)
        self.window.settings.sync()

    def _on_theme_theme_changed(self, theme: Theme) -> None:
        if self.page is not None:
            self.page.set_theme(theme)

    def shutdown(self) -> None:
        """Nothing runs in the background here; the perspective comes back to be saved."""
        self.leave()
