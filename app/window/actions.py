"""The editor's actions (menus, toolbar, shortcuts), created in one place.

Canvas actions (delete, copy, paste, duplicate, select all, fit, group, ungroup) are scoped
to the canvas (Qt.WidgetWithChildrenShortcut), so Delete or F typed into a text field edits
the text, not the graph. Document-wide actions (save, undo, find a block) work anywhere in the
window. The composite and fine-tuning actions (Group…, Ungroup, Freeze, Unfreeze, Cut Here,
Open Composite) act on the canvas selection through ``CanvasTabs``, are enabled only when
they apply, and are offered by the canvas context menu too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMainWindow, QMenu, QToolBar

from app.canvas.tabs import CanvasTabs
from app.icons import icon

Key = QKeySequence.StandardKey


@dataclass
class EditorActions:
    new: QAction
    open: QAction
    save: QAction
    save_as: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    cut: QAction
    copy: QAction
    paste: QAction
    duplicate: QAction
    delete: QAction
    select_all: QAction
    group: QAction
    ungroup: QAction
    open_composite: QAction
    freeze: QAction
    unfreeze: QAction
    cut_here: QAction
    find_block: QAction
    fit: QAction
    zoom_in: QAction
    zoom_out: QAction
    snap: QAction
    auto_layout: QAction
    add_graph: QAction
    rename_graph: QAction
    remove_graph: QAction
    theme_system: QAction
    theme_light: QAction
    theme_dark: QAction
    welcome: QAction
    user_guide: QAction
    shortcuts: QAction
    about: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]


#: action name -> icon name, refreshed when the theme changes colour
ICONS = {"new": "new", "open": "open", "save": "save", "undo": "undo", "redo": "redo",
         "cut": "cut", "copy": "copy", "paste": "paste", "duplicate": "duplicate",
         "delete": "delete", "find_block": "search", "fit": "fit", "zoom_in": "zoom-in",
         "zoom_out": "zoom-out", "snap": "grid", "auto_layout": "layout",
         "add_graph": "graph-add"}


def _action(parent: QMainWindow, text: str, *keys: QKeySequence | Key | str, tip: str = "") -> QAction:
    a = QAction(text, parent)
    if keys:
        a.setShortcuts([k if isinstance(k, QKeySequence) else QKeySequence(k) for k in keys])
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                     if keys else tip)
    return a


def create_actions(window: QMainWindow, stack: QUndoStack, canvas: CanvasTabs) -> EditorActions:
    undo = stack.createUndoAction(window, "Undo")
    undo.setShortcuts([QKeySequence(Key.Undo)])
    redo = stack.createRedoAction(window, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    acts = EditorActions(
        new=_action(window, "&New…", Key.New, tip="New project from a template"),
        open=_action(window, "&Open…", Key.Open, tip="Open a project"),
        save=_action(window, "&Save", Key.Save, tip="Save the project"),
        save_as=_action(window, "Save &As…", "Ctrl+Shift+S", tip="Save under a new name"),
        quit=_action(window, "&Quit", Key.Quit),
        undo=undo, redo=redo,
        cut=_action(window, "Cu&t", Key.Cut),
        copy=_action(window, "&Copy", Key.Copy),
        paste=_action(window, "&Paste", Key.Paste),
        duplicate=_action(window, "&Duplicate", "Ctrl+D", tip="Duplicate the selected blocks"),
        delete=_action(window, "De&lete", Key.Delete, "Backspace"),
        select_all=_action(window, "Select &All", Key.SelectAll),
        group=_action(window, "&Group…", "Ctrl+G",
                      tip="Make the selected blocks one named composite block"),
        ungroup=_action(window, "&Ungroup", "Ctrl+Shift+G",
                        tip="Put a composite block's blocks back in its place"),
        open_composite=_action(window, "&Open Composite",
                               tip="Show the graph of the selected composite block"),
        freeze=_action(window, "&Freeze", tip="Keep the selected blocks' weights as they are "
                                              "while training"),
        unfreeze=_action(window, "U&nfreeze", tip="Train the selected blocks' weights again"),
        cut_here=_action(window, "Cut &Here", tip="Replace everything after the selected "
                                                   "block with the Output (to fit a new head)"),
        find_block=_action(window, "&Find Block", Key.Find, tip="Search the block palette"),
        fit=_action(window, "&Fit to View", "F", tip="Show the whole graph"),
        zoom_in=_action(window, "Zoom &In", Key.ZoomIn, "Ctrl+="),
        zoom_out=_action(window, "Zoom &Out", Key.ZoomOut),
        snap=_action(window, "&Snap to Grid", tip="Snap dragged blocks to the grid"),
        auto_layout=_action(window, "&Auto Layout", "Ctrl+L", tip="Arrange blocks in layers"),
        add_graph=_action(window, "&Add Graph…", tip="Add a graph (e.g. a GAN's discriminator)"),
        rename_graph=_action(window, "&Rename Graph…"),
        remove_graph=_action(window, "Re&move Graph"),
        theme_system=_action(window, "Follow &System"),
        theme_light=_action(window, "&Light"),
        theme_dark=_action(window, "&Dark"),
        welcome=_action(window, "&Welcome", tip="Templates, recent projects and an example "
                                                   "to train"),
        user_guide=_action(window, "&User Guide", Key.HelpContents, tip="Read the user guide"),
        shortcuts=_action(window, "&Keyboard Shortcuts", "Ctrl+/",
                          tip="List every keyboard shortcut"),
        about=_action(window, "&About LayerForge"),
    )
    acts.snap.setCheckable(True)
    group = QActionGroup(window)
    for a in (acts.theme_system, acts.theme_light, acts.theme_dark):
        a.setCheckable(True)
        group.addAction(a)
    for a in (acts.cut, acts.copy, acts.paste, acts.duplicate, acts.delete, acts.select_all,
              acts.fit, acts.group, acts.ungroup):
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        canvas.addAction(a)
    _connect_selection_actions(window, acts, canvas)
    refresh_icons(acts)
    return acts


def ask_group_name(window: QMainWindow) -> str | None:
    """The composite's name, asked with the default "block"; None when cancelled."""
    text, ok = QInputDialog.getText(window, "Group", "Name of the composite block:",
                                    QLineEdit.EchoMode.Normal, "block")
    return text.strip() or "block" if ok else None


