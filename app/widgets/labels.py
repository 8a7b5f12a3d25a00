"""plain_label: a label that shows its text literally (file names, class names, messages)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def plain_label(text: str = "", role: str = "", wrap: bool = True) -> QLabel:
    """A selectable label that shows ``text`` literally; ``role`` is the style sheet's
    ``role`` property (``muted``, ``error``)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if role:
        label.setProperty("role", role)
    return label
