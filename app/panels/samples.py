"""SamplesPanel: what a generative run makes.

Language models: a generation form (prompt, length, temperature, top-k, seed) whose text
streams in character by character from a background job (each character is the job's
progress report), with a Stop button that sets the job's stop flag; and the
text samples written at each epoch. GANs and autoencoders: the per-epoch image grid from the
run's samples/ folder, scrubbable by epoch with a slider, updated live by Sample events.

``show_run(run_dir)`` loads a run folder; ``on_event(event)`` takes engine.train.events.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QPixmap, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QBoxLayout,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels.run_results import RunCache, Stop, read_run
from app.panels.run_results import generate as generate_text
from app.runs.jobs import Jobs, Report
from app.widgets.labels import plain_label
from engine.errors import user_message
from engine.train.events import Event, Finished, RunStarted, Sample, Stopped

IMAGE_KINDS = ("gan", "autoencoder")
NARROW = 520  # below this width the text page stacks its form over the text
NO_RUN = "No run yet: samples of language models, GANs and autoencoders show here."
#: the pages: a task without samples, text, images, nothing (no run shown)
NONE, TEXT, IMAGES, EMPTY = range(4)


class SamplesPanel(QWidget):
    """``frames`` maps epoch -> PNG bytes (images) or text, for the run shown."""

    frame_shown = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SamplesPanel")
        self.run_dir: str | None = None
        self.kind = ""
        self.frames: dict[int, Any] = {}
        self.cache = RunCache()
        self.jobs = Jobs(self)  # the generation: one at a time
        self._stop: Stop | None = None  # the generation's stop flag
        self.jobs.progressed.connect(self._on_jobs_progressed)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.jobs.busy_changed.connect(self._on_jobs_busy_changed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        self.title = plain_label(NO_RUN)
        self.error = plain_label(role="error")
        self.error.hide()
        lay.addWidget(self.title)
        lay.addWidget(self.error)
        self.pages = QStackedWidget()
        self.pages.addWidget(plain_label("This run's task makes no samples.", "muted"))
        self.pages.addWidget(self._text_page())
        self.pages.addWidget(self._image_page())
        self.pages.addWidget(QWidget())  # no run: the title says it all
        self.pages.setCurrentIndex(EMPTY)
        lay.addWidget(self.pages, 1)
        self.scrub = QWidget()  # shown only with a run that makes samples
        scrub = QHBoxLayout(self.scrub)
        scrub.setContentsMargins(0, 0, 0, 0)
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal)
        self.epoch_slider.setEnabled(False)
        self.epoch_label = plain_label(wrap=False)
        self.epoch_label.setMinimumWidth(110)
        scrub.addWidget(plain_label("Epoch", wrap=False))
        scrub.addWidget(self.epoch_slider, 1)
        scrub.addWidget(self.epoch_label)
        lay.addWidget(self.scrub)
        self.scrub.hide()
        self.epoch_slider.valueChanged.connect(self._on_epoch_slider_value_changed)

    def _text_page(self) -> QWidget:
        page = QWidget()
        h = self.text_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, page)
        h.setContentsMargins(0, 0, 0, 0)
        form_box = QWidget()
        form = QFormLayout(form_box)
        # a narrow dock puts each field under its label rather than scrolling sideways
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.prompt = QLineEdit("def ")
        self.length = QSpinBox()
        self.length.setRange(1, 100_000)
        self.length.setValue(300)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("0 picks the likeliest character every time.")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 100_000)
        self.top_k.setSpecialValueText("all")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.generate_button = QPushButton("Generate")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.stop_button)
        form.addRow("Prompt", self.prompt)
        form.addRow("Length", self.length)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Seed", self.seed)
        form.addRow(buttons)
        self.generated = QPlainTextEdit(readOnly=True)
        self.generated.setPlaceholderText("Generated text streams in here.")
        self.epoch_text = QPlainTextEdit(readOnly=True)
        self.epoch_text.setPlaceholderText("The text sampled at the end of each epoch.")
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for box in (self.generated, self.epoch_text):  # code and columns keep their indents
            box.setFont(fixed)
        right = QVBoxLayout()
        right.addWidget(plain_label("Generated"))
        right.addWidget(self.generated, 2)
        right.addWidget(plain_label("Sample at the chosen epoch"))
        right.addWidget(self.epoch_text, 1)
        h.addWidget(form_box)
        h.addLayout(right, 1)
        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop_generation)
        return page

    def _image_page(self) -> QWidget:
        area = QScrollArea()
        area.setWidgetResizable(True)
        self.image = QLabel()
        self.image.setTextFormat(Qt.TextFormat.PlainText)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(160, 160)
        area.setWidget(self.image)
        return area

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        # In a narrow dock the generated text goes below the form instead of beside it.
        narrow = event.size().width() < NARROW
        self.text_layout.setDirection(QBoxLayout.Direction.TopToBottom if narrow
                                      else QBoxLayout.Direction.LeftToRight)
        super().resizeEvent(event)

    # -- the contract with the run side ------------------------------------------------
    def show_run(self, run_dir: str) -> None:
        """Show a run folder's samples (finished or still training)."""
        self.run_dir = str(run_dir)
        self.error.hide()
        try:
            info = read_run(self.run_dir)
        except Exception as e:
            self.error.setText(user_message(e))
            self.error.show()
            return
        self.title.setText(f"{info.name} ({info.kind.replace('_', ' ')})")
        self._set_kind(info.kind)
        frames: dict[int, Any] = {}
        for epoch, path in info.sample_files.items():
            try:
                frames[epoch] = Path(path).read_bytes() if path.endswith(".png") else \
                    Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        self.frames = frames
        self._update_slider(follow=True)

    def on_event(self, event: Event) -> None:
        """RunStarted starts a fresh sample list, Sample adds an epoch's sample (the view
        follows the newest while the slider is at the end), Finished reloads the folder."""
        match event:
            case RunStarted():
                self.run_dir = event.run_dir or self.run_dir
                self.frames = {}
                self.title.setText(f"Training {event.run_dir}…")
                self._set_kind(event.task)
                self._update_slider(follow=True)
            case Sample():
                following = (self.epoch_slider.value() == self.epoch_slider.maximum()
                             or not self.frames)
                if event.kind == "image":
                    self.frames[event.epoch] = base64.b64decode(event.png_base64)
                    if self.kind not in IMAGE_KINDS:
                        self._set_kind("gan")
                else:
                    self.frames[event.epoch] = event.text
                self._update_slider(follow=following)
            case Finished() | Stopped() if self.run_dir:
                self.show_run(self.run_dir)

    def reset(self) -> None:
        """Show no run (another project): its samples and generated text go, and a
        generation still running for it stops and reports nothing."""
        self.stop_generation()
        self.jobs.cancel()
        self.run_dir = None
        self.frames = {}
        self.error.hide()
        self.title.setText(NO_RUN)
        self.generated.clear()
        self._set_kind("")
        self._update_slider(follow=True)

    # -- generation --------------------------------------------------------------------
    @property
    def generating(self) -> bool:
        return self.jobs.busy

    def generate(self) -> None:
        """Start generating from the prompt; text streams into the view."""
        if not self.run_dir or self.jobs.busy:
            return
        self.generated.setPlainText(self.prompt.text())
        self.error.hide()
        stop = self._stop = Stop()
        cache, run_dir, prompt = self.cache, self.run_dir, self.prompt.text()
        length, temperature = self.length.value(), self.temperature.value()
        top_k, seed = self.top_k.value(), self.seed.value()

        def job(report: Report) -> str:
            return generate_text(cache, run_dir, prompt, length, temperature, top_k, seed,
                                 report, stop)

        self.jobs.submit(job)

    def stop_generation(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def shutdown(self) -> None:
        self.stop_generation()
        self.jobs.cancel()
        self.jobs.wait()

    def _on_jobs_progressed(self, text: str) -> None:
        cursor = self.generated.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def _on_jobs_failed(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _on_jobs_busy_changed(self, busy: bool) -> None:
        if not busy:
            self._stop = None
        self.generate_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)

    # -- scrubbing ---------------------------------------------------------------------
    def _set_kind(self, kind: str) -> None:
        self.kind = kind
        page = (EMPTY if not kind else TEXT if kind == "language_model"
                else IMAGES if kind in IMAGE_KINDS else NONE)
        self.pages.setCurrentIndex(page)
        self.scrub.setVisible(page in (TEXT, IMAGES))

    def _update_slider(self, follow: bool) -> None:
        epochs = sorted(self.frames)
        s = self.epoch_slider
        s.blockSignals(True)
        s.setRange(0, max(0, len(epochs) - 1))
        if follow:
            s.setValue(s.maximum())
        s.blockSignals(False)
        s.setEnabled(len(epochs) > 1)
        self._show_frame(s.value())

    def _on_epoch_slider_value_changed(self, value: int) -> None:
        self._show_frame(value)

    @property
    def shown_epoch(self) -> int | None:
        epochs = sorted(self.frames)
        v = self.epoch_slider.value()
        return epochs[v] if 0 <= v < len(epochs) else None

    def _show_frame(self, index: int) -> None:
        epochs = sorted(self.frames)
        if not epochs:
            self.epoch_label.setText("no samples yet")
            self.image.clear()
            self.image.setText("No samples yet.")
            self.epoch_text.clear()
            return
        epoch = epochs[index]
        self.epoch_label.setText(f"{epoch} ({index + 1} of {len(epochs)})")
        frame = self.frames[epoch]
        if isinstance(frame, bytes):
            pix = QPixmap()
            pix.loadFromData(frame, "PNG")
            self.image.setPixmap(pix)
        else:
            self.epoch_text.setPlainText(frame)
        self.frame_shown.emit(epoch)
