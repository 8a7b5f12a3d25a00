"""WelcomePage: what the window shows on a start without a file, and from Help > Welcome.

A page of the central area (the canvas is the other page): buttons to train an example,
start a project or open one, the template gallery as cards, and the recent projects. It
only shows things and emits requests; the welcome feature (app/window/features/welcome.py) acts on them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.text import plain_tooltip
from app.theme import Theme
from app.window.files import RecentEntry
from app.window.template_cards import CARD_W, TemplateCard, TemplateSummary
from app.window.welcome_cloud import CloudGuide

PATH_ROLE = Qt.ItemDataRole.UserRole
MISSING_ROLE = Qt.ItemDataRole.UserRole + 1
GAP = 16


def _heading(text: str, scale: float = 1.25) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


class RecentList(QListWidget):
    """Recent projects, newest first: Enter opens, Delete removes from the list."""

    remove_requested = Signal(list)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if item is not None and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_requested.emit([item.data(PATH_ROLE)])
            return
        if item is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.itemActivated.emit(item)
            return
        super().keyPressEvent(event)


class WelcomePage(QWidget):
    template_chosen = Signal(str)
    recent_chosen = Signal(str)
    recent_removed = Signal(list)  # paths to take off the recent list
    new_requested = Signal()
    open_requested = Signal()
    train_requested = Signal()
    back_requested = Signal()
    show_at_startup_changed = Signal(bool)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_page")
        self._theme = theme
        self.cards: list[TemplateCard] = []
        self._columns = 0
        self._missing_color = theme.color("subtext")

        self.train_button = QPushButton("Train an Example")
        self.train_button.setDefault(True)
        self.train_button.setToolTip("Open a copy of the MLP example (spirals data) and start "
                                     "training it at once")
        self.new_button = QPushButton("New Project…")
        self.new_button.setToolTip("Choose a template or an empty project")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a project file")
        self.back_button = QPushButton("Empty Canvas")
        self.back_button.setToolTip("Leave this page (Esc)")
        for b in (self.train_button, self.new_button, self.open_button, self.back_button):
            b.setMinimumHeight(34)
            b.setMinimumWidth(130)
        self.train_button.clicked.connect(self.train_requested)
        self.new_button.clicked.connect(self.new_requested)
        self.open_button.clicked.connect(self.open_requested)
        self.back_button.clicked.connect(self.back_requested)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.back_requested.emit,
                  Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.gallery = QWidget()
        self.grid = QGridLayout(self.gallery)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(GAP)
        self.gallery_problems = QLabel()
        self.gallery_problems.setTextFormat(Qt.TextFormat.PlainText)
        self.gallery_problems.setWordWrap(True)
        self.gallery_problems.setProperty("role", "error")
        self.gallery_problems.hide()

        self.recent = RecentList()
        self.recent.setObjectName("welcome_recent")
        self.recent.setMinimumWidth(300)
        self.recent.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent.setUniformItemSizes(False)
        self.recent.setSpacing(2)
        self.recent.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.recent.itemActivated.connect(self._on_recent_item_activated)
        self.recent.remove_requested.connect(self.recent_removed)
        self.recent.customContextMenuRequested.connect(self._on_recent_context_menu_requested)
        self.recent.currentItemChanged.connect(lambda *_: self._update_recent_buttons())
        self.recent_empty = QLabel("No recent projects yet. Projects you open or save are "
                                   "listed here.")
        self.recent_empty.setWordWrap(True)
        self.recent_empty.setProperty("role", "muted")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take the selected project off the list (Delete)")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.remove_missing_button = QPushButton("Remove Missing")
        self.remove_missing_button.setToolTip("Take every project that no longer exists off "
                                              "the list")
        self.remove_missing_button.clicked.connect(self._on_remove_missing_button_clicked)

        self.show_at_startup = QCheckBox("Show this page at startup")
        self.show_at_startup.toggled.connect(self.show_at_startup_changed)
        self.hint = QLabel("Help > User Guide (F1) · Keyboard Shortcuts (Ctrl+/) · "
                           "Help > Welcome brings this page back")
        self.hint.setProperty("role", "muted")
        self.rule = QFrame()
        self.rule.setFixedHeight(1)
        self.cloud = CloudGuide(_heading)  # renting a GPU, spot machines
        self._build_layout()
        self._style_primary()

    def _style_primary(self) -> None:
        t = self._theme
        hover = t.color("highlight").lighter(112).name()
        self.train_button.setStyleSheet(
            f"QPushButton {{ background: {t.highlight}; color: #ffffff; border: none;"
            f" border-radius: 4px; padding: 6px 18px; font-weight: bold; }}"
            f" QPushButton:hover {{ background: {hover}; }}"
            f" QPushButton:focus {{ border: 2px solid {t.text}; }}")
        self.rule.setStyleSheet(f"background: {t.border};")

    def _build_layout(self) -> None:
        title = _heading("Welcome to LayerForge", 1.9)
        subtitle = QLabel("Design a network from blocks, train it with live plots, and "
                          "export it.")
        subtitle.setProperty("role", "muted")
        actions = QHBoxLayout()
        actions.setSpacing(10)
        for b in (self.train_button, self.new_button, self.open_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.back_button)

        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(_heading("Start from a template"))
        left.addWidget(self.gallery_problems)
        left.addWidget(self.gallery)
        left.addStretch(1)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(10)
        right.addWidget(_heading("Recent projects"))
        right.addWidget(self.recent_empty)
        right.addWidget(self.recent, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.remove_missing_button)
        buttons.addStretch(1)
        right.addLayout(buttons)
        right.addSpacing(GAP)
        right.addWidget(self.cloud)
        right.addStretch(0)  # keeps the column at the top while the list is hidden
        body = QHBoxLayout()
        body.setSpacing(GAP * 2)
        body.addLayout(left, 0)
        side = QWidget()
        side.setLayout(right)
        side.setMinimumWidth(320)
        side.setMaximumWidth(480)
        side.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        body.addWidget(side, 1)

        line = self.rule
        footer = QHBoxLayout()
        footer.addWidget(self.show_at_startup)
        footer.addStretch(1)
        footer.addWidget(self.hint)

        content = QWidget()
        content.setObjectName("welcome_content")
        content.setMaximumWidth(1280)
        col = QVBoxLayout(content)
        col.setContentsMargins(40, 32, 40, 24)
        col.setSpacing(14)
        col.addWidget(title)
        col.addWidget(subtitle)
        col.addSpacing(6)
        col.addLayout(actions)
        col.addSpacing(12)
        col.addLayout(body, 1)
        col.addWidget(line)
        col.addLayout(footer)

        holder = QWidget()
        centre = QHBoxLayout(holder)
        centre.setContentsMargins(0, 0, 0, 0)
        centre.addWidget(content, 1, Qt.AlignmentFlag.AlignHCenter)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(holder)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

    # -- content -------------------------------------------------------------------------
    def set_templates(self, entries: list[tuple[TemplateSummary | None, str, str]]) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        problems = []
        for summary, name, problem in entries:
            if summary is None:
                problems.append(f"{name}: {problem}")
                continue
            card = TemplateCard(summary, self._theme, self._navigate, self.gallery)
            card.chosen.connect(self.template_chosen)
            self.cards.append(card)
        self.gallery_problems.setText("\n".join(problems))
        self.gallery_problems.setVisible(bool(problems))
        self._columns = 0
        self._reflow()

    def set_recent(self, entries: list[RecentEntry]) -> None:
        current = self.recent.currentItem()
        keep = current.data(PATH_ROLE) if current is not None else None
        self.recent.clear()
        for entry in entries:
            p = Path(entry.path)
            state = "" if entry.exists else "  (missing)"
            item = QListWidgetItem(f"{p.name}{state}\n{p.parent}")
            item.setData(PATH_ROLE, entry.path)
            item.setData(MISSING_ROLE, not entry.exists)
            item.setSizeHint(QSize(0, 2 * self.fontMetrics().height() + 14))
            if entry.exists:
                item.setToolTip(plain_tooltip(entry.path))
            else:
                item.setForeground(self._missing_color)
                item.setToolTip(plain_tooltip(f"{entry.path}\n\nThis file no longer exists. "
                                              "Press Delete to take it off the list."))
            self.recent.addItem(item)
            if entry.path == keep:
                self.recent.setCurrentItem(item)
        empty = not entries
        self.recent_empty.setVisible(empty)
        self.recent.setVisible(not empty)
        self._update_recent_buttons()

    def recent_paths(self) -> list[tuple[str, bool]]:
        """(path, missing) per listed entry, in order."""
        return [(self.recent.item(i).data(PATH_ROLE), bool(self.recent.item(i).data(MISSING_ROLE)))
                for i in range(self.recent.count())]

    def set_back_text(self, text: str) -> None:
        self.back_button.setText(text)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._missing_color = theme.color("subtext")
        self._style_primary()
        for card in self.cards:
            card.set_theme(theme)
        for i in range(self.recent.count()):
            item = self.recent.item(i)
            if item.data(MISSING_ROLE):
                item.setForeground(self._missing_color)

    def focus_first(self) -> None:
        (self.cards[0] if self.cards else self.train_button).setFocus(
            Qt.FocusReason.OtherFocusReason)

    # -- layout and keys -----------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

    def _reflow(self) -> None:
        """As many card columns as the width allows (three on a usual window)."""
        room = self.width() - 80 - 320 - 2 * GAP
        columns = max(1, min(3, (room + GAP) // (CARD_W + GAP)))
        if columns == self._columns and all(self.grid.indexOf(c) >= 0 for c in self.cards):
            return
        self._columns = columns
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns)
        # Tab order follows the reading order.
        chain = [self.train_button, self.new_button, self.open_button, self.back_button,
                 *self.cards, self.recent, self.remove_button, self.remove_missing_button,
                 self.show_at_startup]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    def _navigate(self, card: TemplateCard, key: int) -> None:
        i = self.cards.index(card)
        cols = max(1, self._columns)
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -cols,
                Qt.Key.Key_Down: cols}[Qt.Key(key)]
        j = i + step
        if 0 <= j < len(self.cards):
            self.cards[j].setFocus(Qt.FocusReason.TabFocusReason)

    # -- recent list -----------------------------------------------------------------------
    def _update_recent_buttons(self) -> None:
        self.remove_button.setEnabled(self.recent.currentItem() is not None)
        self.remove_missing_button.setEnabled(any(m for _p, m in self.recent_paths()))
        self.remove_button.setVisible(self.recent.count() > 0)
        self.remove_missing_button.setVisible(self.recent.count() > 0)

    def _on_recent_item_activated(self, item: QListWidgetItem) -> None:
        self.recent_chosen.emit(item.data(PATH_ROLE))

    def _on_remove_button_clicked(self) -> None:
        item = self.recent.currentItem()
        if item is not None:
            self.recent_removed.emit([item.data(PATH_ROLE)])

    def _on_remove_missing_button_clicked(self) -> None:
        missing = [p for p, m in self.recent_paths() if m]
        if missing:
            self.recent_removed.emit(missing)

    def _on_recent_context_menu_requested(self, pos) -> None:
        item = self.recent.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            path = item.data(PATH_ROLE)
            open_act = menu.addAction("Open")
            open_act.setEnabled(not item.data(MISSING_ROLE))
            open_act.triggered.connect(lambda: self.recent_chosen.emit(path))
            menu.addAction("Remove from List").triggered.connect(
                lambda: self.recent_removed.emit([path]))
        missing = [p for p, m in self.recent_paths() if m]
        if missing:
            menu.addAction("Remove Missing Files").triggered.connect(
                lambda: self.recent_removed.emit(missing))
        if not menu.isEmpty():
            menu.exec(self.recent.viewport().mapToGlobal(pos))
