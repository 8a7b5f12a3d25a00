"""`python -m app --self-test` from source: a real window, worker process and ONNX export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.crashing_worker import command as crashing_worker

ROOT = Path(__file__).resolve().parents[2]


def run_self_test(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "app", "--self-test"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=110)


def test_self_test_trains_exports_and_reports(config_dir):
    result = run_self_test()
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0] == "LayerForge self-test"
    assert any(line.startswith("layerforge ") and "(source)" in line and "Qt 6." in line
               for line in lines)
    assert any(line.startswith("window: mlp template open") for line in lines)
    assert any(line.startswith("worker: pid") and "torch" in line for line in lines)
    assert any(line.startswith("run dir: ") for line in lines)
    assert any(line.startswith("trained 2 epochs") and "accuracy" in line for line in lines)
    assert any(line.startswith("onnx: model.onnx") and "max diff" in line for line in lines)
    assert lines[-1].startswith("self-test passed")
    # settings and recovery went to the self-test's own temporary folder, removed after
    assert not config_dir.exists()
    run_dir = next(line for line in lines if line.startswith("run dir: "))[len("run dir: "):]
    assert not Path(run_dir).exists()


def test_self_test_reports_a_dying_worker_and_exits_1():
    result = run_self_test({"LAYERFORGE_WORKER": json.dumps(crashing_worker("segv"))})
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "self-test FAILED" in line]
    assert failed and "SIGSEGV" in failed[0]
