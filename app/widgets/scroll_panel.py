"""scroll_body: a frameless scroll panel whose body follows its width."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget


def scroll_body(area: QScrollArea) -> QVBoxLayout:
    """Make ``area`` a frameless scroll panel whose body follows its width; returns the
    body's layout (the dataset, hyperparameter and inspector panels are built in one)."""
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    body = QWidget()
    lay = QVBoxLayout(body)
    lay.setContentsMargins(10, 10, 10, 10)
    lay.setSpacing(8)
    area.setWidget(body)
    return lay
