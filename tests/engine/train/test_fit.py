"""Fit between the model and the data, and --set overrides."""

from __future__ import annotations

import pytest

from engine.data import load_dataset
from engine.project import ProjectError
from engine.templates import load_template
from engine.train.fit import check_fit, fit_project
from engine.train.overrides import apply_overrides
from tests.engine.train.helpers import tiny_mlp


@pytest.fixture(scope="module")
def spirals():
    return load_dataset(tiny_mlp().dataset)


def test_more_logits_than_classes_is_a_warning_naming_the_linear(spirals) -> None:
    p = tiny_mlp()
    p.graphs["model"].node("fc3").params = {"out_features": 10}
    (problem,) = check_fit(p, spirals)
    assert problem.severity == "warning"
    assert str(problem).startswith("model/fc3: gives 10 outputs but builtin:spirals has only 3")


def test_fit_project_adapts_the_input_and_the_head(spirals) -> None:
    p = tiny_mlp()
    p.graphs["model"].node("fc3").params = {"out_features": 2}
    p.graphs["model"].node("points").params = {"shape": [5]}
    changes = fit_project(p, spirals)
    assert len(changes) == 2
    assert check_fit(p, spirals) == []


def test_a_language_model_is_fitted_to_the_text_vocabulary() -> None:
    p = load_template("charlstm")
    bundle = load_dataset(p.dataset)
    g = p.graphs["model"]
    g.node("chars").params = {**g.node("chars").params, "vocab": 50}
    g.node("head").params = {"out_features": 50}
    errors = [str(e) for e in check_fit(p, bundle)]
    assert any("model/chars: has vocab 50" in e for e in errors)
    assert any("model/head: gives 50 outputs" in e and "set out_features to" in e for e in errors)
    fit_project(p, bundle)
    assert check_fit(p, bundle) == []


def test_unknown_override_key_names_the_key() -> None:
    with pytest.raises(ProjectError, match="training.lrr"):
        apply_overrides(tiny_mlp(), {"training.lrr": 0.1})


def test_invalid_override_value_names_the_key() -> None:
    with pytest.raises(ProjectError, match="dataset.val_fraction"):
        apply_overrides(tiny_mlp(), {"dataset.val_fraction": 2})


def test_a_classifier_that_ends_in_a_sequence_is_refused_before_it_trains() -> None:
    """A classifier must give [N, classes]; one that gives a score per time step (a language
    model's head, say) would fail inside the loss with torch's own words (found by the CLI
    fuzz test through `evaluate`)."""
    project = load_template("charlstm")
    project.task.kind = "classification"
    bundle = load_dataset(project.dataset.model_copy(update={"source": "builtin",
                                                             "name": "digits"}))
    problems = [str(p) for p in check_fit(project, bundle) if p.severity == "error"]
    assert any("one score per class" in p and "gives [N, 64, " in p for p in problems), problems
