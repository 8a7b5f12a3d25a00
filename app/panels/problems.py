"""ProblemsPanel: every error and warning in the project; clicking one shows its block."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.icons import icon
from app.text import plain_tooltip
from engine.graph import Problem

WHERE_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QWidget):
    #: (graph, node id) of the clicked problem; the node id is "" for graph-level problems.
    problem_activated = Signal(str, str)
    #: (errors, warnings) after each refresh, e.g. for the dock title.
    counts_changed = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProblemsPanel")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Where", "Problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.tree.itemActivated.connect(self._on_tree_item_clicked)
        self._shown: list[tuple[str, str | None, str, str]] | None = None

    def set_problems(self, problems: list[Problem]) -> None:
        rows = [(p.graph, p.node, p.message, p.severity) for p in problems]
        rows.sort(key=lambda r: r[3] != "error")  # errors first, stable within each group
        if rows == self._shown:
            return  # keep the selection and scroll position while nothing changed
        self._shown = rows
        self.tree.clear()
        items = []
        for graph, node, message, severity in rows:
            where = f"{graph} / {node}" if node else graph
            item = QTreeWidgetItem([where, message])
            item.setIcon(0, icon("error" if severity == "error" else "warning"))
            item.setData(0, WHERE_ROLE, (graph, node or ""))
            item.setToolTip(1, plain_tooltip(message))
            items.append(item)
        if not items:
            empty = QTreeWidgetItem(["", "No problems: every block has a shape."])
            empty.setIcon(0, icon("ok"))
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            items.append(empty)
        self.tree.addTopLevelItems(items)
        errors = sum(1 for r in rows if r[3] == "error")
        self.counts_changed.emit(errors, len(rows) - errors)

    def rows(self) -> list[tuple[str, str | None, str, str]]:
        return list(self._shown or [])

    def item(self, index: int) -> QTreeWidgetItem:
        return self.tree.topLevelItem(index)

    def _on_tree_item_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        where = item.data(0, WHERE_ROLE)
        if where:
            self.problem_activated.emit(*where)
