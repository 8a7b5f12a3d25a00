"""ProblemsPanel: every error and warning in the project; clicking one shows its block.

A problem that an action repairs (``Problem.fix``, e.g. "fit_model" for a model that does
not fit its data) is offered as a button above the list, and double-clicking the problem (or
Enter on it) asks for the same: ``fix_requested(fix)``, which the workspace carries out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from app.text import plain_tooltip
from engine.graph import Problem

WHERE_ROLE = Qt.ItemDataRole.UserRole
FIX_ROLE = Qt.ItemDataRole.UserRole + 1
#: what each fix is called on its button
#: ("privacy_fix": what private training cannot take, app/window/features/privacy_check.py)
FIX_LABELS = {"fit_model": "Fit model to data", "privacy_fix": "Fix for private training"}


class ProblemsPanel(QWidget):
    #: (graph, node id) of the clicked problem; the node id is "" for graph-level problems.
    problem_activated = Signal(str, str)
    #: (errors, warnings) after each refresh, e.g. for the dock title.
    counts_changed = Signal(int, int)
    #: the action a problem offers (a key of FIX_LABELS), asked for by its button or by
    #: activating the problem
    fix_requested = Signal(str)

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
        self.fix_bar = QWidget()
        bar = QHBoxLayout(self.fix_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        self.fix_buttons: dict[str, QPushButton] = {}
        for fix, label in FIX_LABELS.items():
            button = QPushButton(label)
            button.setToolTip("Change the model (one undo step) so that the problems "
                              "marked with it go away.")
            button.clicked.connect(lambda _checked=False, f=fix: self.fix_requested.emit(f))
            bar.addWidget(button)
            self.fix_buttons[fix] = button
        bar.addStretch(1)
        self.fix_bar.hide()
        layout.addWidget(self.fix_bar)
        layout.addWidget(self.tree)
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self._shown: list[tuple[str, str | None, str, str]] | None = None
        self._fixes: list[str] = []

    def set_problems(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: p.severity != "error")  # errors first, stable
        rows = [(p.graph, p.node, p.message, p.severity) for p in ordered]
        fixes = [p.fix if p.fix in FIX_LABELS else "" for p in ordered]
        if rows == self._shown and fixes == self._fixes:
            return  # keep the selection and scroll position while nothing changed
        self._shown, self._fixes = rows, fixes
        self.tree.clear()
        items = []
        for (graph, node, message, severity), fix in zip(rows, fixes, strict=True):
            where = f"{graph} / {node}" if node else graph
            item = QTreeWidgetItem([where, message])
            item.setIcon(0, icon("error" if severity == "error" else "warning"))
            item.setData(0, WHERE_ROLE, (graph, node or ""))
            item.setData(0, FIX_ROLE, fix)
            tip = message + (f"\n\nDouble-click: {FIX_LABELS[fix]}." if fix else "")
            item.setToolTip(1, plain_tooltip(tip))
            items.append(item)
        for fix, button in self.fix_buttons.items():
            button.setVisible(fix in fixes)
        self.fix_bar.setVisible(any(fixes))
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

    def fixes(self) -> list[str]:
        """The fix each shown row offers ("" for none), in the order of :meth:`rows`."""
        return list(self._fixes)

    def _on_tree_item_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        where = item.data(0, WHERE_ROLE)
        if where:
            self.problem_activated.emit(*where)

    def _on_tree_item_activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        self._on_tree_item_clicked(item, column)
        fix = item.data(0, FIX_ROLE)
        if fix:
            self.fix_requested.emit(fix)
