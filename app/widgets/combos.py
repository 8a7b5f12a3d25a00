"""shrink_combo: a combo box that a narrow form can make narrower than its longest item."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def shrink_combo(box: QComboBox, chars: int = 10) -> QComboBox:
    """Let ``box`` be as narrow as ``chars`` characters (the popup still shows every item
    whole), so a form in a narrow dock or dialog needs no horizontal scroll bar; returns
    ``box``."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(chars)
    return box
