"""The settings form of the Dataset panel: the Source, Split and Preparation groups.

Each group is a ``QGroupBox`` of form rows that shows a :class:`DatasetSpec`
(``show_values``, with the caller blocking the widgets' signals) and the rows that the spec's
source uses (``show_rows``). The edits that are one field each go to the ``set_field(field,
value)`` the panel hands in (through ``GraphDocument.set_field``); the choice of source,
data set, path and target column is wired by the panel, whose handlers do more than one edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from app.panels import dataset_audio_form, dataset_text_form
from app.panels.dataset_audio import AUDIO_SOURCES, audio_kind
from app.panels.dataset_audio_form import AudioRows, SoundRows
from app.panels.dataset_text import TEXT_SOURCES, text_kind
from app.panels.dataset_text_form import TextRows, TokenizerRows
from app.panels.dataset_vision import VISION_BUILTINS, VISION_SOURCES, vision_target
from app.panels.dataset_vision_form import VisionRows
from app.panels.range_marks import RangeMarks
from app.widgets.labels import plain_label
from app.widgets.path_field import PathField, PathMode
from engine.project import DatasetSpec

SOURCES = [("builtin", "Built-in"), ("folder", "Image folder"), ("csv", "CSV file"),
           ("idx", "IDX files (MNIST format)"), ("text", "Text file"),
           ("segmentation", "Segmentation files"), ("detection", "Detection files"),
           ("texts", "Labelled texts"), ("pairs", "Text pairs (sequence to sequence)"),
           ("audio", "Sound clips by class"), ("speech", "Speech with transcripts"),
           ("download", "Download")]
IMAGE_BUILTINS = {"shapes", "digits", *VISION_BUILTINS}
TEXT_BUILTINS = {"pytext"}
#: the built-in sets generated on the fly, the only ones whose size "Samples" sets
GENERATED_BUILTINS = {"spirals", "moons", "blobs", "shapes", "sines", *VISION_BUILTINS,
                      "sentiment", "dates", "keywords", "spoken_digits"}
#: the sources read from a folder (Browse… picks a folder)
FOLDER_SOURCES = ("folder", "idx", *VISION_SOURCES, *AUDIO_SOURCES)
#: the Path row's label and placeholder of the language and sound sources
PATH_HINTS = {**dataset_text_form.PATHS, **dataset_audio_form.PATHS}
ROTATE_NOTE = "Rotation turns images and masks only: boxes are flipped and cropped, never rotated."

SetField = Callable[[str, Any], None]


def _qt_default_dir() -> str:
    """The file dialog opens in Qt's default folder, not at the dataset's (relative) path."""
    return ""


def _form(box: QGroupBox) -> QFormLayout:
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    # In a narrow dock a field goes below its label rather than past the edge.
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class SourceGroup(QGroupBox):
    """Where the data comes from: the source, a data set (with its description) or a path, a
    CSV file's target column, a generated set's size and a sequence's window length."""

    def __init__(self, set_field: SetField) -> None:
        super().__init__("Source")
        self.form = _form(self)
        self.source_combo = QComboBox()
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
        self.name_combo = QComboBox()
        self.description = plain_label(role="muted", wrap=False)
        self.description.setMinimumWidth(1)
        self.path_field = PathField()
        self.path_field.setPlaceholderText("file or folder")
        self.path_edit = self.path_field.edit
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("The column to predict; the other columns are inputs.")
        for combo in (self.source_combo, self.name_combo, self.target_combo):
            # long names (a download's, a CSV column's) must not widen the dock
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(9, 10_000_000)
        self.samples_spin.setSpecialValueText("default")
        self.seq_spin = QSpinBox()
        self.seq_spin.setRange(2, 100_000)
        self.seq_spin.setToolTip("Characters (or values) per training window.")
        f = self.form
        f.addRow("Source", self.source_combo)
        f.addRow("Data set", self.name_combo)
        f.addRow("", self.description)
        f.addRow("Path", self.path_field)
        self.vision = VisionRows(f, set_field)  # annotations, labels, bad annotations
        self.text = TextRows(f, set_field, self.path_field)  # columns, bad entries
        self.audio = AudioRows(f, set_field)  # transcripts, bad clips
        f.addRow("Target column", self.target_combo)
        f.addRow("Samples", self.samples_spin)
        f.addRow("Window length", self.seq_spin)
        self.samples_spin.valueChanged.connect(
            lambda v: set_field("samples", None if v < 10 else v))
        self.seq_spin.valueChanged.connect(lambda v: set_field("seq_len", v))

    def show_values(self, s: DatasetSpec) -> None:
        """The source, path and sizes of ``s`` (the names and columns are the panel's)."""
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(s.source)))
        if self.path_edit.text() != s.path:
            self.path_edit.setText(s.path)
        self.samples_spin.setValue(s.samples or 9)
        self.seq_spin.setValue(s.seq_len)
        self.vision.show_values(s)
        self.text.show_values(s)
        self.audio.show_values(s)

    def show_rows(self, s: DatasetSpec) -> None:
        """The rows that the source of ``s`` uses, and what Browse… picks for it."""
        named = s.source in ("builtin", "download")
        f = self.form
        f.setRowVisible(self.name_combo, named)
        f.setRowVisible(self.description, named)
        f.setRowVisible(self.path_field, not named)
        path_label = f.labelForField(self.path_field)
        label, hint = PATH_HINTS.get(s.source, (
            ("Images folder", "folder of images") if s.source in VISION_SOURCES
            else ("Path", "file or folder")))
        if isinstance(path_label, QLabel):
            path_label.setText(label)
        self.path_field.setPlaceholderText(hint)
        self.vision.show_rows(s)
        self.text.show_rows(s)
        self.audio.show_rows(s)
        self._set_browse_mode(s.source)
        f.setRowVisible(self.target_combo, s.source == "csv")
        f.setRowVisible(self.samples_spin, s.source == "builtin" and s.name in GENERATED_BUILTINS)
        f.setRowVisible(self.seq_spin, s.source == "text" or (
            s.source == "builtin" and s.name in TEXT_BUILTINS | {"sines"}))

    def _set_browse_mode(self, source: str) -> None:
        """Browse… picks a folder for image folders and IDX files, else a file."""
        if source in FOLDER_SOURCES:
            self.path_field.set_mode(PathMode.FOLDER, "Choose the data folder",
                                     start_dir=_qt_default_dir)
        else:
            filt = "CSV files (*.csv *.tsv *.txt);;All files (*)" if source == "csv" else \
                dataset_text_form.TEXT_FILES if source in TEXT_SOURCES else \
                "Text files (*.txt *.md *.py);;All files (*)"
            self.path_field.set_mode(PathMode.OPEN_FILE, "Choose the data file",
                                     name_filter=filt, start_dir=_qt_default_dir)


