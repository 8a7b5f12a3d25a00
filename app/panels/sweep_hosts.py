"""The sweep's remote hosts (``SweepSpec.hosts``) as a column of check boxes: one per SSH
host configured with Tools > Remote Hosts (engine.remote.config), each of which trains one
trial at a time beside the local workers. A host the project names but this computer does
not know (the project came from a colleague) stays listed, marked, so that it can be
unticked; the sweep itself refuses to start with it and says why."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from app.widgets.labels import plain_label

NONE_CONFIGURED = "None configured: add one with Tools > Remote Hosts…"
UNKNOWN = " (not configured here)"


class HostsChooser(QWidget):
    """Signals: ``changed(names)`` when the user ticks or unticks a host."""

    changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.configured: list[str] = []
        self.chosen: list[str] = []
        self.boxes: dict[str, QCheckBox] = {}
        self.empty = plain_label(NONE_CONFIGURED, role="muted")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._layout.addWidget(self.empty)
        self.setToolTip("SSH hosts that train trials too, one at a time each")

    def set_configured(self, names: list[str]) -> None:
        """The hosts this computer knows (Tools > Remote Hosts)."""
        if list(names) != self.configured:
            self.configured = list(names)
            self._rebuild()

    def set_chosen(self, names: list[str]) -> None:
        """The project's hosts (ticked); no signal."""
        if list(names) != self.chosen:
            self.chosen = list(names)
            self._rebuild()

    def _rebuild(self) -> None:
        for box in self.boxes.values():
            self._layout.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        names = self.configured + [n for n in self.chosen if n not in self.configured]
        for name in names:
            known = name in self.configured
            box = QCheckBox(name if known else name + UNKNOWN)
            box.setChecked(name in self.chosen)
            box.setToolTip(f"Train trials on {name} too" if known else
                           f"{name} is not among this computer's remote hosts: add it with "
                           "Tools > Remote Hosts, or untick it")
            box.toggled.connect(self._on_box_toggled)
            self._layout.addWidget(box)
            self.boxes[name] = box
        self.empty.setVisible(not names)

    def _on_box_toggled(self, _on: bool) -> None:
        self.chosen = [n for n, box in self.boxes.items() if box.isChecked()]
        self.changed.emit(list(self.chosen))
