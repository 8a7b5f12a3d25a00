""""Try it" on real (tiny) trained image and number runs: inputs are prepared exactly as the
run's data were, a drawing is made to look like the data, the facts that pick the app's
input widgets come without torch, and a run whose data set is gone still answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DataError, load_dataset
from engine.project import load_project
from engine.templates import load_template
from engine.train.inference import open_model, open_run
from engine.train.overrides import apply_overrides
from engine.train.predict import input_facts, predict
from engine.train.predict_images import drawing, model_input
from tests.engine.cli_helpers import run_cli, train_in_process

ROOT = Path(__file__).resolve().parents[3]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _train(project, folder: Path) -> Path:
    from engine.train.fit import fit_project

    fit_project(project, load_dataset(project.dataset))
    train_in_process(project, folder)
    return folder


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """LeNet-5 on a folder of noisy colour PNGs of several sizes, read grey at 28x28."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for k, name in enumerate(["dark", "light"]):
        (root / "data" / name).mkdir(parents=True)
        for i in range(8):
            h, w = 30 + 3 * i, 40 - 2 * i
            pixels = rng.integers(0, 120, (h, w, 3)) + 110 * k
            Image.fromarray(pixels.astype(np.uint8), "RGB").save(root / "data" / name / f"{i}.png")
    project = apply_overrides(load_template("lenet5"), {
        "dataset.source": "folder", "dataset.path": str(root / "data"),
        "dataset.grayscale": True, "dataset.image_size": 28, "dataset.val_fraction": 0.25,
        "training.epochs": 1, "training.threads": 1, "training.device": "cpu",
        "training.batch_size": 8})
    return _train(project, root / "run")


def _csv(path: Path, regression: bool) -> Path:
    rng = np.random.default_rng(1)
    lines = [",".join(FEATURES + ["width" if regression else "species"])]
    for i in range(90):
        x = rng.normal(0, 1, 4) + (i % 3)
        target = f"{x.sum() * 0.5:.3f}" if regression else ["setosa", "versicolor",
                                                             "virginica"][i % 3]
        lines.append(",".join(f"{v:.3f}" for v in x) + "," + target)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory) -> Path:
    """The mlp template on an iris-like CSV with a header."""
    root = tmp_path_factory.mktemp("vector")
    project = apply_overrides(load_template("mlp"), {
        "dataset.source": "csv", "dataset.path": str(_csv(root / "flowers.csv", False)),
        "training.epochs": 2, "training.threads": 1, "training.device": "cpu"})
    return _train(project, root / "run")


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("regression")
    project = apply_overrides(load_template("mlp"), {
        "dataset.source": "csv", "dataset.path": str(_csv(root / "widths.csv", True)),
        "task.kind": "regression", "training.epochs": 1, "training.threads": 1,
        "training.device": "cpu"})
    last = [n for n in project.graphs["model"].nodes if n.type == "Linear"][-1]
    last.params["out_features"] = 1
    return _train(project, root / "run")


def _without_data(run: Path, tmp_path: Path) -> Path:
    """A copy of the run folder whose project points at a data set that is not there (a
    run downloaded from a remote machine)."""
    copy = tmp_path / "downloaded"
    shutil.copytree(run, copy)
    snapshot = json.loads((copy / "project.lforge").read_text())
    snapshot["dataset"]["path"] = str(tmp_path / "gone" / Path(snapshot["dataset"]["path"]).name)
    (copy / "project.lforge").write_text(json.dumps(snapshot))
    return copy


# -- images -------------------------------------------------------------------------------


def test_an_image_file_is_prepared_exactly_as_the_data_were(image_run):
    project = load_project(image_run / "project.lforge")
    bundle = load_dataset(project.dataset)
    rows = torch.cat([bundle.train.x, bundle.val.x])
    loaded = open_model(image_run)
    files = sorted(Path(project.dataset.path).glob("*/*.png"))
    answers = predict(loaded, files)
    for f, answer in zip(files, answers, strict=True):
        assert answer["image"].shape == (1, 28, 28) and answer["image"].dtype == np.uint8
        mine = model_input(loaded, answer["image"][None])[0]
        assert any(torch.equal(mine, row) for row in rows), f  # bit for bit
    # the answer is the model's softmax on that tensor
    x = model_input(loaded, np.stack([a["image"] for a in answers]))
    probs = loaded.task.forward(x).softmax(-1).detach()
    for answer, p in zip(answers, probs, strict=True):
        assert answer["top"][0]["class"] == bundle.classes[int(p.argmax())]
        assert answer["top"][0]["probability"] == pytest.approx(float(p.max()), abs=1e-6)


def test_pasted_bytes_answer_as_the_same_file_does(image_run):
    loaded = open_model(image_run)
    path = next(Path(load_project(image_run / "project.lforge").dataset.path).glob("*/*.png"))
    by_path, by_bytes = predict(loaded, [path, path.read_bytes()])
    assert by_bytes["input"] == "pasted image"
    assert np.array_equal(by_path["image"], by_bytes["image"])
    assert by_path["top"] == by_bytes["top"]


