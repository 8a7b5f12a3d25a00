"""Workspace: the editor inside the main window. It owns the document and wires the canvas,
the panels, the actions, files and autosave to it (the role orange-canvas-core gives its
SchemeEditWidget), and holds the window's features as typed fields. Gestures call the
document's edit API; views follow its signals.

``open_workspace(window, path, options)`` builds it into a painted window and opens
``path`` (or offers back what a crash left unsaved, or shows the welcome page).
``shutdown()`` runs once, after the close is confirmed: the features in reverse order of
construction, then autosave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLabel, QMenu, QStackedWidget

from app import icons
from app.canvas.placement import free_centre
from app.canvas.tabs import CanvasTabs
from app.canvas.view import GraphView
from app.document import EditError, GraphDocument, payload_from_mime, payload_to_mime
from app.panels.inspector import InspectorPanel
from app.panels.palette import PalettePanel
from app.panels.problems import ProblemsPanel
from app.settings import config_dir, setting_bool, setting_int
from app.theme import Theme
from app.window.actions import create_actions, fill_menus, refresh_icons
from app.window.features.export import ExportFeature
from app.window.features.help import HelpFeature
from app.window.features.pretrained import PretrainedFeature
from app.window.features.setup import SetupFeature
from app.window.features.sweep import SweepFeature
from app.window.features.training import TrainingFeature
from app.window.features.welcome import WelcomeFeature
from app.window.files import FileController, display_name
from app.window.options import WindowOptions
from app.window.perspectives import Perspectives
from app.window.recovery import DEFAULT_INTERVAL_MS, AutosaveController, RecoveryStore
from app.window.totals import totals_text

if TYPE_CHECKING:
    from app.window.main_window import MainWindow


def open_workspace(window: MainWindow, path: str | None = None,
                   options: WindowOptions | None = None) -> Workspace:
    """Build the editor into ``window`` (the heavy imports happen here, after the first
    paint) and open ``path``, or offer back what a crash left unsaved."""
    ws = Workspace(window, options or WindowOptions())
    window.set_content(ws)
    ws.perspectives.start()
    ws.open_initial(path)
    return ws


class Workspace(QObject):
    """The editor and the window's features: ``setup``, ``export``, ``training``,
    ``welcome``, ``help``, ``pretrained``, ``sweep``."""

    def __init__(self, window: MainWindow, options: WindowOptions) -> None:
        super().__init__(window)
        self.window = window
        self._closed = False
        settings = window.settings
        self.document = GraphDocument(parent=self)
        self.tabs = CanvasTabs(self.document, window.theme.theme)
        self.tabs.set_snap(setting_bool(settings, "canvas/snap", True))
        # The canvas and the welcome page share the centre (see docs/editor.md, First run).
        self.central = QStackedWidget()
        self.central.addWidget(self.tabs)
        window.setCentralWidget(self.central)
        self.perspectives = Perspectives(window, self.central, settings)
        self.palette = PalettePanel()
        self.palette.setMinimumWidth(200)
        self.inspector = InspectorPanel(self.document)
        self.inspector.setMinimumWidth(280)
        self.problems = ProblemsPanel()
        window.add_dock(self.palette, "Blocks", Qt.DockWidgetArea.LeftDockWidgetArea, "palette")
        self.inspector_dock = window.add_dock(self.inspector, "Inspector",
                                              Qt.DockWidgetArea.RightDockWidgetArea, "inspector")
        self.problems_dock = window.add_dock(self.problems, "Problems",
                                             Qt.DockWidgetArea.BottomDockWidgetArea, "problems")
        store = RecoveryStore(config_dir() / "recovery")
        interval = options.autosave_ms or setting_int(settings, "autosave/interval_ms",
                                                      DEFAULT_INTERVAL_MS)
        self.autosave = AutosaveController(self.document, store, interval, self)
        self.files = FileController(window, self.document, self.autosave, store, settings,
                                    recovery_answer=options.recovery_answer,
                                    examples=options.examples_dir)
        self.recent_menu = QMenu("Open &Recent", window)
        self.actions = create_actions(window, self.document.undo_stack, self.tabs)
        toolbar = fill_menus(window, self.actions, window.menus, self.recent_menu)
        self.perspectives.fill_menu(window.menus["view"])
        self.perspectives.add_switcher(toolbar)
        self.totals = QLabel()
        self.totals.setTextFormat(Qt.TextFormat.PlainText)
        window.statusBar().addPermanentWidget(self.totals)
        self._connect()
        self._sync_theme_actions()
        self.actions.snap.setChecked(self.tabs.snap)
        self._on_document_changed()
        self._update_title()
        self.setup = SetupFeature(window, self.document, self.tabs)
        self.export = ExportFeature(window, self.document, self.tabs, before=self.actions.quit,
                                    open_project=self.files.open_path)
        self.training = TrainingFeature(window, self.document,
                                        result_views=self.setup.result_views,
                                        warm_delay_ms=options.warm_delay_ms,
                                        worker_command=options.worker_command)
        self.welcome = WelcomeFeature(window, self.document, stack=self.central, tabs=self.tabs,
                                      totals=self.totals, files=self.files,
                                      training=self.training, perspectives=self.perspectives)
        self.training.runner.state_changed.connect(self._on_runner_state_changed)
        self.files.live_runs = self.training.live_runs
        self.training.warm.gpus_found.connect(self.setup.hyperparams_panel.set_gpus)
        self.problems.fix_requested.connect(self._on_problems_fix_requested)
        self.problems.fix_requested.connect(self.training.private.on_problems_fix_requested)
        self.document.data_facts_changed.connect(self._on_document_changed)
        self.help = HelpFeature(window, self.actions)
        self.welcome.hosts_requested.connect(self.export.open_hosts)
        self.welcome.guide_requested.connect(self.help.show_guide_at)
        self.pretrained = PretrainedFeature(window, self.document, self.tabs, self.palette,
                                            before=self.actions.quit)
        self.sweep = SweepFeature(window, self.document, self.training.plots)

    def _connect(self) -> None:
        a, d, w = self.actions, self.document, self.window
        for action, slot in (
                (a.new, self.files.new_project), (a.open, self.files.open_dialog),
                (a.save, self.files.save), (a.save_as, self.files.save_as), (a.quit, w.close),
                (a.cut, self.cut_selection), (a.copy, self.copy_selection),
                (a.paste, self.paste), (a.duplicate, self.duplicate_selection),
                (a.delete, self.delete_selection), (a.select_all, self.select_all),
                (a.find_block, self.palette.focus_search), (a.fit, self.fit),
                (a.zoom_in, lambda: self.tabs.current_view().zoom_by(1.25)),
                (a.zoom_out, lambda: self.tabs.current_view().zoom_by(0.8)),
                (a.auto_layout, self.auto_layout), (a.add_graph, self.add_graph),
                (a.rename_graph, self.rename_graph), (a.remove_graph, self.remove_graph),
                (a.theme_system, lambda: self.set_theme("system")),
                (a.theme_light, lambda: self.set_theme("light")),
                (a.theme_dark, lambda: self.set_theme("dark")),
                (a.welcome, lambda: self.welcome.show())):
            action.triggered.connect(slot)
        a.snap.toggled.connect(self._on_snap_toggled)
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        self.palette.block_activated.connect(self._on_palette_block_activated)
        self.tabs.selection_changed.connect(self._on_tabs_selection_changed)
        self.tabs.message_posted.connect(self._on_tabs_message_posted)
        self.tabs.file_dropped.connect(self._on_tabs_file_dropped)
        self.tabs.current_graph_changed.connect(self._on_tabs_current_graph_changed)
        self.tabs.tabBarDoubleClicked.connect(lambda _i: self.rename_graph())
        self.problems.problem_activated.connect(self.show_problem)
        self.problems.counts_changed.connect(self._on_problems_counts_changed)
        for sig in (d.analysis_updated, d.graph_added, d.graph_removed, d.graph_renamed,
                    d.settings_changed):
            sig.connect(self._on_document_changed)
        d.edited.connect(self._update_totals)  # a freeze changes no analysis, but the totals
        d.project_replaced.connect(self._on_document_project_replaced)
        d.dirty_changed.connect(self._update_title)
        d.path_changed.connect(self._update_title)
        self.autosave.autosaved.connect(self._on_autosave_autosaved)
        self.window.theme.theme_changed.connect(self._on_theme_theme_changed)

    # -- start and stop --------------------------------------------------------------
    def open_initial(self, path: str | None) -> None:
        if path:
            self.files.open_path(path, confirm=False)
        elif not self.files.offer_recovery(None) and self.welcome.show_at_startup:
            self.welcome.show(at_startup=True)
        self.fit_all_views()

    def confirm_close(self) -> bool:
        """Ask about a run in progress, then about unsaved changes; False to stay open."""
        return self.training.confirm_close() and self.files.confirm_close()

    def open_dropped(self, path: str) -> None:
        """A project file dropped on the window (opening may ask questions, so it happens
        after the drop has returned to its source)."""
        QTimer.singleShot(0, self, lambda: self.files.open_path(path))

    def shutdown(self) -> None:
        """The window closes for good: each feature stops its background work, in reverse
        order of construction, then autosave stops and leaves no recovery file. Once."""
        if self._closed:
            return
        self._closed = True
        for feature in (self.sweep, self.pretrained, self.help, self.welcome, self.training, self.export, self.setup):
            feature.shutdown()
        self.perspectives.save()
        self.autosave.discard()
        self.autosave.stop()

    # -- gestures (also used by tests and the script hook) ----------------------------
    @property
    def graph(self) -> str:
        return self.tabs.current_graph()

    def view(self) -> GraphView:
        return self.tabs.current_view()

    def add_block(self, type_name: str) -> str:
        """Add a block in the middle of the visible canvas, in the nearest free space."""
        view = self.view()
        return view.add_block_at(type_name, free_centre(view, type_name))

    def delete_selection(self) -> None:
        scene = self.tabs.current_scene()
        self.document.remove(self.graph, scene.selected_node_ids(), scene.selected_edge_keys())

    def copy_selection(self) -> bool:
        ids = self.tabs.current_scene().selected_node_ids()
        if not ids:
            return False
        mime = payload_to_mime(self.document.copy_payload(self.graph, ids))
        QGuiApplication.clipboard().setMimeData(mime)
        self._message(f"Copied {len(ids)} block(s)")
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> list[str]:
        payload = payload_from_mime(QGuiApplication.clipboard().mimeData())
        if payload is None:
            self._message("The clipboard holds no blocks")
            return []
        view = self.view()
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        xs = [n.get("position", [0, 0])[0] for n in payload.get("nodes", []) if isinstance(n, dict)]
        ys = [n.get("position", [0, 0])[1] for n in payload.get("nodes", []) if isinstance(n, dict)]
        offset = (30.0, 30.0)
        if xs and ys:
            centre = QPointF((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
            if not visible.contains(centre):  # from elsewhere: land in the middle of the view
                target = visible.center()
                offset = (round((target.x() - centre.x()) / 20) * 20,
                          round((target.y() - centre.y()) / 20) * 20)
        try:
            ids = self.document.paste(self.graph, payload, offset)
        except EditError as e:
            self._message(str(e))
            return []
        self.tabs.current_scene().select_nodes(ids)
        return ids

    def duplicate_selection(self) -> list[str]:
        ids = self.tabs.current_scene().selected_node_ids()
        if not ids:
            return []
        new = self.document.duplicate(self.graph, ids)
        self.tabs.current_scene().select_nodes(new)
        return new

    def select_all(self) -> None:
        scene = self.tabs.current_scene()
        for item in [*scene.nodes.values(), *(e for es in scene.edges.values() for e in es)]:
            item.setSelected(True)

    def fit(self) -> None:
        self.view().fit_all()

    def fit_all_views(self) -> None:
        for view in self.tabs.views.values():
            view.request_fit()

    def auto_layout(self) -> None:
        self.document.auto_layout(self.graph)
        self.view().fit_all(readable=True)

    def add_graph(self) -> str | None:
        text, ok = QInputDialog.getText(self.window, "Add graph", "Name of the new graph:",
                                        text="graph")
        if not ok:
            return None
        name = self.document.add_graph(text)
        self.tabs.show_graph(name)
        return name

    def rename_graph(self) -> None:
        old = self.graph
        text, ok = QInputDialog.getText(self.window, "Rename graph", "New name:", text=old)
        if ok and text.strip():
            self.document.rename_graph(old, text)

    def remove_graph(self) -> None:
        try:
            self.document.remove_graph(self.graph)  # undoable, so no confirmation
        except EditError as e:
            self._message(str(e))

    def show_problem(self, graph: str, node: str) -> None:
        """Show a problem's place: its graph's tab, its block selected and centred."""
        if graph not in self.tabs.views:
            return
        view = self.tabs.show_graph(graph)
        if node:
            view.graph_scene.select_nodes([node])
            view.centre_on_node(node)
            view.setFocus()

    def set_theme(self, preference: str) -> None:
        self.window.settings.setValue("theme", preference)
        self.window.theme.set_preference(preference)
        self._sync_theme_actions()

    # -- signal handlers -------------------------------------------------------------
    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)

    def _update_title(self, *_args: object) -> None:
        star = "*" if self.document.is_dirty() else ""
        self.window.setWindowTitle(f"{display_name(self.document.path)}{star} — LayerForge")

    def _on_document_changed(self, *_args: object) -> None:
        self.problems.set_problems(self.document.problems())
        self._update_totals()

    def _on_document_project_replaced(self) -> None:
        self._on_document_changed()
        self._update_title()
        self.fit_all_views()

    def _update_totals(self) -> None:
        if self.graph in self.document.project.graphs:
            self.totals.setText(totals_text(self.document, self.graph))

    def _on_problems_counts_changed(self, errors: int, warnings: int) -> None:
        total = errors + warnings
        self.problems_dock.setWindowTitle(f"Problems ({total})" if total else "Problems")

    def _on_palette_block_activated(self, type_name: str) -> None:
        try:
            self.add_block(type_name)
        except EditError as e:
            self._message(str(e))

    def _on_tabs_selection_changed(self) -> None:
        scene = self.tabs.current_scene()
        ids = scene.selected_node_ids()
        self.inspector.show_node(self.graph, ids[0] if len(ids) == 1 else None, len(ids))
        if len(ids) == 1 and self.central.isVisible() and not self.welcome.showing:
            self.inspector_dock.show()  # a block chosen: its settings come to the front
            self.inspector_dock.raise_()

    def _on_problems_fix_requested(self, fix: str) -> None:
        if fix == "fit_model":
            self.setup.docks["dataset"].show()
            self.setup.docks["dataset"].raise_()  # the fit's result shows there
            self.setup.dataset_panel.fit_model()

    def _on_runner_state_changed(self, state: str) -> None:
        if state == "starting" and self.perspectives.current == "design":
            self.perspectives.switch("train")  # the plots are what a user watches now

    def _on_tabs_message_posted(self, text: str) -> None:
        self._message(text)

    def _on_tabs_file_dropped(self, path: str) -> None:
        self.open_dropped(path)

    def _on_tabs_current_graph_changed(self, _graph: str) -> None:
        self._update_totals()

    def _on_snap_toggled(self, on: bool) -> None:
        self.tabs.set_snap(on)
        self.window.settings.setValue("canvas/snap", on)

    def _on_recent_menu_about_to_show(self) -> None:
        menu = self.recent_menu
        menu.clear()
        entries = self.files.recent_entries()
        for entry in entries:
            act = menu.addAction(entry.path if entry.exists else f"{entry.path} (missing)")
            act.triggered.connect(lambda _checked=False, p=entry.path: self.files.open_path(p))
        if entries:
            menu.addSeparator()
            menu.addAction("Clear Recent Files").triggered.connect(self.files.recent.clear)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def _on_autosave_autosaved(self, _file: str) -> None:
        self._message("Unsaved changes autosaved for recovery")

    def _on_theme_theme_changed(self, theme: Theme) -> None:
        icons.set_icon_color(theme.text)
        refresh_icons(self.actions)
        self.palette.refresh_icons()
        self.tabs.set_theme(theme)
        self._sync_theme_actions()

    def _sync_theme_actions(self) -> None:
        pref = self.window.theme.preference
        a = self.actions
        {"system": a.theme_system, "light": a.theme_light, "dark": a.theme_dark}[pref].setChecked(True)
