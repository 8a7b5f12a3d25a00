"""The whole path a user takes: train from the CLI, then export the run's trained weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from engine.export import export, load_model
from engine.project import save_project
from tests.engine.train.helpers import tiny_mlp

ROOT = Path(__file__).resolve().parents[2]


def test_trained_run_exports_its_own_weights(tmp_path) -> None:
    save_project(tiny_mlp(dataset__samples=600), tmp_path / "m.lforge")
    r = subprocess.run([sys.executable, "-m", "engine", "train", "m.lforge", "--epochs", "2",
                        "--out", "run", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr
    trained = {k.split("/", 2)[2]: v for k, v in load_file(tmp_path / "run" / "weights.safetensors").items()
               if k.startswith("model/model/")}
    assert trained, "the run wrote no model weights"

    report = export(tmp_path / "run", "safetensors", tmp_path / "out" / "m.safetensors")
    assert report.trained and not any("UNTRAINED" in w for w in report.warnings)
    model = load_model(tmp_path / "out" / "m.safetensors")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, trained[name]), name

    onnx = export(tmp_path / "run", "onnx", tmp_path / "out" / "m.onnx")
    assert onnx.trained and onnx.worst_diff <= onnx.tolerance
    assert (tmp_path / "out" / "m.onnx").is_file()
