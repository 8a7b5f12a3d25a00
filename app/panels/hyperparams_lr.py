"""The learning-rate parts of the hyperparameters panel: the rate's row with its "Find…"
button (which asks for the learning-rate finder, app/dialogs/lr_finder.py, opened by the
window: a panel does not import dialogs), and the y range of the schedule's preview."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from app.panels.param_editors import FloatSpinBox

#: the LR preview's axis ends this far above the highest rate, so a constant rate is a
#: flat line inside the plot, not on its edge
LR_HEADROOM = 0.15
FIND_TIP = ("Find a learning rate: train a copy of the model for a few hundred steps while "
            "the rate rises, and see where the loss falls fastest. The project and its runs "
            "are not changed until you choose \u201cUse this rate\u201d.")
STATS_TIP = ("Every this many training steps, measure each block's activations, dead units, "
             "gradient norms and update sizes, for the health badges on the canvas, the "
             "Block health panel and the training doctor. 0 turns it off (a slightly faster "
             "run, and nothing to diagnose).")


class LRRow(QWidget):
    """The learning rate's spin box (``box``) and the "Find…" button beside it."""

    def __init__(self) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.box = FloatSpinBox()
        self.box.setRange(1e-12, 100.0)
        # a tool button: as wide as its text, leaving the room to the rate's digits
        self.find_button = QToolButton()
        self.find_button.setText("Find…")
        self.find_button.setObjectName("lr_find")
        self.find_button.setToolTip(FIND_TIP)
        row.addWidget(self.box, 1)
        row.addWidget(self.find_button)


def lr_axis_range(rates: list[float]) -> tuple[float, float]:
    """The y range of the LR preview: from zero (a rate is never negative) to a margin
    above the highest rate. pyqtgraph's auto-range gives a constant rate a zero-height span
    that it widens by +-0.5, drawing 0.001 at the axis' "0"."""
    top = max((r for r in rates if math.isfinite(r)), default=0.0)
    return 0.0, (top if top > 0 else 1.0) * (1 + LR_HEADROOM)
