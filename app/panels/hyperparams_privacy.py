"""The Hyperparameters panel's "Differential privacy" group: whether the run trains with
DP-SGD (Opacus), the privacy budget it aims for (``epsilon`` at ``delta``; an empty delta
means 1/N, N the training samples) and the clipping norm of each sample's gradient
(``training.privacy``, see docs/privacy.md).

The four fields live in one setting, ``training.privacy``. Each edit is one undo step of
its own (:class:`SetPrivacyCommand`): consecutive edits of one field merge, as typing in
any other field does, but switching privacy on and then typing a budget are two steps.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLineEdit, QWidget

from app.document import EditError, GraphDocument
from app.document.commands import SetFieldCommand
from app.panels.param_editors import FloatSpinBox
from app.runs.privacy import delta_text
from app.widgets.labels import plain_label
from engine.project import PrivacySpec, Project

ENABLED_TIP = ("Train with differential privacy (DP-SGD): each sample's gradient is clipped "
               "and noise is added, so the model reveals little about any one sample.")
EPSILON_TIP = ("The privacy budget to spend over the whole run: smaller is more private "
               "(1 is strong, 8 is weak) and usually less accurate.")
DELTA_TIP = ("The small chance that the guarantee does not hold; empty: 1/N, one over the "
             "number of training samples.")
NORM_TIP = ("Each sample's gradient is scaled down to at most this norm, and the noise "
            "added grows with it: a norm near a typical sample's gradient works best.")
NOTE = ("The noise is derived from ε, δ and the epochs when training starts; the plots show "
        "the privacy spent.")
#: what each field is called in the undo history
PARTS = {"enabled": "privacy", "epsilon": "privacy ε", "delta": "privacy δ",
         "max_grad_norm": "privacy clipping norm"}


class SetPrivacyCommand(SetFieldCommand):
    """Set one field of ``training.privacy``: merges only with the next edit of the same
    field (the key names the field inside the setting)."""

    def __init__(self, document: GraphDocument, part: str, old: PrivacySpec,
                 new: PrivacySpec) -> None:
        super().__init__(document.project_model, "training", "privacy", old, new)
        self.key = ("training", "privacy", part)
        self.setText(f"Set {PARTS.get(part, part)}")


def set_privacy(document: GraphDocument, part: str, value: Any) -> None:
    """Set ``training.privacy.<part>`` (validated) as one undo step; raises EditError with
    the field's rule when the value is refused."""
    old = document.project.training.privacy
    if part not in PrivacySpec.model_fields:
        raise EditError(f"training.privacy has no field {part!r}")
    try:
        new = PrivacySpec.model_validate({**old.model_dump(), part: value})
    except ValidationError as e:
        raise EditError(f"training.privacy.{part}: {e.errors()[0]['msg']}") from None
    if new != old:
        document.undo_stack.push(SetPrivacyCommand(document, part, old.model_copy(), new))


def default_delta(train_size: int | None) -> str:
    """What an empty delta stands for: ``1/N = 6.96e-4`` once N is known."""
    return f"1/N = {delta_text(1.0 / train_size)}" if train_size else "1/N (N: training samples)"


class PrivacyGroup(QGroupBox):
    """The group's widgets: ``enabled``, ``epsilon``, ``delta`` (text: empty = 1/N) and
    ``max_grad_norm``; greyed while privacy is off."""

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__("Differential privacy", parent)
        self.setObjectName("PrivacyGroup")
        self.document = document
        self.train_size: int | None = None
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.enabled = QCheckBox("Train with differential privacy")
        self.enabled.setToolTip(ENABLED_TIP)
        form.addRow(self.enabled)
        self.epsilon = FloatSpinBox()
        self.epsilon.setRange(0.01, 1000.0)
        self.epsilon.setToolTip(EPSILON_TIP)
        form.addRow("Target ε", self.epsilon)
        self.delta = QLineEdit()
        self.delta.setClearButtonEnabled(True)
        self.delta.setToolTip(DELTA_TIP)
        form.addRow("δ", self.delta)
        self.max_grad_norm = FloatSpinBox()
        self.max_grad_norm.setRange(0.001, 1000.0)
        self.max_grad_norm.setToolTip(NORM_TIP)
        form.addRow("Clipping norm", self.max_grad_norm)
        self.error = plain_label(role="error")
        self.error.hide()
        form.addRow(self.error)
        self.note = plain_label(NOTE, role="muted")
        form.addRow(self.note)
        self.fields: tuple[QWidget, ...] = (self.epsilon, self.delta, self.max_grad_norm)
        self.enabled.toggled.connect(lambda on: self._set("enabled", on))
        self.epsilon.valueChanged.connect(lambda v: self._set("epsilon", v))
        self.max_grad_norm.valueChanged.connect(lambda v: self._set("max_grad_norm", v))
        self.delta.editingFinished.connect(self._on_delta_editing_finished)
        self.delta.textEdited.connect(self._on_delta_text_edited)
        self.show_values(document.project)

    # -- showing -----------------------------------------------------------------------
    def show_values(self, project: Project) -> None:
        p = project.training.privacy
        with QSignalBlocker(self.enabled):
            self.enabled.setChecked(p.enabled)
        for box, value in ((self.epsilon, p.epsilon), (self.max_grad_norm, p.max_grad_norm)):
            if box.value() != value:
                with QSignalBlocker(box):
                    box.setValue(value)
        text = "" if p.delta is None else delta_text(p.delta)
        if not self.delta.hasFocus() or _parse(self.delta.text()) != p.delta:
            with QSignalBlocker(self.delta):
                self.delta.setText(text)
        for w in self.fields:
            w.setEnabled(p.enabled)
        self._show_default()

    def set_train_size(self, train_size: int | None) -> None:
        """The training split's size: an empty delta shows the 1/N it stands for."""
        self.train_size = train_size or None
        self._show_default()

    def _show_default(self) -> None:
        self.delta.setPlaceholderText(default_delta(self.train_size))

    # -- edits -------------------------------------------------------------------------
    def _set(self, part: str, value: Any) -> None:
        try:
            set_privacy(self.document, part, value)
        except EditError as e:
            self.error.setText(str(e))
            self.error.show()
            return
        self.error.hide()

    def _on_delta_editing_finished(self) -> None:
        text = self.delta.text().strip()
        value = _parse(text)
        if text and value is None:
            self.error.setText(f"δ: {text!r} is not a number; write e.g. 1e-5, or leave it "
                               "empty for 1/N")
            self.error.show()
            return
        self._set("delta", value)

    def _on_delta_text_edited(self, text: str) -> None:
        if not text:  # cleared (its clear button, or erased): back to 1/N
            self._set("delta", None)


def _parse(text: str) -> float | None:
    try:
        return float(text.strip()) if text.strip() else None
    except ValueError:
        return None