def _connect_selection_actions(window: QMainWindow, acts: EditorActions,
                               canvas: CanvasTabs) -> None:
    """Composite and fine-tuning actions: what they do, when they are enabled, and the
    canvas context menu that offers them."""

    def group() -> None:
        if not canvas.selection_state()["group"]:
            canvas.message_posted.emit("Select the blocks to group first.")
            return
        name = ask_group_name(window)
        if name is not None:
            canvas.group_selection(name)

    for action, slot in ((acts.group, group), (acts.ungroup, canvas.ungroup_selection),
                         (acts.open_composite, canvas.open_selected_composite),
                         (acts.freeze, lambda: canvas.set_selection_trainable(False)),
                         (acts.unfreeze, lambda: canvas.set_selection_trainable(True)),
                         (acts.cut_here, canvas.cut_after_selection)):
        action.triggered.connect(slot)

    def refresh() -> None:
        state = canvas.selection_state()
        for action, key in ((acts.group, "group"), (acts.ungroup, "ungroup"),
                            (acts.open_composite, "open"), (acts.freeze, "freeze"),
                            (acts.unfreeze, "unfreeze"), (acts.cut_here, "cut")):
            action.setEnabled(state[key])

    canvas.selection_changed.connect(refresh)
    canvas.document.edited.connect(refresh)
    canvas.document.project_replaced.connect(refresh)
    refresh()
    canvas.set_context_actions([acts.group, acts.ungroup, acts.open_composite, None,
                                acts.freeze, acts.unfreeze, acts.cut_here, None,
                                acts.cut, acts.copy, acts.paste, acts.duplicate, acts.delete])


def refresh_icons(acts: EditorActions) -> None:
    for name, icon_name in ICONS.items():
        getattr(acts, name).setIcon(icon(icon_name))


def fill_menus(window: QMainWindow, acts: EditorActions, menus: dict[str, QMenu],
               recent: QMenu) -> QToolBar:
    file, edit, view, graph, help_ = (menus[k] for k in ("file", "edit", "view", "graph", "help"))
    file.addActions([acts.new, acts.open])
    file.addMenu(recent)
    file.addSeparator()
    file.addActions([acts.save, acts.save_as])
    file.addSeparator()
    file.addAction(acts.quit)
    edit.addActions([acts.undo, acts.redo])
    edit.addSeparator()
    edit.addActions([acts.cut, acts.copy, acts.paste, acts.duplicate, acts.delete])
    edit.addSeparator()
    edit.addActions([acts.select_all, acts.find_block])
    edit.addSeparator()
    edit.addActions([acts.group, acts.ungroup, acts.open_composite])
    edit.addSeparator()
    edit.addActions([acts.freeze, acts.unfreeze, acts.cut_here])
    first = view.actions()[0] if view.actions() else None  # keep the Panels menu last
    view.insertActions(first, [acts.fit, acts.zoom_in, acts.zoom_out, acts.snap])
    theme = QMenu("&Theme", view)
    theme.addActions([acts.theme_system, acts.theme_light, acts.theme_dark])
    view.insertMenu(first, theme)
    view.insertSeparator(first)
    graph.addActions([acts.auto_layout])
    graph.addSeparator()
    graph.addActions([acts.add_graph, acts.rename_graph, acts.remove_graph])
    help_.addActions([acts.welcome, acts.user_guide, acts.shortcuts])
    help_.addSeparator()
    help_.addAction(acts.about)
    bar = QToolBar("Main toolbar", window)
    bar.setObjectName("toolbar_main")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    bar.addActions([acts.new, acts.open, acts.save])
    bar.addSeparator()
    bar.addActions([acts.undo, acts.redo])
    bar.addSeparator()
    bar.addActions([acts.duplicate, acts.delete])
    bar.addSeparator()
    bar.addActions([acts.fit, acts.zoom_in, acts.zoom_out, acts.auto_layout, acts.snap])
    bar.addSeparator()
    bar.addAction(acts.add_graph)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