class SplitGroup(QGroupBox):
    """The validation and test fractions (sliders in percent) and the split's seed."""

    def __init__(self, set_field: SetField) -> None:
        super().__init__("Split")
        form = _form(self)
        val_row, self.val_slider, self.val_label = self._slider("val_fraction", set_field)
        test_row, self.test_slider, self.test_label = self._slider("test_fraction", set_field)
        self.split_seed = QSpinBox()
        self.split_seed.setRange(0, 2**31 - 1)
        form.addRow("Validation", val_row)
        form.addRow("Test", test_row)
        form.addRow("Split seed", self.split_seed)
        self.split_seed.valueChanged.connect(lambda v: set_field("split_seed", v))

    @staticmethod
    def _slider(field: str, set_field: SetField) -> tuple[QWidget, QSlider, QLabel]:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 90)
        label = plain_label(wrap=False)
        label.setMinimumWidth(40)
        h.addWidget(slider, 1)
        h.addWidget(label)
        slider.valueChanged.connect(lambda v: set_field(field, v / 100.0))
        return row, slider, label

    def show_values(self, s: DatasetSpec) -> None:
        self.val_slider.setValue(round(s.val_fraction * 100))
        self.test_slider.setValue(round(s.test_fraction * 100))
        self.val_label.setText(f"{s.val_fraction:.0%}")
        self.test_label.setText(f"{s.test_fraction:.0%}")
        self.split_seed.setValue(s.split_seed)


