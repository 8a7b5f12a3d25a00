"""Perspectives: the window's three arrangements of its panels, one per step of the work.

*Design* gives the canvas the room (palette and inspector narrow beside it), *Train* the
plots (hyperparameters on the left, the training controls, runs and sweep on the right),
*Evaluate* the evaluation (runs on the left). Train and Evaluate hide the canvas, so that
their docks take the whole window, as Neural Network Console gives each step a tab.

Each perspective's dock layout is saved separately (Qt's ``saveState`` with
:data:`STATE_VERSION`) when the user leaves it and when the window closes, and restored
when they come back; a state saved by another version of the layout is ignored and the
perspective starts from its default arrangement. "Reset Layout" goes back to that default.

Panels are found by their dock's object name (``dock_<name>``, see
``MainWindow.add_dock``); a dock no perspective names (a feature added later) keeps
whatever place and visibility the user gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QSizePolicy, QToolBar, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable

#: Bump when the default arrangements change so that old saved layouts are not applied.
STATE_VERSION = 7
KEY_CURRENT = "window/perspective"

Area = Qt.DockWidgetArea
H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


@dataclass(frozen=True)
class Perspective:
    """``docks``: the panels it shows (by name); ``central``: whether the canvas shows."""

    name: str
    title: str
    shortcut: str
    tip: str
    central: bool
    docks: tuple[str, ...]


PERSPECTIVES: dict[str, Perspective] = {p.name: p for p in (
    Perspective("design", "Design", "Ctrl+1", "Build the network: the canvas takes the room",
                True, ("palette", "inspector", "dataset", "problems")),
    Perspective("train", "Train", "Ctrl+2", "Train: hyperparameters, live plots and runs",
                False, ("hyperparams", "dataset", "plots", "experiment", "training", "runs",
                        "sweep", "health", "problems")),
    Perspective("evaluate", "Evaluate", "Ctrl+3",
                "Evaluate a run: metrics, confusion matrix, misclassified samples, your own inputs",
                False, ("runs", "evaluation", "samples", "try", "explain")),
)}
ALL_NAMED = {d for p in PERSPECTIVES.values() for d in p.docks}


class Perspectives(QObject):
    """Switches the window between the perspectives and keeps each one's layout.

    Signals: ``changed(name)`` after a switch."""

    changed = Signal(str)

    def __init__(self, window: QMainWindow, central: QWidget, settings: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.central = central
        self.settings = settings
        self.current = ""
        self.settling = False  # True until a default arrangement has been sized
        self._suspended = False
        window.setCorner(Qt.Corner.BottomLeftCorner, Area.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, Area.RightDockWidgetArea)
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for p in PERSPECTIVES.values():
            action = QAction(p.title, window)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(p.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{p.tip} ({p.shortcut})")
            action.setStatusTip(p.tip)
            action.triggered.connect(lambda _checked=False, n=p.name: self.switch(n))
            self.group.addAction(action)
            window.addAction(action)
            self.actions[p.name] = action
        self.reset_action = QAction("&Reset Layout", window)
        self.reset_action.setToolTip("Put this perspective's panels back where they started")
        self.reset_action.triggered.connect(self.reset)

    # -- menus and toolbar -------------------------------------------------------------
    def fill_menu(self, view: QMenu) -> None:
        """A Perspective submenu at the top of View."""
        menu = QMenu("P&erspective", view)
        menu.addActions(list(self.actions.values()))
        menu.addSeparator()
        menu.addAction(self.reset_action)
        first = view.actions()[0] if view.actions() else None
        view.insertMenu(first, menu)
        view.insertSeparator(first)

    def add_switcher(self, bar: QToolBar) -> None:
        """The three perspectives as text buttons at the right end of ``bar``."""
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        for action in self.actions.values():
            bar.addAction(action)
            button = bar.widgetForAction(action)
            if button is not None:
                button.setObjectName(f"perspective_{action.text().lower()}")
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

    # -- switching ---------------------------------------------------------------------
    def start(self) -> None:
        """Show the perspective the user last used (Design the first time)."""
        name = self.settings.value(KEY_CURRENT, "design")
        self.switch(name if isinstance(name, str) and name in PERSPECTIVES else "design")

    def switch(self, name: str) -> None:
        """Leave the current perspective (its layout is saved) and show ``name``'s."""
        if name not in PERSPECTIVES:
            raise ValueError(f"unknown perspective {name!r}")
        if name == self.current and not self._suspended:
            self.actions[name].setChecked(True)
            return
        if self._suspended:
            self._suspended = False
        elif self.current:
            self.save()
        self.current = name
        self.actions[name].setChecked(True)
        self.settings.setValue(KEY_CURRENT, name)
        self._show(PERSPECTIVES[name])
        self.changed.emit(name)

    def reset(self) -> None:
        """The current perspective's default arrangement."""
        if self.current and not self._suspended:
            self.settings.remove(self._key(self.current))
            self._arrange(PERSPECTIVES[self.current])

    def save(self) -> None:
        """Keep the current perspective's layout (when leaving it and at close)."""
        if self.current and not self._suspended:
            self.settings.setValue(self._key(self.current), self.window.saveState(STATE_VERSION))

    def suspend(self) -> None:
        """Hide every docked panel (the welcome page takes the window); ``switch`` or
        :meth:`resume` brings a perspective back."""
        if self._suspended:
            return
        self.save()
        self._suspended = True
        for dock in self._docks():
            if not dock.isFloating():
                dock.hide()
        self.central.show()

    def resume(self) -> None:
        if self._suspended:
            self.switch(self.current or "design")

    # -- helpers -----------------------------------------------------------------------
    def _resize(self, name: str, sizes: Sizes) -> None:
        if name == self.current and not self._suspended:  # else the user moved on
            for docks, lengths, orientation in sizes:
                if all(d.isVisible() for d in docks):
                    self.window.resizeDocks(docks, lengths, orientation)
        QTimer.singleShot(0, self, self._on_settled)  # the docks take the sizes next pass

    def _on_settled(self) -> None:
        self.settling = False

    def dock(self, name: str) -> QDockWidget | None:
        return self.window.findChild(QDockWidget, f"dock_{name}")

    def _docks(self) -> list[QDockWidget]:
        return self.window.findChildren(QDockWidget)

    @staticmethod
    def _key(name: str) -> str:
        return f"window/perspective/{name}"

    def _show(self, p: Perspective) -> None:
        saved = self.settings.value(self._key(p.name))
        # Toolbars belong to the window, not to a perspective (a state saved while one
        # was not yet shown would hide it).
        bars = {bar: not bar.isHidden() or not bar.testAttribute(
            Qt.WidgetAttribute.WA_WState_ExplicitShowHide)
            for bar in self.window.findChildren(QToolBar)}
        self.window.setUpdatesEnabled(False)
        try:
            self.central.setVisible(p.central)
            restored = isinstance(saved, QByteArray) and self.window.restoreState(
                saved, STATE_VERSION)
            if not restored:
                self._arrange(p)
            for bar, shown in bars.items():
                bar.setVisible(shown)
        finally:
            self.window.setUpdatesEnabled(True)

    def _arrange(self, p: Perspective) -> None:
        """The default arrangement of ``p``, sized for the window as it is now."""
        for dock in self._docks():
            name = dock.objectName().removeprefix("dock_")
            if name in ALL_NAMED and name not in p.docks:
                dock.hide()
        self.central.setVisible(p.central)
        present = {n: d for n in p.docks if (d := self.dock(n)) is not None}
        for dock in present.values():
            dock.setFloating(False)
        sizes = ARRANGEMENTS[p.name](self.window, present)
        for dock in present.values():
            dock.show()
        # Docks just shown are laid out by the next layout pass: size them after it.
        self.settling = True
        QTimer.singleShot(0, self, lambda: self._resize(p.name, sizes))
        for front in FRONT[p.name]:
            if front in present:
                present[front].raise_()


