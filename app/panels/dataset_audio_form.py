"""The dataset form's rows for sound data: in the Source group a speech set's transcripts
file and what a bad entry does (:class:`AudioRows`); in the Preparation group the sample
rate, the clip length and the augmentations: a random time shift and a background noise
mix, from a folder of noise clips or generated (:class:`SoundRows`).

Each row is one ``DatasetSpec`` field, edited through the ``set_field`` the panel hands in
(``GraphDocument.set_field``, so every edit is an undo step and a spin box's steps merge);
``show_values`` shows a spec with the rows' own signals blocked, ``show_rows`` shows the
rows the spec's data uses and hides the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from app.panels.dataset_audio import AUDIO_SOURCES, audio_kind
from app.panels.dataset_text_form import SideFileRows, no_start_dir
from app.widgets.path_field import PathField, PathMode
from engine.project import DatasetSpec

SetField = Callable[[str, Any], None]

TRANSCRIPT_FILES = "Transcripts (*.csv *.tsv *.txt);;All files (*)"
#: the Path row's label and placeholder for each sound source
PATHS = {
    "audio": ("Clips folder", "a folder of one folder of WAV files per class"),
    "speech": ("Clips folder", "a folder of WAV files"),
}


def _seconds(top: float, step: float, off: bool) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(2)
    spin.setRange(0.0 if off else 0.05, top)
    spin.setSingleStep(step)
    spin.setSuffix(" s")
    if off:
        spin.setSpecialValueText("off")
    return spin


class AudioRows(SideFileRows):
    """The transcripts and bad-entry rows, added to the Source group's form."""

    def __init__(self, form: QFormLayout, set_field: SetField) -> None:
        self.transcripts = PathField(PathMode.OPEN_FILE, "Choose the transcripts file",
                                     name_filter=TRANSCRIPT_FILES, start_dir=no_start_dir)
        self.transcripts.setPlaceholderText("detected")
        self.transcripts.setToolTip(
            "A CSV file with the columns file and text. Empty: transcripts.csv or "
            "metadata.csv beside the clips, else a .txt file beside each .wav.")
        super().__init__(form, set_field, "Transcripts", self.transcripts,
                         "A WAV file that cannot be read, a clip without a transcript or "
                         "longer than the clip length, a transcript character the "
                         "vocabulary lacks: stop loading with a message naming the file, "
                         "or leave such clips out and count them in the preview.")

    def show_rows(self, s: DatasetSpec) -> None:
        self.form.setRowVisible(self.transcripts, s.source == "speech")
        self.form.setRowVisible(self.bad, s.source in AUDIO_SOURCES)


class SoundRows:
    """The rate and length every clip is brought to, and the augmentations (Preparation
    group), for sound data only."""

    def __init__(self, form: QFormLayout, set_field: SetField) -> None:
        self.form = form
        self.sample_rate = QSpinBox()
        self.sample_rate.setRange(4000, 96000)
        self.sample_rate.setSingleStep(1000)
        self.sample_rate.setSuffix(" Hz")
        self.sample_rate.setGroupSeparatorShown(True)
        self.sample_rate.setToolTip("Every clip is resampled to this rate (16 000 Hz is "
                                    "usual for speech).")
        self.clip_seconds = _seconds(60.0, 0.25, off=False)
        self.clip_seconds.setToolTip("Shorter clips are padded with silence and longer "
                                     "ones cut (speech: the longest clip allowed).")
        self.shift = _seconds(10.0, 0.05, off=True)
        self.shift.setToolTip("Training clips are moved by a random time of up to this "
                              "many seconds (the gap filled with silence).")
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 1.0)
        self.noise.setDecimals(2)
        self.noise.setSingleStep(0.05)
        self.noise.setSpecialValueText("off")
        self.noise.setToolTip("Background noise is mixed into training clips at a random "
                              "level of up to this share of the clip's peak.")
        self.noise_folder = PathField(PathMode.FOLDER, "Choose the folder of noise clips",
                                      start_dir=no_start_dir)
        self.noise_folder.setPlaceholderText("generated")
        self.noise_folder.setToolTip("A folder of WAV files of background sound; empty: "
                                     "white and pink noise.")
        form.addRow("Sample rate", self.sample_rate)
        form.addRow("Clip length", self.clip_seconds)
        form.addRow("Random time shift", self.shift)
        form.addRow("Background noise", self.noise)
        form.addRow("Noise folder", self.noise_folder)
        self.sample_rate.valueChanged.connect(lambda v: set_field("sample_rate", v))
        self.clip_seconds.valueChanged.connect(lambda v: set_field("clip_seconds", v))
        self.shift.valueChanged.connect(lambda v: set_field("augment_shift", v))
        self.noise.valueChanged.connect(lambda v: set_field("augment_noise", v))
        self.noise_folder.committed.connect(lambda path: set_field("noise_path", path))

    @property
    def widgets(self) -> list[QWidget]:
        return [self.sample_rate, self.clip_seconds, self.shift, self.noise,
                self.noise_folder.edit]

    def show_values(self, s: DatasetSpec) -> None:
        blockers = [QSignalBlocker(w) for w in self.widgets]
        self.sample_rate.setValue(s.sample_rate)
        self.clip_seconds.setValue(s.clip_seconds)
        self.shift.setValue(s.augment_shift)
        self.noise.setValue(s.augment_noise)
        if self.noise_folder.text() != s.noise_path:
            self.noise_folder.setText(s.noise_path)
        del blockers

    def show_rows(self, s: DatasetSpec) -> None:
        sound = bool(audio_kind(s))
        for w in (self.sample_rate, self.clip_seconds, self.shift, self.noise):
            self.form.setRowVisible(w, sound)
        # the folder matters once noise is mixed in
        self.form.setRowVisible(self.noise_folder, sound and s.augment_noise > 0)

