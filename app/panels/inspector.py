"""InspectorPanel: the selected block's id, label, parameters, problems and documentation.

The editors are generated from the block's Param schema. Every change goes through the
document (typing into one field is one undo step, because the document merges consecutive
edits of a field); the panel refreshes from document signals, never from its own edits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.document.sweep_keys import block_key
from app.panels.param_editors import ParamEditor, make_editor
from app.panels.range_marks import RangeMarks
from app.text import fmt_count
from app.widgets.labels import plain_label
from app.widgets.scroll_panel import scroll_body
from engine.blocks import FAMILIES, get_block

#: the block field kinds a sweep can vary, and the kind of range each takes
SWEPT_KINDS = {"int": "int", "float": "float", "size": "int", "bool": "choice",
               "choice": "choice"}


class InspectorPanel(QScrollArea):
    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("InspectorPanel")
        self.document = document
        self.graph: str | None = None
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.range_marks = RangeMarks(document, self)
        self._built_for: tuple[str, str, str] | None = None  # (graph, id, type) of the form
        self._layout = scroll_body(self)
        self.title = plain_label(role="title")
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 2)
        self.title.setFont(font)
        self.subtitle = plain_label(role="muted")
        self.empty = plain_label("Select a block to see and edit its parameters.", "muted")
        self.form_host = QWidget()
        host = QVBoxLayout(self.form_host)
        host.setContentsMargins(0, 0, 0, 0)
        identity, self.form = QFormLayout(), QFormLayout()
        for f in (identity, self.form):
            f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            # a narrow dock puts a long label above its field instead of scrolling sideways
            f.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            host.addLayout(f)
        self.id_edit = QLineEdit()
        self.id_edit.setToolTip("The block's name in generated code: lower-case letters, "
                                "digits and _ (other characters are converted).")
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("optional display name")
        identity.addRow("Id", self.id_edit)
        identity.addRow("Label", self.label_edit)
        # fine-tuning: a frozen block keeps its weights; its LR is training.lr * multiplier
        self.trainable_box = QCheckBox("Trainable")
        self.trainable_box.setToolTip("Off: the block is frozen; its weights stay as they are "
                                      "(until Unfreeze at epoch, in Hyperparameters).")
        self.lr_mult_box = QDoubleSpinBox()
        self.lr_mult_box.setRange(0.001, 1000.0)
        self.lr_mult_box.setDecimals(3)
        self.lr_mult_box.setSingleStep(0.1)
        self.lr_mult_box.setPrefix("× ")
        self.lr_mult_box.setToolTip("This block learns at the training learning rate times "
                                    "this (e.g. 0.1 for a pretrained backbone under a new "
                                    "head; a composite's applies to all its blocks).")
        identity.addRow(self.trainable_box)
        identity.addRow("LR multiplier", self.lr_mult_box)
        self.identity = identity
        self.messages = plain_label(role="error")
        self.stats = plain_label()
        self.doc = plain_label(role="muted")
        for w in (self.title, self.subtitle, self.empty, self.form_host, self.messages,
                  self.stats, self.doc):
            self._layout.addWidget(w)
        self._layout.addStretch(1)
        self.id_edit.editingFinished.connect(self._on_id_edit_editing_finished)
        self.label_edit.textEdited.connect(self._on_label_edit_text_edited)
        self.trainable_box.toggled.connect(self._on_trainable_box_toggled)
        self.lr_mult_box.editingFinished.connect(self._on_lr_mult_box_editing_finished)
        d = document
        d.node_changed.connect(self._on_document_node_changed)
        d.node_removed.connect(self._on_document_node_removed)
        d.node_renamed.connect(self._on_document_node_renamed)
        d.analysis_updated.connect(self._on_document_analysis_updated)
        d.graph_renamed.connect(self._on_document_graph_renamed)
        d.graph_removed.connect(self._on_document_graph_removed)
        d.project_replaced.connect(self._on_document_project_replaced)
        self.show_node(None, None)

    # -- what is shown ---------------------------------------------------------------
    def show_node(self, graph: str | None, node_id: str | None, selected: int = 0) -> None:
        """Inspect one block, or say how many are selected when it is not exactly one."""
        node = self.document.node(graph, node_id) if graph and node_id else None
        self.graph, self.node_id = (graph, node_id) if node is not None else (graph, None)
        has = node is not None
        for w in (self.title, self.subtitle, self.form_host, self.stats, self.doc):
            w.setVisible(has)
        self.empty.setVisible(not has)
        if not has:
            self.messages.hide()
            self.empty.setText(f"{selected} blocks selected." if selected > 1 else
                               "Select a block to see and edit its parameters.")
            self._built_for = None
            return
        key = (graph, node.id, node.type)
        if key != self._built_for:
            self._build(node.type)
            self._built_for = key  # type: ignore[assignment]
        self._refresh()

    def _build(self, type_name: str) -> None:
        self.range_marks.clear()
        while self.form.rowCount():
            self.form.removeRow(0)  # deletes the previous block's editors
        self.editors = {}
        block = get_block(type_name)
        params = block.params if block is not None else ()
        for p in params:
            editor = make_editor(p)
            editor.edited.connect(lambda value, name=p.name: self._on_editor_edited(name, value))
            editor.problem_changed.connect(self._refresh_messages)
            self.editors[p.name] = editor
            label = QLabel(p.label or p.name.replace("_", " ").capitalize())
            label.setToolTip(editor.widget.toolTip())
            self.form.addRow(label, editor.widget)
            if p.kind in SWEPT_KINDS:  # right-click "Search range…"; the range shows below
                self.range_marks.attach(
                    self.form, editor.widget, lambda name=p.name: self._key(name),
                    SWEPT_KINDS[p.kind], lambda name=p.name: self._value(name),
                    [False, True] if p.kind == "bool" else list(p.choices), label.text())
        self.title.setText(block.title if block else type_name)
        family = FAMILIES.get(block.family, block.family) if block else "unknown block type"
        self.subtitle.setText(f"{type_name} · {family}")
        self.doc.setText(block.doc if block else "")

    def _key(self, name: str) -> str:
        """The sweep key of the inspected block's field ``name``."""
        return block_key(self.graph or "", self.node_id or "", name)

    def _value(self, name: str) -> Any:
        node = self.document.node(self.graph, self.node_id) if self.graph and self.node_id else None
        return node.params.get(name) if node is not None else None

    def _refresh(self) -> None:
        """Show the node's current values and problems without disturbing typing."""
        node = self.document.node(self.graph, self.node_id) if self.graph and self.node_id else None
        if node is None:
            return
        if not self.id_edit.hasFocus() and self.id_edit.text() != node.id:
            self.id_edit.setText(node.id)
        if self.label_edit.text() != node.label:
            with QSignalBlocker(self.label_edit):
                self.label_edit.setText(node.label)
        with QSignalBlocker(self.trainable_box):
            self.trainable_box.setChecked(node.trainable)
        if not self.lr_mult_box.hasFocus():
            with QSignalBlocker(self.lr_mult_box):
                self.lr_mult_box.setValue(node.lr_mult)
        has_weights = node.type == "Group" or bool(
            (info := self.document.analysis(self.graph).nodes.get(node.id)) and info.params)
        self.identity.setRowVisible(self.trainable_box, has_weights)
        self.identity.setRowVisible(self.lr_mult_box, has_weights)
        for name, editor in self.editors.items():
            block = get_block(node.type)
            default = block.param(name).default if block else None
            editor.show_value(node.params.get(name, default))
        self._refresh_messages()

    def _refresh_messages(self) -> None:
        node = self.document.node(self.graph, self.node_id) if self.graph and self.node_id else None
        if node is None:
            return
        lines = [e.problem for e in self.editors.values() if e.problem]
        block = get_block(node.type)
        if block is not None:
            lines += block.resolve(node.params).errors
        a = self.document.analysis(self.graph)
        seen = set(lines)
        for p in a.problems:
            if p.node == node.id and p.message not in seen:
                lines.append(p.message if p.severity == "error" else f"Warning: {p.message}")
                seen.add(p.message)
        self.messages.setText("\n".join(lines))
        self.messages.setVisible(bool(lines))
        info = a.nodes.get(node.id)
        if info is not None and info.out is not None:
            parts = [f"Output {info.out}"]
            if info.params:
                parts.append(f"{info.params:,} parameters")
            if info.flops:
                parts.append(f"{fmt_count(info.flops)} FLOPs per sample")
            self.stats.setText(" · ".join(parts))
        else:
            self.stats.setText("Output shape unknown until the problems above are fixed."
                               if lines else "Output shape unknown: connect its inputs.")

    # -- user edits ------------------------------------------------------------------
    def _on_editor_edited(self, name: str, value: Any) -> None:
        if self.graph and self.node_id:
            try:
                self.document.set_param(self.graph, self.node_id, name, value)
            except EditError as e:
                self.messages.setText(str(e))
                self.messages.show()

    def _on_trainable_box_toggled(self, on: bool) -> None:
        if self.graph and self.node_id:
            self.document.set_trainable(self.graph, [self.node_id], on)

    def _on_lr_mult_box_editing_finished(self) -> None:
        node = self.document.node(self.graph, self.node_id) if self.graph and self.node_id else None
        if node is not None and self.lr_mult_box.value() != node.lr_mult:
            try:
                self.document.set_lr_mult(self.graph, [node.id], self.lr_mult_box.value())
            except EditError as e:
                self.messages.setText(str(e))
                self.messages.show()

    def _on_label_edit_text_edited(self, text: str) -> None:
        if self.graph and self.node_id:
            self.document.set_label(self.graph, self.node_id, text)

    def _on_id_edit_editing_finished(self) -> None:
        if not (self.graph and self.node_id):
            return
        text = self.id_edit.text()
        if text.strip() and text != self.node_id:
            self.node_id = self.document.rename_node(self.graph, self.node_id, text)
        self.id_edit.setText(self.node_id)

    # -- document signals ------------------------------------------------------------
    def _on_document_node_changed(self, graph: str, node_id: str) -> None:
        if (graph, node_id) == (self.graph, self.node_id):
            self._refresh()

    def _on_document_node_removed(self, graph: str, node_id: str) -> None:
        if (graph, node_id) == (self.graph, self.node_id):
            self.show_node(None, None)

    def _on_document_node_renamed(self, graph: str, old: str, new: str) -> None:
        if (graph, old) == (self.graph, self.node_id):
            self.node_id = new
            node = self.document.node(graph, new)
            self._built_for = (graph, new, node.type) if node else None
            self.id_edit.setText(new)

    def _on_document_analysis_updated(self, graph: str) -> None:
        if graph == self.graph and self.node_id:
            self._refresh_messages()

    def _on_document_graph_renamed(self, old: str, new: str) -> None:
        if old == self.graph:
            self.graph = new
            if self._built_for is not None:
                self._built_for = (new, *self._built_for[1:])  # type: ignore[assignment]

    def _on_document_graph_removed(self, name: str) -> None:
        if name == self.graph:
            self.show_node(None, None)

    def _on_document_project_replaced(self) -> None:
        self.show_node(None, None)
