"""A Slurm cluster in the Hyperparameters panel's Device list: listed with its partition
and nodes × GPUs, and once chosen the GPU row is the GPUs per node, with a line saying what
the batch job asks for."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from engine.remote.config import HostConfig, add_host
from tests.app.conftest import chain_project


@pytest.fixture
def panel(qtbot, config_dir):
    add_host(HostConfig(name="lab", host="gpu1.example.org", price_per_hour=1.5))
    add_host(HostConfig(name="cluster1", host="login.example.org", kind="slurm",
                        partition="gpu", nodes=2, gpus_per_node=4, time_limit="4:00:00",
                        price_per_hour=3.0, currency="EUR"))
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    qtbot.addWidget(p)
    p.show()
    with qtbot.waitSignal(p.device_jobs.finished, timeout=10_000):
        p.load_devices()
    yield p
    p.shutdown()


def _items(box):
    return {box.itemData(i): (box.itemText(i), box.itemData(i, 3)) for i in range(box.count())}


def test_the_device_list_shows_a_slurm_cluster_distinctly(panel):
    items = _items(panel.device)  # data -> (text, tooltip)
    assert items["remote:lab"][0] == "remote:lab"
    text, tip = items["remote:cluster1"]
    assert text == "cluster1 (Slurm: gpu partition, 2×4 GPUs)"
    assert "sbatch" in tip and "time limit 4:00:00" in tip and "3 EUR per hour per node" in tip
    assert "1.5 USD per hour" in items["remote:lab"][1]


def test_choosing_the_cluster_makes_the_gpu_row_per_node(panel):
    doc, form = panel.document, panel.run_form
    gpus = panel.widgets[("training", "gpus")]
    i = panel.device.findData("remote:lab")
    panel.device.setCurrentIndex(i)
    panel.device.activated.emit(i)
    assert form.labelForField(gpus).text() == "GPUs on the host"
    assert not form.isRowVisible(panel.slurm_note)

    i = panel.device.findData("remote:cluster1")
    panel.device.setCurrentIndex(i)
    panel.device.activated.emit(i)
    assert doc.project.training.device == "remote:cluster1"
    assert doc.project.training.gpus == 4  # the host's GPUs per node, as the CLI's default
    assert form.isRowVisible(gpus) and form.labelForField(gpus).text() == "GPUs per node"
    assert gpus.value() == 4 and form.isRowVisible(panel.slurm_note)
    assert "2 nodes × 4 GPUs each = 8 processes" in panel.slurm_note.text()
    gpus.setValue(2)  # fewer for this project
    assert doc.project.training.gpus == 2
    assert "2 nodes × 2 GPUs each = 4 processes" in panel.slurm_note.text()
    doc.undo()  # the GPU edits (the host's default, then 2) are one step: 1 per node again
    assert doc.project.training.device == "remote:cluster1"
    assert doc.project.training.gpus == 1
    assert "2 nodes × 1 GPU each = 2 processes" in panel.slurm_note.text()
    doc.undo()  # back to the SSH host
    assert form.labelForField(gpus).text() == "GPUs on the host"
    assert not form.isRowVisible(panel.slurm_note)
