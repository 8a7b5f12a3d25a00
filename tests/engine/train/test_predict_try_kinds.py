""""Try it" on real (tiny) trained language model, segmentation and detection runs, and
`layerforge predict` for them: the answers are the task's own (its generation, its argmax
mask, its decoder's boxes) on the input prepared as the data were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.builtin import scenes_of
from engine.data.scenes import DET_CLASSES, SEG_CLASSES
from engine.tasks.detection import stride_of
from engine.train.inference import open_model
from engine.train.predict import input_facts, predict
from engine.train.predict_images import model_input
from tests.engine.cli_helpers import run_cli, text_run, train_in_process
from tests.engine.vision_projects import tiny_detector, tiny_segmenter

CORPUS = "def add(a, b):\n    return a + b\n\n" * 40


@pytest.fixture(scope="module")
def language_run(tmp_path_factory) -> Path:
    return text_run(tmp_path_factory.mktemp("lm"), CORPUS)[0]


@pytest.fixture(scope="module")
def scene_png(tmp_path_factory) -> Path:
    """One of the built-in scenes (64x64, larger than the runs' 32x32 input) as a PNG."""
    project = tiny_segmenter()
    spec = project.dataset.model_copy(update={"image_size": 64})
    image = scenes_of(spec, count=1).images[0]
    path = tmp_path_factory.mktemp("scene") / "scene.png"
    Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seg") / "run"
    train_in_process(tiny_segmenter(), folder)
    return folder


@pytest.fixture(scope="module")
def det_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("det") / "run"
    train_in_process(tiny_detector(), folder)
    return folder


def test_a_prompt_is_continued_by_the_tasks_own_generation(language_run):
    loaded = open_model(language_run)
    answer = predict(loaded, ["def "], length=12)[0]
    assert answer["input"] == "def " and answer["output"].startswith("def ")
    assert answer["output"] == loaded.task.generate("def ", 12, 0.0, 0, 0)
    assert len(answer["output"]) == len("def ") + 12
    hot = [predict(loaded, ["ret"], length=20, temperature=1.5, seed=7)[0]["output"]
           for _ in range(2)]
    assert hot[0] == hot[1] == loaded.task.generate("ret", 20, 1.5, 0, 7)


def test_a_prompt_with_characters_the_model_never_saw_is_a_sentence(language_run):
    from engine.data import DataError

    with pytest.raises(DataError, match=r"the prompt 'déf' cannot be read: .*'é'"):
        predict(open_model(language_run), ["déf"])


def test_a_language_model_answers_on_the_command_line_without_its_corpus(language_run,
                                                                         tmp_path):
    copy = tmp_path / "downloaded"
    shutil.copytree(language_run, copy)
    snapshot = json.loads((copy / "project.lforge").read_text())
    snapshot["dataset"]["path"] = str(tmp_path / "gone.txt")
    (copy / "project.lforge").write_text(json.dumps(snapshot))
    r = run_cli("predict", str(copy), "--text", "def ", "--length", "8", "--json")
    assert r.code == 0, r.text
    out = json.loads(r.out)
    assert out["kind"] == "language"
    assert out["results"][0]["output"] == predict(open_model(language_run), ["def "],
                                                  length=8)[0]["output"]
    r = run_cli("predict", str(copy), "--text", "a", "b")
    assert r.code == 2 and "continues one prompt" in r.err
    r = run_cli("predict", str(copy), "--values", "1,2")
    assert r.code == 2 and "takes a prompt: give them with --text, not --values" in r.err


def test_a_segmentation_answers_the_argmax_mask_and_class_shares(seg_run, scene_png):
    loaded = open_model(seg_run)
    answer = predict(loaded, [scene_png])[0]
    assert answer["image"].shape == (3, 32, 32) and answer["mask"].shape == (32, 32)
    assert answer["mask"].dtype == np.uint8
    out = loaded.task.forward(model_input(loaded, answer["image"][None])).detach()
    assert np.array_equal(answer["mask"], out.argmax(1)[0].numpy())
    assert list(answer["shares"]) == SEG_CLASSES
    assert sum(answer["shares"].values()) == pytest.approx(1.0)
    for k, name in enumerate(SEG_CLASSES):
        assert answer["shares"][name] == pytest.approx((answer["mask"] == k).mean())
    facts = input_facts(seg_run)
    assert facts["kind"] == "segmentation" and facts["channels"] == 3
    r = run_cli("predict", str(seg_run), "--file", str(scene_png))
    assert r.code == 0, r.text
    assert "mask 32x32; share of the pixels per class:" in r.out


def test_detection_answers_the_decoders_boxes_with_class_names(det_run, scene_png):
    loaded = open_model(det_run)
    answer = predict(loaded, [scene_png])[0]
    x = model_input(loaded, answer["image"][None])
    maps = loaded.task.forward(x).detach()
    boxes, scores, labels = loaded.task.decoder(stride_of(tuple(x.shape), tuple(maps.shape)))(maps)
    keep = scores[0] > 0
    assert len(answer["boxes"]) == int(keep.sum())
    got = sorted((b["score"], b["class"], b["box"]) for b in answer["boxes"])
    want = sorted((float(s), DET_CLASSES[int(c)], [float(v) for v in b])
                  for s, c, b in zip(scores[0][keep], labels[0][keep], boxes[0][keep].tolist(),
                                     strict=True))
    assert got == want
    assert [b["score"] for b in answer["boxes"]] == sorted((b["score"] for b in answer["boxes"]),
                                                           reverse=True)
    r = run_cli("predict", str(det_run), "--file", str(scene_png), "--json")
    assert r.code == 0, r.text
    assert json.loads(r.out)["results"][0]["boxes"] == json.loads(json.dumps(answer["boxes"]))
    r = run_cli("predict", str(det_run), "--file", str(scene_png), "--top", "2")
    assert r.code == 2 and "--top is for classifiers" in r.err
