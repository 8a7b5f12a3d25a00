"""DatasetPanel: where the data comes from, how it is split and prepared, a preview of
samples and class counts, and "Fit model to data".

Every setting goes through ``GraphDocument.set_field("dataset", ...)`` (undoable; a drag of
a slider or typing into one field is one undo step); the widgets follow the document's
signals. Loading data imports torch, so the catalogue, previews and fitting
(``dataset_jobs``) run as background :class:`Jobs`; results come back as plain values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.panels import dataset_jobs as jobs
from app.panels.dataset_views import DataPreview, fill_names, fill_targets
from app.runs.jobs import Jobs, Report
from app.widgets.labels import plain_label
from app.widgets.path_field import PathField, PathMode
from app.widgets.scroll_panel import scroll_body
from engine.project import DatasetSpec

SOURCES = [("builtin", "Built-in"), ("folder", "Image folder"), ("csv", "CSV file"),
           ("idx", "IDX files (MNIST format)"), ("text", "Text file"), ("download", "Download")]
IMAGE_BUILTINS = {"shapes", "digits"}
TEXT_BUILTINS = {"pytext"}
LOADING = "Loading the data…"


def _qt_default_dir() -> str:
    """The file dialog opens in Qt's default folder, not at the dataset's (relative) path."""
    return ""


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
        self.catalog = Jobs(self)
        self.loader = Jobs(self)
        self._debounce = QTimer(self, singleShot=True, interval=350)
        self._debounce.timeout.connect(self.refresh_preview)
        lay = scroll_body(self)
        lay.addWidget(self._source_group())
        lay.addWidget(self._split_group())
        lay.addWidget(self._prep_group())
        lay.addWidget(self._preview_group())
        lay.addStretch(1)
        document.settings_changed.connect(self._on_document_settings_changed)
        document.project_replaced.connect(self._on_document_project_replaced)
        self.catalog.finished.connect(self._on_catalog_finished)
        self.loader.finished.connect(self._on_loader_finished)
        self.loader.failed.connect(self._on_loader_failed)
        self.loader.busy_changed.connect(self._on_loader_busy_changed)
        self._refresh()

    # -- building ----------------------------------------------------------------------
    def _form_group(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return box, form

    def _source_group(self) -> QGroupBox:
        box, self.source_form = self._form_group("Source")
        self.source_combo = QComboBox()
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
        self.name_combo = QComboBox()
        self.description = plain_label(role="muted", wrap=False)
        self.description.setMinimumWidth(1)
        self.path_field = PathField()
        self.path_field.setPlaceholderText("file or folder")
        self.path_edit = self.path_field.edit
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("The column to predict; the other columns are inputs.")
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(9, 10_000_000)
        self.samples_spin.setSpecialValueText("default")
        self.seq_spin = QSpinBox()
        self.seq_spin.setRange(2, 100_000)
        self.seq_spin.setToolTip("Characters (or values) per training window.")
        f = self.source_form
        f.addRow("Source", self.source_combo)
        f.addRow("Data set", self.name_combo)
        f.addRow("", self.description)
        f.addRow("Path", self.path_field)
        f.addRow("Target column", self.target_combo)
        f.addRow("Samples", self.samples_spin)
        f.addRow("Window length", self.seq_spin)
        self.source_combo.activated.connect(self._on_source_combo_activated)
        self.name_combo.activated.connect(self._on_name_combo_activated)
        self.path_field.committed.connect(self._on_path_field_committed)
        self.target_combo.activated.connect(self._on_target_combo_activated)
        self.samples_spin.valueChanged.connect(
            lambda v: self._set("samples", None if v < 10 else v))
        self.seq_spin.valueChanged.connect(lambda v: self._set("seq_len", v))
        return box

    def _slider(self, field: str) -> tuple[QWidget, QSlider, Any]:
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 90)
        label = plain_label(wrap=False)
        label.setMinimumWidth(40)
        h.addWidget(slider, 1)
        h.addWidget(label)
        slider.valueChanged.connect(lambda v: self._set(field, v / 100.0))
        return row, slider, label

    def _split_group(self) -> QGroupBox:
        box, form = self._form_group("Split")
        val_row, self.val_slider, self.val_label = self._slider("val_fraction")
        test_row, self.test_slider, self.test_label = self._slider("test_fraction")
        self.split_seed = QSpinBox()
        self.split_seed.setRange(0, 2**31 - 1)
        form.addRow("Validation", val_row)
        form.addRow("Test", test_row)
        form.addRow("Split seed", self.split_seed)
        self.split_seed.valueChanged.connect(lambda v: self._set("split_seed", v))
        return box

    def _prep_group(self) -> QGroupBox:
        box, self.prep_form = self._form_group("Preparation")
        self.normalize = QCheckBox("Normalise inputs")
        self.normalize.setToolTip("Scale inputs with the mean and spread of the train split.")
        self.image_size = QSpinBox()
        self.image_size.setRange(3, 1024)
        self.image_size.setSpecialValueText("original")
        self.grayscale = QCheckBox("Grayscale")
        self.flip = QCheckBox("Random horizontal flip")
        self.crop = QSpinBox()
        self.crop.setRange(0, 64)
        self.crop.setSpecialValueText("off")
        self.crop.setSuffix(" px padding")
        self.rotate = QDoubleSpinBox()
        self.rotate.setRange(0.0, 180.0)
        self.rotate.setSpecialValueText("off")
        self.rotate.setSuffix("°")
        f = self.prep_form
        f.addRow(self.normalize)
        f.addRow("Image size", self.image_size)
        f.addRow(self.grayscale)
        f.addRow(self.flip)
        f.addRow("Random crop", self.crop)
        f.addRow("Random rotation", self.rotate)
        self.normalize.toggled.connect(lambda v: self._set("normalize", v))
        self.image_size.valueChanged.connect(lambda v: self._set("image_size", None if v < 4 else v))
        self.grayscale.toggled.connect(lambda v: self._set("grayscale", v))
        self.flip.toggled.connect(lambda v: self._set("augment_flip", v))
        self.crop.valueChanged.connect(lambda v: self._set("augment_crop", v))
        self.rotate.valueChanged.connect(lambda v: self._set("augment_rotate", v))
        return box

    def _preview_group(self) -> QGroupBox:
        box = QGroupBox("Preview")
        v = QVBoxLayout(box)
        buttons = QHBoxLayout()
        self.preview_button = QPushButton("Load preview")
        self.fit_button = QPushButton("Fit model to data")
        self.fit_button.setToolTip("Set the Input block and the classifier's outputs from "
                                   "the data (one undo step).")
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.fit_button)
        buttons.addStretch(1)
        v.addLayout(buttons)
        self.error = plain_label(role="error")
        self.fit_label = plain_label()
        self.view = DataPreview()
        v.addWidget(self.error)
        v.addWidget(self.fit_label)
        v.addWidget(self.view)
        view = self.view
        self.status, self.gallery, self.excerpt = view.status, view.gallery, view.excerpt
        self.table, self.counts = view.table, view.counts
        self.preview_button.clicked.connect(self.refresh_preview)
        self.fit_button.clicked.connect(self.fit_model)
        self.error.hide()
        self.fit_label.hide()
        return box

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
        if spec.source in ("folder", "idx", "csv", "text") and not spec.path:
            self._show_error("Choose a file or folder for this source.")
            return
        if spec.source in ("builtin", "download") and not spec.name:
            self._show_error("Choose a data set.")
            return
        self.error.hide()
        if self.fitting:  # after the fit, never instead of it
            self._preview_waiting = True
            return
        cache = self.cache
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
            self.crop, self.rotate)]
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(s.source)))
        self._fill_names()
        if self.path_edit.text() != s.path:
            self.path_edit.setText(s.path)
        self._fill_targets()
        self.samples_spin.setValue(s.samples or 9)
        self.seq_spin.setValue(s.seq_len)
        self.val_slider.setValue(round(s.val_fraction * 100))
        self.test_slider.setValue(round(s.test_fraction * 100))
        self.val_label.setText(f"{s.val_fraction:.0%}")
        self.test_label.setText(f"{s.test_fraction:.0%}")
        self.split_seed.setValue(s.split_seed)
        self.normalize.setChecked(s.normalize)
        self.image_size.setValue(s.image_size or 3)
        self.grayscale.setChecked(s.grayscale)
        self.flip.setChecked(s.augment_flip)
        self.crop.setValue(s.augment_crop)
        self.rotate.setValue(s.augment_rotate)
        del blockers
        named = s.source in ("builtin", "download")
        images = s.source in ("folder", "idx", "download") or (
            s.source == "builtin" and s.name in IMAGE_BUILTINS)
        f, p = self.source_form, self.prep_form
        f.setRowVisible(self.name_combo, named)
        f.setRowVisible(self.description, named)
        f.setRowVisible(self.path_field, not named)
        self._set_browse_mode(s.source)
        f.setRowVisible(self.target_combo, s.source == "csv")
        f.setRowVisible(self.samples_spin, s.source == "builtin")
        f.setRowVisible(self.seq_spin, s.source == "text" or (
            s.source == "builtin" and s.name in TEXT_BUILTINS | {"sines"}))
        for w in (self.image_size, self.grayscale, self.flip, self.crop, self.rotate):
            p.setRowVisible(w, images)
        self.preview_button.setText("Download and preview" if s.source == "download"
                                    else "Load preview")

    def _set_browse_mode(self, source: str) -> None:
        """Browse… picks a folder for image folders and IDX files, else a file."""
        if source in ("folder", "idx"):
            self.path_field.set_mode(PathMode.FOLDER, "Choose the data folder",
                                     start_dir=_qt_default_dir)
        else:
            filt = "CSV files (*.csv *.tsv *.txt);;All files (*)" if source == "csv" else \
                "Text files (*.txt *.md *.py);;All files (*)"
            self.path_field.set_mode(PathMode.OPEN_FILE, "Choose the data file",
                                     name_filter=filt, start_dir=_qt_default_dir)

    def _fill_names(self) -> None:
        s = self.spec
        names = self.builtin if s.source == "builtin" else self.downloadable
        fill_names(self.name_combo, self.description, names, s.name)

    def _fill_targets(self) -> None:
        s = self.spec
        path = self.resolved_spec().path if s.source == "csv" and s.path else ""
        problem = fill_targets(self.target_combo, path, s)
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
        if self.fitting:
            self._end_fit()
            self.fit_label.hide()
            message = f"Fit model to data: {message}"
        self._show_error(message)
        self._show_preview(None)
        self.status.setText("")
        self._run_waiting_preview()

    def _show_loaded(self, p: jobs.Preview) -> None:
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
        if result.edits:
            doc.undo_stack.beginMacro("Fit model to data")
            try:
                for graph, node, name, value in result.edits:
                    doc.set_param(graph, node, name, value)
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
