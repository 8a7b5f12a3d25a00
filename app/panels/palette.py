"""PalettePanel: every block type, grouped by family, with search.

Drag a block onto a canvas, double-click it, or press Enter in the search field to add the
first match. The palette reads only the catalog; adding is the window's job.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.document import MIME_BLOCK_TYPE
from app.icons import icon
from app.text import plain_tooltip
from app.theme import family_color
from engine.blocks import FAMILIES, Block, by_family

TYPE_ROLE = Qt.ItemDataRole.UserRole


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
    """The family/block tree; dragging a block carries its type name."""

    def mimeTypes(self) -> list[str]:
        return [MIME_BLOCK_TYPE]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        types = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        if types:
            mime.setData(MIME_BLOCK_TYPE, types[0].encode("utf-8"))
            mime.setText(types[0])
        return mime


class PalettePanel(QWidget):
    block_activated = Signal(str)

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._populate()
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search.installEventFilter(self)
        self.tree.itemActivated.connect(self._on_tree_item_activated)

    def _populate(self) -> None:
        bold = QFont()
        bold.setBold(True)
        for family, blocks in by_family().items():
            if not blocks:
                continue
            top = QTreeWidgetItem([FAMILIES.get(family, family)])
            top.setFont(0, bold)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setData(0, TYPE_ROLE, None)
            dot = _dot(family_color(family))
            for block in blocks:
                top.addChild(self._block_item(block, dot))
            self.tree.addTopLevelItem(top)
        self.tree.expandAll()

    @staticmethod
    def _block_item(block: Block, dot: QIcon) -> QTreeWidgetItem:
        item = QTreeWidgetItem([block.title or block.type])
        item.setIcon(0, dot)
        item.setData(0, TYPE_ROLE, block.type)
        item.setToolTip(0, plain_tooltip(f"{block.type}: {block.doc}"))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        return item

    def refresh_icons(self) -> None:
        """Redraw the search icon in the current theme's colour."""
        self._search_icon.setIcon(icon("search"))

    # -- queries -----------------------------------------------------------------------
    def block_items(self) -> list[QTreeWidgetItem]:
        root = self.tree.invisibleRootItem()
        return [root.child(i).child(j) for i in range(root.childCount())
                for j in range(root.child(i).childCount())]

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        for item in self.block_items():
            if item.data(0, TYPE_ROLE) == type_name:
                return item
        return None

    def visible_types(self) -> list[str]:
        return [i.data(0, TYPE_ROLE) for i in self.block_items() if not i.isHidden()]

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- events ------------------------------------------------------------------------
    def eventFilter(self, watched: object, event: object) -> bool:
        if (watched is self.search and isinstance(event, QKeyEvent)
                and event.type() == QKeyEvent.Type.KeyPress and event.key() == Qt.Key.Key_Down):
            first = next((i for i in self.block_items() if not i.isHidden()), None)
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
                hay = f"{item.text(0)} {item.data(0, TYPE_ROLE)} {family.text(0)}".lower()
                shown = all(w in hay for w in words)
                item.setHidden(not shown)
                any_shown |= shown
            family.setHidden(not any_shown)
        self.tree.expandAll()

    def _on_search_return_pressed(self) -> None:
        types = self.visible_types()
        if types:
            self.block_activated.emit(types[0])

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.block_activated.emit(type_name)
