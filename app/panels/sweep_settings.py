"""The sweep's settings as a form (the project's ``sweep`` section): objectives, sampler,
pruner, trials, local workers, remote hosts (app/panels/sweep_hosts.py), seed and the
study's name, and the search ranges listed
read-only (they are marked where their field is edited: the Hyperparameters and Dataset
panels, the Inspector). Every change is reported as ``field_edited(name, value)``; the
view passes it to the document, so each is an undo step, and the form is refilled from the
project after every edit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.panels.sweep_hosts import HostsChooser
from app.widgets.labels import plain_label
from engine.project import SweepSpec

DEFAULT = "(default)"
FIRST_OBJECTIVES = ("val_accuracy:max", "val_loss:min")
SECOND_OBJECTIVES = ("params:min", "flops:min")
SAMPLERS = ("tpe", "random", "grid", "nsga2")
PRUNERS = ("median", "hyperband", "none")
NO_RANGES = ("No search ranges yet: mark one on a setting in the Hyperparameters or Dataset "
             "panel, or on a block field in the Inspector.")


def _combo(items: list[str], tip: str) -> QComboBox:
    box = QComboBox()
    box.addItems(items)
    box.setToolTip(tip)
    return box


class SweepSettingsForm(QWidget):
    """Signals: ``field_edited(name, value)`` (a SweepSpec field and its new value)."""

    field_edited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filling = False
        self.default_first = FIRST_OBJECTIVES[0]
        self.first = _combo([DEFAULT, *FIRST_OBJECTIVES],
                            "What the sweep optimises: a validation metric (default: "
                            "val_accuracy for classification, else val_loss)")
        self.first.setEditable(True)  # any val_* metric the task reports
        self.second = _combo(["(none)", *SECOND_OBJECTIVES],
                             "An optional second objective measured from the graph: the "
                             "sweep then looks for the Pareto front")
        self.sampler = _combo([DEFAULT, *SAMPLERS], "How trials are chosen (default: TPE, "
                              "NSGA-II with two objectives)")
        self.pruner = _combo([DEFAULT, *PRUNERS], "Stopping trials that fall behind early "
                             "(default: median; none with two objectives)")
        self.trials = QSpinBox()
        self.trials.setRange(1, 10_000)
        self.trials.setToolTip("How many trials the study holds when it is done")
        self.workers = QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setToolTip("Trials trained at once on this computer")
        self.hosts = HostsChooser()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The sampler's seed: the same seed samples the same points")
        self.name = QLineEdit()
        self.name.setPlaceholderText("the project's name")
        self.name.setToolTip("The study's name: another name starts a new study")
        self.ranges = plain_label(NO_RANGES)
        self.ranges.setWordWrap(True)
        form = QFormLayout()
        for label, w in (("Objective", self.first), ("Second objective", self.second),
                         ("Sampler", self.sampler), ("Pruner", self.pruner),
                         ("Trials", self.trials), ("Local workers", self.workers),
                         ("Remote hosts", self.hosts),
                         ("Seed", self.seed), ("Study name", self.name)):
            form.addRow(label, w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        title = QLabel("<b>Search ranges</b>")
        layout.addWidget(title)
        layout.addWidget(self.ranges)
        layout.addStretch(1)
        self.first.activated.connect(self._on_objectives_edited)
        self.first.lineEdit().editingFinished.connect(self._on_objectives_edited)
        self.second.activated.connect(self._on_objectives_edited)
        self.sampler.activated.connect(
            lambda _i: self._edit("sampler", _choice(self.sampler)))
        self.pruner.activated.connect(lambda _i: self._edit("pruner", _choice(self.pruner)))
        self.trials.editingFinished.connect(lambda: self._edit("trials", self.trials.value()))
        self.workers.editingFinished.connect(
            lambda: self._edit("workers", self.workers.value()))
        self.hosts.changed.connect(lambda names: self._edit("hosts", names))
        self.seed.editingFinished.connect(lambda: self._edit("seed", self.seed.value()))
        self.name.editingFinished.connect(lambda: self._edit("name", self.name.text().strip()))

    def show_spec(self, spec: SweepSpec, default_first: str) -> None:
        """Fill the form from the project's sweep settings (no signals); ``default_first``
        is the task's default objective (named when a second one is chosen)."""
        self.default_first = default_first
        self._filling = True
        try:
            first = spec.objectives[0] if spec.objectives else DEFAULT
            if self.first.findText(first) < 0:
                self.first.addItem(first)
            self.first.setCurrentText(first)
            second = spec.objectives[1] if len(spec.objectives) > 1 else "(none)"
            if self.second.findText(second) < 0:
                self.second.addItem(second)
            self.second.setCurrentText(second)
            self.sampler.setCurrentText(spec.sampler or DEFAULT)
            self.pruner.setCurrentText(spec.pruner or DEFAULT)
            self.trials.setValue(spec.trials)
            self.workers.setValue(spec.workers)
            self.hosts.set_chosen(spec.hosts)
            self.seed.setValue(min(spec.seed, self.seed.maximum()))
            self.name.setText(spec.name)
            lines = [f"{k}  =  {v}" for k, v in spec.ranges.items()]
            self.ranges.setText("\n".join(lines) if lines else NO_RANGES)
        finally:
            self._filling = False

    def set_hosts(self, configured: list[str]) -> None:
        """The SSH hosts configured on this computer, offered as remote hosts."""
        self.hosts.set_configured(configured)

    def _edit(self, name: str, value: Any) -> None:
        if not self._filling:
            self.field_edited.emit(name, value)

    def _on_objectives_edited(self, *_: Any) -> None:
        first = self.first.currentText().strip()
        second = self.second.currentText()
        objectives = [] if first in ("", DEFAULT) else [first]
        if second != "(none)":  # a second objective needs the first one named
            objectives = [objectives[0] if objectives else self.default_first, second]
        self._edit("objectives", objectives)


def _choice(box: QComboBox) -> str | None:
    text = box.currentText()
    return None if text == DEFAULT else text
