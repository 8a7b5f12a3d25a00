"""Fixtures for the setup and evaluation panels: tiny real runs trained in-process by the
engine (once per session) and small real data files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.trained_runs import CORPUS, train_lm, train_template
from tests.app.trained_runs import train_run as _train  # the name the setup tests import

__all__ = ["CORPUS", "_train"]


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def mlp_run(runs_root) -> Path:
    """mlp on spirals (300 samples, 3 epochs): a classification run."""
    return train_template("mlp", runs_root / "mlp", epochs=3, samples=300)


@pytest.fixture(scope="session")
def corpus_file(runs_root) -> Path:
    path = runs_root / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def lm_run(runs_root, corpus_file) -> Path:
    """charlstm on a small text file, windows of 16, one epoch."""
    return train_lm(corpus_file, runs_root / "lm")


@pytest.fixture(scope="session")
def gan_run(runs_root) -> Path:
    """dcgan on 128 shapes images, 3 epochs: a sample grid per epoch in samples/."""
    return train_template("dcgan", runs_root / "gan", epochs=3, samples=128)


def wait_idle(qtbot, *runners, timeout: int = 60000) -> None:
    """Wait until every ``Jobs`` has delivered its results in the GUI thread."""
    qtbot.waitUntil(lambda: not any(r.busy for r in runners), timeout=timeout)


def set_dataset(panel, **fields) -> None:
    """Set ``fields`` of a Dataset panel's project dataset, as edits through its document."""
    for k, v in fields.items():
        panel.document.set_field("dataset", k, v)


def load_preview(panel, qtbot) -> None:
    """Load a Dataset panel's preview and wait until it is shown."""
    panel.refresh_preview()
    wait_idle(qtbot, panel.loader)


def type_path(field, text: str) -> None:
    """Type ``text`` in a PathField and leave it, as a user does (the edit commits)."""
    field.edit.setText(text)
    field.edit.editingFinished.emit()


def cells(table, column: int) -> list[str]:
    """The texts of a table's ``column``, top to bottom."""
    return [table.item(r, column).text() for r in range(table.rowCount())]


@pytest.fixture
def dataset_panel(qtbot):
    """A Dataset panel on a small chain project, shut down after the test."""
    from app.document import GraphDocument
    from app.panels.dataset import DatasetPanel
    from tests.app.conftest import chain_project

    p = DatasetPanel(GraphDocument(chain_project()))
    p.resize(420, 900)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def choose(combo, data) -> None:
    """Pick the entry holding ``data`` as a user does (the activated signal included)."""
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


@pytest.fixture
def evaluation_panel(qtbot):
    """An Evaluation panel shown at a desktop size, shut down after the test."""
    from app.panels.evaluation import EvaluationPanel

    p = EvaluationPanel()
    p.resize(1280, 640)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()
