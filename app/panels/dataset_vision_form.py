"""The Source group's rows for segmentation and detection files: the annotations (a masks
folder, a COCO JSON file, a Pascal VOC or YOLO folder; empty = found from the layout), the
class-names file and what a bad annotation does.

Each row is one ``DatasetSpec`` field, edited through the ``set_field`` the panel hands in
(``GraphDocument.set_field``, so undo works); ``show_values`` shows a spec with the caller
blocking signals, ``show_rows`` shows the rows for the vision sources only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QPushButton

from app.widgets.path_field import PathField, PathMode
from engine.project import DatasetSpec

SetField = Callable[[str, Any], None]

#: the placeholder of an empty field: the engine looks for them (the preview says where)
DETECTED = "detected"
VISION_SOURCES = ("segmentation", "detection")
BAD_ANNOTATIONS = [("stop", "Stop"), ("skip", "Skip")]
ANNOTATION_FILES = "Annotations (*.json *.xml *.txt);;All files (*)"
LABEL_FILES = "Class names (*.txt *.names *.json *.yaml *.yml);;All files (*)"


def _no_start_dir() -> str:
    """The dialogs open in Qt's default folder, not at a (relative) path of the project."""
    return ""


class AnnotationsField(PathField):
    """A path that may be a file (COCO JSON) or a folder (masks, VOC, YOLO): Browse… picks
    a file and a second button, Folder…, a folder."""

    def __init__(self) -> None:
        super().__init__(PathMode.OPEN_FILE, "Choose the annotations file",
                         name_filter=ANNOTATION_FILES, start_dir=_no_start_dir,
                         button_text="File…")
        self.folder_button = QPushButton("Folder…")
        self.layout().addWidget(self.folder_button)
        self.folder_button.clicked.connect(self.browse_folder)

    def browse_folder(self) -> str:
        """Pick a folder of annotations (masks, XML or YOLO text files)."""
        self.set_mode(PathMode.FOLDER, "Choose the annotations folder", start_dir=_no_start_dir)
        try:
            return self.browse()
        finally:
            self.set_mode(PathMode.OPEN_FILE, "Choose the annotations file",
                          name_filter=ANNOTATION_FILES, start_dir=_no_start_dir)


class VisionRows:
    """The annotations, labels and bad-annotation rows, added to the Source group's form."""

    def __init__(self, form: QFormLayout, set_field: SetField) -> None:
        self.form = form
        self.annotations = AnnotationsField()
        self.annotations.setToolTip(
            "A masks folder (PNG, a class index per pixel or a palette, matched to the "
            "images by file name), a COCO JSON file, a folder of Pascal VOC XML files or "
            "of YOLO .txt files. Empty: found from the layout beside the images (the "
            "preview says where).")
        self.annotations.setPlaceholderText(DETECTED)
        self.labels = PathField(PathMode.OPEN_FILE, "Choose the class-names file",
                                name_filter=LABEL_FILES, start_dir=_no_start_dir)
        self.labels.setToolTip("A text file of class names, one per line, in class order. "
                               "Empty: found beside the data, or from the masks' palette.")
        self.labels.setPlaceholderText(DETECTED)
        self.bad = QComboBox()
        for value, text in BAD_ANNOTATIONS:
            self.bad.addItem(text, value)
        self.bad.setToolTip(
            "A box outside its image or of zero size, an unknown class, a mask of another "
            "size than its image or a mask value with no class: stop loading with a "
            "message naming the file and the entry, or leave such entries out and count "
            "them in the summary.")
        self.bad.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.bad.setMinimumContentsLength(10)
        form.addRow("Annotations", self.annotations)
        form.addRow("Labels file", self.labels)
        form.addRow("Bad annotations", self.bad)
        self.annotations.committed.connect(lambda path: set_field("annotations", path))
        self.labels.committed.connect(lambda path: set_field("labels", path))
        self.bad.activated.connect(lambda i: set_field("bad_entries", self.bad.itemData(i)))

    @property
    def widgets(self) -> list[Any]:
        """The widgets whose signals the panel blocks while it shows a spec."""
        return [self.annotations.edit, self.labels.edit, self.bad]

    def show_values(self, s: DatasetSpec) -> None:
        if self.annotations.text() != s.annotations:
            self.annotations.setText(s.annotations)
        if self.labels.text() != s.labels:
            self.labels.setText(s.labels)
        self.bad.setCurrentIndex(max(0, self.bad.findData(s.bad_entries)))

    def show_rows(self, s: DatasetSpec) -> None:
        files = s.source in VISION_SOURCES
        for w in (self.annotations, self.labels, self.bad):
            self.form.setRowVisible(w, files)
