"""The Export dialog's tables: what an int8 export measured, and how to start a server.

An int8 export (and a server folder with an int8 model) puts three tables in
``ExportReport.details`` (see :mod:`engine.deploy.quantize`): the blocks flagged before
quantizing, the metric with only one block quantized at a time, and fp32 against int8 in
size, metric and latency. They are numbers a user compares, so they are shown as small
read-only tables sized to their rows rather than as lines of text; a table the report lacks
is left out. A server folder also gets the commands that start it. The log and the tables
scroll together in a :class:`ContentScroll`.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFontDatabase, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.text import fmt_bytes
from app.widgets.labels import plain_label
from engine.export import ExportReport

SEVERITY_TEXT = {"error": "not quantized", "warning": "may quantize badly"}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _cell(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align_right:
        item.setTextAlignment(RIGHT)
    return item


def _number(value: Any, fmt: str = "{:.4f}") -> str:
    """A measured figure, or a dash when the engine had none (a metric it could not
    compute comes back as None or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return fmt.format(value)


def _ms(value: Any) -> str:
    """Three significant digits: a small model runs in a few hundredths of a millisecond."""
    big = isinstance(value, int | float) and value >= 100
    return _number(value, "{:.0f} ms" if big else "{:#.3g} ms")


def _size(value: Any) -> str:
    return fmt_bytes(value) if isinstance(value, int | float) and value >= 0 else "–"


def describe_report(report: ExportReport) -> str:
    """The result view's text: what was written and how it was verified."""
    lines = [f"Exported graph {report.graph} as {report.format}"
             + (" (trained weights)." if report.trained else " (untrained weights).")]
    lines += [f"Warning: {w}" for w in report.warnings]
    if report.max_abs_diff:
        lines.append("")
        lines.append("Max absolute difference from PyTorch:")
        lines += [f"  {case}: {diff:.3g}" for case, diff in report.max_abs_diff.items()]
        if report.tolerance is not None:
            lines.append(f"  (tolerance {report.tolerance:g} + relative)")
    if report.opset is not None:
        lines.append(f"ONNX opset: {report.opset}")
    lines += [f"Verified: {check}" for check in report.checks]
    lines.append("")
    lines.append("Files:")
    lines += [f"  {f}" for f in report.files]
    cards = [f for f in report.files if f.name.endswith("README.md")]
    if cards:
        lines.append(f"Model card: {cards[0]}")
    return "\n".join(lines)


class DetailTable(QTableWidget):
    """A read-only table exactly as tall as its rows, so the dialog's scroll area (not the
    table) scrolls. A table of figures is as narrow as its columns; with ``wrap_last`` the
    last column (a flag's reason) takes the width left and wraps."""

    def __init__(self, headers: list[str], rows: list[list[str]], numeric: set[int],
                 wrap_last: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(len(rows), len(headers), parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(wrap_last)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.setItem(r, c, _cell(text, c in numeric))
        for c in numeric:
            self.horizontalHeaderItem(c).setTextAlignment(RIGHT)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if wrap_last:
            header.setStretchLastSection(True)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        else:
            self.resizeColumnsToContents()
            self.setFixedWidth(header.length() + 2 * self.frameWidth())
        self.resizeRowsToContents()
        self._fit_height()

    def _fit_height(self) -> None:
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + rows
                            + 2 * self.frameWidth())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.wordWrap():  # the stretched column follows once the header has laid out
            QTimer.singleShot(0, self, self._fit_rows)

    def _fit_rows(self) -> None:
        self.resizeRowsToContents()  # a wrapped reason needs more lines when narrower
        self._fit_height()


def flag_rows(flags: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(f.get("block", "")),
             SEVERITY_TEXT.get(str(f.get("severity", "")), str(f.get("severity", ""))),
             str(f.get("reason", ""))] for f in flags]


def sensitivity_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(r.get("block", "")), _number(r.get("value")), _number(r.get("delta"), "{:+.4f}")]
            for r in rows]


def comparison_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(r.get("model", "")), _size(r.get("bytes")), _number(r.get("value")),
             _ms(r.get("latency_ms_b1")), _ms(r.get("latency_ms_b32"))] for r in rows]


