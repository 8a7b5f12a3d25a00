"""The Fairness view's two small dialogs: a new grouping (its name and where its groups
come from: a CSV column, a level of the image folder tree, or a metadata file chosen with
a file chooser) and a new intersection (two or more groupings ticked).

Each dialog only says what the user chose (``grouping()``, ``names()``); the editor makes
the undoable edit. A choice that cannot be a grouping keeps the dialog open with the
reason under the fields.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.widgets.labels import plain_label
from app.widgets.path_field import PathField, PathMode
from engine.project import Grouping

#: the kinds of grouping, as the dialog names them
KINDS = (("column", "A column of the CSV file"),
         ("folder", "A level of the image folders"),
         ("file", "A metadata file (sample, group)"))


class GroupingDialog(QDialog):
    """Asks for a new grouping. ``columns``: the CSV file's columns offered for a column
    grouping; ``taken``: names already used."""

    def __init__(self, columns: list[str], taken: list[str], start_dir: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a grouping")
        self.taken = set(taken)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. sex, region, site")
        self.kind = QComboBox()
        for key, text in KINDS:
            self.kind.addItem(text, key)
        self.column = QComboBox()
        self.column.setEditable(True)
        self.column.addItems(columns)
        self.column.setToolTip("The column that names each sample's group")
        self.level = QSpinBox()
        self.level.setRange(0, 64)
        self.level.setToolTip("0 is the class folder, 1 the folder inside it "
                              "(images/cat/indoor/a.png: level 1 is indoor)")
        self.file = PathField(PathMode.OPEN_FILE, "Choose the metadata file",
                              name_filter="CSV files (*.csv *.tsv);;All files (*)",
                              start_dir=lambda: start_dir)
        self.file_column = QLineEdit()
        self.file_column.setPlaceholderText("(the second column)")
        self.form = form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Groups from", self.kind)
        form.addRow("Column", self.column)
        form.addRow("Folder level", self.level)
        form.addRow("File", self.file)
        form.addRow("Its group column", self.file_column)
        self.note = plain_label(role="muted")
        self.error = plain_label(role="error")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._on_kind_current_index_changed(0)

    def set_kind(self, kind: str) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    def _on_kind_current_index_changed(self, _index: int) -> None:
        kind = self.kind.currentData()
        self.form.setRowVisible(self.column, kind == "column")
        self.form.setRowVisible(self.level, kind == "folder")
        self.form.setRowVisible(self.file, kind == "file")
        self.form.setRowVisible(self.file_column, kind == "file")
        self.note.setText({
            "column": "Each row's group is read from this column of the data file.",
            "folder": "Each image's group is the name of its folder at this level.",
            "file": "The file's first column names the sample (its path under the data "
                    "set's folder, or its row number); another column holds its group.",
        }[kind])

    def grouping(self) -> Grouping | str:
        """The grouping chosen, or a sentence saying what is missing."""
        name, kind = self.name.text().strip(), str(self.kind.currentData())
        if not name:
            return "Give the grouping a name."
        if name in self.taken:
            return f"A grouping named {name!r} exists already: choose another name."
        column = (self.column.currentText() if kind == "column"
                  else self.file_column.text() if kind == "file" else "").strip()
        if kind == "column" and not column:
            return "Choose the column that holds the groups."
        if kind == "file" and not self.file.text().strip():
            return "Choose the metadata file."
        try:
            return Grouping(name=name, kind=kind, column=column, level=self.level.value(),  # type: ignore[arg-type]
                            file=self.file.text().strip() if kind == "file" else "")
        except ValidationError as e:
            err = e.errors()[0]
            return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"

    def accept(self) -> None:
        chosen = self.grouping()
        if isinstance(chosen, str):
            self.error.setText(chosen)
            self.error.show()
            return
        super().accept()


class IntersectionDialog(QDialog):
    """Asks which groupings to cross (two or more)."""

    def __init__(self, groupings: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an intersection")
        self.list = QListWidget()
        for name in groupings:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.error = plain_label(role="error")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        lay = QVBoxLayout(self)
        lay.addWidget(plain_label("Tick the groupings to cross: each group of the "
                                  "intersection is one combination (e.g. sex x age)."))
        lay.addWidget(self.list)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def accept(self) -> None:
        if len(self.names()) < 2:
            self.error.setText("Tick two groupings or more.")
            self.error.show()
            return
        super().accept()
