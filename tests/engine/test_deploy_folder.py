"""The model folder (engine.deploy.folder) and the standalone runtime on the two kinds most
requests are: images (LeNet-5 on digits) and rows of numbers (the MLP on spirals), both
trained for one epoch. The runtime's answers must be the PyTorch model's, its image
preparation training's, and it must run with nothing of LayerForge or torch."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from engine.data.folder import decode_image
from engine.deploy import runtime
from engine.deploy.folder import folder_from_onnx, model_folder
from engine.deploy.runtime import BadInput, Predictor, Unsupported
from engine.export import ExportError, export
from engine.templates import load_template
from engine.train.inference import open_run
from engine.train.overrides import apply_overrides
from tests.engine.cli_helpers import train_in_process
from tests.engine.export.helpers import make_run

RUNTIME = Path(runtime.__file__)


def _train(template: str, root: Path, samples: int) -> Path:
    project = apply_overrides(load_template(template), {
        "dataset.samples": samples, "training.epochs": 1, "training.threads": 1,
        "training.device": "cpu"})
    train_in_process(project, root / "run")
    return root / "run"


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    root = tmp_path_factory.mktemp("lenet")
    run = _train("lenet5", root, 300)
    (root / "folder").mkdir()
    deploy = model_folder(run, root / "folder")
    return run, root / "folder", deploy


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlp")
    run = _train("mlp", root, 300)
    (root / "folder").mkdir()
    model_folder(run, root / "folder")
    return run, root / "folder"


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def _probabilities(answer: dict, classes: list[str]) -> np.ndarray:
    """[N, K] probabilities in class order from an answer with top = K."""
    out = np.zeros((len(answer["predictions"]), len(classes)))
    for i, p in enumerate(answer["predictions"]):
        for entry in p["top"]:
            out[i, classes.index(entry["class"])] = entry["probability"]
    return out


def test_the_folder_holds_the_model_its_card_and_what_the_runtime_needs(lenet):
    run, folder, deploy = lenet
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "deploy.json", "model.onnx"]
    assert json.loads((folder / "deploy.json").read_text()) == deploy
    data = json.loads((run / "data.json").read_text())
    assert deploy["task"] == "classification" and deploy["data"] == "image"
    assert deploy["models"] == {"model": "model.onnx"} and deploy["int8"] is False
    assert deploy["inputs"] == [{"name": deploy["inputs"][0]["name"], "shape": [1, 28, 28],
                                 "dtype": "float32"}]
    assert deploy["classes"] == data["classes"] == [str(d) for d in range(10)]
    assert deploy["preprocessing"]["mean"] == data["mean"]
    assert deploy["preprocessing"]["std"] == data["std"]
    assert deploy["card"] == "README.md" and deploy["tokenizer"] is None


def test_image_preparation_is_trainings(lenet, tmp_path):
    """A colour PNG of another size becomes exactly what training made of the file: the
    engine's decode_image (greyscale, bilinear resize), / 255, the run's normalisation."""
    run, folder, deploy = lenet
    rgb = np.random.default_rng(0).integers(0, 256, (37, 23, 3), dtype=np.uint8)
    (tmp_path / "x.png").write_bytes(_png(rgb))
    data = json.loads((run / "data.json").read_text())
    engine_x = decode_image(tmp_path / "x.png", 1, 28, 28).astype(np.float32) / 255.0
    engine_x = (engine_x - np.float32(data["mean"][0])) / np.float32(data["std"][0])
    got = runtime.prepare_image(_png(rgb), [1, 28, 28], deploy["preprocessing"])
    assert got.dtype == np.float32 and got.shape == (1, 28, 28)
    np.testing.assert_allclose(got, engine_x, rtol=0, atol=1e-6)


def test_image_answers_are_the_pytorch_models(lenet):
    run, folder, _ = lenet
    loaded = open_run(run)
    x = loaded.bundle.val.x[:4]
    with torch.no_grad():
        ref = torch.softmax(loaded.task.models["model"](x), -1).numpy()
    predictor = Predictor(folder)
    raw = loaded.bundle.denormalize(x).numpy()  # the values as training read them
    answer = predictor.predict_json({"inputs": raw.tolist(), "top": 10})
    np.testing.assert_allclose(_probabilities(answer, predictor.classes), ref, atol=1e-4)
    assert [p["class"] for p in answer["predictions"]] == [str(int(k)) for k in ref.argmax(1)]
    # an uploaded PNG answers as the same pixels sent as JSON values in [0, 1]
    pixels = np.round(raw[0, 0] * 255).astype(np.uint8)
    one = predictor.predict_file(_png(pixels), "digit.png", "image/png", {"top": 3})
    assert len(one["predictions"]) == 1 and len(one["predictions"][0]["top"]) == 3
    again = predictor.predict_json({"input": (pixels / 255.0).tolist(), "top": 3})
    assert one["predictions"][0]["top"][0]["probability"] == pytest.approx(
        again["predictions"][0]["top"][0]["probability"], abs=1e-6)


def test_vector_answers_are_the_pytorch_models(mlp):
    run, folder = mlp
    loaded = open_run(run)
    x = loaded.bundle.val.x[:5]
    with torch.no_grad():
        ref = torch.softmax(loaded.task.models["model"](x), -1).numpy()
    predictor = Predictor(folder)
    assert predictor.deploy["data"] == "vector" and predictor.shape == [2]
    raw = loaded.bundle.denormalize(x).numpy()
    answer = predictor.predict_json({"inputs": raw.tolist(), "top": 3})
    np.testing.assert_allclose(_probabilities(answer, predictor.classes), ref, atol=1e-4)
    assert predictor.info()["examples"] == [{"json": {"input": [0.0, 0.0]}}]


@pytest.mark.parametrize(("body", "says"), [
    ({"inputs": [[1.0, 2.0, 3.0]]}, "has shape [3]; this model takes [2]"),
    ({"inputs": [["a", "b"]]}, "must be an array of numbers"),
    ({"inputs": [[1.0, [2.0]]]}, "not a rectangular array"),
    ({"inputs": [[1.0, float("nan")]]}, "not finite"),
    ({"inputs": []}, "non-empty list"),
    ({"values": [1, 2]}, 'exactly one of "inputs"'),
    ({"inputs": [[1.0, 2.0]], "top": 0}, '"top" must be a whole number from 1 to 100'),
    ({"inputs": [[1.0, 2.0]], "top": 101}, '"top" must be a whole number from 1 to 100'),
    ({"text": "hello"}, "takes numbers, not text"),
    ({"inputs": [[0.0, 0.0]] * 257}, "at most 256 inputs"),
])
def test_bad_vector_requests_get_a_sentence(mlp, body, says):
    with pytest.raises(BadInput) as e:
        Predictor(mlp[1]).predict_json(body)
    assert says in str(e.value)


def test_bad_files_get_a_sentence(lenet, mlp):
    predictor = Predictor(lenet[1])
    with pytest.raises(BadInput, match="not an image this model can read"):
        predictor.predict_file(b"GIF89a broken", "cat.gif", "image/gif", {})
    with pytest.raises(Unsupported, match="takes an image file"):
        predictor.predict_file(b"hello", "notes.txt", "text/plain", {})
    with pytest.raises(BadInput, match=r"has shape \[1, 27, 28\]"):
        predictor.predict_json({"input": np.zeros((1, 27, 28)).tolist()})
    with pytest.raises(Unsupported, match="takes JSON, not a file"):
        Predictor(mlp[1]).predict_file(_png(np.zeros((4, 4), np.uint8)), "x.png", None, {})


def test_a_lone_onnx_export_gives_the_same_folder(lenet, tmp_path):
    run, _, deploy = lenet
    export(run, "onnx", tmp_path / "onnx")
    (tmp_path / "served").mkdir()
    again = folder_from_onnx(tmp_path / "onnx" / "model.onnx", tmp_path / "served")
    assert {k: v for k, v in again.items() if k != "graph"} == \
        {k: v for k, v in deploy.items() if k != "graph"}
    assert (tmp_path / "served" / "README.md").is_file()
    # stripped of LayerForge's metadata: refused with what to do
    model = onnx.load(str(tmp_path / "onnx" / "model.onnx"))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    (tmp_path / "bare").mkdir()
    with pytest.raises(ExportError, match="export it with LayerForge"):
        folder_from_onnx(tmp_path / "bare.onnx", tmp_path / "bare")


@pytest.mark.parametrize("template", ["dcgan", "autoencoder"])
def test_gan_and_autoencoder_runs_are_refused(tmp_path, template):
    run = make_run(tmp_path / "run", template, data=None)
    (tmp_path / "out").mkdir()
    with pytest.raises(ExportError, match="answers no request"):
        model_folder(run, tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())


def test_untrained_projects_and_full_folders_are_refused(lenet, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ExportError, match="train it first"):
        model_folder(lenet[0] / "project.lforge", tmp_path / "out")
    with pytest.raises(ExportError, match="not empty"):
        model_folder(lenet[0], lenet[1])


def test_the_runtime_runs_alone_with_python_isolated(lenet, tmp_path):
    """runtime.py copied beside the folder answers in ``python -I`` without importing
    LayerForge or torch, and gives the answer the in-process Predictor gives."""
    _, folder, _ = lenet
    shutil.copyfile(RUNTIME, tmp_path / "runtime.py")
    body = {"input": np.linspace(0, 1, 28 * 28).reshape(1, 28, 28).tolist(), "top": 2}
    (tmp_path / "body.json").write_text(json.dumps(body))
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import runtime; "
            "p = runtime.Predictor(sys.argv[2]); "
            "a = p.predict_json(json.load(open(sys.argv[3]))); "
            "print(json.dumps({'answer': a, 'leaks': [m for m in ('torch', 'engine') "
            "if m in sys.modules]}))")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path), str(folder),
                           str(tmp_path / "body.json")], capture_output=True, text=True,
                          timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["leaks"] == []
    assert result["answer"] == Predictor(folder).predict_json(body)


def test_int8_folder(lenet, tmp_path):
    from engine.export.common import ExportReport

    run, fp32, _ = lenet
    (tmp_path / "int8").mkdir()
    tables = ExportReport("onnx-int8", "model")
    deploy = model_folder(run, tmp_path / "int8", int8=True, calibration=64,
                          int8_report=tables)
    # the int8 export's tables reach the caller (a server export shows them)
    assert {"flags", "sensitivity", "comparison"} <= set(tables.details)
    assert [r["model"] for r in tables.details["comparison"]] == ["fp32", "int8"]
    assert deploy["int8"] is True and deploy["models"] == {"model": "model.onnx"}
    assert (tmp_path / "int8" / "model.onnx").stat().st_size * 3 < (fp32 / "model.onnx").stat().st_size
    loaded = open_run(run)
    raw = loaded.bundle.denormalize(loaded.bundle.val.x[:32]).numpy().tolist()
    a = Predictor(fp32).predict_json({"inputs": raw})
    b = Predictor(tmp_path / "int8").predict_json({"inputs": raw})
    agree = sum(x["class"] == y["class"] for x, y in zip(a["predictions"], b["predictions"],
                                                         strict=True))
    assert agree >= 28
