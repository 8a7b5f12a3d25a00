"""Leaving a project while its sweep runs: the question, and where it is asked.

Closing the window or opening another project (Open, Open Recent, New, the welcome page, a
dropped file) while a sweep runs asks first: "Stop the sweep and close" stops it (its
running trials save a checkpoint; Resume sweep continues the study when the project is
opened again) or Cancel keeps everything as it is.

The window asks through ``MainWindow.confirm_leave`` (its close handling); opening another
project goes through ``FileController.confirm_close``, which asks the window's guards
first."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

STOP_AND_CLOSE = "Stop the sweep and close"


def ask_stop_sweep(parent: QWidget, what: str) -> bool:
    """Ask whether to stop the running sweep to close its project; True to stop. ``what``
    names it ("spirals, 20 trials"; nothing that goes stale while the question waits)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Stop the sweep?",
                      f"A sweep is running ({what}). Closing the project stops it: the "
                      "running trials save a checkpoint, and Resume sweep continues the "
                      "study when you open the project again.", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    stop = box.addButton(STOP_AND_CLOSE, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is stop


