"""`layerforge doctor RUN_DIR [--json]`: each block's latest statistics as a table, then the
findings with their fixes; a run without statistics says how to turn them on."""

from __future__ import annotations

import json

import pytest

from engine.train import events
from tests.engine.cli_helpers import run_cli, train_in_process
from tests.engine.train.doctor_projects import mlp

needs_stats = pytest.mark.skipif("block_stats" not in events.EVENT_TYPES,
                                 reason="block statistics (engine/train/stats.py) not built yet")


def tiny(**training):
    project = mlp(threads=1, device="cpu", epochs=1, **training)
    project.dataset.samples = 300
    return project


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """A run trained with statistics off."""
    run_dir = tmp_path_factory.mktemp("doctor") / "plain"
    train_in_process(tiny(stats_every=0), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory):
    """A run whose fc1 bias starts at -10 (relu1 dead), measured every 2 steps."""
    import torch
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("doctor")
    save_file({"fc1.bias": torch.full((64,), -10.0)}, root / "bias.safetensors")
    train_in_process(tiny(stats_every=2, init_from=str(root / "bias.safetensors")), root / "run")
    return root / "run"


def test_a_run_without_statistics_says_how_to_turn_them_on(plain_run) -> None:
    result = run_cli("doctor", str(plain_run))
    assert result.code == 0, result.text
    said = " ".join(result.out.split())
    assert "This run has no block statistics: it trained with training.stats_every = 0." in said
    assert "--set training.stats_every=50" in said
    assert "Findings: none" in result.out


def test_json_without_statistics_has_no_blocks(plain_run) -> None:
    result = run_cli("doctor", str(plain_run), "--json")
    assert result.code == 0, result.text
    assert json.loads(result.out) == {"blocks": {}, "findings": []}


@pytest.mark.parametrize("where", ["missing", "file", "folder"])
def test_what_is_not_a_run_folder_is_refused_with_a_sentence(tmp_path, where) -> None:
    path = tmp_path / "x"
    if where == "file":
        path.write_text("hello")
    elif where == "folder":
        path.mkdir()
    result = run_cli("doctor", str(path))
    assert result.code == 2 and result.escaped is None
    assert str(path) in result.err and "run folder" in result.err


@needs_stats
def test_the_table_shows_each_block_and_the_findings_follow(measured_run) -> None:
    result = run_cli("doctor", str(measured_run))
    assert result.code == 0, result.text
    table, _, findings = result.out.partition("Findings:")
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:] if line.strip()}
    assert {"model/fc1", "model/relu1", "model/fc2", "model/relu2", "model/fc3"} <= set(rows)
    dead = table.splitlines()[1].split().index("dead") - 1  # headings: block, act mean...
    assert rows["model/relu1"][dead] == "100%"
    said = " ".join(findings.split())  # long findings are wrapped
    assert "error model/relu1 (step 1): 100% of the units of block 'relu1' are dead" in said
    assert "fix: Add BatchNorm1d after fc1" in said


@needs_stats
def test_json_holds_the_latest_statistics_and_every_finding(measured_run) -> None:
    result = run_cli("doctor", str(measured_run), "--json")
    assert result.code == 0, result.text
    doc = json.loads(result.out)
    relu1 = doc["blocks"]["model/relu1"]
    assert relu1["dead"] == 1.0 and relu1["step"] >= 2 and relu1["epoch"] == 1
    dead = doc["findings"][0]
    assert (dead["kind"], dead["block"], dead["severity"]) == ("dead_units", "model/relu1", "error")
    assert dead["fix"] == {
        "label": "Add BatchNorm1d after fc1", "kind": "insert_after", "key": "model/fc1",
        "value": "BatchNorm1d"}
