"""The Hyperparameters panel's Fine-tuning group: where the first weights come from
(``training.init_from``: a run folder or a .safetensors file), whether batch norm in frozen
blocks keeps its statistics (``freeze_bn``), and the second phase of a two-phase schedule:
the epoch it starts (``unfreeze_epoch``; 0 = never) and the blocks it unfreezes
(``unfreeze``; none checked = every frozen block). Per-block learning-rate multipliers are
set on each block in the Inspector.

Every edit goes through the panel's ``set(section, field, value)`` (one undo step each); the
group shows the document with ``show_values``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QWidget,
)

from app.widgets.labels import plain_label
from app.widgets.path_field import PathField, PathMode
from engine.project import Project

SetField = Callable[[str, str, Any], None]
RUN_WEIGHTS = "weights.safetensors"
RUN_MARKERS = ("events.jsonl", "project.lforge")
ID_ROLE = Qt.ItemDataRole.UserRole
NOT_BLOCKS = ("Input", "Output")
LIST_ROWS = 8  # the blocks list scrolls beyond this many rows


def init_source(path: str) -> str:
    """What ``training.init_from`` takes for a picked path: the run folder for a file inside
    a run folder (its weights, its project snapshot), else the path itself."""
    p = Path(path)
    if p.is_file() and any((p.parent / m).exists() for m in RUN_MARKERS) and (
            p.name == RUN_WEIGHTS or p.suffix != ".safetensors"):
        return str(p.parent)
    return path


def model_graph(project: Project) -> str:
    """The graph that fine-tuning unfreezes blocks of."""
    graphs = project.graphs
    if "model" in graphs:
        return "model"
    return "generator" if "generator" in graphs else next(iter(graphs), "")


class FinetuneGroup(QGroupBox):
    def __init__(self, set_field: SetField, parent: QWidget | None = None) -> None:
        super().__init__("Fine-tuning", parent)
        self._set = set_field
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form = form
        self.init_from = PathField(PathMode.OPEN_FILE, "Initialise weights from",
                                   name_filter="Weights (*.safetensors);;"
                                               "A run's project snapshot (project.lforge);;"
                                               "All files (*)")
        self.init_from.setPlaceholderText("fresh weights (a run folder or .safetensors file)")
        self.init_from.setToolTip("Blocks whose id and shape match take these weights at the "
                                  "start of training; the run reports what was loaded, "
                                  "skipped and new.")
        # the edit's own clear button (no third widget in the row: the dock is narrow)
        self.init_from.edit.setClearButtonEnabled(True)
        # label above the path: a path needs the dock's whole width
        form.addRow(plain_label("Initialise weights from"))
        form.addRow(self.init_from)
        self.freeze_bn = QCheckBox("Freeze batch norm statistics")
        self.freeze_bn.setToolTip("Batch norm in frozen blocks keeps its running statistics "
                                  "(eval mode) instead of following the new data.")
        form.addRow(self.freeze_bn)
        self.unfreeze_epoch = QSpinBox()
        self.unfreeze_epoch.setRange(0, 100_000)
        self.unfreeze_epoch.setSpecialValueText("never")
        self.unfreeze_epoch.setToolTip("Train the head alone until this epoch (1-based), "
                                       "then unfreeze the blocks below too.")
        form.addRow("Unfreeze at epoch", self.unfreeze_epoch)
        self.blocks = QListWidget()
        self.blocks.setToolTip("The blocks phase 2 unfreezes; none checked: every frozen block.")
        self.blocks_label = plain_label("Blocks to unfreeze (none checked: every frozen block)")
        form.addRow(self.blocks_label)
        form.addRow(self.blocks)
        self.note = plain_label("Freeze blocks on the canvas (Freeze in the Edit menu); a "
                                "block's learning-rate multiplier is set in the Inspector.",
                                role="muted")
        form.addRow(self.note)
        self.init_from.committed.connect(self._on_init_from_committed)
        self.init_from.edit.textEdited.connect(self._on_init_from_text_edited)
        self.freeze_bn.toggled.connect(lambda v: self._set("training", "freeze_bn", v))
        self.unfreeze_epoch.valueChanged.connect(
            lambda v: self._set("training", "unfreeze_epoch", v))
        self.blocks.itemChanged.connect(self._on_blocks_item_changed)

    # -- showing -----------------------------------------------------------------------
    def show_values(self, project: Project) -> None:
        t = project.training
        with QSignalBlocker(self.init_from.edit):
            if self.init_from.text() != t.init_from:
                self.init_from.setText(t.init_from)
        self.init_from.edit.setToolTip(t.init_from)
        with QSignalBlocker(self.freeze_bn):
            self.freeze_bn.setChecked(t.freeze_bn)
        with QSignalBlocker(self.unfreeze_epoch):
            self.unfreeze_epoch.setValue(t.unfreeze_epoch)
        self.show_blocks(project)

    def show_blocks(self, project: Project) -> None:
        """The model graph's blocks, checked when listed in ``training.unfreeze`` (usable
        once phase 2 has an epoch)."""
        phase2 = project.training.unfreeze_epoch > 0
        self.blocks.setEnabled(phase2)
        self.blocks_label.setEnabled(phase2)
        graph = project.graphs.get(model_graph(project))
        chosen = list(project.training.unfreeze)
        rows: list[tuple[str, str, bool]] = []
        for n in graph.nodes if graph is not None else []:
            if n.type in NOT_BLOCKS:
                continue
            kind = n.params.get("graph", "") if n.type == "Group" else n.type
            rows.append((n.id, f"{n.id} ({kind})" + ("  — frozen" if not n.trainable else ""),
                         n.id in chosen))
        known = {r[0] for r in rows}
        rows += [(nid, f"{nid} (not in the model)", True) for nid in chosen if nid not in known]
        with QSignalBlocker(self.blocks):
            if [(r[0], r[1]) for r in rows] == self._rows():
                # the same blocks: only the checks change (never delete the item whose
                # check is being edited, inside its own itemChanged)
                for i, (_nid, _text, checked) in enumerate(rows):
                    self.blocks.item(i).setCheckState(
                        Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return
            self.blocks.clear()
            for nid, text, checked in rows:
                item = QListWidgetItem(text)
                item.setData(ID_ROLE, nid)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                self.blocks.addItem(item)
        self._fit_list_height()

    def _fit_list_height(self) -> None:
        # as tall as its rows, between two and eight of them
        row = self.blocks.sizeHintForRow(0) if self.blocks.count() else 18
        rows = min(max(self.blocks.count(), 2), LIST_ROWS)
        self.blocks.setFixedHeight(rows * max(row, 1) + 2 * self.blocks.frameWidth() + 2)

    def _rows(self) -> list[tuple[str, str]]:
        return [(self.blocks.item(i).data(ID_ROLE), self.blocks.item(i).text())
                for i in range(self.blocks.count())]

    def checked_blocks(self) -> list[str]:
        return [self.blocks.item(i).data(ID_ROLE) for i in range(self.blocks.count())
                if self.blocks.item(i).checkState() == Qt.CheckState.Checked]

    # -- edits -------------------------------------------------------------------------
    def _on_init_from_committed(self, path: str) -> None:
        self._set("training", "init_from", init_source(path) if path else "")

    def _on_init_from_text_edited(self, text: str) -> None:
        if not text:  # cleared (its clear button, or erased): fresh weights
            self._set("training", "init_from", "")

    def _on_blocks_item_changed(self, _item: QListWidgetItem) -> None:
        self._set("training", "unfreeze", self.checked_blocks())
