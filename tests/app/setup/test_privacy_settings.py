"""The Hyperparameters panel's Differential privacy group: each edit of training.privacy
is one undo step, the fields are greyed while privacy is off, an empty delta shows the 1/N
it stands for, and the settings survive Save and Load."""

from __future__ import annotations

import pytest

from app.document import GraphDocument
from app.panels.hyperparams import HyperparamsPanel
from engine.project import PrivacySpec, load_project
from tests.app.conftest import chain_project


@pytest.fixture
def panel(qtbot):
    doc = GraphDocument(chain_project())
    p = HyperparamsPanel(doc)
    p.resize(420, 1400)
    qtbot.addWidget(p)
    yield p
    p.shutdown()


def _commit_delta(group, text: str) -> None:
    group.delta.setText(text)
    group.delta.editingFinished.emit()


def test_each_privacy_edit_is_one_undo_step(panel):
    doc, g = panel.document, panel.privacy
    start = doc.undo_stack.count()
    g.enabled.setChecked(True)
    g.epsilon.setValue(2.0)
    g.epsilon.setValue(1.5)  # typing on in the same field merges
    g.max_grad_norm.setValue(0.5)
    _commit_delta(g, "1e-4")
    assert doc.project.training.privacy == PrivacySpec(enabled=True, epsilon=1.5, delta=1e-4,
                                                       max_grad_norm=0.5)
    assert doc.undo_stack.count() == start + 4
    doc.undo()
    assert doc.project.training.privacy.delta is None
    assert g.delta.text() == ""
    doc.undo()
    assert doc.project.training.privacy.max_grad_norm == 1.0
    assert g.max_grad_norm.value() == 1.0
    doc.undo()
    assert doc.project.training.privacy.epsilon == 3.0
    assert g.epsilon.value() == 3.0
    assert doc.project.training.privacy.enabled
    doc.undo()
    assert not doc.project.training.privacy.enabled
    assert not g.enabled.isChecked()


def test_the_fields_are_greyed_while_privacy_is_off(panel):
    g = panel.privacy
    assert not any(w.isEnabled() for w in g.fields)
    g.enabled.setChecked(True)
    assert all(w.isEnabled() for w in g.fields)
    panel.document.undo()
    assert not any(w.isEnabled() for w in g.fields)
    for w in (g.enabled, *g.fields):
        assert w.toolTip()  # each says what it means


def test_an_empty_delta_shows_one_over_the_training_samples(panel):
    g = panel.privacy
    assert "1/N" in g.delta.placeholderText()
    panel.set_train_size(2000)
    assert g.delta.placeholderText() == "1/N = 5e-4"
    _commit_delta(g, "2e-5")
    assert panel.document.project.training.privacy.delta == 2e-5
    g.delta.clear()
    g.delta.textEdited.emit("")  # the clear button, or erasing the field
    assert panel.document.project.training.privacy.delta is None


def test_a_refused_value_says_why_and_changes_nothing(panel):
    g = panel.privacy
    g.enabled.setChecked(True)
    count = panel.document.undo_stack.count()
    _commit_delta(g, "2")
    assert panel.document.project.training.privacy.delta is None
    assert not g.error.isHidden() and "delta" in g.error.text()
    _commit_delta(g, "abc")
    assert "not a number" in g.error.text()
    assert panel.document.undo_stack.count() == count


def test_save_and_load_keep_the_privacy_settings(panel, tmp_path):
    doc, g = panel.document, panel.privacy
    g.enabled.setChecked(True)
    g.epsilon.setValue(8.0)
    _commit_delta(g, "1e-5")
    g.max_grad_norm.setValue(2.0)
    path = tmp_path / "private.lforge"
    doc.save(path)
    loaded = load_project(path)
    assert loaded.training.privacy == PrivacySpec(enabled=True, epsilon=8.0, delta=1e-5,
                                                  max_grad_norm=2.0)
    doc.replace_project(chain_project())  # another project: nothing of this one stays
    assert not g.enabled.isChecked() and g.delta.text() == ""
    doc.replace_project(loaded, str(path))
    assert g.enabled.isChecked() and g.epsilon.value() == 8.0
    assert g.delta.text() == "1e-5" and g.max_grad_norm.value() == 2.0
