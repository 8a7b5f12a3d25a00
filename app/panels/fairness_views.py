"""The Fairness view's result widgets: per grouping, the parity line, the table of its
groups and a bar chart of one metric with the overall value marked.

Groups too small to judge (fewer samples than the project's smallest group) are listed
after the others, greyed, with a note saying so; the bar chart draws them grey and
hatched, so they are never read as a ranking.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.fairness_results import METRICS, PARITY, GroupingReport, GroupRow
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot

CHART_HEIGHT = 190
COLUMNS = ["Group", "Count", *(title for _, title in METRICS), "Note"]


def fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def too_small(min_group: int) -> str:
    return f"too small to judge (n < {min_group})"


def parity_text(report: GroupingReport) -> str:
    """The parity figures of a grouping in one line."""
    p = report.parity
    parts = []
    for (dk, dname), (rk, _r) in ((PARITY[0], PARITY[1]), (PARITY[2], PARITY[3])):
        parts.append(f"{dname} {fmt(p.get(dk))} (ratio {fmt(p.get(rk))})")
    return " · ".join(parts)


def judged_note(report: GroupingReport) -> str:
    judged, small = len(report.judged), len(report.small)
    note = f"{judged} group{'s' if judged != 1 else ''} judged"
    if small:
        note += (f"; {small} {'is' if small == 1 else 'are'} {too_small(report.min_group)}, "
                 "listed greyed and not ranked")
    if judged < 2:
        note += "; the parity figures need two groups judged or more"
    return note + "."


class GroupTable(QTableWidget):
    """One row per group (the overall figures first, in bold); small groups last, greyed,
    with the note."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def show_report(self, report: GroupingReport) -> None:
        rows: list[tuple[GroupRow, str]] = [
            (GroupRow("All samples", int(report.overall.get("count") or 0),
                      {k: report.overall.get(k) for k, _ in METRICS}, False), "")]
        rows += [(g, "") for g in report.judged]
        rows += [(g, too_small(report.min_group)) for g in report.small]
        self.setRowCount(len(rows))
        grey = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        for r, (g, note) in enumerate(rows):
            texts = [g.name, str(g.count), *(fmt(g.metrics.get(k)) for k, _ in METRICS), note]
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if 0 < c < len(COLUMNS) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if g.small:
                    item.setForeground(QBrush(grey))
                    item.setToolTip(f"{g.count} samples: {too_small(report.min_group)}")
                if r == 0:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        frame = 2 * self.frameWidth()
        height = self.horizontalHeader().height() + sum(
            self.rowHeight(r) for r in range(self.rowCount())) + frame
        self.setFixedHeight(min(height + 2, 320))
        # as wide as its columns (the note unwrapped), so the chart takes the rest
        self.setMinimumWidth(sum(self.columnWidth(c) for c in range(self.columnCount()))
                             + frame + 2)

    def row_texts(self, row: int) -> list[str]:
        return [self.item(row, c).text() for c in range(self.columnCount())]


class MetricBars(pg.PlotWidget):
    """Bars of one metric per group, the overall value as a dashed line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False)
        self.setFixedHeight(CHART_HEIGHT)
        self.setMinimumWidth(260)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        style_plot(self)
        self.getPlotItem().showGrid(x=False, y=True, alpha=0.15)
        self.bars: pg.BarGraphItem | None = None
        self.overall: pg.InfiniteLine | None = None
        self.values: list[float] = []

    def show_metric(self, report: GroupingReport, metric: str) -> None:
        self.clear()
        groups = report.judged + report.small
        self.values = [g.metrics.get(metric) or 0.0 for g in groups]
        pal = QGuiApplication.palette()
        accent = pal.color(QPalette.ColorRole.Highlight)
        grey = QColor(pal.color(QPalette.ColorRole.PlaceholderText))
        brushes = [QBrush(grey, Qt.BrushStyle.BDiagPattern) if g.small else QBrush(accent)
                   for g in groups]
        pens = [pg.mkPen(grey if g.small else accent) for g in groups]
        self.bars = pg.BarGraphItem(x=list(range(len(groups))), height=self.values, width=0.6,
                                    brushes=brushes, pens=pens)
        self.addItem(self.bars)
        names = [(i, g.name if not g.small else f"{g.name} (n={g.count})")
                 for i, g in enumerate(groups)]
        self.getAxis("bottom").setTicks([names])
        overall = report.overall.get(metric)
        self.overall = None
        if overall is not None:
            text = pal.color(QPalette.ColorRole.Text)
            self.overall = pg.InfiniteLine(
                pos=overall, angle=0, pen=pg.mkPen(text, width=1.5, style=Qt.PenStyle.DashLine),
                label=f"overall {overall:.3f}",
                labelOpts={"position": 0.92, "color": text, "anchors": [(1, 1), (1, 1)]})
            self.addItem(self.overall)
        top = max([*self.values, overall or 0.0, 0.0])
        self.setXRange(-0.6, max(len(groups), 1) - 0.4, padding=0)
        self.setYRange(0, max(1.0, top) * 1.08, padding=0)

    def restyle(self) -> None:
        style_plot(self)


class GroupingSection(QWidget):
    """One grouping's report: title, parity line, the note on small groups, the table and
    the chart side by side."""

    def __init__(self, report: GroupingReport, metric: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.title = plain_label(report.name, wrap=False)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.parity = plain_label(parity_text(report))
        self.note = plain_label(judged_note(report), role="muted")
        self.table = GroupTable()
        self.table.show_report(report)
        self.metric = metric
        self.chart = MetricBars()
        self.chart.show_metric(report, metric)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.table, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.chart, 1, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 6)
        for w in (self.title, self.parity, self.note):
            lay.addWidget(w)
        lay.addLayout(row)

    def show_metric(self, metric: str) -> None:
        self.metric = metric
        self.chart.show_metric(self.report, metric)

    def restyle(self) -> None:
        """Follow a theme change (the table's grey and the bars' colours too)."""
        self.chart.restyle()
        self.chart.show_metric(self.report, self.metric)
        self.table.show_report(self.report)
