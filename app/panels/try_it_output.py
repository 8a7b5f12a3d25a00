"""The answer side of the "Try it" panel: the likeliest classes as bars with their
probabilities, the picture as the model saw it (with a segmentation's mask laid over it
or a detector's boxes drawn on it), the generated or decoded text, regression values, or
a sound clip as the model heard it, with Play.

:class:`AnswerView` shows one :func:`engine.train.predict.predict` answer dict; it never
computes anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.panels.vision_draw import MaskPalette, draw_boxes, overlay, scaled_pixmap, swatch
from app.text import plain_tooltip
from app.widgets.audio_view import AudioView
from app.widgets.bar_chart import paint_bars
from app.widgets.flow_layout import FlowLayout
from app.widgets.labels import plain_label

#: side of the picture "as the model sees it" (pixels on screen)
PICTURE = 168
#: the headline over a decoded answer, by predict kind (a language model's is "Output")
OUTPUT_TITLES = {"seq2seq": "Translation", "speech": "Transcript"}
#: a detector's boxes drawn: those at least this sure (the decoder keeps unlikely ones too,
#: which the metrics need and a user trying a picture does not)
MIN_SCORE = 0.5


class ProbabilityBars(QWidget):
    """Horizontal bars, one per class: the name, a bar as long as the probability (the
    likeliest in the accent colour, the others paler) and the percentage."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def row_height(self) -> int:
        return self.fontMetrics().height() + 10

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = [(str(n), float(p)) for n, p in items]
        self.setFixedHeight(len(self.items) * self.row_height() + 4 if self.items else 0)
        self.setVisible(bool(self.items))  # no gap under the headline of other answers
        self.setToolTip(plain_tooltip("\n".join(f"{n}: {p:.2%}" for n, p in self.items)))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(360, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(200, self.height())

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        if not self.items:
            return
        rows = [(name, prob, f"{prob:.1%}") for name, prob in self.items]
        paint_bars(self, rows, self.row_height(),
                   self.fontMetrics().horizontalAdvance("100.0%") + 10, pale_after_first=True)


class AnswerView(QWidget):
    """One answer: the headline ("7, 93.1%"), then what the kind shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = plain_label(wrap=False)
        self.headline.setMinimumWidth(40)  # a long class name never widens the panel
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.headline.setFont(font)
        self.took = plain_label(role="muted", wrap=False)
        self.took.setMinimumWidth(20)  # the headline keeps its room
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.picture_note = plain_label("As the model sees it", role="muted", wrap=False)
        self.bars = ProbabilityBars()
        self.text = plain_label()
        self.legend = QWidget()
        self.legend_layout = FlowLayout(self.legend)
        self.audio = AudioView(beside=True, scrolling=True)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.picture)
        left.addWidget(self.picture_note)
        left.addStretch(1)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(self.headline)
        head.addWidget(self.took, 0, Qt.AlignmentFlag.AlignBaseline)
        head.addStretch(1)
        right.addLayout(head)
        right.addWidget(self.bars)
        right.addWidget(self.text)
        right.addWidget(self.legend)
        right.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(16)
        row.addLayout(left)
        row.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.audio)
        self.clear_all()

    # -- showing -----------------------------------------------------------------------
    def clear_all(self) -> None:
        for label in (self.headline, self.took, self.text):
            label.clear()
        self.picture.clear()
        self.picture.hide()
        self.picture_note.hide()
        self.bars.set_items([])
        self.text.hide()
        self._fill_legend([])
        self.audio.clear_all()
        self.audio.hide()

    def show_answer(self, result: dict[str, Any], classes: list[str], seconds: float,
                    kind: str = "", beam: int | None = None) -> None:
        """Show predict's ``result`` (``classes``: the run's, for a mask's colours;
        ``kind``: the predict kind, which names a decoded text; ``beam``: the beam width
        it was decoded with)."""
        self.clear_all()
        took = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
        width = f", beam width {beam}" if beam else ""
        self.took.setText(f"answered in {took}{width}")
        image = result.get("image")
        if "top" in result:
            top = [(str(c["class"]), float(c["probability"])) for c in result["top"]]
            if top:
                self.headline.setText(f"{top[0][0]}  ({top[0][1]:.1%})")
            self.bars.set_items(top)
        elif "values" in result:
            names = [str(n) for n in result.get("names") or []]
            values = [float(v) for v in result["values"]]
            pairs = [(names[i] if i < len(names) else f"y{i + 1}", v)
                     for i, v in enumerate(values)]
            self.headline.setText(", ".join(f"{n} = {v:.4g}" for n, v in pairs[:4])
                                  + (" …" if len(pairs) > 4 else ""))
            if len(pairs) > 4:
                self._show_text("\n".join(f"{n} = {v:.6g}" for n, v in pairs))
        elif "output" in result:
            self.headline.setText(OUTPUT_TITLES.get(kind, "Output"))
            self._show_text(str(result["output"]) or "(nothing)", large=kind in OUTPUT_TITLES)
        if "mask" in result and image is not None:
            palette = MaskPalette(classes)
            self._show_picture(overlay(_hwc(image), result["mask"], palette))
            shares = result.get("shares") or {}
            self.headline.setText("Pixels by class")
            shown = sorted(palette.legend(), key=lambda nc: -float(shares.get(nc[0], 0.0)))
            self._fill_legend([(f"{n} {float(shares.get(n, 0.0)):.1%}", c) for n, c in shown])
        elif "boxes" in result and image is not None:
            every = list(result["boxes"])
            boxes = [b for b in every if float(b["score"]) >= MIN_SCORE]
            self.headline.setText(f"{len(boxes)} object{'s' if len(boxes) != 1 else ''} found")
            self._show_boxes(_hwc(image), boxes, len(every) - len(boxes))
        elif image is not None:
            self._show_picture(_hwc(image))
        if result.get("clip") is not None:
            rate = int(result.get("rate") or 0) or self._rate
            name = Path(str(result.get("input") or "")).name
            self.audio.show_clip(result["clip"], rate,
                                 f"{name}, as the model hears it" if name
                                 else "The clip as the model hears it")
            self.audio.show()

    #: the run's sample rate (the panel sets it; predict's sound answers carry no rate)
    _rate = 16000

    def set_rate(self, rate: int) -> None:
        self._rate = int(rate) or 16000

    def restyle(self) -> None:
        self.audio.restyle()
        self.bars.update()

    def shutdown(self) -> None:
        self.audio.shutdown()

    # -- helpers -----------------------------------------------------------------------
    def _show_text(self, text: str, large: bool = False) -> None:
        """``text`` under the headline; ``large``: a short decoded answer, the thing the
        user looks at, at a reading size."""
        font = self.font()
        if large:
            font.setPointSizeF(font.pointSizeF() * 1.25)
        self.text.setFont(font)
        self.text.setText(text)
        self.text.show()

    def _show_picture(self, rgb: Any) -> None:
        self.picture.setPixmap(scaled_pixmap(rgb, PICTURE, PICTURE))
        self.picture.show()
        self.picture_note.show()

    def _show_boxes(self, rgb: Any, boxes: list[dict[str, Any]], unsure: int) -> None:
        side = PICTURE * 3 // 2
        base = scaled_pixmap(rgb, side, side)
        scale = base.width() / max(rgb.shape[1], 1)
        drawn = draw_boxes(base, scale, [("tp", tuple(b["box"])) for b in boxes])
        self.picture.setPixmap(drawn)
        self.picture.show()
        self.picture_note.show()
        lines = [f"{b['class']}  {float(b['score']):.0%}" for b in boxes[:20]]
        if unsure:
            lines.append(f"({unsure} more below {MIN_SCORE:.0%}, not drawn)")
        self._show_text("\n".join(lines))

    def _fill_legend(self, entries: list[tuple[str, QColor]]) -> None:
        while self.legend_layout.count():
            item = self.legend_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        for name, color in entries:
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            sw = QLabel()
            sw.setPixmap(swatch(color))
            row.addWidget(sw)
            row.addWidget(plain_label(name, wrap=False))
            self.legend_layout.addWidget(box)
        self.legend.setVisible(bool(entries))


def _hwc(image: Any) -> Any:
    """predict's picture (uint8 [C, H, W]) as [H, W] grey or [H, W, 3] RGB."""
    import numpy as np

    a = np.asarray(image, dtype=np.uint8)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    return np.ascontiguousarray(a)
