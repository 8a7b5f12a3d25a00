"""PathField: a line edit for a path with a Browse… button that opens the right file dialog.

The dataset panel, the export and import dialogs and the hosts dialog each had their own
"path + Browse…" row; this is that row once. The owner says what the path is (a file to open,
a file to save, a folder) and may change it as its state changes (the dataset's source, the
export's format); the field opens the dialog, appends the expected suffix to a saved file and
reports the user's choice.

The field offers the line edit's ``text``/``setText``/``clear``/``setPlaceholderText`` under
their Qt names, so it stands where a ``QLineEdit`` stood; ``edit`` and ``button`` are the
parts, for tests that type into the edit.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class PathMode(Enum):
    """Which file dialog Browse… opens."""

    OPEN_FILE = "open"
    SAVE_FILE = "save"
    FOLDER = "folder"


class PathField(QWidget):
    """A path line edit and a Browse… button.

    ``edited(path)``: the user changed the path, by typing (each keystroke, as
    ``QLineEdit.textEdited``) or with Browse…; never for ``setText``.
    ``committed(path)``: the user is done with a path: Return or leaving the field (as
    ``QLineEdit.editingFinished``, with the text stripped), or a path picked with Browse….
    """

    edited = Signal(str)
    committed = Signal(str)

    def __init__(self, mode: PathMode = PathMode.OPEN_FILE, caption: str = "", *,
                 name_filter: str = "", suffix: str = "",
                 start_dir: Callable[[], str] | None = None, button_text: str = "Browse…",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.button = QPushButton(button_text)
        self.set_mode(mode, caption, name_filter=name_filter, suffix=suffix,
                      start_dir=start_dir)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        # the edit takes the focus (and a form label's buddy) for the whole row
        self.setFocusProxy(self.edit)
        self.edit.textEdited.connect(self.edited)
        self.edit.editingFinished.connect(self._on_edit_editing_finished)
        self.button.clicked.connect(self._on_button_clicked)

    def set_mode(self, mode: PathMode, caption: str = "", *, name_filter: str = "",
                 suffix: str = "", start_dir: Callable[[], str] | None = None) -> None:
        """What Browse… asks for: the dialog's kind, title, name filter (``"CSV files
        (*.csv);;All files (*)"``), for a saved file the suffix it must end in, and where
        the dialog opens (``start_dir()``; by default at the field's path)."""
        self.mode, self.caption = mode, caption
        self.name_filter, self.suffix, self._start_dir = name_filter, suffix, start_dir

    # -- the line edit's API, so the field stands where a QLineEdit stood ------------------
    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name, as on QLineEdit
        self.edit.setText(text)

    def clear(self) -> None:
        self.edit.clear()

    def setPlaceholderText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.edit.setPlaceholderText(text)

    # -- browsing ----------------------------------------------------------------------
    def browse(self) -> str:
        """Open the file dialog; a chosen path goes into the field and is returned ("" when
        the user cancels)."""
        start = self._start_dir() if self._start_dir is not None else self.text()
        if self.mode is PathMode.FOLDER:
            path = QFileDialog.getExistingDirectory(self, self.caption, start)
        elif self.mode is PathMode.SAVE_FILE:
            path, _ = QFileDialog.getSaveFileName(self, self.caption, start, self.name_filter)
            if path and self.suffix and not path.endswith(self.suffix):
                path += self.suffix
        else:
            path, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.name_filter)
        if path:
            self.edit.setText(path)
            self.edited.emit(path)
            self.committed.emit(path)
        return path

    def _on_button_clicked(self) -> None:
        self.browse()

    def _on_edit_editing_finished(self) -> None:
        self.committed.emit(self.edit.text().strip())
