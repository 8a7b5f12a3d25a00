"""PretrainedCard: the facts of one pretrained backbone of the zoo, and what to do with it.

It shows the title, where the architecture and weights were published (with a link to the
checkpoint on the Hugging Face Hub), the licence, the parameter count, the input size, the
normalisation the checkpoint expects, the accuracy its publisher reports and whether its
weights are in the local cache. "Add to Model" and "Download Weights" are the window's
business: the card only emits ``add_requested(key)`` and ``download_requested(key)``.
"""

from __future__ import annotations

import html
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.text import fmt_count
from app.widgets.labels import plain_label

HUB_URL = "https://huggingface.co/"


class CardEntry(Protocol):
    """What the card reads of an ``engine.zoo.catalog.ZooEntry``."""

    key: str
    title: str
    repo: str
    revision: str
    licence: str
    params: int
    image_size: int
    mean: tuple[float, ...] | list[float]
    std: tuple[float, ...] | list[float]
    accuracy: str
    source: str


def fmt_floats(values: object) -> str:
    return "[" + ", ".join(f"{float(v):.3f}" for v in values) + "]"  # type: ignore[attr-defined]


def cache_text(cached: bool | None) -> str:
    if cached is None:
        return "checking…"
    return ("in the local cache (works offline)" if cached
            else "not downloaded yet (fetched from the Hugging Face Hub when added)")


class PretrainedCard(QDialog):
    add_requested = Signal(str)
    download_requested = Signal(str)
    #: the entry's weights from a local .safetensors file instead of the Hub
    local_requested = Signal(str)

    def __init__(self, entry: CardEntry, cached: bool | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setWindowTitle(f"{entry.title} — Pretrained Backbone")
        self.title = QLabel(entry.title)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.source = plain_label(entry.source)
        url = f"{HUB_URL}{entry.repo}"
        self.link = QLabel(f'<a href="{html.escape(url)}">{html.escape(entry.repo)}</a>'
                           + (f" @ {html.escape(entry.revision[:12])}" if entry.revision
                              and entry.revision != "main" else ""))
        self.link.setTextFormat(Qt.TextFormat.RichText)
        self.link.setOpenExternalLinks(True)
        self.link.setToolTip(url)
        self.licence = plain_label(entry.licence)
        self.params = plain_label(f"{fmt_count(entry.params)} ({entry.params:,})")
        self.input_size = plain_label(f"{entry.image_size}×{entry.image_size} RGB")
        self.norm = plain_label(f"mean {fmt_floats(entry.mean)}\nstd {fmt_floats(entry.std)}")
        self.accuracy = plain_label(entry.accuracy)
        self.cache = plain_label(cache_text(cached))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in (("Source", self.source), ("Checkpoint", self.link),
                              ("Licence", self.licence), ("Parameters", self.params),
                              ("Input", self.input_size), ("Normalisation", self.norm),
                              ("Reported accuracy", self.accuracy), ("Weights", self.cache)):
            form.addRow(label, widget)
        self.note = plain_label("Adding it to the model also sets the dataset's image size "
                                "and normalisation to what the checkpoint expects "
                                "(one undo step).", role="muted")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.add_button = QPushButton("Add to Model")
        self.add_button.setDefault(True)
        self.download_button = QPushButton("Download Weights")
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.local_button = QPushButton("Use Local File…")
        self.local_button.setToolTip("Add it with its weights from a .safetensors file you "
                                     "have (the Hub's file, kept elsewhere)")
        buttons.addButton(self.local_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.local_button.clicked.connect(self._on_local_button_clicked)
        buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.download_button.clicked.connect(
            lambda: self.download_requested.emit(self.entry.key))
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addStretch(1)
        lay.addWidget(buttons)
        self.setMinimumWidth(460)

    def set_cached(self, cached: bool | None) -> None:
        """Whether the weights are in the local cache (None: not known yet)."""
        self.cache.setText(cache_text(cached))
        self.download_button.setEnabled(cached is not True)
        if cached:
            self.download_button.setText("Downloaded")

    def _on_local_button_clicked(self) -> None:
        self.local_requested.emit(self.entry.key)
        self.accept()

    def _on_add_button_clicked(self) -> None:
        self.add_requested.emit(self.entry.key)
        self.accept()
