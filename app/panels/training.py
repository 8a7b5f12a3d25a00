"""Training panel: Train / Pause / Resume / Stop, progress, status and warnings.

The buttons show the window's actions (so shortcuts and menus share their state); the panel
only displays what the run controller reports.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.flow_layout import FlowLayout
from engine.train.events import (
    EpochEnded,
    Event,
    Failed,
    Finished,
    Paused,
    Progress,
    Resumed,
    RunStarted,
    Stopped,
    Unfrozen,
    WeightsLoaded,
)
from engine.train.events import Warning as TrainingWarning

# "lent" shows only once a run has ended (during a run the runner's state shows): its
# worker process is exiting, and a fresh one starts after it.
STATE_TEXT = {"closed": "worker not started", "starting": "starting the worker…",
              "ready": "worker ready", "lent": "closing the run's worker…",
              "running": "training", "paused": "paused",
              "stopping": "stopping…", "connecting": "connecting…", "uploading": "uploading…",
              "reconnecting": "reconnecting…", "downloading": "downloading artifacts…",
              "loading": "loading pretrained weights…",
              "detached": "not following the remote run", "idle": "remote host idle",
              "queued": "queued on the cluster"}
RUN_TEXT = {"running": "Training", "paused": "Paused", "stopping": "Stopping after this step…",
            "reconnecting": "Connection lost: reconnecting…"}


READY_TEXT = "Press Train (Ctrl+Enter) to train the project"


def ask_quit_while_training(parent: QWidget) -> bool:
    """Ask whether to quit while a run trains; True to quit."""
    box = QMessageBox(QMessageBox.Icon.Question, "Quit LayerForge?",
                      "A run is training. Quitting stops it; it keeps its last checkpoint "
                      "and can be resumed. Quit?", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
    stay = box.addButton("Keep Training", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(stay)
    box.setEscapeButton(stay)
    box.exec()
    return box.clickedButton() is quit_button


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainingPanel(QWidget):
    def __init__(self, actions: list[QAction] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainingPanel")
        buttons = FlowLayout()  # wraps in a narrow dock rather than widening the window
        self.buttons: list[QToolButton] = []
        for action in actions or []:
            b = QToolButton()
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            buttons.addWidget(b)
            self.buttons.append(b)
        self.worker_state = self._label()
        self.worker_state.setStyleSheet("color: gray")
        self.worker_state.setWordWrap(False)
        buttons.addWidget(self.worker_state)
        self.status = self._label()
        self.status.setStyleSheet("font-weight: 600")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.stats = self._label()
        self.epoch_line = self._label()
        # where a fresh run's weights came from (WeightsLoaded), and phase 2 (Unfrozen)
        self.init_lines: list[str] = []
        self.init_line = self._label()
        self.init_line.hide()
        self.message = self._label()
        self.message.hide()
        self.warnings = QListWidget()
        self.warnings.setMaximumHeight(70)
        self.warnings.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.warnings.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.stats)
        layout.addWidget(self.epoch_line)
        layout.addWidget(self.init_line)
        layout.addWidget(self.message)
        layout.addWidget(self.warnings)
        layout.addStretch(1)
        self._epochs = 0
        self._progress: Progress | None = None  # the latest progress, shown by the timer (<= 10 Hz)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.status.setText(READY_TEXT)
        self.set_state("closed")

    def reset(self) -> None:
        """Back to the ready state: no status of a previous run, no progress, no figures,
        warnings or message (another project, or an edit after a failure)."""
        self._timer.stop()
        self._progress = None
        self._epochs = 0
        self.status.setText(READY_TEXT)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        for label in (self.stats, self.epoch_line):
            label.clear()
        self._set_init_lines([])
        self.show_message("")
        self.warnings.clear()
        self.warnings.hide()

    @staticmethod
    def _label() -> QLabel:
        label = QLabel("")
        label.setTextFormat(Qt.TextFormat.PlainText)  # messages carry user and file text
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)  # long lines wrap instead of widening the dock
        label.setMinimumWidth(120)
        return label

    def set_state(self, state: str) -> None:
        self.worker_state.setText(STATE_TEXT.get(state, state))
        if state in RUN_TEXT and (state != "running" or self.status.text() in RUN_TEXT.values()):
            self.status.setText(RUN_TEXT[state])

    def show_transfer(self, text: str, done: int, total: int) -> None:
        """A remote run's upload/download step: the text in the status line and, when the
        size is known, the bytes in the progress bar."""
        self.status.setText(text)
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def show_message(self, text: str, error: bool = True) -> None:
        """A message that stays in view (not modal) until the next run starts."""
        self.message.setText(text)
        self.message.setStyleSheet("color: #c0392b" if error else "")
        self.message.setVisible(bool(text))

    def _set_init_lines(self, lines: list[str]) -> None:
        self.init_lines = lines
        self.init_line.setText("\n".join(lines))
        self.init_line.setVisible(bool(lines))

    def warning_texts(self) -> list[str]:
        return [self.warnings.item(i).text() for i in range(self.warnings.count())]

    def flush(self) -> None:
        """Show the latest progress now (a timer does it at most ten times a second)."""
        ev, self._progress = self._progress, None
        if ev is None:
            return
        self.progress.setRange(0, max(1, ev.total_steps))
        self.progress.setValue(min(ev.step, ev.total_steps))
        epochs = f"/{self._epochs}" if self._epochs else ""
        self.stats.setText(f"epoch {ev.epoch}{epochs} · step {ev.step:,}/{ev.total_steps:,} · "
                           f"loss {ev.loss:.4g} · {ev.samples_per_s:,.0f} samples/s · "
                           f"ETA {fmt_duration(ev.eta_s)}")

    def _on_timer_timeout(self) -> None:
        self.flush()

    def on_event(self, ev: Event) -> None:
        match ev:
            case RunStarted():
                self.show_message("")
                if ev.resumed_from == 0:
                    self.warnings.clear()
                    self.warnings.hide()
                    self._set_init_lines([])
                self._epochs = int(ev.config.get("epochs", 0) or 0)
                self.progress.setRange(0, max(1, ev.total_steps))
                self.progress.setValue(ev.resumed_from)
                trained = ev.trainable_parameters
                params = (f"{trained:,} of {ev.parameters:,}" if trained is not None
                          and trained != ev.parameters else f"{ev.parameters:,}")
                self.status.setText(f"Training {params} parameters on {ev.device} "
                                    f"({ev.threads} thread{'s' if ev.threads != 1 else ''}) · "
                                    f"{ev.dataset}")
            case Progress():
                self._progress = ev
                if not self._timer.isActive():
                    self._timer.start()
            case EpochEnded():
                figures = {**{f"train {k}": v for k, v in ev.train.items()},
                           **{f"val {k}": v for k, v in ev.val.items()}}
                shown = [f"{k} {v:.4g}" for k, v in figures.items()
                         if isinstance(v, int | float) and not isinstance(v, bool)][:6]
                self.epoch_line.setText(f"epoch {ev.epoch} ({fmt_duration(ev.seconds)}): "
                                        + "  ".join(shown))
            case WeightsLoaded():
                self._set_init_lines([*self.init_lines, ev.summary()])
            case Unfrozen():
                blocks = ", ".join(ev.blocks[:6]) + (" …" if len(ev.blocks) > 6 else "")
                self._set_init_lines([*self.init_lines,
                                      f"Epoch {ev.epoch}: unfroze {len(ev.blocks)} block(s) "
                                      f"({blocks}); {ev.trainable_parameters:,} parameters "
                                      "train now"])
            case TrainingWarning():
                self.warnings.addItem(f"⚠ {ev.kind}: {ev.message}")
                self.warnings.show()
            case Paused():
                self.set_state("paused")
            case Resumed():
                self.set_state("running")
            case Finished():
                self.flush()
                self.progress.setValue(self.progress.maximum())
                best = (f"; best {ev.monitor} {ev.best_value:.4g} at epoch {ev.best_epoch}"
                        if ev.best_value is not None else "")
                early = " (stopped early)" if ev.early_stopped else ""
                self.status.setText(f"Finished {ev.epochs} epochs in {fmt_duration(ev.seconds)}"
                                    f"{early}{best}")
            case Stopped():
                self.flush()
                self.status.setText(f"Stopped at epoch {ev.epoch}, step {ev.step:,}: "
                                    "resume it from the runs list")
            case Failed():
                self.status.setText("Training failed")
                self.show_message(ev.message)
