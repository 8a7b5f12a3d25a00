"""Block health: what each block did while the run shown trained.

Three parts over one :class:`HealthHistory`: the training doctor's findings (sentences with
a Fix button where there is one), a sortable table of every block's latest statistics, and
the history of the selected block's chosen statistic. A line above them says which run and
step it shows, or why there is nothing (no run yet, a run that measured no statistics and
how to turn them on).

New statistics arrive often (several times a second on a large network): ``changed()`` only
marks the panel stale, and the table and plot are brought up to date at most every
``REFRESH_MS`` (numbers that change faster cannot be read anyway), and only while the panel
is on screen (it catches up when shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.canvas.health_stats import STATS, HealthHistory
from app.panels.block_health_findings import FindingsList
from app.panels.block_health_plot import BlockHistoryPlot
from app.panels.block_health_table import BlockHealthTable
from app.widgets.labels import plain_label

#: the least time between two refreshes of the table and the plot
REFRESH_MS = 250
NO_RUN = "Train the project or select a run in Runs to see how its blocks behave."
#: how to turn the statistics on
NO_STATS_HOW = ("Set \"Block statistics every N steps\" in Hyperparameters "
                "(training.stats_every, e.g. 50) and train again.")
#: said when the run shown recorded no block statistics
NO_STATS = "this run recorded no block statistics. " + NO_STATS_HOW


class BlockHealthPanel(QWidget):
    """Signals: ``block_selected(key)`` (a row of the table became current),
    ``finding_activated(key)`` (a finding was clicked; "" when it concerns the whole run),
    ``fix_requested(fix)`` (a finding's Fix button)."""

    block_selected = Signal(str)
    finding_activated = Signal(str)
    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BlockHealthPanel")
        self.history: HealthHistory | None = None
        self.label = ""
        self.message = NO_RUN
        self.status = plain_label(NO_RUN, role="muted")
        self.findings = FindingsList()
        self.table = BlockHealthTable()
        self.plot = BlockHistoryPlot()
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        for w in (self.findings, self.table, self.plot):
            self.split.addWidget(w)
        for i, stretch in enumerate((2, 3, 3)):
            self.split.setStretchFactor(i, stretch)
        self.findings.setMinimumHeight(56)
        self.table.setMinimumHeight(80)
        self.plot.setMinimumHeight(110)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(self.split, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.flush)
        self._stale = False
        self._user_sized = False
        self.split.splitterMoved.connect(self._on_split_splitter_moved)
        self.table.block_selected.connect(self._on_table_block_selected)
        self.findings.finding_activated.connect(self._on_findings_finding_activated)
        self.findings.fix_requested.connect(self.fix_requested)
        self._show_parts(False)

    # -- what it shows -----------------------------------------------------------------
    def set_history(self, history: HealthHistory | None, label: str = "",
                    message: str = NO_RUN) -> None:
        """Show ``history``: with statistics, the line above says "``label``: step N, K
        blocks" (kept up to date); without, it says ``message``."""
        self.history = history
        self.label = label
        self.message = message
        self._show_parts(bool(history))
        self.table.stats.set_history(history)
        self._select_default()
        self.plot.show_block(history, self.table.selected_key())
        self._update_status()

    def _select_default(self) -> None:
        """With no row chosen, the least healthy block's (the first, when all are well)."""
        h = self.history
        if not h or self.table.selected_key():
            return
        order = {"bad": 0, "warn": 1, "ok": 2}
        worst = min(h.blocks, key=lambda k: order[h.grade(k).level])
        self.table.select_key(worst)

    def _update_status(self) -> None:
        h = self.history
        text = f"{self.label}: step {h.last_step}, {len(h.blocks)} blocks" if h else \
            self.message
        if text != self.status.text():
            self.status.setText(text)

    def set_types(self, types: dict[str, str]) -> None:
        """The block types by key (the table's Type column)."""
        self.table.stats.set_types(types)

    def set_findings(self, findings: Sequence[Any], empty: str = "") -> None:
        self.findings.set_findings(findings, empty)
        QTimer.singleShot(0, self, self._fit_parts)  # once the rows are laid out

    def changed(self) -> None:
        """The history grew: the table and plot follow by the next frame (when shown)."""
        self._stale = True
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Bring the table and the plot up to date now (if the panel is on screen)."""
        self._timer.stop()
        if not self._stale or not self.isVisible():
            return
        self._stale = False
        self._show_parts(bool(self.history))
        self._update_status()
        self.table.stats.refresh()
        self._select_default()
        self.plot.redraw()

    def select_block(self, key: str) -> bool:
        """Make ``key``'s row current (its history plotted); False if the run has no such
        block."""
        return self.table.select_key(key)

    def restyle(self) -> None:
        self.plot.restyle()
        self.plot.redraw(force=True)

    def set_theme_name(self, name: str) -> None:
        """The theme's name ("light", "dark"): the health colours follow it."""
        self.table.stats.theme = name
        self.table.stats.refresh()
        self.findings.set_theme(name)

    # -- internals ---------------------------------------------------------------------
    def _show_parts(self, shown: bool) -> None:
        if self.table.isVisibleTo(self) != shown:
            for w in (self.table, self.plot):
                w.setVisible(shown)
            QTimer.singleShot(0, self, self._fit_parts)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.changed()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_parts()

    def _fit_parts(self) -> None:
        """The findings as tall as they need (up to 45%), the rest to the table and the
        plot; once the user moves a splitter, their sizes stay."""
        total = self.split.height()
        if self._user_sized or total < 150:
            return
        findings = max(self.findings.minimumHeight(),
                       min(self.findings.content_height(), int(total * 0.45)))
        rest = max(0, total - findings)
        table = int(rest * 0.5) if self.table.isVisible() else 0
        self.split.setSizes([findings, table, rest - table])

    def _on_table_block_selected(self, key: str) -> None:
        h = self.history
        if h and key in h.blocks and not self._has(key, self.plot.stat):
            # a statistic the block does not have (a ReLU's update ratio): plot the one that
            # decided its colour instead
            stat = h.grade(key).stat or next((s for s in STATS if self._has(key, s)), "")
            if stat:
                self.plot.stat_box.setCurrentIndex(self.plot.stat_box.findData(stat))
        self.plot.show_block(self.history, key)
        if key:
            self.block_selected.emit(key)

    def _on_split_splitter_moved(self, _pos: int, _index: int) -> None:
        self._user_sized = True

    def _has(self, key: str, stat: str) -> bool:
        h = self.history
        return h is not None and any(isinstance(v.get(stat), int | float)
                                     for v in h.blocks[key].values[-8:])

    def _on_findings_finding_activated(self, key: str) -> None:
        if key:
            self.select_block(key)
        self.finding_activated.emit(key)
