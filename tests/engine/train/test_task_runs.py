"""Short real runs of the generative tasks: they train, evaluate and produce samples."""

from __future__ import annotations

import base64
import io

from PIL import Image

from engine.data import load_dataset
from engine.templates import load_template
from engine.train import fit_project, train
from engine.train.events import EpochEnded, Finished, Sample
from engine.train.inference import open_run
from engine.train.overrides import apply_overrides

QUICK = {"training.epochs": 1, "training.threads": 1, "training.device": "cpu",
         "training.batch_size": 64}


def _run(project, tmp_path):
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    return events


def test_gan_trains_both_graphs_and_draws_a_grid_from_fixed_noise(tmp_path) -> None:
    p = apply_overrides(load_template("dcgan"), {**QUICK, "dataset.samples": 200})
    events = _run(p, tmp_path)
    ended = next(e for e in events if isinstance(e, EpochEnded))
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= ended.val.keys()
    sample = next(e for e in events if isinstance(e, Sample))
    img = Image.open(io.BytesIO(base64.b64decode(sample.png_base64)))
    assert img.size[0] > 8 * 28
    task = open_run(tmp_path / "run").task
    assert task.generate_png() == task.generate_png()  # fixed noise: the same grid


def test_autoencoder_reports_reconstruction_error_and_a_grid(tmp_path) -> None:
    p = apply_overrides(load_template("autoencoder"), {**QUICK, "dataset.samples": 200})
    events = _run(p, tmp_path)
    ended = next(e for e in events if isinstance(e, EpochEnded))
    assert 0 <= ended.val["mse"] < 1
    assert any(isinstance(e, Sample) and e.kind == "image" for e in events)


def test_language_model_reports_perplexity_and_continues_a_prompt(tmp_path) -> None:
    p = apply_overrides(load_template("charlstm"), {**QUICK, "training.batch_size": 512})
    g = p.graphs["model"]
    g.node("embed").params = {"embedding_dim": 8}
    g.node("lstm").params = {"hidden_size": 16, "num_layers": 1}
    fit_project(p, load_dataset(p.dataset))
    events = _run(p, tmp_path)
    ended = next(e for e in events if isinstance(e, EpochEnded))
    assert ended.val["perplexity"] > 1
    assert any(isinstance(e, Sample) and e.text.startswith("def ") for e in events)
    text = open_run(tmp_path / "run").task.generate("class ", 20, 0.8, 5, seed=1)
    assert text.startswith("class ") and len(text) == 26
