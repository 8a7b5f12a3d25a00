"""The evaluation panel's audio views.

Sound classification (:class:`SoundSamplesSection`): the clips the model got wrong (or
those of a chosen confusion-matrix cell) where image classifiers have their gallery, and
under them the chosen clip's waveform and spectrogram with Play.

Speech to text (:class:`SpeechSection`, a section of its own): CER and WER with the beam
width to decode with, a table of reference and output transcripts (each row's CER), the
chosen clip's waveform and spectrogram with Play.

Both end with a line that leads to the Try it tab, where the user opens a clip of their
own (and sees and hears it as the model did).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.panels import lang_results
from app.panels.evaluation_lang import DecodedSection, TextTable, TryLink, class_rows
from app.panels.run_results import Evaluation
from app.widgets.audio_view import AudioView

#: speech metrics in the order a user reads them, with their names
SPEECH_FIGURES = (("cer", "CER (characters)"), ("wer", "WER (words)"), ("loss", "loss (CTC)"))


def _show_clip(view: AudioView, r: Evaluation, position: int, title: str) -> None:
    if 0 <= position < len(r.clips):
        view.show_clip(r.clips[position], r.sample_rate, title)
    else:
        view.clear_all()
        view.set_title(f"#{position}: clip not kept (only the first {len(r.clips)} are)")


class SoundSamplesSection(QWidget):
    """The chosen clip's waveform, spectrogram and Play over the Try it link: a row under
    the metrics | matrix | clips row. Its clips ``table`` is placed by the panel where an
    image classifier has its gallery (beside the matrix), so both rows get the width.
    ``try_requested`` when the user follows the link."""

    try_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Evaluation | None = None
        self.indices: list[int] = []
        self.table = TextTable(["Clip", "True", "Predicted", "Confidence"])
        self.audio = AudioView(beside=True)
        self.try_link = TryLink("clip")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.audio, 1)
        lay.addWidget(self.try_link)
        self.setMinimumHeight(190)
        self.table.row_chosen.connect(self._on_table_row_chosen)
        self.try_link.clicked.connect(self.try_requested)

    def show_result(self, r: Evaluation) -> None:
        self.result = r
        self.table.clear_all()
        self.audio.clear_all()

    def show_samples(self, indices: list[int]) -> None:
        """List the clips at ``indices`` of the split and show the first."""
        r = self.result
        if r is None:
            return
        self.indices = list(indices)
        self.table.fill(class_rows(r, indices, lambda i: f"#{i}"), stretch=())
        self.audio.clear_all()
        if indices:
            self.table.selectRow(0)

    def clear_all(self) -> None:
        self.result, self.indices = None, []
        self.table.clear_all()
        self.audio.clear_all()

    def restyle(self) -> None:
        self.audio.restyle()

    def shutdown(self) -> None:
        self.audio.shutdown()

    def _on_table_row_chosen(self, position: int) -> None:
        r = self.result
        if r is None:
            return
        t, p = r.classes[r.true[position]], r.classes[r.pred[position]]
        _show_clip(self.audio, r, position, f"#{position}: true {t}, predicted {p}")


class SpeechSection(DecodedSection):
    """Metrics and beam width | transcripts table | the chosen clip; the Try it link under
    the table. ``beam_chosen(width)`` when the user asks for another beam width."""

    shares = (11, 9)  # the transcripts more than the clip
    min_rest = 400

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(["Reference", "Output", "CER"], "clip", parent=parent)
        self.audio = AudioView()
        self.addWidget(self.audio)
        self.setStretchFactor(2, 1)
        self.table.row_chosen.connect(self._on_table_row_chosen)

    def show_result(self, r: Evaluation) -> None:
        self.result = r
        m = r.metrics
        self.show_metrics({name: m[k] for k, name in SPEECH_FIGURES if k in m}, r.beam_width)
        rows = [(i, [s.get("reference", ""), s.get("output", ""),
                     float(lang_results.sample_cer(s))]) for i, s in enumerate(r.samples)]
        self.table_title.setText(f"Transcripts: the first {len(rows)} of {r.split_size} clips "
                                 f"(beam width {r.beam_width})")
        self.table.fill(rows, stretch=(0, 1))
        self.audio.clear_all()
        if rows:
            self.table.selectRow(0)

    def clear_all(self) -> None:
        super().clear_all()
        self.audio.clear_all()

    def restyle(self) -> None:
        self.audio.restyle()

    def shutdown(self) -> None:
        super().shutdown()
        self.audio.shutdown()

    def _on_table_row_chosen(self, position: int) -> None:
        r = self.result
        if r is not None:
            ref = r.samples[position].get("reference", "") if position < len(r.samples) else ""
            _show_clip(self.audio, r, position, f"#{position}: {ref}")
