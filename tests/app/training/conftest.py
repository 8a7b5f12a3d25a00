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
    path = tmp_path / "mlp.lforge"
    shutil.copy(MLP, path)
    ws = window.workspace
    ui = ws.training
    ws.document.replace_project(load_project(path), path=str(path))
    set_small(ws.document, samples=300, epochs=2)
    ui.controller.start_worker()
    assert ui.controller.wait_until_ready(90), "the warm worker did not start"
    yield ui
    ui.shutdown()
    assert not ui.controller.isRunning()


def set_small(doc, samples: int, epochs: int) -> None:
    doc.set_field("dataset", "samples", samples)
    doc.set_field("training", "epochs", epochs)


@pytest.fixture(autouse=True)
def no_auto_warm(monkeypatch):
    # Tests start the worker themselves, when they need it.
    monkeypatch.setenv("LAYERFORGE_WARM_WORKER", "off")
    monkeypatch.delenv("LAYERFORGE_AUTOTRAIN", raising=False)
