"""training.init_from: a run folder or a .safetensors file initialises a fresh run; blocks
matching by id and shape take its weights, and a report (an event, init.json, the CLI's
output) says what was loaded, skipped and why, and what is new."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.project import save_project
from engine.train.events import Failed, Finished, RunStarted, WeightsLoaded, from_json
from engine.train.init import INIT_REPORT
from engine.train.loop import train
from tests.engine.cli_helpers import run_cli
from tests.engine.train.helpers import tiny_mlp


def model_tensors(path) -> dict[str, torch.Tensor]:
    prefix = "model/model/"
    return {k[len(prefix):]: v for k, v in load_file(path).items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """A finished one-epoch run of the tiny MLP (3 classes)."""
    run_dir = tmp_path_factory.mktemp("source") / "run"
    events = list(train(tiny_mlp(training__epochs=1), run_dir))
    assert isinstance(events[-1], Finished)
    return run_dir


def wider_head(**overrides):
    """The tiny MLP whose head has 5 outputs (the source's has 3) and a new seed."""
    project = tiny_mlp(training__epochs=1, training__seed=7, **overrides)
    project.graphs["model"].node("fc3").params["out_features"] = 5
    return project


def test_a_run_folder_initialises_the_blocks_that_match(tmp_path, source_run) -> None:
    project = wider_head(training__init_from=str(source_run), training__lr=1e-9)
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Finished)
    (report,) = [e for e in events if isinstance(e, WeightsLoaded)]
    i = events.index(report)
    assert isinstance(events[i - 1], RunStarted)  # the report follows the run's start
    assert report.source == str(source_run / "weights.safetensors")
    assert sorted(report.loaded_keys) == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    assert report.skipped_keys == ["fc3.weight: shape [3, 64] in the file, [5, 64] in the model",
                                   "fc3.bias: shape [3] in the file, [5] in the model"]
    assert report.new_keys == ["fc3.weight", "fc3.bias"]
    assert (report.loaded, report.skipped, report.new) == (4, 2, 2)
    assert from_json(report.to_json()) == report
    # the loaded blocks start where the source ended (a learning rate of 1e-9 barely moves them)
    src, got = model_tensors(source_run / "weights.safetensors"), model_tensors(
        tmp_path / "run/weights.safetensors")
    assert torch.allclose(src["fc1.weight"], got["fc1.weight"], atol=1e-6)
    recorded = json.loads((tmp_path / "run" / INIT_REPORT).read_text())
    assert recorded["reports"][0]["skipped"][0] == {
        "key": "fc3.weight", "why": "shape [3, 64] in the file, [5, 64] in the model"}


def test_a_plain_safetensors_file_matches_by_key_and_reports_the_rest(tmp_path) -> None:
    project = tiny_mlp(training__epochs=1)
    weight = torch.full((64, 2), 0.25)
    save_file({"fc1.weight": weight, "decoder.weight": torch.zeros(2, 2)}, tmp_path / "w.safetensors")
    project.training.init_from = str(tmp_path / "w.safetensors")
    project.training.lr = 1e-12
    events = list(train(project, tmp_path / "run"))
    (report,) = [e for e in events if isinstance(e, WeightsLoaded)]
    assert report.loaded_keys == ["fc1.weight"]
    assert report.skipped_keys == ["decoder.weight: not in the model"]
    assert "fc1.bias" in report.new_keys and report.new == 5
    got = model_tensors(tmp_path / "run/weights.safetensors")["fc1.weight"]
    assert torch.allclose(got, weight, atol=1e-6)
    assert "skipped 1 (decoder.weight: not in the model)" in report.summary()


def test_a_missing_init_file_fails_naming_it_before_the_run_folder_is_made(tmp_path) -> None:
    project = tiny_mlp(training__init_from=str(tmp_path / "nowhere.safetensors"))
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Failed)
    assert "nowhere.safetensors" in events[-1].message and "init_from" in events[-1].message
    assert not (tmp_path / "run/project.lforge").exists()


