"""The Dataset panel warns, before training, about a class much rarer than the others and
about groups the training split holds few samples of (engine.fairness.dataset_warnings),
from a real CSV file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.project import Grouping
from tests.app.setup.conftest import load_preview, wait_idle
from tests.engine.fairness.fair_data import csv_project


def _imbalanced_csv(path: Path, n: int = 400) -> Path:
    """Class 1 is a tenth of class 0's size; group 'rare' is 3% of the rows."""
    rng = random.Random(1)
    lines = ["x1,x2,group,label"]
    for i in range(n):
        group = "rare" if i % 33 == 0 else ("north" if i % 2 else "south")
        label = 1 if i % 11 == 0 else 0
        lines.append(f"{rng.random():.3f},{rng.random():.3f},{group},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def panel(qtbot, tmp_path):
    from app.document import GraphDocument
    from app.panels.dataset import DatasetPanel

    p = DatasetPanel(GraphDocument(csv_project(_imbalanced_csv(tmp_path / "data.csv"))))
    p.resize(420, 900)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def test_class_imbalance_is_warned_about_after_the_preview(panel, qtbot):
    assert not panel.warnings.isVisibleTo(panel)
    load_preview(panel, qtbot)
    wait_idle(qtbot, panel.warnings.jobs)
    assert panel.warnings.isVisibleTo(panel)
    [sentence] = panel.warnings.sentences
    assert sentence.startswith("Class imbalance: class '1'")
    assert sentence in panel.warnings.text()


def test_a_rare_group_is_warned_about_when_its_grouping_is_added(panel, qtbot):
    from app.panels.fairness_edits import add_grouping

    load_preview(panel, qtbot)
    wait_idle(qtbot, panel.warnings.jobs)
    add_grouping(panel.document, Grouping(name="region", kind="column", column="group"))
    wait_idle(qtbot, panel.warnings.jobs)
    rare = [s for s in panel.warnings.sentences if s.startswith("Grouping 'region'")]
    assert rare and "'rare'" in rare[0] and "'north'" not in rare[0]
    panel.document.undo()  # the grouping goes, and its warning with it
    wait_idle(qtbot, panel.warnings.jobs)
    assert not any("region" in s for s in panel.warnings.sentences)


def test_another_data_set_clears_the_warnings_until_its_preview(panel, qtbot):
    load_preview(panel, qtbot)
    wait_idle(qtbot, panel.warnings.jobs)
    assert panel.warnings.sentences
    panel.document.set_field("dataset", "val_fraction", 0.3)
    assert not panel.warnings.sentences and not panel.warnings.isVisibleTo(panel)
