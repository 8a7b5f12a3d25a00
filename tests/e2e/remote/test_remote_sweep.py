"""Sweep trials on an SSH host (a real sshd on 127.0.0.1): a sweep on a local lane and a
remote one, killed with SIGKILL while a trial trains on the host, then resumed, ends with
exactly N trials, none trained twice, each folder holding its weights; a pruned remote trial
stops through its run and says so; a host that cannot be reached fails one trial with its
sentence and the local lane finishes the sweep."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from engine.remote.config import HostConfig, add_host
from engine.sweep.coordinator import Coordinator, SweepConfig
from engine.sweep.space import parse_param
from engine.sweep.study import default_storage
from engine.templates import template_path
from engine.train.events import read_events
from tests.e2e.remote.conftest import Env, _free_port, host_config
from tests.engine.cli_helpers import run_cli
from tests.engine.sweep.sweep_helpers import ACCURACY, spirals, sweep_file

LR = "training.lr=float:1e-3..3e-2:log"
SMALL = ["--set", "training.threads=1", "--set", "training.device=cpu",
         "--set", "training.batch_size=16", "--pruner", "none", "--param", LR]


def _types(run: Path) -> list[str]:
    return [e.type for e in read_events(run / "events.jsonl")]


def _epochs(run: Path) -> list[int]:
    return [e.epoch for e in read_events(run / "events.jsonl") if e.type == "epoch_ended"]


def _sweep(env: Env, project: Path, *extra: str) -> subprocess.Popen:
    args = ["sweep", str(project), "--trials", "2", "--name", "k", "--epochs", "40",
            "--set", "dataset.samples=1000", "--workers", "local:1,remote:loop",
            "--accept-new-host-key", *SMALL, *extra]
    return subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=env.root,
                            env=env.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _remote_trial(folder: Path) -> Path | None:
    """A trial folder whose run on the host has ended an epoch (its mirror says so)."""
    for run in folder.glob("trial-*"):
        events = run / "events.jsonl"
        if (run / "remote.json").is_file() and events.is_file() \
                and b'"epoch_ended"' in events.read_bytes():
            return run
    return None


def test_kill_9_mid_remote_trial_then_resume_finishes_n_trials_none_twice(sshd, env):
    add_host(host_config("loop", sshd, env.remote_base))
    project = Path(shutil.copy(template_path("mlp"), env.root / "mlp.lforge"))
    folder = env.root / "runs" / "sweeps" / "k"
    first = _sweep(env, project)
    try:
        deadline = time.monotonic() + 120
        while (remote := _remote_trial(folder)) is None:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "no trial started on the host"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert sweep_file(remote)["state"] == "running"

    second = _sweep(env, project, "--resume")
    out, _ = second.communicate(timeout=180)
    assert second.returncode == 0, out
    storage = f"sqlite:///{env.root / 'runs' / 'sweeps' / 'k.db'}"
    trials = optuna.load_study(study_name="k", storage=storage).trials
    assert [t.number for t in trials] == [0, 1]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials), out
    assert {t.user_attrs["lane"] for t in trials} == {"local 1", "loop"}
    for t in trials:  # each folder like a local run's: the whole run, its weights, its state
        run = Path(t.user_attrs["run_dir"])
        assert (run / "weights.safetensors").is_file() and (run / "project.lforge").is_file()
        assert sweep_file(run)["state"] == "complete"
        assert _epochs(run) == list(range(1, 41))  # no epoch trained twice
        assert _types(run)[-1] == "finished"
    # the remote trial was started once on the host (attached to, or told from its events)
    assert [p.name.rsplit("-", 1)[0] for p in (env.remote_base / "runs").iterdir()] \
        == [remote.name]
    rec = json.loads((remote / "remote.json").read_text())
    assert (remote / "events.jsonl").read_bytes() == \
        Path(rec["remote_dir"], "events.jsonl").read_bytes()
    assert "on loop  " in out and "on local 1" in out


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_remote_trial_stops_through_its_run_and_says_pruned(sshd, env):
    add_host(host_config("loop", sshd, env.remote_base))
    runs = env.root / "runs"
    config = SweepConfig(name="p", trials=1, space=dict([parse_param(LR)]),
                         objectives=[ACCURACY], storage=default_storage(runs, "p"),
                         runs_folder=runs, pruner="none", workers=0, hosts=("loop",))
    project = spirals(samples=1000, epochs=40, **{"training.batch_size": 16})
    c = Coordinator(project, config)
    c.confirm_host_key = lambda *_: True
    c.study = optuna.create_study(storage=config.storage, study_name="p",
                                  direction="maximize", pruner=_AlwaysPrune())
    [record] = c.run()
    assert (record.state, record.lane) == ("pruned", "loop"), record
    run = Path(record.run_dir)
    assert sweep_file(run)["state"] == "pruned" and sweep_file(run)["epochs"] == 1
    assert _types(run)[-1] == "stopped" and len(_epochs(run)) < 40  # stopped, not finished
    assert (run / "weights.safetensors").is_file()
    assert (run / "checkpoints" / "last.safetensors").is_file()
    remote = Path(json.loads((run / "remote.json").read_text())["remote_dir"])
    assert '"stop"' in (remote / "control.jsonl").read_text()  # the run's ordinary stop


def test_an_unreachable_host_fails_one_trial_and_the_local_lane_finishes(env):
    add_host(HostConfig(name="dead", host="127.0.0.1", port=_free_port(),  # nothing listens
                        key=str(env.root / "no-key"), base_dir=str(env.remote_base)))
    project = Path(shutil.copy(template_path("mlp"), env.root / "mlp.lforge"))
    r = run_cli("sweep", str(project), "--trials", "2", "--name", "u", "--epochs", "2",
                "--set", "dataset.samples=200", "--workers", "local:1,remote:dead",
                "--json", *SMALL)
    assert r.code == 0, r.text
    data = json.loads(r.out)
    assert data["hosts"] == ["dead"] and data["counts"] == {"complete": 1, "failed": 1}
    [failed] = [t for t in data["results"] if t["state"] == "failed"]
    assert failed["lane"] == "dead"
    assert "dead: cannot reach 127.0.0.1" in failed["message"], failed
    assert "dead takes no more trials in this sweep" in failed["message"]
    assert {t["lane"] for t in data["results"] if t["state"] == "complete"} == {"local 1"}
    assert "dead took no more trials" in r.err