def comparison_summary(rows: list[dict[str, Any]]) -> str:
    """One sentence under the comparison: how much smaller and faster int8 is, and what it
    costs in the metric ("" when the report lacks either model)."""
    by_model = {r.get("model"): r for r in rows}
    fp32, int8 = by_model.get("fp32"), by_model.get("int8")
    if not fp32 or not int8:
        return ""
    parts = []

    def ratio(key: str) -> float | None:
        a, b = fp32.get(key), int8.get(key)
        ok = all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in (a, b))
        return a / b if ok else None

    size = ratio("bytes")
    if size is not None:
        parts.append(f"{size:.1f}x smaller")
    for key, batch in (("latency_ms_b1", 1), ("latency_ms_b32", 32)):
        speed = ratio(key)
        if speed is not None:
            pace = f"{speed:.1f}x faster" if speed >= 1 else f"{1 / speed:.1f}x slower"
            parts.append(f"{pace} at batch {batch}")
    a, b = fp32.get("value"), int8.get("value")
    if all(isinstance(v, int | float) and math.isfinite(v) for v in (a, b)):
        parts.append(f"{fp32.get('metric') or 'metric'} {b - a:+.4f}")
    return "int8 against fp32: " + ", ".join(parts) + "." if parts else ""


def server_folder(report: ExportReport, fallback: Path) -> Path:
    """The folder a server export wrote (where its server.py is)."""
    return next((f.parent for f in report.files if f.name == "server.py"), fallback)


def server_commands(folder: Path) -> str:
    quoted = shlex.quote(str(folder))
    return (f"cd {quoted}\npip install -r requirements.txt   (once, in a virtual environment)\n"
            f"python -I server.py\n\nor, with LayerForge: layerforge serve {quoted}")


class ReportTables(QWidget):
    """The tables of one export report; empty (and hidden) when the report has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(6)
        self.tables: dict[str, DetailTable] = {}  # by details key, for tests
        self.summary: QLabel | None = None
        self.commands: QLabel | None = None
        self.setVisible(False)

    def clear(self) -> None:
        while self.box.count():
            widget = self.box.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.tables, self.summary, self.commands = {}, None, None
        self.setVisible(False)

    def show_report(self, report: ExportReport, out: Path) -> None:
        """Show ``report``'s tables (and for a server folder how to start it)."""
        self.clear()
        details = report.details or {}
        if "flags" in details:
            flags = details["flags"]
            if flags:
                self._table("flags", "Blocks flagged before quantizing",
                            ["Block", "Flag", "Reason"], flag_rows(flags), set(), wrap_last=True)
            else:
                self._heading("Blocks flagged before quantizing: none, every block quantizes.")
        if details.get("sensitivity"):
            rows = details["sensitivity"]
            metric = str(rows[0].get("metric") or "metric")
            self._table("sensitivity", "Sensitivity: validation " + metric
                        + " with only that block in int8",
                        ["Block", metric, "change from fp32"], sensitivity_rows(rows), {1, 2})
        if details.get("comparison"):
            rows = details["comparison"]
            metric = str(rows[0].get("metric") or "metric")
            self._table("comparison", "fp32 against int8 (CPU, 1 thread, median of 200 runs)",
                        ["Model", "File size", metric, "Latency, batch 1", "Latency, batch 32"],
                        comparison_rows(rows), {1, 2, 3, 4})
            text = comparison_summary(rows)
            if text:
                self.summary = plain_label(text)
                self.box.addWidget(self.summary)
        if report.format == "server":
            self._heading("Start the server")
            self.commands = plain_label(server_commands(server_folder(report, out)), wrap=False)
            self.commands.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.box.addWidget(self.commands)
        self.setVisible(self.box.count() > 0)

    def _heading(self, text: str) -> None:
        label = plain_label(text)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        self.box.addWidget(label)

    def _table(self, key: str, title: str, headers: list[str], rows: list[list[str]],
               numeric: set[int], wrap_last: bool = False) -> None:
        self._heading(title)
        table = DetailTable(headers, rows, numeric, wrap_last)
        self.tables[key] = table
        # a table of figures keeps its width, at the left; a flag's reason takes the width
        align = Qt.AlignmentFlag(0) if wrap_last else Qt.AlignmentFlag.AlignLeft
        self.box.addWidget(table, 0, align)


class ContentScroll(QScrollArea):
    """A scroll area that asks for its content's whole height (a plain QScrollArea asks
    for at most 24 lines), so the log opens as tall as it was before it could scroll;
    the window system still keeps the dialog within the screen."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        body = self.widget()
        if body is None:
            return super().sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        hint = body.sizeHint()
        return QSize(hint.width() + bar + 2 * self.frameWidth(),
                     hint.height() + 2 * self.frameWidth())
