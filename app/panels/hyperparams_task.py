"""The Task group of the hyperparameters panel as a table: the task kinds with their losses,
and each task setting with the kinds it belongs to (a row shows for those kinds only).

Kept apart from the panel so that a new task's settings are one row here, and so that the
small spin-box makers the panel's other groups use live beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget

#: the losses each task kind offers; the first is its default ("" in the project)
LOSSES = {"classification": ["cross_entropy"], "regression": ["mse", "mae", "huber"],
          "language_model": ["cross_entropy"], "gan": ["bce", "hinge"],
          "autoencoder": ["mse", "bce"], "segmentation": ["ce+dice", "ce"],
          "detection": ["centernet"], "seq2seq": ["cross_entropy"], "speech": ["ctc"]}
#: the names the task combo shows where "language_model" -> "Language model" would not do
KIND_NAMES = {"seq2seq": "Sequence to sequence", "speech": "Speech to text"}


def int_box(lo: int, hi: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    return box


def float_box(lo: float, hi: float, decimals: int = 4, step: float = 0.01) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    return box


def combo(items: list[tuple[str, str]]) -> QComboBox:
    box = QComboBox()
    for data, text in items:
        box.addItem(text, data)
    return box


def kind_items() -> list[tuple[str, str]]:
    """The task kinds as (value, shown name): "language_model" -> "Language model"."""
    return [(k, KIND_NAMES.get(k) or k.replace("_", " ").capitalize()) for k in LOSSES]


@dataclass(frozen=True)
class TaskRow:
    """One ``TaskSpec`` field of the Task group, shown only for ``kinds``."""

    field: str
    label: str
    make: Callable[[], QWidget]
    kinds: frozenset[str]
    tip: str = ""


def _row(field: str, label: str, make: Callable[[], QWidget], kinds: set[str],
         tip: str = "") -> TaskRow:
    return TaskRow(field, label, make, frozenset(kinds), tip)


TASK_ROWS: tuple[TaskRow, ...] = (
    _row("label_smoothing", "Label smoothing", lambda: float_box(0.0, 0.99, 3),
         {"classification", "language_model", "seq2seq"}),
    _row("latent_dim", "Latent size", lambda: int_box(1, 4096), {"gan"},
         "Noise dimensions the generator takes."),
    _row("d_steps", "D steps", lambda: int_box(1, 20), {"gan"},
         "Discriminator updates per generator update."),
    _row("ignore_index", "Ignored mask value", lambda: int_box(0, 65535), {"segmentation"},
         "Pixels whose mask has this value count in neither the loss nor the metrics "
         "(255 marks unlabelled pixels and borders in most mask sets)."),
    _row("size_weight", "Box size weight", lambda: float_box(0.0, 100.0, 3, 0.05),
         {"detection"},
         "Weight of the box-size loss against the centre heatmap's (CenterNet uses 0.1)."),
    _row("max_detections", "Most boxes per image", lambda: int_box(1, 1000), {"detection"},
         "Decoding keeps at most this many boxes per image."),
    _row("min_score", "Lowest score kept", lambda: float_box(0.0, 0.999, 3, 0.01),
         {"detection"}, "Boxes scoring below this are dropped when decoding."),
    _row("nms_iou", "Suppression overlap (IoU)", lambda: float_box(0.01, 1.0, 2, 0.05),
         {"detection"},
         "A box overlapping a higher-scoring box of its class by more than this is "
         "suppressed (non-maximum suppression)."),
    _row("beam_width", "Beam width", lambda: int_box(1, 64), {"seq2seq", "speech"},
         "Outputs decoded at evaluation keep this many best partial outputs at each step "
         "(1 = greedy: the likeliest token each time). Wider is slower and often a little "
         "better; the Evaluation panel can try other widths on a trained run."),
)