Sizes = list[tuple[list[QDockWidget], list[int], Qt.Orientation]]


def _place(window: QMainWindow, docks: dict[str, QDockWidget], area: Area,
           *names: str) -> list[QDockWidget]:
    placed = [docks[n] for n in names if n in docks]
    for dock in placed:
        window.addDockWidget(area, dock)
    return placed


def _tabs(window: QMainWindow, docks: list[QDockWidget]) -> None:
    for a, b in zip(docks, docks[1:], strict=False):
        window.tabifyDockWidget(a, b)


def _share(total: int, share: float, least: int, most: int) -> int:
    return max(least, min(most, int(total * share)))


def _firsts(groups: list[tuple[list[QDockWidget], int]],
            orientation: Qt.Orientation) -> Sizes:
    """Size the first dock of each non-empty group."""
    present = [(g[0], size) for g, size in groups if g]
    return [([d for d, _ in present], [s for _, s in present], orientation)] if present else []


def _design(window: QMainWindow, docks: dict[str, QDockWidget]) -> Sizes:
    w, h = window.width(), window.height()
    left = _place(window, docks, Area.LeftDockWidgetArea, "palette")
    right = _place(window, docks, Area.RightDockWidgetArea, "inspector", "dataset")
    _tabs(window, right)
    bottom = _place(window, docks, Area.BottomDockWidgetArea, "problems")
    return (_firsts([(left, _share(w, 0.17, 228, 280)), (right, _share(w, 0.24, 300, 420))], H)
            + _firsts([(bottom, _share(h, 0.15, 110, 200))], V))


