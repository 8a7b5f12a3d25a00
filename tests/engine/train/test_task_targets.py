"""A task on data whose targets it cannot use is a sentence, not a torch shape error."""

from __future__ import annotations

from engine.data import load_dataset
from engine.project import DatasetSpec
from engine.templates import load_template
from engine.train.events import Failed, RunStarted
from engine.train.fit import check_fit
from engine.train.loop import train
from engine.train.overrides import apply_overrides
from tests.engine.train.helpers import tiny_mlp


def test_regression_on_class_data_is_refused_with_a_sentence(tmp_path) -> None:
    p = apply_overrides(load_template("lenet5"), {
        "task.kind": "regression", "dataset.source": "builtin", "dataset.name": "digits",
        "training.epochs": 1, "training.threads": 1, "training.device": "cpu"})
    bundle = load_dataset(p.dataset)
    errors = [str(e) for e in check_fit(p, bundle) if e.severity == "error"]
    assert any("regression needs numeric targets" in e and "builtin:digits has 10 classes" in e
               and "classification" in e for e in errors), errors
    events = list(train(p, tmp_path / "run", bundle=bundle))
    assert not any(isinstance(e, RunStarted) for e in events)
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert "regression needs numeric targets" in failed.message
    assert "Training failed" not in failed.message


def test_regression_on_an_image_folder_is_refused(tmp_path) -> None:
    from tests.engine.data.helpers import write_png_folder

    write_png_folder(tmp_path / "pics", {"cat": 3, "dog": 3}, size=(8, 8))
    p = tiny_mlp(**{"task.kind": "regression"})
    p.dataset = DatasetSpec(source="folder", path=str(tmp_path / "pics"))
    bundle = load_dataset(p.dataset)
    errors = [str(e) for e in check_fit(p, bundle) if e.severity == "error"]
    assert any("regression needs numeric targets" in e and "2 classes" in e for e in errors), errors


def test_classification_on_numeric_targets_is_refused(tmp_path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("a,b,price\n" + "".join(f"{i},{i * 2},{i * 0.5}\n" for i in range(20)))
    p = tiny_mlp()
    p.dataset = DatasetSpec(source="csv", path=str(path))
    bundle = load_dataset(p.dataset)
    errors = [str(e) for e in check_fit(p, bundle) if e.severity == "error"]
    assert any("classification needs class labels" in e and "numeric targets" in e
               for e in errors), errors
