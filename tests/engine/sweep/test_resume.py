"""kill -9 of a `layerforge sweep` in the middle of a trial, then `--resume`: the study ends
with exactly N trials, none trained twice, the interrupted one continued from its
checkpoint."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from engine.templates import template_path

from .sweep_helpers import starts, sweep_file

ROOT = Path(__file__).resolve().parents[3]
ARGS = ["--trials", "3", "--name", "k", "--pruner", "none", "--epochs", "30",
        "--param", "training.lr=float:1e-3..3e-2:log", "--set", "dataset.samples=3000",
        "--set", "training.threads=1", "--set", "training.device=cpu"]


def _sweep(project: Path, *extra: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "engine", "sweep", str(project), *ARGS,
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=project.parent, **kw)


def _wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill_9_then_resume_finishes_n_trials_none_twice(tmp_path):
    project = Path(shutil.copy(template_path("mlp"), tmp_path / "mlp.lforge"))
    folder = tmp_path / "runs" / "sweeps" / "k"
    first = _sweep(project)
    try:
        line = ""
        while "trial   0" not in line:  # the first trial has ended
            line = first.stdout.readline()
            assert line, "the sweep ended before its first trial did"
        assert "complete" in line, line
        checkpoint = folder / "trial-0001" / "checkpoints" / "last.safetensors"
        _wait_for(checkpoint.is_file, 60, "trial 1's first checkpoint")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert not (folder / "trial-0002").exists()
    assert sweep_file(folder / "trial-0001")["state"] == "running"

    second = _sweep(project, "--resume")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert "trial 1: resuming" in out
    storage = f"sqlite:///{tmp_path / 'runs' / 'sweeps' / 'k.db'}"
    trials = optuna.load_study(study_name="k", storage=storage).trials
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert sorted(p.name for p in folder.iterdir()) == ["trial-0000", "trial-0001",
                                                       "trial-0002"]
    assert len({t.user_attrs["run_dir"] for t in trials}) == 3
    assert len(starts(folder / "trial-0000")) == 1  # finished before the kill: not rerun
    assert len(starts(folder / "trial-0002")) == 1
    resumed = starts(folder / "trial-0001")
    assert len(resumed) == 2 and resumed[0].resumed_from == 0 and resumed[1].resumed_from > 0
    epochs = [e.epoch for e in __import__("engine.train.events", fromlist=["x"]).read_events(
        folder / "trial-0001" / "events.jsonl") if e.type == "epoch_ended"]
    assert epochs[-1] == 30 and len(set(epochs)) == len(epochs)  # no epoch trained twice
    assert sweep_file(folder / "trial-0001")["state"] == "complete"