def test_what_is_not_an_image_gets_a_sentence_naming_it(image_run, tmp_path):
    loaded = open_model(image_run)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(DataError, match=f"^{text}: cannot read this image"):
        predict(loaded, [text])
    with pytest.raises(DataError, match="pasted image cannot be read"):
        predict(loaded, [b"\x89PNG broken"])
    with pytest.raises(DataError, match="missing.png: no such file"):
        predict(loaded, [tmp_path / "missing.png"])
    with pytest.raises(DataError, match=r"a drawing is a uint8 array .* not float64 \[4, 4\]"):
        predict(loaded, [np.zeros((4, 4))])


def _pad(ink: int, ground: int) -> np.ndarray:
    """A 200x200 pad with a thick 'L' drawn small in its top-left corner."""
    pad = np.full((200, 200), ground, dtype=np.uint8)
    pad[20:80, 20:32] = ink
    pad[68:80, 20:56] = ink
    return pad


def test_a_drawing_is_framed_like_the_data_whatever_its_colours():
    info = {"source": "folder:x", "normalization": "train", "mean": [0.2]}  # light on dark
    dark_on_light = drawing(_pad(0, 255), 28, 28, info)
    assert np.array_equal(dark_on_light, drawing(_pad(255, 0), 28, 28, info))
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)  # painted on a transparent pad
    rgba[..., 3] = _pad(255, 0)
    assert np.array_equal(dark_on_light, drawing(rgba, 28, 28, info))
    # light ink on a dark ground, centred, its 60-pixel side filling 20 of the 28 pixels
    rows, cols = np.nonzero(dark_on_light > 40)
    assert dark_on_light[0, 0] == 0 and dark_on_light.max() == 255
    assert rows.max() - rows.min() + 1 == 20 and abs((rows.min() + rows.max()) / 2 - 13.5) <= 1
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1
    # the digits fill their frame; data with dark ink on light get the drawing inverted
    digits = drawing(_pad(0, 255), 8, 8, {**info, "source": "builtin:digits"})
    assert np.nonzero(digits.max(1) > 40)[0].tolist() == list(range(8))
    inverted = drawing(_pad(0, 255), 28, 28, {**info, "mean": [0.8]})
    assert np.array_equal(inverted, 255 - dark_on_light)


def test_a_drawing_is_answered_as_the_model_sees_it(image_run):
    loaded = open_model(image_run)
    answer = predict(loaded, [_pad(0, 255)])[0]
    assert answer["input"] == "drawing" and answer["image"].shape == (1, 28, 28)
    assert np.array_equal(answer["image"][0], drawing(_pad(0, 255), 28, 28, loaded.info))


# -- rows of numbers ----------------------------------------------------------------------


def test_a_row_is_normalised_as_the_data_and_classified(vector_run):
    project = load_project(vector_run / "project.lforge")
    bundle = load_dataset(project.dataset)
    loaded = open_model(vector_run)
    raw = bundle.train.x[:3] * torch.tensor(bundle.std) + torch.tensor(bundle.mean)
    rows = [[float(f"{v:.3f}") for v in r] for r in raw.tolist()]  # as the CSV holds them
    answers = predict(loaded, rows, top=2)
    from engine.train.predict_values import read_rows

    assert torch.allclose(read_rows(loaded, rows), bundle.train.x[:3], atol=1e-5)
    probs = loaded.task.forward(read_rows(loaded, rows)).softmax(-1).detach()
    for answer, row, p in zip(answers, rows, probs, strict=True):
        assert answer["input"] == ", ".join(f"{v:g}" for v in row)
        assert [c["class"] for c in answer["top"]] == [bundle.classes[int(i)] for i in
                                                       p.argsort(descending=True)[:2]]


def test_a_row_of_the_wrong_length_names_the_features(vector_run):
    loaded = open_model(vector_run)
    with pytest.raises(DataError, match=r"row 1: this model takes 4 numbers \(sepal_length, "
                                        r"sepal_width, petal_length, petal_width\), not 3"):
        predict(loaded, [[5.1, 3.5, 1.4]])
    with pytest.raises(DataError, match="row 2: petal_length is nan; give a finite number"):
        predict(loaded, [[1, 2, 3, 4], [5.1, 3.5, float("nan"), 0.2]])


def test_a_regression_answers_values_under_the_target_name(regression_run):
    loaded = open_model(regression_run)
    answer = predict(loaded, [[1.0, 2.0, 3.0, 4.0]])[0]
    assert answer["names"] == ["width"] and len(answer["values"]) == 1
    from engine.train.predict_values import read_rows

    want = loaded.task.forward(read_rows(loaded, [[1.0, 2.0, 3.0, 4.0]])).item()
    assert answer["values"][0] == pytest.approx(want, abs=1e-6)


