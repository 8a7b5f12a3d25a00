"""The model checked against its data before anything trains, and templates fitted to the
built-in data sets (issue 14, points 4 and 12)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.data import BUILTIN, load_dataset
from engine.data.facts import DataFacts, facts_of, quick_facts
from engine.project import DatasetSpec
from engine.templates import list_templates, load_template
from engine.train.fit import FIT_MODEL, check_fit, fit_project, fitted_data

# Every built-in set, and the options that change what it gives a model.
FACT_SPECS = [DatasetSpec(name=n, samples=60) for n in BUILTIN] + [
    DatasetSpec(name="digits", image_size=28),
    DatasetSpec(name="shapes", samples=60, image_size=16),
    DatasetSpec(name="spirals", samples=60, options={"arms": 5}),
    DatasetSpec(name="blobs", samples=60, options={"centers": 7, "features": 3}),
    DatasetSpec(name="sines", samples=60, seq_len=12),
    DatasetSpec(name="pytext", seq_len=16),
]

_LOADED: dict[str, object] = {}


def _load(spec: DatasetSpec):
    key = spec.model_dump_json()
    if key not in _LOADED:
        _LOADED[key] = load_dataset(spec)
    return _LOADED[key]


@pytest.mark.parametrize("spec", FACT_SPECS, ids=lambda s: f"{s.name}-{s.image_size}-{s.seq_len}")
def test_quick_facts_are_what_loading_the_data_gives(spec) -> None:
    """The editor's check uses facts it knows without loading: they must be the loaded
    data's own, or the check would pass a model that then fails to train."""
    assert quick_facts(spec) == facts_of(_load(spec))


