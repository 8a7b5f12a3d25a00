"""PalettePanel: every block type, grouped by family, with search; the project's composite
blocks ("Composites"); and the pretrained backbones of the zoo ("Pretrained").

Drag an entry onto a canvas, double-click it, or press Enter in the search field to use the
first match. A plain block drags its type name, a composite its graph name
(``MIME_COMPOSITE``) and a pretrained backbone its zoo key (``MIME_PRETRAINED``); the canvas
decides what a drop makes. Double-click (or Enter) on a pretrained entry and its context
menu's "About…" open its card. The palette reads the block catalog; the composites and the
zoo entries are handed in (``set_composites``, ``set_pretrained``); adding is the window's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import MIME_BLOCK_TYPE
from app.icons import icon
from app.text import fmt_count, plain_tooltip
from app.theme import family_color
from engine.blocks import FAMILIES, Block, by_family

TYPE_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2  # more words a search matches (a checkpoint's facts)
MIME_COMPOSITE = "application/x-layerforge-composite"
MIME_PRETRAINED = "application/x-layerforge-pretrained"
#: the families the palette adds after the catalog's, and what their entries drag
COMPOSITES, PRETRAINED = "Composites", "Pretrained"
MIME_OF_KIND = {"block": MIME_BLOCK_TYPE, "composite": MIME_COMPOSITE,
                "pretrained": MIME_PRETRAINED}
#: catalog families not listed as plain blocks (a Group node is made by grouping or a drop)
HIDDEN_FAMILIES = {"composite"}


class ZooEntryLike(Protocol):
    """What the palette reads of an ``engine.zoo.catalog.ZooEntry``."""

    key: str
    title: str
    params: int
    image_size: int
    licence: str
    accuracy: str
    source: str


def zoo_tooltip(entry: ZooEntryLike) -> str:
    return plain_tooltip(
        f"{entry.title}: {entry.source}\nLicence: {entry.licence}\n"
        f"{fmt_count(entry.params)} parameters · input {entry.image_size}×{entry.image_size}\n"
        f"Reported accuracy: {entry.accuracy}")


def _dot(color: QColor) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(1, 1, 10, 10, 3, 3)
    p.end()
    return QIcon(pm)


class BlockTree(QTreeWidget):
    """The family/entry tree; dragging an entry carries its type, graph name or zoo key."""

    def mimeTypes(self) -> list[str]:
        return list(MIME_OF_KIND.values())

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        items = [i for i in items if i.data(0, TYPE_ROLE)]
        if items:
            value, kind = items[0].data(0, TYPE_ROLE), items[0].data(0, KIND_ROLE)
            mime.setData(MIME_OF_KIND.get(kind, MIME_BLOCK_TYPE), value.encode("utf-8"))
            mime.setText(value)
        return mime


class PalettePanel(QWidget):
    """Signals: ``block_activated(type)``, ``composite_activated(graph)`` (add another use),
    ``composite_open_requested(graph)`` (show its tab), ``pretrained_activated(key)`` (show
    its card) and ``pretrained_add_requested(key)``."""

    block_activated = Signal(str)
    composite_activated = Signal(str)
    composite_open_requested = Signal(str)
    pretrained_activated = Signal(str)
    pretrained_add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PalettePanel")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self._search_icon = self.search.addAction(icon("search"),
                                                  QLineEdit.ActionPosition.LeadingPosition)
        self.tree = BlockTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._populate()
        self.composites_family = self._family(COMPOSITES)
        self.pretrained_family = self._family(PRETRAINED)
        self.composites_family.setHidden(True)  # until the project has a composite
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search.installEventFilter(self)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self.tree.customContextMenuRequested.connect(self._on_tree_context_menu_requested)

    def _family(self, title: str) -> QTreeWidgetItem:
        bold = QFont()
        bold.setBold(True)
        top = QTreeWidgetItem([title])
        top.setFont(0, bold)
        top.setFlags(Qt.ItemFlag.ItemIsEnabled)
        top.setData(0, TYPE_ROLE, None)
        self.tree.addTopLevelItem(top)
        return top

    def _populate(self) -> None:
        for family, blocks in by_family().items():
            if not blocks or family in HIDDEN_FAMILIES:
                continue
            top = self._family(FAMILIES.get(family, family))
            dot = _dot(family_color(family))
            for block in blocks:
                top.addChild(self._block_item(block, dot))
        self.tree.expandAll()

    @staticmethod
    def _entry(text: str, value: str, kind: str, tip: str, dot: QIcon) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setIcon(0, dot)
        item.setData(0, TYPE_ROLE, value)
        item.setData(0, KIND_ROLE, kind)
        item.setToolTip(0, tip)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        return item

    @classmethod
    def _block_item(cls, block: Block, dot: QIcon) -> QTreeWidgetItem:
        return cls._entry(block.title or block.type, block.type, "block",
                          plain_tooltip(f"{block.type}: {block.doc}"), dot)

    def set_pretrained(self, entries: Iterable[ZooEntryLike]) -> None:
        """List the zoo's backbones: the title and parameter count, the facts as tooltip."""
        family, dot = self.pretrained_family, _dot(family_color("composite"))
        family.takeChildren()
        for e in entries:
            item = self._entry(f"{e.title} ({fmt_count(e.params)})", e.key, "pretrained",
                               zoo_tooltip(e), dot)
            item.setData(0, SEARCH_ROLE, f"{e.source} {e.licence} {e.accuracy}")
            family.addChild(item)
        self._after_change()

    def set_composites(self, composites: Sequence[tuple[str, str]]) -> None:
        """List the project's composite graphs: (graph name, tooltip) pairs."""
        family, dot = self.composites_family, _dot(family_color("composite"))
        family.takeChildren()
        for name, tip in composites:
            family.addChild(self._entry(name, name, "composite", plain_tooltip(tip), dot))
        self._after_change()

    def _after_change(self) -> None:
        self._on_search_text_changed(self.search.text())

    def refresh_icons(self) -> None:
        """Redraw the search icon in the current theme's colour."""
        self._search_icon.setIcon(icon("search"))

    # -- queries -----------------------------------------------------------------------
    def entry_items(self, kind: str | None = None) -> list[QTreeWidgetItem]:
        """Every entry (of ``kind``: "block", "composite" or "pretrained"), in tree order."""
        root = self.tree.invisibleRootItem()
        items = [root.child(i).child(j) for i in range(root.childCount())
                 for j in range(root.child(i).childCount())]
        return [i for i in items if kind is None or i.data(0, KIND_ROLE) == kind]

    def block_items(self) -> list[QTreeWidgetItem]:
        return self.entry_items("block")

    def item_for(self, type_name: str, kind: str = "block") -> QTreeWidgetItem | None:
        for item in self.entry_items(kind):
            if item.data(0, TYPE_ROLE) == type_name:
                return item
        return None

    def visible_types(self) -> list[str]:
        return [i.data(0, TYPE_ROLE) for i in self.block_items() if not i.isHidden()]

    def visible_entries(self, kind: str) -> list[str]:
        return [i.data(0, TYPE_ROLE) for i in self.entry_items(kind) if not i.isHidden()]

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- events ------------------------------------------------------------------------
    def eventFilter(self, watched: object, event: object) -> bool:
        if (watched is self.search and isinstance(event, QKeyEvent)
                and event.type() == QKeyEvent.Type.KeyPress and event.key() == Qt.Key.Key_Down):
            first = next((i for i in self.entry_items() if not i.isHidden()), None)
            if first is not None:
                self.tree.setCurrentItem(first)
                self.tree.setFocus()
            return True
        return super().eventFilter(watched, event)

    def _on_search_text_changed(self, text: str) -> None:
        words = text.lower().split()
        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            family = root.child(i)
            any_shown = False
            for j in range(family.childCount()):
                item = family.child(j)
                hay = (f"{item.text(0)} {item.data(0, TYPE_ROLE)} {family.text(0)} "
                       f"{item.data(0, SEARCH_ROLE) or ''}").lower()
                shown = all(w in hay for w in words)
                item.setHidden(not shown)
                any_shown |= shown
            family.setHidden(not any_shown)
        self.tree.expandAll()

    def _on_search_return_pressed(self) -> None:
        first = next((i for i in self.entry_items() if not i.isHidden()), None)
        if first is not None:
            self._activate(first)

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self._activate(item)

    def _activate(self, item: QTreeWidgetItem) -> None:
        value, kind = item.data(0, TYPE_ROLE), item.data(0, KIND_ROLE)
        if not value:
            return
        {"block": self.block_activated, "composite": self.composite_activated,
         "pretrained": self.pretrained_activated}[kind].emit(value)

    def context_menu(self, item: QTreeWidgetItem) -> QMenu | None:
        """The context menu of a composite or pretrained entry (None for others)."""
        value, kind = item.data(0, TYPE_ROLE), item.data(0, KIND_ROLE)
        menu = QMenu(self)
        if kind == "pretrained":
            menu.addAction("About…").triggered.connect(
                lambda: self.pretrained_activated.emit(value))
            menu.addAction("Add to Model").triggered.connect(
                lambda: self.pretrained_add_requested.emit(value))
        elif kind == "composite":
            menu.addAction("Add to Graph").triggered.connect(
                lambda: self.composite_activated.emit(value))
            menu.addAction("Open").triggered.connect(
                lambda: self.composite_open_requested.emit(value))
        else:
            return None
        return menu

    def _on_tree_context_menu_requested(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        menu = self.context_menu(item) if item is not None else None
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))
            menu.deleteLater()
