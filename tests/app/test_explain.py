"""The Explain tab on a real trained shapes CNN: "Explain" on a misclassified sample of the
evaluation's gallery shows its picture, saliency and Grad-CAM; a block chosen (as on the
canvas) shows its feature maps or its histogram; nothing stays after another project."""

from __future__ import annotations

import pytest

from app.panels.evaluation import EvaluationPanel
from app.panels.explain import NO_RUN, ExplainPanel
from tests.app.trained_runs import train_run
from tests.engine.explain_project import shapes_cnn


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> str:
    """A quick, imperfect run: 600 shapes, 2 epochs (the gallery has samples)."""
    return str(train_run(shapes_cnn(samples=600, epochs=2),
                         tmp_path_factory.mktemp("explain") / "run"))


@pytest.fixture
def panels(qtbot):
    evaluation = EvaluationPanel()
    explain = ExplainPanel(evaluation.cache)  # as the window's ExplainFeature makes it
    evaluation.explain_requested.connect(explain.explain)
    for w in (evaluation, explain):
        qtbot.addWidget(w)
        w.resize(1000, 700)
        w.show()
    yield evaluation, explain
    for w in (evaluation, explain):
        w.shutdown()


def settle(explain: ExplainPanel) -> None:
    """Deliver what the panel's jobs computed (the facts first, then what they ask)."""
    for _ in range(3):
        explain.jobs.wait()
        explain.block_jobs.wait()


def test_gallery_sample_is_explained_and_blocks_show(panels, run_dir):
    evaluation, explain = panels
    evaluation.show_run(run_dir)
    evaluation.jobs.wait()
    explain.show_run(run_dir)
    gallery = evaluation.gallery
    assert gallery.count() > 0, "the quick run gets some samples wrong"
    assert evaluation.explain_link.isVisible() and not evaluation.explain_link.isEnabled()
    item = gallery.item(min(2, gallery.count() - 1))
    index = gallery.indices[gallery.row(item)]
    gallery.setCurrentItem(item)
    assert evaluation.explain_link.isEnabled()
    evaluation.explain_link.click()
    settle(explain)
    r = explain.explanation
    assert r is not None and (r.split, r.index) == ("val", index)
    assert explain.sample_index == index
    assert r.true != r.predicted  # a misclassified sample, as the gallery said
    assert explain.image.shown and explain.saliency.shown and explain.grad_cam.shown
    assert r.saliency.shape == (28, 28, 3) and r.grad_cam.shape == (28, 28, 3)
    assert explain.grad_cam.caption.text() == "Grad-CAM at relu3"
    assert f"predicted {r.predicted}" in explain.status.text()

    explain.show_block("conv2")  # a block selected on the canvas
    settle(explain)
    assert explain.activations.mode == "maps"
    assert explain.activation.block.shape == (32, 14, 14) and explain.activation.maps == 32
    assert "32 feature maps" in explain.block_note.text()
    explain.show_block("fc")
    settle(explain)
    assert explain.activations.mode == "histogram" and sum(explain.activation.counts) == 6

    # another block for Grad-CAM, another sample by its index: the block shown follows
    explain.cam_combo.setCurrentIndex(explain.cam_combo.findData("model/conv1"))
    explain.cam_combo.activated.emit(explain.cam_combo.currentIndex())
    explain.index_box.setValue(0 if index else 1)
    explain.timer.timeout.emit()
    settle(explain)
    assert explain.explanation.block == "model/conv1"
    assert explain.activation.index == explain.sample_index

    explain.reset()  # another project
    assert explain.title.text() == NO_RUN and explain.explanation is None
    assert not explain.image.shown and not explain.grad_cam.shown
    assert explain.activations.mode == "" and explain.block_combo.count() == 0


def test_a_run_of_another_kind_says_why(panels, tmp_path, qtbot):
    from tests.engine.train.helpers import tiny_mlp

    _evaluation, explain = panels
    project = tiny_mlp()
    run = train_run(project, tmp_path / "mlp")
    explain.show_run(str(run))
    settle(explain)
    assert explain.error.isVisible()
    assert "image classification runs" in explain.error.text()
    assert not explain.image.shown
