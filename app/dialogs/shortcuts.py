"""ShortcutsDialog: every keyboard shortcut of the window, read from its real actions.

The list is collected at run time from the menu bar (grouped by menu) and from any other
action of the window that has a shortcut, so it cannot drift from what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

NATIVE = QKeySequence.SequenceFormat.NativeText
SCOPES = {
    Qt.ShortcutContext.WidgetWithChildrenShortcut: "Canvas",
    Qt.ShortcutContext.WidgetShortcut: "Canvas",
}

# Gestures that are not actions (mouse and held keys): documented here, next to the list.
GESTURES = [
    ("Zoom around the cursor", "Mouse wheel"),
    ("Pan", "Space + drag, middle-button drag"),
    ("Connect blocks", "Drag from a port to a port"),
    ("Select several blocks", "Ctrl+click, rubber band"),
]


@dataclass(frozen=True)
class ShortcutEntry:
    group: str  # the menu it is in ("Edit"), or "Other"
    text: str  # "Save As", "Theme › Dark"
    keys: tuple[str, ...]  # as the platform writes them ("Ctrl+Shift+S")
    scope: str  # "Window" or "Canvas"

    @property
    def keys_text(self) -> str:
        return ", ".join(self.keys)


def clean(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".")


def _entry(group: str, prefix: str, action: QAction) -> ShortcutEntry:
    keys = tuple(s.toString(NATIVE) for s in action.shortcuts() if not s.isEmpty())
    scope = SCOPES.get(action.shortcutContext(), "Window")
    return ShortcutEntry(group, prefix + clean(action.text()), keys, scope)


def collect_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """Every action of ``window`` that has a shortcut, in menu order."""
    out: list[ShortcutEntry] = []
    seen: set[int] = set()

    def walk(menu: QMenu, group: str, prefix: str) -> None:
        for action in menu.actions():
            if action.isSeparator():
                continue
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, group, f"{prefix}{clean(sub.title())} › ")
                continue
            seen.add(id(action))
            entry = _entry(group, prefix, action)
            if entry.keys:
                out.append(entry)

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            walk(menu, clean(menu.title()), "")
    for action in window.findChildren(QAction):
        if id(action) not in seen and action.text():
            seen.add(id(action))
            entry = _entry("Other", "", action)
            if entry.keys:
                out.append(entry)
    return out


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.setObjectName("shortcuts")
        self.resize(QSize(620, 640))
        self.entries = collect_shortcuts(window)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by action or key, e.g. save or Ctrl+Z")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.tree = QTreeWidget()
        self.tree.setObjectName("shortcut_list")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Action", "Shortcut", "Where"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.empty = QLabel("No shortcut matches the filter.")
        self.empty.setProperty("role", "muted")
        self.empty.hide()
        note = QLabel("Canvas shortcuts act while the canvas has the focus, so keys typed into "
                      "a field edit the text.")
        note.setWordWrap(True)
        note.setProperty("role", "muted")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self._fill()
        self.filter.setFocus()

    def _fill(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        bold = self.font()
        bold.setBold(True)
        rows = [(e.group, e.text, e.keys_text, e.scope) for e in self.entries]
        rows += [("Mouse", text, keys, "Canvas") for text, keys in GESTURES]
        for group, text, keys, scope in rows:
            parent = groups.get(group)
            if parent is None:
                parent = QTreeWidgetItem(self.tree, [group])
                parent.setFont(0, bold)
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                parent.setFirstColumnSpanned(True)
                groups[group] = parent
            QTreeWidgetItem(parent, [text, keys, scope])
        self.tree.expandAll()

    def visible_rows(self) -> list[tuple[str, str, str]]:
        """(group, action, keys) of the rows the filter leaves, in order (tests use it)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                row = group.child(j)
                if not row.isHidden():
                    out.append((group.text(0), row.text(0), row.text(1)))
        return out

    def _on_filter_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        any_shown = False
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                row = group.child(j)
                hay = " ".join((group.text(0), row.text(0), row.text(1), row.text(2))).lower()
                hide = bool(needle) and needle not in hay
                row.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)
            any_shown |= shown > 0
        self.empty.setVisible(not any_shown)