def _train(window: QMainWindow, docks: dict[str, QDockWidget]) -> Sizes:
    # One dock area split in columns: with the canvas hidden, docks spread over two areas
    # do not take the sizes asked for.
    w, h = window.width(), window.height()
    columns = _place(window, docks, Area.LeftDockWidgetArea, "hyperparams")
    for name in ("plots", "training"):
        if name in docks:
            if columns:
                window.splitDockWidget(columns[-1], docks[name], H)
            else:
                window.addDockWidget(Area.LeftDockWidgetArea, docks[name])
            columns.append(docks[name])
    below = [docks[n] for n in ("runs", "sweep", "health", "problems") if n in docks]
    if below and columns:
        window.splitDockWidget(columns[-1], below[0], V)
        _tabs(window, below)
    _tabs(window, [docks[n] for n in ("hyperparams", "dataset") if n in docks])
    _tabs(window, [docks[n] for n in ("plots", "experiment") if n in docks])  # a sweep's room
    shares = {"hyperparams": _share(w, 0.25, 310, 420), "plots": _share(w, 0.45, 400, 1400),
              "training": _share(w, 0.30, 370, 520)}
    sizes: Sizes = [(columns, [shares[d.objectName().removeprefix("dock_")] for d in columns],
                     H)] if columns else []
    if below and columns:
        top = _share(h, 0.36, 250, 330)  # the training panel's lines, whole
        sizes.append(([columns[-1], below[0]], [top, max(200, h - top)], V))
    return sizes


def _evaluate(window: QMainWindow, docks: dict[str, QDockWidget]) -> Sizes:
    w = window.width()
    left = _place(window, docks, Area.LeftDockWidgetArea, "runs")
    main = [docks[n] for n in ("evaluation", "samples", "try", "explain") if n in docks]
    if main:
        if left:
            window.splitDockWidget(left[0], main[0], H)
        else:
            window.addDockWidget(Area.LeftDockWidgetArea, main[0])
        _tabs(window, main)
    side = _share(w, 0.24, 300, 420)
    return _firsts([(left, side), (main, w - side)], H)


ARRANGEMENTS: dict[str, Callable[[QMainWindow, dict[str, QDockWidget]], Sizes]] = {
    "design": _design, "train": _train, "evaluate": _evaluate}
#: the tab in front of each tabbed group
FRONT = {"design": ("inspector",), "train": ("hyperparams", "runs", "plots"),
         "evaluate": ("evaluation",)}