def test_a_damaged_init_file_fails_naming_it(tmp_path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00\x01 not a safetensors file")
    events = list(train(tiny_mlp(training__init_from=str(bad)), tmp_path / "run"))
    assert isinstance(events[-1], Failed) and str(bad) in events[-1].message


def test_a_folder_without_weights_is_refused(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    events = list(train(tiny_mlp(training__init_from=str(tmp_path / "empty")), tmp_path / "run"))
    assert isinstance(events[-1], Failed) and "without weights" in events[-1].message


def test_the_cli_flag_loads_and_prints_the_report(tmp_path, source_run) -> None:
    project = wider_head()
    save_project(project, tmp_path / "p.lforge")
    result = run_cli("train", str(tmp_path / "p.lforge"), "--init-from", str(source_run),
                     "--out", str(tmp_path / "run"))
    assert result.code == 0, result.text
    assert f"Loaded 4 tensors from {source_run / 'weights.safetensors'}, skipped 2" in result.out
    assert "skipped fc3.weight: shape [3, 64] in the file, [5, 64] in the model" in result.out


def test_the_cli_refuses_a_missing_init_file_before_starting(tmp_path) -> None:
    save_project(tiny_mlp(), tmp_path / "p.lforge")
    result = run_cli("train", str(tmp_path / "p.lforge"), "--init-from",
                     str(tmp_path / "gone"), "--out", str(tmp_path / "run"))
    assert result.code not in (0, None) and "gone" in result.err
    assert not (tmp_path / "run").exists()


def test_a_relative_init_from_in_the_project_is_relative_to_the_project_file(tmp_path,
                                                                          source_run) -> None:
    save_file({"fc1.weight": torch.zeros(64, 2)}, tmp_path / "start.safetensors")
    project = tiny_mlp(training__epochs=1, training__init_from="start.safetensors")
    save_project(project, tmp_path / "p.lforge")
    result = run_cli("train", str(tmp_path / "p.lforge"), "--out", str(tmp_path / "run"))
    assert result.code == 0, result.text
    assert "Loaded 1 tensor from" in result.out


def pretrained_project(tmp_path, **overrides):
    """points -> backbone (a composite whose weights are a local file) -> fc3 -> logits."""
    from engine.project import Edge, Graph, Node, WeightsRef

    torch.manual_seed(1)
    tensors = {"encoder.fc.weight": torch.randn(8, 2), "encoder.fc.bias": torch.randn(8)}
    save_file(tensors, tmp_path / "enc.safetensors")
    project = tiny_mlp(training__epochs=1, **overrides)
    encoder = Graph(nodes=[Node(id="x", type="Input", params={"shape": [2]}),
                           Node(id="fc", type="Linear", params={"out_features": 8}),
                           Node(id="y", type="Output")],
                    edges=[Edge(src="x", dst="fc"), Edge(src="fc", dst="y")],
                    weights=WeightsRef(source=str(tmp_path / "enc.safetensors"), prefix="encoder."))
    model = Graph(nodes=[Node(id="points", type="Input", params={"shape": [2]}),
                         Node(id="backbone", type="Group", params={"graph": "encoder"},
                              trainable=False),
                         Node(id="fc3", type="Linear", params={"out_features": 3}),
                         Node(id="logits", type="Output")],
                  edges=[Edge(src="points", dst="backbone", dst_port="x"),
                         Edge(src="backbone", dst="fc3"), Edge(src="fc3", dst="logits")])
    project.graphs = {"model": model, "encoder": encoder}
    return project, tensors


def test_a_frozen_pretrained_backbone_ends_exactly_as_its_weights_file(tmp_path) -> None:
    project, tensors = pretrained_project(tmp_path)
    events = list(train(project, tmp_path / "run"))
    assert isinstance(events[-1], Finished), events[-1]
    (report,) = [e for e in events if isinstance(e, WeightsLoaded)]
    assert report.loaded_keys == ["backbone.fc.weight", "backbone.fc.bias"]
    assert report.new_keys == ["fc3.weight", "fc3.bias"] and report.skipped == 0
    assert "pretrained encoder" in report.source
    got = model_tensors(tmp_path / "run/weights.safetensors")
    assert torch.equal(got["backbone.fc.weight"], tensors["encoder.fc.weight"])
    assert torch.equal(got["backbone.fc.bias"], tensors["encoder.fc.bias"])


def test_init_from_goes_on_top_of_the_pretrained_weights(tmp_path) -> None:
    project, _ = pretrained_project(tmp_path)
    mine = torch.ones(8, 2)
    save_file({"backbone.fc.weight": mine}, tmp_path / "mine.safetensors")
    project.training.init_from = str(tmp_path / "mine.safetensors")
    events = list(train(project, tmp_path / "run"))
    reports = [e for e in events if isinstance(e, WeightsLoaded)]
    assert [r.loaded for r in reports] == [2, 1]  # the backbone's file, then init_from
    got = model_tensors(tmp_path / "run/weights.safetensors")
    assert torch.equal(got["backbone.fc.weight"], mine)


def test_the_cli_finds_a_backbone_weights_file_next_to_the_project(tmp_path) -> None:
    project, _ = pretrained_project(tmp_path)
    project.graphs["encoder"].weights.source = "enc.safetensors"  # relative to the project
    save_project(project, tmp_path / "p.lforge")
    result = run_cli("train", str(tmp_path / "p.lforge"), "--out", str(tmp_path / "run"))
    assert result.code == 0, result.text
    assert "Loaded 2 tensors from pretrained encoder" in result.out
