"""DatasetPanel: where the data comes from, how it is split and prepared, a preview of
samples and class counts, and "Fit model to data".

Every setting goes through ``GraphDocument.set_field("dataset", ...)`` (undoable; a drag of
a slider or typing into one field is one undo step); the widgets follow the document's
signals. The Source, Split and Preparation groups are built in ``dataset_form``; the panel
wires the edits that take more than one field (a new source) and shows the spec in them.
Loading data imports torch, so the catalogue, previews and fitting (``dataset_jobs``) run
as background :class:`Jobs`; results come back as plain values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QBoxLayout, QGroupBox, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app.document import EditError, GraphDocument
from app.panels import dataset_jobs as jobs
from app.panels.data_facts import DataFactsWatcher
from app.panels.dataset_form import PrepGroup, SourceGroup, SplitGroup, mark_ranges
from app.panels.dataset_views import DataPreview, fill_names, fill_targets, fixed_norm_text
from app.panels.fairness_warnings import DatasetWarnings
from app.panels.range_marks import RangeMarks
from app.runs.jobs import Jobs, Report
from app.widgets.labels import plain_label
from app.widgets.scroll_panel import scroll_body
from engine.project import DatasetSpec

LOADING = "Loading the data…"
BUTTON_SLACK = 64  # pixels beside the preview and fit buttons: spacing and margins


class DatasetPanel(QScrollArea):
    """Edits ``project.dataset``; ``data_loaded(train_size)`` after each preview loads."""

    data_loaded = Signal(int)
    preview_updated = Signal()

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DatasetPanel")
        self.document = document
        self.builtin: dict[str, str] = {}
        self.downloadable: dict[str, str] = {}
        self.cache = jobs.BundleCache()
        self.preview: jobs.Preview | None = None
        self.fit_changes: list[str] = []
        self.auto_preview = False
        # A fit in flight owns the loader; a preview asked for meanwhile waits for it (the
        # loader reports only its latest job, so a preview submitted after the fit would
        # silently drop the fit).
        self.fitting = False
        self._preview_waiting = False
        self._asked: DatasetSpec | None = None  # the spec of the preview loading
        self.catalog = Jobs(self)
        self.loader = Jobs(self)
        # The data's facts are needed by the fit check even while this panel is hidden.
        self.facts_watcher = DataFactsWatcher(document, self)
        self._debounce = QTimer(self, singleShot=True, interval=350)
        self._debounce.timeout.connect(self.refresh_preview)
        lay = scroll_body(self)
        # the form's groups (dataset_form.py); their widgets are the panel's attributes too
        self.source_box = src = SourceGroup(self._set)
        self.split_box = split = SplitGroup(self._set)
        self.prep_box = prep = PrepGroup(self._set)
        self.source_form, self.source_combo, self.name_combo = (
            src.form, src.source_combo, src.name_combo)
        self.description, self.path_field, self.path_edit = (
            src.description, src.path_field, src.path_edit)
        self.target_combo, self.samples_spin, self.seq_spin = (
            src.target_combo, src.samples_spin, src.seq_spin)
        self.val_slider, self.val_label, self.test_slider, self.test_label = (
            split.val_slider, split.val_label, split.test_slider, split.test_label)
        self.split_seed, self.prep_form, self.normalize = (
            split.split_seed, prep.form, prep.normalize)
        self.image_size, self.grayscale, self.flip, self.crop, self.rotate = (
            prep.image_size, prep.grayscale, prep.flip, prep.crop, prep.rotate)
        lay.addWidget(src)
        lay.addWidget(split)
        lay.addWidget(prep)
        lay.addWidget(self._preview_group())
        self.source_combo.activated.connect(self._on_source_combo_activated)
        self.name_combo.activated.connect(self._on_name_combo_activated)
        self.path_field.committed.connect(self._on_path_field_committed)
        self.target_combo.activated.connect(self._on_target_combo_activated)
        prep.own_stats.clicked.connect(self.use_own_statistics)
        self.range_marks = RangeMarks(document, self)  # right-click "Search range…"
        mark_ranges(self.range_marks, src, split, prep)
        lay.addStretch(1)
        document.settings_changed.connect(self._on_document_settings_changed)
        document.project_replaced.connect(self._on_document_project_replaced)
        document.graph_added.connect(self._show_fixed_norm)
        document.graph_removed.connect(self._show_fixed_norm)
        self.catalog.finished.connect(self._on_catalog_finished)
        self.loader.finished.connect(self._on_loader_finished)
        self.loader.failed.connect(self._on_loader_failed)
        self.loader.busy_changed.connect(self._on_loader_busy_changed)
        self._refresh()

    # -- building ----------------------------------------------------------------------
    def _preview_group(self) -> QGroupBox:
        box = QGroupBox("Preview")
        v = QVBoxLayout(box)
        # side by side, or one above the other in a narrow dock (see resizeEvent)
        self.buttons = buttons = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.preview_button = QPushButton("Load preview")
        self.fit_button = QPushButton("Fit model to data")
        self.fit_button.setToolTip("Set the Input block and the classifier's outputs from "
                                   "the data (one undo step).")
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.fit_button)
        v.addLayout(buttons)
        self.error = plain_label(role="error")
        self.fit_label = plain_label()
        self.view = DataPreview()
        v.addWidget(self.error)
        v.addWidget(self.fit_label)
        self.warnings = DatasetWarnings(self)  # class imbalance, rare groups (fairness)
        v.addWidget(self.warnings)
        v.addWidget(self.view)
        view = self.view
        self.status, self.gallery, self.excerpt = view.status, view.gallery, view.excerpt
        self.table, self.counts = view.table, view.counts
        self.preview_button.clicked.connect(self.refresh_preview)
        self.fit_button.clicked.connect(self.fit_model)
        self.error.hide()
        self.fit_label.hide()
        return box

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._arrange_buttons()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._arrange_buttons()

    def _arrange_buttons(self) -> None:
        # the two buttons, the group's and the body's margins; below that they stack
        side_by_side = (self.preview_button.sizeHint().width()
                        + self.fit_button.sizeHint().width() + BUTTON_SLACK)
        direction = (QBoxLayout.Direction.LeftToRight if self.viewport().width() >= side_by_side
                     else QBoxLayout.Direction.TopToBottom)
        if self.buttons.direction() != direction:
            self.buttons.setDirection(direction)

    # -- public API --------------------------------------------------------------------
    @property
    def spec(self) -> DatasetSpec:
        return self.document.project.dataset

    def load_catalogue(self) -> None:
        """Fill the built-in and download lists (imports engine.data in the background)."""
        if not self.builtin and not self.catalog.busy:
            self.catalog.submit(lambda _report: jobs.catalogue())

    def resolved_spec(self) -> DatasetSpec:
        base = str(Path(self.document.path).parent) if self.document.path else None
        return jobs.resolve_spec(self.spec, base)

    def refresh_preview(self) -> None:
        """Load the data in the background and show samples and class counts."""
        self.auto_preview = True
        spec = self.resolved_spec()
        missing = jobs.missing_choice(spec)
        if missing:
            self._show_error(missing)
            if not self.fitting:  # what is loading or shown is another data set's
                self.loader.cancel()
                self._show_preview(None)
            return
        self.error.hide()
        if self.fitting:  # after the fit, never instead of it
            self._preview_waiting = True
            return
        cache = self.cache
        self._asked = spec
        self.loader.submit(lambda _report: ("preview", jobs.preview(cache, spec)))

    def fit_model(self) -> None:
        """Adapt the model to the data (fit_project) as one undoable edit.

        The fit always happens: a preview that was about to start (an edit less than the
        debounce interval ago), waiting or loading is folded into the same background job,
        and nothing submitted while the fit runs can replace it."""
        if self.fitting:
            return
        with_preview = self._debounce.isActive() or self._preview_waiting or self.loader.busy
        self._debounce.stop()
        self._preview_waiting = False
        spec, project, cache = self.resolved_spec(), self.document.project.model_copy(deep=True), self.cache

        def job(_report: Report) -> tuple[str, Any]:
            shown = jobs.preview(cache, spec) if with_preview else None
            return "fit", (shown, jobs.fit(cache, project, spec))

        self.fitting = True
        self.fit_button.setEnabled(False)
        self.error.hide()
        self.fit_label.setText("Fitting the model to the data…")
        self.fit_label.show()
        self.loader.submit(job)

    def shutdown(self) -> None:
        self._debounce.stop()
        self.facts_watcher.shutdown()
        self.warnings.shutdown()
        self.view.shutdown()
        for background in (self.catalog, self.loader):
            background.cancel()
            background.wait()

    # -- edits -------------------------------------------------------------------------
    def _set(self, field: str, value: Any) -> None:
        try:
            self.document.set_field("dataset", field, value)
        except EditError as e:
            self._show_error(str(e))

    def _on_source_combo_activated(self, index: int) -> None:
        source = self.source_combo.itemData(index)
        if source == self.spec.source:
            return
        names = self.builtin if source == "builtin" else self.downloadable
        stack = self.document.undo_stack
        stack.beginMacro("Choose data source")
        self._set("source", source)
        # A new source starts from the default image size, as `layerforge new --dataset`
        # does (its spec is a fresh DatasetSpec): None keeps an image folder's own size, so
        # a template's size for its own data (lenet5: 28 for digits) does not carry over.
        size = DatasetSpec.model_fields["image_size"].default
        if self.spec.image_size != size:
            self._set("image_size", size)
        if source in ("builtin", "download") and names and self.spec.name not in names:
            self._set("name", next(iter(names)))
        stack.endMacro()

    def use_own_statistics(self) -> None:
        """Drop a pretrained backbone's fixed normalisation (one undo step)."""
        stack = self.document.undo_stack
        stack.beginMacro("Use the data's own statistics")
        self._set("mean", None)
        self._set("std", None)
        stack.endMacro()

    def _on_name_combo_activated(self, index: int) -> None:
        self._set("name", self.name_combo.itemData(index))

    def _on_path_field_committed(self, path: str) -> None:
        self._set("path", path)

    def _on_target_combo_activated(self, index: int) -> None:
        self._set("target", self.target_combo.itemData(index))

    # -- following the document ----------------------------------------------------------
    def _on_document_settings_changed(self, section: str, _field: str) -> None:
        if section == "dataset":
            self._refresh()
            if not self.fitting:
                self.fit_label.hide()
            if self.auto_preview:
                self._debounce.start()

    def _on_document_project_replaced(self) -> None:
        if self.fitting:  # the fit was for the project that is gone
            self.loader.cancel()
            self._end_fit()
        self._refresh()
        self.fit_label.hide()
        if self.auto_preview:
            self._debounce.start()

    def _refresh(self) -> None:
        s = self.spec
        blockers = [QSignalBlocker(w) for w in (
            self.source_combo, self.name_combo, self.path_edit, self.target_combo,
            self.samples_spin, self.seq_spin, self.val_slider, self.test_slider,
            self.split_seed, self.normalize, self.image_size, self.grayscale, self.flip,
            self.crop, self.rotate, *self.source_box.vision.widgets)]
        self.source_box.show_values(s)
        self._fill_names()
        self._fill_targets()
        self.split_box.show_values(s)
        self.prep_box.show_values(s)
        del blockers
        self.source_box.show_rows(s)
        self.prep_box.show_rows(s)
        self._show_fixed_norm()
        self.preview_button.setText("Download and preview" if s.source == "download"
                                    else "Load preview")
        self._arrange_buttons()

    def _show_fixed_norm(self, *_args: object) -> None:
        # the backbone's title comes from its graph, which may arrive after the fields
        self.prep_box.show_fixed_norm(fixed_norm_text(self.spec, self.document.project.graphs))

    def _fill_names(self) -> None:
        s = self.spec
        names = self.builtin if s.source == "builtin" else self.downloadable
        fill_names(self.name_combo, self.description, names, s.name)

    def _fill_targets(self) -> None:
        s = self.spec
        path = self.resolved_spec().path if s.source == "csv" and s.path else ""
        problem = fill_targets(self.target_combo, path, s)
        # texts and pairs: the text and label columns, from the file's header
        problem = problem or self.source_box.text.fill_columns(self.resolved_spec())
        if problem:
            self._show_error(problem)

    # -- background results ------------------------------------------------------------
    def _on_catalog_finished(self, result: object) -> None:
        self.builtin, self.downloadable = result  # type: ignore[misc]
        with QSignalBlocker(self.name_combo):
            self._fill_names()

    def _on_loader_busy_changed(self, busy: bool) -> None:
        if busy:
            self.status.setText(LOADING)
        elif self.status.text() == LOADING:  # a fit without a preview: say what is shown
            self.status.setText(self.preview.describe if self.preview else "")

    def _on_loader_finished(self, result: object) -> None:
        what, value = result  # type: ignore[misc]
        if what == "preview":
            self._show_loaded(value)
        else:
            shown, fitted = value
            self._end_fit()
            if shown is not None:
                self._show_loaded(shown)
            self._apply_fit(fitted)
            self._run_waiting_preview()

    def _on_loader_failed(self, message: str) -> None:
        if not self.fitting and self._asked != self.resolved_spec():
            return  # about a dataset since changed; the newer preview is on its way
        if self.fitting:
            self._end_fit()
            self.fit_label.hide()
            message = f"Fit model to data: {message}"
        self._show_error(message)
        self._show_preview(None)
        self.status.setText("")
        self._run_waiting_preview()

    def _show_loaded(self, p: jobs.Preview) -> None:
        if p.spec is not None and p.spec != self.resolved_spec():
            return  # loaded for a dataset since changed; the newer preview is on its way
        self._show_preview(p)
        self.data_loaded.emit(p.train_size)
        self.preview_updated.emit()

    def _end_fit(self) -> None:
        self.fitting = False
        self.fit_button.setEnabled(True)

    def _run_waiting_preview(self) -> None:
        if self._preview_waiting:
            self._preview_waiting = False
            self.refresh_preview()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _show_preview(self, p: jobs.Preview | None) -> None:
        self.preview = p
        if p is not None:
            self.error.hide()
        self.view.show_preview(p)

    def _apply_fit(self, result: jobs.FitResult) -> None:
        doc = self.document
        if result.edits or result.fields or result.graphs:
            doc.undo_stack.beginMacro("Fit model to data")
            try:
                for name, value in result.fields:
                    doc.set_field("dataset", name, value)
                for graph, node, name, value in result.edits:
                    doc.set_param(graph, node, name, value)
                for graph, new in result.graphs:
                    doc.replace_graph(graph, new, "Fit model to data")
            except EditError as e:
                self._show_error(str(e))
            finally:
                doc.undo_stack.endMacro()
        self.fit_changes = list(result.changes)
        lines = result.changes or ["The model already fits the data."]
        lines += [f"Still to fix: {p}" for p in result.problems]
        self.fit_label.setText("\n".join(lines))
        self.fit_label.show()

    def activate(self) -> None:
        """The panel is on screen: load the data lists and a preview (in the background).
        Not before, so that torch is never imported at start-up."""
        self.load_catalogue()
        if not self.auto_preview and self.spec.source != "download":
            self.refresh_preview()
