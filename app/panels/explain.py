"""ExplainPanel: the Explain tab of the Evaluate perspective: why an image classifier
answered as it did for one sample of its validation or test split.

For the sample chosen (from the evaluation's gallery, "Explain", or by its index here):
its picture with the true and predicted class, the Integrated Gradients saliency overlay
and the Grad-CAM overlay at the block chosen in "Grad-CAM at" (the last block with
feature maps unless chosen). Below, the output of one block for that sample (the block
selected on the canvas, or chosen in "Block"): its feature maps as a grid, or the
histogram of its activations for a block that outputs a vector.

Everything is computed by :mod:`engine.explain` (Captum) on background jobs
(``explain_results``), with the run opened through the evaluation panel's cache; results
name the run, split and sample they are for, and one that no longer matches what the
panel shows is dropped. ``show_run(run_dir)`` / ``on_event(event)`` / ``reset()`` as the
other result views: nothing of a previous run or project stays.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.panels.explain_results import (
    Activations,
    ExplainFacts,
    Explanation,
    block_activations,
    explain_sample,
    read_facts,
)
from app.panels.explain_views import ActivationView, Picture
from app.panels.run_results import RunCache
from app.runs.jobs import Jobs
from app.widgets.labels import plain_label
from engine.train.events import Event, Finished, RunStarted, Stopped

NO_RUN = "No run to explain yet: train an image classifier, or pick one in the Runs list."
PICK_BLOCK = ("Select a block on the canvas, or choose one here, to see its output for this "
              "sample.")
#: milliseconds the sample number waits for more typing before it is explained
SETTLE_MS = 250


class ExplainPanel(QScrollArea):
    """The Explain tab; ``cache`` opens runs with their data (the evaluation panel's)."""

    def __init__(self, cache: RunCache | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExplainPanel")
        self.cache = cache if cache is not None else RunCache()
        self.run_dir: str | None = None
        self.facts: ExplainFacts | None = None
        self.explanation: Explanation | None = None
        self.activation: Activations | None = None
        self._wanted_block = ""  # chosen on the canvas before the run's blocks were known
        self._wanted_sample: int | None = None  # asked for before the run was opened
        self._training: str | None = None  # the run training now, shown when it ends
        self.jobs = Jobs(self)  # facts and explanations
        self.block_jobs = Jobs(self)  # a block's activations, asked apart from the maps
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 8, 10, 8)
        self.title = plain_label(NO_RUN)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        lay.addWidget(self.title)
        controls = QHBoxLayout()
        self.split_combo = QComboBox()
        self.split_combo.addItem("Validation split", "val")
        self.split_combo.addItem("Test split", "test")
        self.index_box = QSpinBox()
        self.index_box.setRange(0, 0)
        self.index_box.setToolTip("The sample's position in the split (0 is the first)")
        self.cam_combo = QComboBox()
        self.cam_combo.setToolTip("The block whose feature maps Grad-CAM weighs: later blocks "
                                  "see larger parts of the image, earlier ones finer detail")
        self.cam_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for text, w in (("Split", self.split_combo), ("Sample", self.index_box),
                        ("Grad-CAM at", self.cam_combo)):
            controls.addWidget(QLabel(text))
            controls.addWidget(w)
            controls.addSpacing(8)
        controls.addStretch(1)
        lay.addLayout(controls)
        self.status = plain_label(role="muted")
        self.error = plain_label(role="error")
        self.error.hide()
        lay.addWidget(self.status)
        lay.addWidget(self.error)
        pictures = QHBoxLayout()
        pictures.setSpacing(16)
        self.image = Picture("Sample")
        self.saliency = Picture("Saliency (Integrated Gradients)")
        self.grad_cam = Picture("Grad-CAM")
        for p in (self.image, self.saliency, self.grad_cam):
            pictures.addWidget(p, 0, Qt.AlignmentFlag.AlignTop)
        pictures.addStretch(1)
        lay.addLayout(pictures)
        block_row = QHBoxLayout()
        self.block_combo = QComboBox()
        self.block_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.block_combo.setToolTip("The block whose output is shown; selecting a block on "
                                    "the canvas chooses it too")
        block_row.addWidget(QLabel("Block"))
        block_row.addWidget(self.block_combo)
        self.block_note = plain_label(PICK_BLOCK, role="muted")
        block_row.addWidget(self.block_note, 1)
        lay.addSpacing(6)
        lay.addLayout(block_row)
        self.activations = ActivationView()
        lay.addWidget(self.activations, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addStretch(1)
        self.setWidget(body)
        self._set_enabled(False)
        self.split_combo.activated.connect(self._on_split_combo_activated)
        self.index_box.valueChanged.connect(self._on_index_box_value_changed)
        self.cam_combo.activated.connect(self._on_cam_combo_activated)
        self.block_combo.activated.connect(self._on_block_combo_activated)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.jobs.finished.connect(self._on_jobs_finished)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.block_jobs.finished.connect(self._on_block_jobs_finished)
        self.block_jobs.failed.connect(self._on_block_jobs_failed)

    # -- the contract with the run side ------------------------------------------------
    def show_run(self, run_dir: str) -> None:
        """Follow the run chosen in Runs: its blocks are read in the background, then
        the chosen sample (the first one at first) is explained."""
        if str(run_dir) == self.run_dir and self.facts is not None:
            return
        self._clear()
        self.run_dir = str(run_dir)
        self.title.setText(f"Explaining {_name(self.run_dir)}")
        self.status.setText("Opening the run…")
        run, cache = self.run_dir, self.cache
        self.jobs.submit(lambda _report: read_facts(cache, run))

    def on_event(self, event: Event) -> None:
        match event:
            case RunStarted(run_dir=run_dir) if run_dir:
                self._clear()
                self.run_dir, self._training = None, run_dir
                self.title.setText(f"Training {_name(run_dir)}… Explain it when it has "
                                   "finished.")
            case Finished() | Stopped() if self._training:
                run_dir, self._training = self._training, None
                self.show_run(run_dir)

    def reset(self) -> None:
        """Show no run (another project)."""
        self._clear()
        self.run_dir, self._training = None, None
        self.title.setText(NO_RUN)

    def shutdown(self) -> None:
        self.timer.stop()
        for jobs in (self.jobs, self.block_jobs):
            jobs.cancel()
            jobs.wait()

    def restyle(self) -> None:
        self.activations.restyle()

    # -- what the window asks ----------------------------------------------------------
    def explain(self, split: str, index: int) -> None:
        """Explain sample ``index`` of ``split`` (the gallery's "Explain")."""
        at = self.split_combo.findData(split)
        if at >= 0:
            self.split_combo.setCurrentIndex(at)
        if self.facts is None:  # the run is being opened: explained once it is
            self._wanted_sample = index
            return
        self._fit_index_range()
        self.index_box.blockSignals(True)
        self.index_box.setValue(index)
        self.index_box.blockSignals(False)
        self._explain_now()

    def show_block(self, node: str) -> None:
        """The block ``node`` was selected on the canvas: show its output for the sample."""
        self._wanted_block = node
        if self.facts is None:
            return
        at = self.block_combo.findData(f"model/{node}")
        if at < 0:
            return  # an Input, an Output, or a block of another graph
        self.block_combo.setCurrentIndex(at)
        self._ask_block()

    @property
    def split(self) -> str:
        return str(self.split_combo.currentData())

    @property
    def sample_index(self) -> int:
        return self.index_box.value()

    # -- jobs ------------------------------------------------------------------------
    def _explain_now(self) -> None:
        self.timer.stop()
        if self.facts is None or self.run_dir is None:
            return
        if self.facts.sizes.get(self.split, 0) == 0:
            self._fail(f"The run has no {self.split} samples: choose another split.")
            return
        run, cache, split, index = self.run_dir, self.cache, self.split, self.sample_index
        block = str(self.cam_combo.currentData() or "") or None
        self.status.setText(f"Explaining sample {index} of the {split} split…")
        self.error.hide()
        self.jobs.submit(lambda _report: explain_sample(cache, run, split, index, block))
        self._ask_block()

    def _ask_block(self) -> None:
        key = str(self.block_combo.currentData() or "")
        block = next((b for b in self.facts.blocks if b.key == key), None) if self.facts else None
        if block is None or self.run_dir is None:
            return
        run, cache, split, index = self.run_dir, self.cache, self.split, self.sample_index
        self.block_note.setText(f"The output of {block.describe()} for sample {index}…")
        self.block_jobs.submit(lambda _r: block_activations(cache, run, split, index, block))

    def _on_jobs_finished(self, result: object) -> None:
        if isinstance(result, ExplainFacts):
            if result.run_dir == self.run_dir:
                self._show_facts(result)
        elif isinstance(result, Explanation) and self._current(result):
            self._show_explanation(result)

    def _on_jobs_failed(self, message: str) -> None:
        self._fail(message)

    def _on_block_jobs_finished(self, result: object) -> None:
        if not isinstance(result, Activations) or not self._current(result):
            return
        self.activation = result
        b = result.block
        if result.grid is not None:
            more = f" (the first {result.maps})" if result.maps < b.shape[0] else ""
            self.block_note.setText(f"{b.describe()}: its {b.shape[0]} feature maps{more} "
                                    f"for sample {result.index}, each scaled to its own range")
            self.activations.show_maps(result.grid)
        else:
            self.block_note.setText(f"{b.describe()}: the histogram of its "
                                    f"{sum(result.counts)} activations for sample "
                                    f"{result.index}")
            self.activations.show_histogram(result.counts, result.edges)

    def _on_block_jobs_failed(self, message: str) -> None:
        self.activations.clear_all()
        self.block_note.setText(message)

    def _current(self, r: Explanation | Activations) -> bool:
        return (r.run_dir, r.split, r.index) == (self.run_dir, self.split, self.sample_index)

    # -- showing ---------------------------------------------------------------------
    def _show_facts(self, facts: ExplainFacts) -> None:
        self.facts = facts
        self.cam_combo.clear()
        self.block_combo.clear()
        for b in facts.spatial:
            self.cam_combo.addItem(b.describe(), b.key)
        if facts.spatial:
            self.cam_combo.setCurrentIndex(len(facts.spatial) - 1)
        else:
            self.cam_combo.addItem("no block with feature maps", "")
        for b in facts.blocks:
            self.block_combo.addItem(b.describe(), b.key)
        self.block_combo.setCurrentIndex(-1)
        self.activations.clear_all()
        self.block_note.setText(PICK_BLOCK)
        self._set_enabled(True)
        self._fit_index_range()
        if self._wanted_sample is not None:
            self.index_box.blockSignals(True)
            self.index_box.setValue(self._wanted_sample)
            self.index_box.blockSignals(False)
            self._wanted_sample = None
        wanted = self.block_combo.findData(f"model/{self._wanted_block}")
        if wanted >= 0:
            self.block_combo.setCurrentIndex(wanted)
        self._explain_now()

    def _show_explanation(self, r: Explanation) -> None:
        self.explanation = r
        right = "right" if r.true == r.predicted else "wrong"
        self.status.setText(f"Sample {r.index} of the {r.split} split: true {r.true}, "
                            f"predicted {r.predicted} ({r.confidence:.0%}, {right}).")
        self.image.show_array(r.image, f"Sample {r.index} ({r.true})")
        self.saliency.show_array(r.saliency)
        if r.grad_cam is not None:
            self.grad_cam.show_array(r.grad_cam, f"Grad-CAM at {r.block.split('/')[-1]}")
        else:
            self.grad_cam.clear("Grad-CAM: no block with feature maps (not a convolutional "
                                "network)")

    def _clear(self) -> None:
        """Nothing of a run shown, nothing asked of one reported."""
        self.timer.stop()
        for jobs in (self.jobs, self.block_jobs):
            jobs.cancel()
        self.facts, self.explanation, self.activation = None, None, None
        self._wanted_sample = None
        self.status.clear()
        self.error.hide()
        self.image.clear("Sample")
        self.saliency.clear()
        self.grad_cam.clear("Grad-CAM")
        self.cam_combo.clear()
        self.block_combo.clear()
        self.activations.clear_all()
        self.block_note.setText(PICK_BLOCK)
        self._set_enabled(False)

    def _fail(self, message: str) -> None:
        self.status.clear()
        self.error.setText(message)
        self.error.show()

    def _set_enabled(self, on: bool) -> None:
        for w in (self.split_combo, self.index_box, self.cam_combo, self.block_combo):
            w.setEnabled(on)

    def _fit_index_range(self) -> None:
        size = self.facts.sizes.get(self.split, 0) if self.facts else 0
        self.index_box.blockSignals(True)
        self.index_box.setRange(0, max(size - 1, 0))
        self.index_box.blockSignals(False)

    # -- slots -----------------------------------------------------------------------
    def _on_split_combo_activated(self, _index: int) -> None:
        self._fit_index_range()
        self._explain_now()

    def _on_index_box_value_changed(self, _value: int) -> None:
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        self._explain_now()

    def _on_cam_combo_activated(self, _index: int) -> None:
        self._explain_now()

    def _on_block_combo_activated(self, _index: int) -> None:
        self._ask_block()


def _name(run_dir: Any) -> str:
    from pathlib import Path

    return Path(str(run_dir)).name
