"""Fixtures for training through the GUI with a real worker process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.project import load_project

ROOT = Path(__file__).resolve().parents[3]
MLP = ROOT / "resources" / "examples" / "mlp.lforge"


@pytest.fixture
def tw(window, tmp_path, monkeypatch):
    """The window's training UI on a saved copy of the mlp template (runs go to tmp_path),
    with a warm worker ready. The run thread is stopped and joined in teardown."""
    ui = open_small_mlp(window, tmp_path)
    ui.start_warm_worker()
    assert ui.warm.wait_ready(90), "the warm worker did not start"
    yield ui
    ui.shutdown()
    assert not ui.runner.isRunning()


def set_small(doc, samples: int, epochs: int, batch: int | None = None) -> None:
    doc.set_field("dataset", "samples", samples)
    doc.set_field("training", "epochs", epochs)
    if batch is not None:
        doc.set_field("training", "batch_size", batch)


def open_small_mlp(window, folder: Path):
    """Open a saved copy of the mlp template (in ``folder``, so its runs go there) in the
    window, with 300 samples and 2 epochs; the window's training UI."""
    path = folder / "mlp.lforge"
    shutil.copy(MLP, path)
    ws = window.content
    ws.document.replace_project(load_project(path), path=str(path))
    set_small(ws.document, samples=300, epochs=2)
    return ws.training


@pytest.fixture(autouse=True)
def no_auto_warm(monkeypatch):
    # Tests start the worker themselves, when they need it.
    monkeypatch.setenv("LAYERFORGE_WARM_WORKER", "off")
    monkeypatch.delenv("LAYERFORGE_AUTOTRAIN", raising=False)
