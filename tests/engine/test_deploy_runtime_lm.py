"""The standalone runtime on a character language model (charlstm, trained one epoch):
generation from a prompt over the exported model is what LayerForge's task generates (the
same window, left-padded with a space), seeded sampling is reproducible."""

from __future__ import annotations

import pytest

from engine.deploy.folder import model_folder
from engine.deploy.runtime import BadInput, Predictor
from engine.templates import load_template
from engine.train.inference import open_run
from engine.train.overrides import apply_overrides
from tests.engine.cli_helpers import train_in_process


def _folder(root, run):
    (root / "folder").mkdir()
    model_folder(run, root / "folder")
    return Predictor(root / "folder")


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    project = apply_overrides(load_template("charlstm"), {
        "dataset.samples": 200, "dataset.options": {"stride": 512}, "training.epochs": 1,
        "training.threads": 1, "training.device": "cpu"})
    train_in_process(project, root / "run")
    return open_run(root / "run"), _folder(root, root / "run")


def test_language_model_generates_what_the_task_generates(lm):
    loaded, predictor = lm
    gen = predictor.deploy["generation"]
    assert gen["window"] == loaded.task.window() == 64
    long_prompt = "def f(x):\n    return x + 1\n" * 3  # longer than the window
    for prompt in ("def ", long_prompt):
        answer = predictor.predict_json({"text": prompt, "length": 30})
        assert answer["predictions"][0]["output"] == loaded.task.generate(prompt, 30, 0.0)
    sampled = [predictor.predict_json({"text": "def ", "length": 40, "temperature": 1.0,
                                       "seed": s})["predictions"][0]["output"] for s in (1, 1, 2)]
    assert sampled[0] == sampled[1] != sampled[2]  # seeded
    with pytest.raises(BadInput, match="characters the model never saw: '☃'"):
        predictor.predict_json({"text": "snow ☃"})
    with pytest.raises(BadInput, match='"length" must be a whole number from 1 to 1000'):
        predictor.predict_json({"text": "def ", "length": 5000})
    with pytest.raises(BadInput, match="takes text"):
        predictor.predict_json({"inputs": [[1, 2, 3]]})
