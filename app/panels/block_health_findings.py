"""The training doctor's findings (``engine.train.doctor.Finding``) as a list of sentences,
most important first, each marked by its severity's colour and, where the doctor names a
fix, with a button that applies it. Clicking a finding reports its block (to be selected on
the canvas and in the table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.canvas.health_badge import level_colour
from app.text import plain_tooltip

#: the badge level whose colour marks each severity
SEVERITY_LEVEL = {"error": "bad", "warning": "warn", "info": "info"}  # info: grey


def _dot(level: str, theme: str, size: int = 10) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(level_colour(level, theme))
    p.drawEllipse(QPointF(size / 2, size / 2), size / 2 - 1, size / 2 - 1)
    p.end()
    return pix


class FindingRow(QFrame):
    """One finding: a coloured dot, the sentence, and a Fix button when there is a fix."""

    clicked = Signal()

    def __init__(self, finding: Any, theme: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finding = finding
        self.setObjectName("HealthFinding")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor if finding.block
                       else Qt.CursorShape.ArrowCursor)
        dot = QLabel()
        dot.setPixmap(_dot(SEVERITY_LEVEL.get(finding.severity, "info"), theme))
        dot.setAlignment(Qt.AlignmentFlag.AlignTop)
        dot.setContentsMargins(0, 4, 0, 0)
        self.text = QLabel(finding.message)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        where = f" ({finding.block})" if finding.block else ""
        step = f", first seen at step {finding.step}" if finding.step else ""
        self.setToolTip(plain_tooltip(f"{finding.severity.capitalize()}{where}{step}"))
        body = QVBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.text)
        self.fix_button: QPushButton | None = None
        if finding.fix is not None:  # says what it changes: the user sees it before pressing
            self.fix_button = QPushButton(f"Fix: {finding.fix.label}")
            self.fix_button.setToolTip(plain_tooltip(
                f"{finding.fix.label} in the project, as one step (Undo takes it back)"))
            body.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(dot, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(body, 1)
        self.set_selected(False)

    def set_selected(self, on: bool) -> None:
        self.setBackgroundRole(QPalette.ColorRole.Highlight if on else QPalette.ColorRole.Base)
        self.text.setForegroundRole(QPalette.ColorRole.HighlightedText if on else QPalette.ColorRole.Text)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            event.accept()
            return
        super().mousePressEvent(event)


class FindingsList(QScrollArea):
    """Signals: ``finding_activated(block)`` (the finding's "GRAPH/NODE", "" for the whole
    run), ``fix_requested(fix)``."""

    finding_activated = Signal(str)
    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HealthFindings")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.theme = "light"
        self.rows: list[FindingRow] = []
        self._shown: tuple[Any, ...] | None = None
        inner = QWidget()
        inner.setBackgroundRole(QPalette.ColorRole.Base)
        inner.setAutoFillBackground(True)
        self.box = QVBoxLayout(inner)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(0)
        self.placeholder = QLabel()
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setWordWrap(True)
        self.placeholder.setProperty("role", "muted")
        self.placeholder.setContentsMargins(8, 6, 8, 6)
        self.box.addWidget(self.placeholder)
        self.box.addStretch(1)
        self.setWidget(inner)

    def set_findings(self, findings: Sequence[Any], empty: str = "") -> None:
        """Show ``findings`` (most important first); ``empty`` is said when there are none."""
        shown = tuple(findings)
        if shown == self._shown and self.placeholder.text() == empty:
            return  # keep the selection and the scroll position
        self._shown = shown
        for row in self.rows:
            self.box.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for i, finding in enumerate(shown):
            row = FindingRow(finding, self.theme)
            row.clicked.connect(lambda r=row: self._on_row_clicked(r))
            if row.fix_button is not None:
                row.fix_button.clicked.connect(
                    lambda _checked=False, f=finding.fix: self.fix_requested.emit(f))
            self.box.insertWidget(i, row)
            self.rows.append(row)
        self.placeholder.setText(empty)
        self.placeholder.setVisible(not shown and bool(empty))

    def set_theme(self, name: str) -> None:
        """Colour the severity dots for the theme ``name`` ("light", "dark")."""
        if name == self.theme:
            return
        self.theme = name
        shown, self._shown = self._shown, None
        if shown is not None:
            self.set_findings(shown, self.placeholder.text())

    def content_height(self) -> int:
        """The height that shows every finding without scrolling, at the current width."""
        inner = self.widget()
        width = self.viewport().width()
        h = inner.heightForWidth(width) if inner.hasHeightForWidth() else -1
        return (h if h > 0 else inner.sizeHint().height()) + 2 * self.frameWidth()

    def messages(self) -> list[str]:
        return [row.finding.message for row in self.rows]

    def _on_row_clicked(self, row: FindingRow) -> None:
        for r in self.rows:
            r.set_selected(r is row)
        self.finding_activated.emit(row.finding.block)