# -- facts without torch, and runs whose data set is gone ---------------------------------


def test_input_facts_pick_the_widgets_without_importing_torch(image_run, vector_run,
                                                              regression_run):
    code = ("import json, sys; from engine.train.predict import input_facts; "
            "print(json.dumps([input_facts(p) for p in sys.argv[1:]])); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code, str(image_run), str(vector_run),
                           str(regression_run)], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    image, vector, regression = json.loads(done.stdout)
    assert image["kind"] == "image" and image["channels"] == 1 and image["image_size"] == 28
    assert image["classes"] == ["dark", "light"] and image["features"] is None
    assert image["problem"] is None and image["ink"] in ("light", "dark")
    assert vector["kind"] == "vector" and vector["features"] == FEATURES
    assert vector["values"] == 4 and vector["classes"] == ["setosa", "versicolor", "virginica"]
    assert regression["kind"] == "regression" and regression["targets"] == ["width"]


def test_old_runs_without_feature_names_still_answer(vector_run, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(vector_run, copy)
    info = json.loads((copy / "data.json").read_text())
    del info["features"]
    (copy / "data.json").write_text(json.dumps(info))
    assert input_facts(copy)["features"] is None
    with pytest.raises(DataError, match=r"this model takes 4 numbers, not 2"):
        predict(open_model(copy), [[1.0, 2.0]])


@pytest.mark.parametrize("which", ["image_run", "vector_run"])
def test_a_run_whose_data_set_is_gone_still_answers(which, request, tmp_path):
    run = request.getfixturevalue(which)
    copy = _without_data(run, tmp_path)
    from engine.project import ProjectError

    with pytest.raises(ProjectError, match="the run's data cannot be loaded"):
        open_run(copy)  # evaluation needs the data; trying does not
    if which == "image_run":
        given = sorted(Path(load_project(run / "project.lforge").dataset.path).glob("*/*.png"))[:3]
        flag = ["--file", *map(str, given)]
    else:
        given = [[5.1, 3.5, 1.4, 0.2], [0.5, 1.0, 2.0, 3.0]]
        flag = [arg for row in given for arg in ("--values", ",".join(map(str, row)))]
    here, there = predict(open_model(run), given), predict(open_model(copy), given)
    assert [a["top"] for a in here] == [a["top"] for a in there]
    r = run_cli("predict", str(copy), *flag, "--json")
    assert r.code == 0, r.text
    assert [a["top"][0]["class"] for a in json.loads(r.out)["results"]] == [
        a["top"][0]["class"] for a in here]


def test_the_command_line_says_which_input_a_run_takes(vector_run, image_run, tmp_path):
    r = run_cli("predict", str(vector_run), "--values", "5.1,3.5,1.4,0.2", "--values",
                "1 2 3 4", "--top", "2")
    assert r.code == 0, r.text
    assert r.out.splitlines()[0] == "5.1, 3.5, 1.4, 0.2" and len(r.out.splitlines()) == 6
    r = run_cli("predict", str(vector_run), "--values", "5.1,x,1.4,0.2")
    assert r.code == 2 and "--values \"5.1,x,1.4,0.2\": 'x' is not a number" in r.err
    r = run_cli("predict", str(vector_run), "--values", "5.1,3.5")
    assert r.code == 2 and "takes 4 numbers (sepal_length, sepal_width" in r.err
    r = run_cli("predict", str(vector_run), "--file", str(tmp_path))
    assert r.code == 2 and "takes rows of numbers: give them with --values, not --file" in r.err
    r = run_cli("predict", str(image_run), "--file", str(tmp_path / "nope.png"))
    assert r.code == 2 and "nope.png: no such file" in r.err
    r = run_cli("predict", str(image_run), "--text", "hello")
    assert r.code == 2 and "takes image files: give them with --file" in r.err
    r = run_cli("predict", str(image_run), "--file", str(tmp_path), "--temperature", "1")
    assert r.code == 2 and "--temperature is for language models" in r.err


def test_a_run_from_before_data_json_is_tried_with_its_data(vector_run, tmp_path):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "old"
    shutil.copytree(vector_run, copy)
    (copy / "data.json").unlink()
    weights = copy / "weights.safetensors"
    save_file(load_file(str(weights)), str(weights))  # no metadata: no copy of data.json
    facts = input_facts(copy)
    assert facts["kind"] == "vector" and facts["input_shape"] == [4]
    assert facts["features"] is None and facts["problem"] is None
    loaded = open_model(copy)
    assert loaded.info is None and len(loaded.bundle.train) > 0  # the data set, loaded
    row = [5.1, 3.5, 1.4, 0.2]
    assert predict(loaded, [row])[0]["top"] == predict(open_model(vector_run), [row])[0]["top"]
