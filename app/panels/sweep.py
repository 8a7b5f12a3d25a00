"""The Sweep dock: a sweep's settings and its controls, in the Train perspective's right
column (a tab beside Runs and Problems, about 370 pixels wide).

Run sweep / Resume sweep / Stop on top, with a status line and a sentence for anything
that went wrong; "Show trials" brings the experiment view forward (app/panels/
sweep_experiment.py, a tab beside Plots, where a table of trials and its plots have room);
below, the settings form (app/panels/sweep_settings.py). The panel only shows what it is
given and reports what the user asked for; the Sweep feature (app/window/features/sweep.py)
runs the sweep.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.panels.sweep_settings import SweepSettingsForm
from app.widgets.flow_layout import FlowLayout
from app.widgets.labels import plain_label
from engine.project import SweepSpec


class SweepPanel(QWidget):
    """Signals: ``run_requested()``, ``resume_requested()``, ``stop_requested()``,
    ``show_requested()`` (the experiment view), ``field_edited(name, value)`` (a sweep
    setting)."""

    run_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    show_requested = Signal()
    field_edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SweepPanel")
        self.run_button = QPushButton("Run sweep")
        self.run_button.setToolTip("Train the project's trials over its search ranges")
        self.resume_button = QPushButton("Resume sweep")
        self.resume_button.setToolTip("Finish the study: interrupted trials continue from "
                                      "their checkpoints, then the rest are run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the sweep (running trials keep a checkpoint; "
                                    "Resume sweep finishes them)")
        self.show_button = QPushButton("Show trials")
        self.show_button.setToolTip("The trials table and the sweep's plots (the Experiment "
                                    "tab beside Plots)")
        buttons = FlowLayout()  # wraps in a narrow dock rather than widening the window
        for b in (self.run_button, self.resume_button, self.stop_button, self.show_button):
            buttons.addWidget(b)
        self.status = plain_label("No sweep yet.", role="muted")
        self.message = plain_label("", role="error")
        self.message.hide()
        self.settings = SweepSettingsForm()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.settings)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.message)
        layout.addWidget(self.scroll, 1)
        self.run_button.clicked.connect(self.run_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.show_button.clicked.connect(self.show_requested)
        self.settings.field_edited.connect(self.field_edited)
        self.set_state(running=False, resumable=False)

    def set_state(self, running: bool, resumable: bool, stopping: bool = False) -> None:
        """The buttons: Run and Resume while no sweep runs (Resume only when the study has
        unfinished trials), Stop while one does; the settings are locked while it runs."""
        self.run_button.setEnabled(not running)
        self.resume_button.setEnabled(not running and resumable)
        self.stop_button.setEnabled(running and not stopping)
        self.settings.setEnabled(not running)

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_message(self, text: str) -> None:
        """A sentence about what went wrong (empty: none)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_spec(self, spec: SweepSpec, default_first: str) -> None:
        self.settings.show_spec(spec, default_first)

    def set_hosts(self, configured: list[str]) -> None:
        """The configured SSH hosts the sweep may use (looked up in the background)."""
        self.settings.set_hosts(configured)
