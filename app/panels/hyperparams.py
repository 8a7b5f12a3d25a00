"""HyperparamsPanel: the task, the optimizer, the learning-rate schedule (with a curve of
the LR over the run), batch size, epochs, early stopping, seed and device, and fine-tuning
(``hyperparams_finetune``), how often block statistics are measured, and a "Find…" button
beside the learning rate (``lr_find_requested``: the window opens the finder).

Every edit goes through ``GraphDocument.set_field`` (typing into one field is one undo
step); the widgets follow ``settings_changed`` and ``project_replaced``. The curve comes from
the engine's own ``LRSchedule`` (computed in the background), the remote hosts are looked up
in the background too, and the CUDA devices are those the warm worker reported
(``set_gpus``), so the editor never imports torch.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtGui import QShowEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from app.document import EditError, GraphDocument
from app.panels import hyperparams_jobs as jobs
from app.panels.hyperparams_finetune import FinetuneGroup
from app.panels.hyperparams_lr import STATS_TIP, LRRow, lr_axis_range
from app.panels.hyperparams_privacy import PrivacyGroup
from app.panels.hyperparams_slurm import add_host_items, show_gpu_row, slurm_default_gpus
from app.panels.hyperparams_task import (
    LOSSES,
    TASK_ROWS,
    combo,
    float_box,
    int_box,
    kind_items,
)
from app.panels.param_editors import FloatSpinBox
from app.panels.range_marks import RangeMarks
from app.runs.jobs import Jobs
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot
from app.widgets.scroll_panel import scroll_body

MONITORS = ["val_loss", "val_accuracy", "val_f1", "val_precision", "val_recall", "val_mae",
            "val_rmse", "val_r2", "val_perplexity", "val_miou", "val_map50", "val_map",
            "val_exact_match", "val_bleu", "val_chrf", "val_token_accuracy", "val_cer",
            "val_wer", "train_loss"]
DEFAULT_STEPS_PER_EPOCH = 50
#: characters a combo box keeps when the dock is narrow (it elides the rest)
COMBO_MIN_CHARS = 10
#: settings a sweep does not vary: what the task is, and where and how the runs go
NOT_SWEPT = {("task", "kind"), ("training", "device"), ("training", "gpus"),
             ("training", "threads"), ("training", "monitor"), ("training", "checkpoint_every"),
             ("training", "stats_every")}


class HyperparamsPanel(QScrollArea):
    #: "Find…" beside the learning rate was pressed
    lr_find_requested = Signal()

    def __init__(self, document: GraphDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._blocks_stale = False  # the fine-tuning block list missed edits while hidden
        self.setObjectName("HyperparamsPanel")
        self.document = document
        self.steps_per_epoch = DEFAULT_STEPS_PER_EPOCH
        self.train_size: int | None = None
        self.curve_x: list[float] = []
        self.curve_y: list[float] = []
        self.widgets: dict[tuple[str, str], QWidget] = {}
        self.rows: dict[tuple[str, str], QWidget] = {}  # a field's row widget, if not itself
        self.forms: dict[tuple[str, str], QFormLayout] = {}
        self.active = False  # set by activate(), when the panel is first on screen
        self.lr_jobs = Jobs(self)
        self.device_jobs = Jobs(self)
        self.gpus: list[str] = []  # CUDA device names, from the warm worker
        self.hosts: list[str] = []  # remote hosts, looked up in the background
        self.host_configs: dict[str, Any] = {}  # their HostConfig (Slurm clusters' setup)
        self._curve_timer = QTimer(self, singleShot=True, interval=60)
        self._curve_timer.timeout.connect(self.update_curve)
        lay = scroll_body(self)
        self.error = plain_label(role="error")
        self.error.hide()
        lay.addWidget(self.error)
        lay.addWidget(self._task_group())
        lay.addWidget(self._optimizer_group())
        lay.addWidget(self._schedule_group())
        lay.addWidget(self._run_group())
        self.finetune = FinetuneGroup(self._set)
        lay.addWidget(self.finetune)
        self.privacy = PrivacyGroup(document)  # training.privacy, its own undo steps
        lay.addWidget(self.privacy)
        lay.addStretch(1)
        # right-click "Search range…" on a field; a ranged field shows its range under it
        self.range_marks = RangeMarks(document, self)
        for (section, field), w in self.widgets.items():
            if (section, field) not in NOT_SWEPT:
                self.range_marks.attach_setting(self.forms[(section, field)],
                                                self.rows.get((section, field), w),
                                                f"{section}.{field}")
        document.settings_changed.connect(self._on_document_settings_changed)
        document.project_replaced.connect(self._on_document_project_replaced)
        document.edited.connect(self._on_document_edited)  # the model's blocks to unfreeze
        self.lr_jobs.finished.connect(self._on_lr_jobs_finished)
        self.device_jobs.finished.connect(self._on_device_jobs_finished)
        self._refresh()

    # -- building ----------------------------------------------------------------------
    def _bind(self, form: QFormLayout, label: str, section: str, field: str, w: QWidget,
              tip: str = "", row: QWidget | None = None) -> None:
        """Add ``w`` to ``form`` (inside ``row`` when given) and send its edits to
        ``section.field``."""
        self.widgets[(section, field)] = w
        self.forms[(section, field)] = form
        if row is not None:
            self.rows[(section, field)] = row
        if tip:
            w.setToolTip(tip)
        if isinstance(w, QCheckBox):
            w.setText(label)
            form.addRow(w)
            w.toggled.connect(lambda v: self._set(section, field, v))
        else:
            form.addRow(label, row or w)
        if isinstance(w, QComboBox):
            # long entries ("Auto (CUDA when present)", device names) must not widen the
            # dock: the combo shrinks to a few characters and elides the rest
            w.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(COMBO_MIN_CHARS)
            if w.isEditable():
                w.lineEdit().editingFinished.connect(
                    lambda: self._set(section, field, w.currentText().strip()))
                w.activated.connect(lambda _i: self._set(section, field, w.currentText()))
            else:
                w.activated.connect(lambda i: self._set(section, field, w.itemData(i)))
        elif isinstance(w, QSpinBox | QDoubleSpinBox):
            w.valueChanged.connect(lambda v: self._set(section, field, v))

    def _group(self, title: str) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # a narrow dock puts a long label above its field instead of scrolling sideways
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        return box, form

    def _task_group(self) -> QGroupBox:
        box, f = self._group("Task")
        self.task_form = f
        self._bind(f, "Task", "task", "kind", combo(kind_items()))
        self._bind(f, "Loss", "task", "loss", QComboBox())
        for row in TASK_ROWS:  # each kind's own settings (hyperparams_task)
            self._bind(f, row.label, "task", row.field, row.make(), row.tip)
        return box

    def _optimizer_group(self) -> QGroupBox:
        box, f = self._group("Optimizer")
        self.opt_form = f
        opts = [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW"), ("rmsprop", "RMSprop")]
        self._bind(f, "Optimizer", "training", "optimizer", combo(opts))
        self.lr_row = LRRow()
        self.lr_row.find_button.clicked.connect(self.lr_find_requested)
        self._bind(f, "Learning rate", "training", "lr", self.lr_row.box, row=self.lr_row)
        self._bind(f, "Momentum", "training", "momentum", float_box(0.0, 0.999, 3))
        self._bind(f, "Nesterov momentum", "training", "nesterov", QCheckBox())
        self._bind(f, "Beta 1", "training", "beta1", float_box(0.0, 0.9999, 4, 0.001))
        self._bind(f, "Beta 2", "training", "beta2", float_box(0.0, 0.9999, 4, 0.001))
        wd = FloatSpinBox()
        wd.setRange(0.0, 10.0)
        self._bind(f, "Weight decay", "training", "weight_decay", wd)
        return box

    def _schedule_group(self) -> QGroupBox:
        box, f = self._group("Learning-rate schedule")
        self.sched_form = f
        kinds = [("none", "Constant"), ("step", "Step decay"), ("cosine", "Cosine"),
                 ("onecycle", "One-cycle"), ("plateau", "Reduce on plateau")]
        self._bind(f, "Schedule", "training", "schedule", combo(kinds))
        self._bind(f, "Step every", "training", "step_size", int_box(1, 100_000),
                   "Epochs between decays.")
        self._bind(f, "Gamma", "training", "gamma", float_box(0.001, 1.0, 3),
                   "Factor applied at each decay.")
        self._bind(f, "Warm-up epochs", "training", "warmup_epochs", float_box(0.0, 1000.0, 2, 0.5))
        self._bind(f, "Gradient clip", "training", "grad_clip", float_box(0.0, 1e6, 3, 0.5),
                   "Largest global gradient norm; 0 = off.")
        self.widgets[("training", "warmup_epochs")].setToolTip("Linear warm-up of the LR.")
        self.plot = pg.PlotWidget(enableMenu=False)
        self.plot.setFixedHeight(170)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        # the range is set from the curve (lr_axis_range); plain tick values, no "x0.001"
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "lr")
        style_plot(self.plot)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#2f6fde", width=2))
        self.plot_note = plain_label(role="muted")
        f.addRow(self.plot)
        f.addRow(self.plot_note)
        return box

    def _run_group(self) -> QGroupBox:
        box, f = self._group("Run")
        self.run_form = f
        self._bind(f, "Batch size", "training", "batch_size", int_box(1, 1_000_000))
        self._bind(f, "Epochs", "training", "epochs", int_box(1, 100_000))
        self._bind(f, "Stop early when the monitor stalls", "training", "early_stopping",
                   QCheckBox())
        monitor = QComboBox()
        monitor.setEditable(True)
        monitor.addItems(MONITORS)
        self._bind(f, "Monitor", "training", "monitor", monitor,
                   "The metric early stopping, plateau and the best checkpoint watch.")
        self._bind(f, "Patience", "training", "patience", int_box(1, 10_000), "Epochs to wait.")
        self._bind(f, "Seed", "training", "seed", int_box(0, 2**31 - 1))
        self.device = QComboBox()
        self.device.setModel(QStandardItemModel(self.device))
        self._bind(f, "Device", "training", "device", self.device)
        self.device.activated.connect(self._on_device_activated)  # a Slurm host's GPUs
        self._bind(f, "GPUs on the host", "training", "gpus", int_box(1, 64),
                   "Processes on the remote host, one per GPU; above 1 they train together "
                   "(DistributedDataParallel).")
        self.slurm_note = plain_label(role="muted")  # a Slurm job's nodes x GPUs
        f.addRow(self.slurm_note)
        self._fill_devices()
        threads = int_box(0, 1024)
        threads.setSpecialValueText("all cores but one")
        self._bind(f, "CPU threads", "training", "threads", threads)
        self._bind(f, "Mixed precision on CUDA", "training", "amp", QCheckBox())
        self._bind(f, "Checkpoint every", "training", "checkpoint_every", int_box(1, 100_000))
        self.widgets[("training", "checkpoint_every")].setSuffix(" epochs")  # type: ignore[attr-defined]
        stats = int_box(0, 1_000_000)
        stats.setSpecialValueText("off")
        self._bind(f, "Block statistics every N steps (0 = off)", "training", "stats_every",
                   stats, STATS_TIP)
        return box

    # -- public API --------------------------------------------------------------------
    def set_train_size(self, train_size: int) -> None:
        """The loaded data's train split size, for the steps per epoch of the curve."""
        self.train_size = train_size
        self.privacy.set_train_size(train_size)
        self._schedule_curve()

    def load_devices(self) -> None:
        """Look up the configured remote hosts (in the background) for the Device list."""
        if not self.device_jobs.busy:
            self.device_jobs.submit(lambda _report: jobs.remote_host_configs())

    def set_gpus(self, names: object) -> None:
        """The CUDA devices a training worker sees (device i is ``cuda:i``)."""
        self.gpus = [str(n) for n in names] if isinstance(names, list | tuple) else []
        self._fill_devices()

    def update_curve(self) -> None:
        """Recompute the LR curve now (in the background)."""
        cfg = self.document.project.training.model_copy()
        if self.train_size:
            self.steps_per_epoch = max(1, -(-self.train_size // cfg.batch_size))
        spe = self.steps_per_epoch
        self.lr_jobs.submit(lambda _report: jobs.lr_curve(cfg, spe))

    def shutdown(self) -> None:
        self._curve_timer.stop()
        for background in (self.lr_jobs, self.device_jobs):
            background.cancel()
            background.wait()

    # -- edits and refresh -------------------------------------------------------------
    def _set(self, section: str, field: str, value: Any) -> None:
        try:
            self.document.set_field(section, field, value)
        except EditError as e:
            self.error.setText(str(e))
            self.error.show()
            return
        self.error.hide()

    def _on_document_settings_changed(self, section: str, _field: str) -> None:
        if section in ("task", "training"):
            self._refresh()

    def _on_document_project_replaced(self) -> None:
        self._refresh()

    def _on_document_edited(self) -> None:
        # the block list follows every edit only while it can be seen (in Design the panel
        # is usually hidden, and a 200-block graph would relist it at each keystroke)
        if self.isVisible():
            self.finetune.show_blocks(self.document.project)
        else:
            self._blocks_stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._blocks_stale:
            self._blocks_stale = False
            self.finetune.show_blocks(self.document.project)

    def _refresh(self) -> None:
        p = self.document.project
        losses = LOSSES.get(p.task.kind, [])
        loss_box: QComboBox = self.widgets[("task", "loss")]  # type: ignore[assignment]
        with QSignalBlocker(loss_box):
            loss_box.clear()
            loss_box.addItem(f"default ({losses[0]})" if losses else "default", "")
            for name in losses:
                loss_box.addItem(name, name)
            if p.task.loss and loss_box.findData(p.task.loss) < 0:
                loss_box.addItem(p.task.loss, p.task.loss)
        for (section, field), w in self.widgets.items():
            value = getattr(getattr(p, section), field)
            with QSignalBlocker(w):
                _show(w, value)
        kind, opt, sched = p.task.kind, p.training.optimizer, p.training.schedule
        rows: list[tuple[QFormLayout, str, str, bool]] = [
            (self.task_form, "task", row.field, kind in row.kinds) for row in TASK_ROWS]
        rows += [
            (self.opt_form, "training", "momentum", opt in ("sgd", "rmsprop")),
            (self.opt_form, "training", "nesterov", opt == "sgd"),
            (self.opt_form, "training", "beta1", opt in ("adam", "adamw")),
            (self.opt_form, "training", "beta2", opt in ("adam", "adamw")),
            (self.sched_form, "training", "step_size", sched == "step"),
            (self.sched_form, "training", "gamma", sched in ("step", "plateau")),
            (self.run_form, "training", "monitor", p.training.early_stopping or sched == "plateau"),
            (self.run_form, "training", "patience", p.training.early_stopping or sched == "plateau"),
            (self.run_form, "training", "gpus", p.training.device.startswith("remote:")),
        ]
        for form, section, field, visible in rows:
            form.setRowVisible(self.widgets[(section, field)], visible)
        self._show_gpu_row()
        self.finetune.show_values(p)
        self.privacy.show_values(p)
        self._schedule_curve()

    def _schedule_curve(self) -> None:
        # Drawn once the panel is on screen, never at start-up behind another tab.
        if self.active:
            self._curve_timer.start()

    def _on_lr_jobs_finished(self, result: object) -> None:
        self.curve_x, self.curve_y = result  # type: ignore[misc]
        self.curve.setData(self.curve_x, self.curve_y)
        cfg = self.document.project.training
        vb = self.plot.getPlotItem().getViewBox()
        vb.setYRange(*lr_axis_range(self.curve_y), padding=0)
        vb.setXRange(0.0, max(self.curve_x, default=1.0) or 1.0, padding=0.02)
        note = f"{self.steps_per_epoch} steps per epoch"
        if not self.train_size:
            note += " (assumed: load the dataset preview for the real count)"
        if cfg.schedule == "plateau":
            note += "; the LR also drops by gamma whenever the monitor stalls"
        self.plot_note.setText(note)

    def _on_device_jobs_finished(self, result: object) -> None:
        self.hosts = list(result)  # type: ignore[call-overload]
        self.host_configs = dict(result) if isinstance(result, dict) else {}
        self._fill_devices()
        self._show_gpu_row()

    def _on_device_activated(self, index: int) -> None:
        """A Slurm cluster just chosen: its jobs' GPUs per node become the run's (as the
        command line's default), one more undo step."""
        host = str(self.device.itemData(index) or "").removeprefix("remote:")
        gpus = slurm_default_gpus(self.host_configs.get(host), self.document.project)
        if gpus is not None:
            self._set("training", "gpus", gpus)

    def _show_gpu_row(self) -> None:
        """The GPU row's name and a Slurm cluster's job line, for the chosen device."""
        t = self.document.project.training
        show_gpu_row(self.run_form, self.widgets[("training", "gpus")], self.slurm_note,
                     self.host_configs.get(t.device.removeprefix("remote:")),
                     t.device.startswith("remote:"), t.gpus)

    def _fill_devices(self) -> None:
        cuda = [(f"cuda:{i}", name) for i, name in enumerate(self.gpus)]
        hosts = self.hosts
        box = self.device
        with QSignalBlocker(box):
            box.clear()
            box.addItem("Auto (CUDA when present)", "auto")
            box.addItem("CPU", "cpu")
            for dev, name in cuda:
                box.addItem(f"{dev} ({name})", dev)
            add_host_items(box, hosts, self.host_configs)
            _show(box, self.document.project.training.device)

    def restyle(self) -> None:
        """Follow a theme change."""
        style_plot(self.plot)

    def activate(self) -> None:
        """The panel is on screen: look up devices and draw the LR curve (both need torch,
        so they wait until the panel is first seen)."""
        self.active = True
        self.load_devices()
        self._schedule_curve()


def _show(w: QWidget, value: Any) -> None:
    if isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QSpinBox):
        if w.value() != int(value):
            w.setValue(int(value))
    elif isinstance(w, QDoubleSpinBox):
        if w.value() != float(value):
            w.setValue(float(value))
    elif isinstance(w, QComboBox):
        if w.isEditable():
            if w.currentText() != str(value):
                w.setCurrentText(str(value))
            return
        i = w.findData(value)
        if i < 0:
            w.addItem(str(value), value)
            i = w.count() - 1
        w.setCurrentIndex(i)