class PrepGroup(QGroupBox):
    """Normalisation, and for images their size, grayscale and the augmentations."""

    def __init__(self, set_field: SetField) -> None:
        super().__init__("Preparation")
        self.form = _form(self)
        self.normalize = QCheckBox("Normalise inputs")
        self.normalize.setToolTip("Scale inputs with the mean and spread of the train split.")
        self.image_size = QSpinBox()
        self.image_size.setRange(3, 1024)
        self.image_size.setSpecialValueText("original")
        self.grayscale = QCheckBox("Grayscale")
        self.flip = QCheckBox("Random horizontal flip")
        self.crop = QSpinBox()
        self.crop.setRange(0, 64)
        self.crop.setSpecialValueText("off")
        self.crop.setSuffix(" px padding")
        self.rotate = QDoubleSpinBox()
        self.rotate.setRange(0.0, 180.0)
        self.rotate.setSpecialValueText("off")
        self.rotate.setSuffix("°")
        self.rotate_note = plain_label(ROTATE_NOTE, role="muted")
        # a pretrained backbone's fixed normalisation (DatasetSpec.mean/std), when set
        self.fixed_norm = plain_label()
        self.own_stats = QPushButton("Use the data's own statistics")
        self.own_stats.setToolTip("Normalise with the mean and spread of the train split "
                                  "instead of the backbone's (one undo step).")
        f = self.form
        f.addRow(self.normalize)
        f.addRow(self.fixed_norm)
        f.addRow(self.own_stats)
        f.addRow("Image size", self.image_size)
        f.addRow(self.grayscale)
        f.addRow(self.flip)
        f.addRow("Random crop", self.crop)
        f.addRow("Random rotation", self.rotate)
        f.addRow(self.rotate_note)
        self.tokens = TokenizerRows(f, set_field)  # text: tokenizer and lengths
        self.sound = SoundRows(f, set_field)  # sound: rate, length, augmentation
        self.normalize.toggled.connect(lambda v: set_field("normalize", v))
        self.image_size.valueChanged.connect(
            lambda v: set_field("image_size", None if v < 4 else v))
        self.grayscale.toggled.connect(lambda v: set_field("grayscale", v))
        self.flip.toggled.connect(lambda v: set_field("augment_flip", v))
        self.crop.valueChanged.connect(lambda v: set_field("augment_crop", v))
        self.rotate.valueChanged.connect(lambda v: set_field("augment_rotate", v))

    def show_values(self, s: DatasetSpec) -> None:
        self.normalize.setChecked(s.normalize)
        self.image_size.setValue(s.image_size or 3)
        self.grayscale.setChecked(s.grayscale)
        self.flip.setChecked(s.augment_flip)
        self.crop.setValue(s.augment_crop)
        self.rotate.setValue(s.augment_rotate)
        self.tokens.show_values(s)
        self.sound.show_values(s)

    def show_fixed_norm(self, text: str) -> None:
        """Say how a pretrained backbone's normalisation applies ("" hides the rows)."""
        self.fixed_norm.setText(text)
        self.form.setRowVisible(self.fixed_norm, bool(text))
        self.form.setRowVisible(self.own_stats, bool(text))

    def show_rows(self, s: DatasetSpec) -> None:
        """The image rows show for image data only."""
        images = s.source in ("folder", "idx", "download", *VISION_SOURCES) or (
            s.source == "builtin" and s.name in IMAGE_BUILTINS)
        for w in (self.image_size, self.grayscale, self.flip, self.crop, self.rotate):
            self.form.setRowVisible(w, images)
        self.form.setRowVisible(self.rotate_note, vision_target(s) == "boxes")
        # token ids and raw sound are never normalised
        self.form.setRowVisible(self.normalize, not (text_kind(s) or audio_kind(s)))
        self.tokens.show_rows(s)
        self.sound.show_rows(s)


def mark_ranges(marks: RangeMarks, src: SourceGroup, split: SplitGroup, prep: PrepGroup) -> None:
    """Give the numeric and on/off settings a sweep may vary their "Search range…" mark."""
    split_form = split.layout()
    assert isinstance(split_form, QFormLayout)
    rows = [(src.form, src.samples_spin, "samples"), (src.form, src.seq_spin, "seq_len"),
            (split_form, split.val_slider.parentWidget(), "val_fraction"),
            (split_form, split.test_slider.parentWidget(), "test_fraction"),
            (prep.form, prep.normalize, "normalize"), (prep.form, prep.image_size, "image_size"),
            (prep.form, prep.grayscale, "grayscale"), (prep.form, prep.flip, "augment_flip"),
            (prep.form, prep.crop, "augment_crop"), (prep.form, prep.rotate, "augment_rotate")]
    for form, widget, field in rows:
        marks.attach_setting(form, widget, f"dataset.{field}")
