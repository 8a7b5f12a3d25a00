"""`layerforge train / evaluate / sample` from the command line, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.project import save_project
from tests.engine.train.helpers import tiny_mlp

ROOT = Path(__file__).resolve().parents[2]


def lf(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_train_then_evaluate_json_reports_the_metrics(tmp_path) -> None:
    save_project(tiny_mlp(dataset__samples=1500), tmp_path / "m.lforge")
    r = lf("train", "m.lforge", "--epochs", "4", "--out", "run", "--set", "training.lr=0.02",
           cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "accuracy" in r.stdout
    r = lf("evaluate", "run", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert {"loss", "accuracy", "precision", "recall", "f1"} <= metrics.keys()
    assert metrics["accuracy"] >= 0.85


def test_unknown_set_key_exits_2_naming_it(tmp_path) -> None:
    save_project(tiny_mlp(), tmp_path / "m.lforge")
    r = lf("train", "m.lforge", "--set", "training.learning_rate=1", cwd=tmp_path)
    assert r.returncode == 2
    assert "training.learning_rate" in r.stderr and "Traceback" not in r.stderr


def test_evaluate_on_a_folder_that_is_not_a_run_exits_2(tmp_path) -> None:
    r = lf("evaluate", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2
    assert "not a run folder" in r.stderr