def test_quick_facts_of_built_ins_need_no_torch(tmp_path) -> None:
    import subprocess

    code = ("import sys; from engine.data.facts import quick_facts; "
            "from engine.project import DatasetSpec; "
            "[quick_facts(DatasetSpec(name=n)) for n in "
            "('spirals', 'moons', 'blobs', 'shapes', 'digits', 'sines', 'pytext')]; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _digits_lenet():
    project = load_template("lenet5")
    project.dataset = DatasetSpec(name="digits")  # as `new --dataset builtin:digits` makes it
    return project


def test_an_input_larger_than_the_images_is_an_error_on_the_input_with_the_fit_offered() -> None:
    project = _digits_lenet()
    (problem,) = check_fit(project, quick_facts(project.dataset))
    assert (problem.graph, problem.node, problem.severity) == ("model", "image", "error")
    assert "builtin:digits gives [N, 1, 8, 8]" in problem.message
    assert "set the dataset's image size to 28" in problem.message
    assert problem.fix == FIT_MODEL


def test_fewer_outputs_than_classes_is_an_error_on_the_last_layer() -> None:
    project = load_template("lenet5")  # digits at 28x28: the input fits
    project.graphs["model"].node("fc3").params = {"out_features": 7}
    (problem,) = check_fit(project, quick_facts(project.dataset))
    assert (problem.node, problem.severity, problem.fix) == ("fc3", "error", FIT_MODEL)
    assert problem.message == "gives 7 outputs but builtin:digits has 10 classes: set out_features to 10"


def test_lenet5_fitted_to_digits_resizes_the_digits_and_keeps_its_design() -> None:
    project = _digits_lenet()
    changes = fit_project(project, _load(project.dataset))
    assert project.dataset.image_size == 28
    assert project.graphs["model"].node("image").params["shape"] == [1, 28, 28]
    assert changes and "image size set to 28" in changes[0]
    assert check_fit(project, _load(project.dataset)) == []


def test_a_network_that_takes_the_smaller_images_keeps_them() -> None:
    """resnetmini pools globally, so 8x8 digits suit it as they are: no resizing."""
    project = load_template("resnetmini")
    project.dataset = DatasetSpec(name="digits")
    fit_project(project, quick_facts(project.dataset))
    assert project.dataset.image_size is None
    assert project.graphs["model"].node("image").params["shape"] == [1, 8, 8]


def test_a_fit_that_cannot_help_offers_no_fix_and_says_what_to_change() -> None:
    project = load_template("lenet5")
    project.dataset = DatasetSpec(name="spirals")
    fit_project(project, quick_facts(project.dataset))
    (problem,) = check_fit(project, quick_facts(project.dataset))
    assert problem.node == "image" and problem.fix == ""
    assert "made for images, not vectors; choose other data or a network made for vectors" \
        in problem.message
    assert project.graphs["model"].node("image").params["shape"] == [1, 28, 28]  # kept


# Which built-in sets each template can train on once fitted; every other pair must be
# refused with a sentence that says what to change.
COMPATIBLE = {
    "autoencoder": {"shapes", "digits"},
    "charlstm": {"pytext"},
    "dcgan": {"shapes", "digits"},
    "lenet5": {"shapes", "digits"},
    "mlp": {"spirals", "moons", "blobs"},
    "resnetmini": {"shapes", "digits"},
    "transfer": {"shapes", "digits"},
    "unet": {"shapes_seg"},
    "unet_resnet18": {"shapes_seg"},
    "detector": {"shapes_det"},
    "detector_resnet18": {"shapes_det"},
    "sentiment_lstm": {"sentiment"},
    "text_transformer": {"sentiment"},
    "translator": {"dates"},
    "keyword_cnn": {"keywords"},
    "speech_ctc": {"spoken_digits"},
}
PAIRS = [(t, n) for t in list_templates() for n in BUILTIN]


def test_the_compatibility_table_names_every_template() -> None:
    assert set(COMPATIBLE) == set(list_templates())


def _tiny(bundle):
    """The first few samples of each split: one or two steps, a quick evaluation."""
    import torch

    def cut(split, n):
        return None if split is None else split.subset(torch.arange(min(n, len(split))))

    bundle.train, bundle.val, bundle.test = cut(bundle.train, 48), cut(bundle.val, 16), None
    return bundle


@pytest.mark.parametrize(("template", "data"), PAIRS, ids=[f"{t}-{n}" for t, n in PAIRS])
def test_every_template_fitted_to_a_built_in_set_trains_or_says_why_not(template, data, tmp_path):
    from engine.train import train
    from engine.train.events import Finished

    project = load_template(template)
    for graph in project.graphs.values():
        graph.weights = None  # no network here: a backbone trains from its own initialisation
    project.dataset = DatasetSpec(name=data, samples=60, seq_len=project.dataset.seq_len)
    project.training = project.training.model_copy(update={
        "epochs": 1, "batch_size": 32, "threads": 1, "device": "cpu"})
    facts = quick_facts(project.dataset)
    fit_project(project, facts)
    errors = [p for p in check_fit(project, fitted_data(project, facts)) if p.severity == "error"]
    if data not in COMPATIBLE[template]:
        assert errors, "an incompatible pair must be refused before it trains"
        for p in errors:
            assert p.message and ": " in p.message  # what is wrong: what to change
        return
    assert errors == []
    bundle = _tiny(load_dataset(project.dataset))
    assert facts_of(bundle) == fitted_data(project, facts)
    events = list(train(project, tmp_path / "run", bundle=bundle))
    assert isinstance(events[-1], Finished), events[-1]


def test_data_facts_compare_equal_by_value() -> None:
    a = DataFacts("builtin:x", "vector", (2,), "float", "class", ("a", "b"))
    assert a == DataFacts("builtin:x", "vector", (2,), "float", "class", ("a", "b"))
    assert a.num_classes == 2 and a.resized(10) is a


def test_new_with_a_template_and_smaller_built_in_images_makes_a_project_that_fits(tmp_path, capsys):
    from engine.cli import main
    from engine.project import load_project

    out = tmp_path / "x.lforge"
    assert main(["new", str(out), "--template", "lenet5", "--dataset", "builtin:digits"]) == 0
    assert "image size set to 28" in capsys.readouterr().out
    project = load_project(out)
    assert project.dataset.image_size == 28
    assert check_fit(project, quick_facts(project.dataset)) == []


def test_train_refuses_a_model_that_does_not_fit_before_any_run_folder_exists(tmp_path, capsys):
    from engine.cli import main
    from engine.project import save_project

    project = _digits_lenet()
    path = tmp_path / "p.lforge"
    save_project(project, path)
    assert main(["train", str(path), "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "model/image: takes [N, 1, 28, 28] but builtin:digits gives [N, 1, 8, 8]" in err
    assert "set the dataset's image size to 28" in err
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.lforge"]  # no runs/, no run/


@pytest.mark.parametrize("shape", [None, 5, "x", {"a": 1}])
def test_a_damaged_input_shape_is_checked_without_a_crash(shape) -> None:
    """A file may hold any JSON where the Input's shape belongs (found by the CLI fuzz
    test: resuming such a run crashed in the fit check with a TypeError)."""
    project = _digits_lenet()
    next(n for n in project.graphs["model"].nodes if n.id == "image").params["shape"] = shape
    problems = check_fit(project, quick_facts(project.dataset))
    assert all(isinstance(p.message, str) for p in problems)
