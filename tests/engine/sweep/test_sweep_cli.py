"""`layerforge sweep`: live lines, the best trials, two objectives with their Pareto front,
--json, and wrong options refused with a sentence (exit 2) before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.sweep.config import parse_workers
from engine.sweep.space import SweepError
from engine.templates import template_path
from tests.engine.cli_helpers import run_cli

SMALL = ["--set", "dataset.samples=200", "--set", "training.threads=1",
         "--set", "training.device=cpu", "--epochs", "2"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    return Path(shutil.copy(template_path("mlp"), folder / "mlp.lforge"))


@pytest.fixture(scope="module")
def pareto_sweep(project):
    return run_cli("sweep", str(project), "--trials", "3", "--name", "two",
                   "--param", "fc1.out_features=int:4..64:4",
                   "--param", "training.lr=float:1e-3..5e-2:log",
                   "--objective", "val_accuracy:max", "--objective", "params:min", *SMALL)


def test_live_lines_then_the_pareto_front(pareto_sweep, project):
    r = pareto_sweep
    assert r.code == 0, r.text
    lines = r.out.splitlines()
    assert lines[0].startswith("sweep two of mlp.lforge: 3 trials, nsga2 sampler, none pruner")
    trial_lines = [ln for ln in lines if ln.startswith("trial ")]
    assert len(trial_lines) == 3
    assert all("complete" in ln and "fc1.out_features=" in ln and "val_accuracy 0." in ln
               and "2 epochs" in ln for ln in trial_lines), trial_lines
    assert "3 trials: 3 complete" in r.out
    assert "best trials:" in r.out and "Pareto front:" in r.out
    front = r.out.split("Pareto front:")[1].strip().splitlines()
    assert 1 <= len(front) <= 3 and all("params" in ln for ln in front)
    assert (project.parent / "runs" / "sweeps" / "two.db").is_file()
    for n in range(3):
        assert (project.parent / "runs" / "sweeps" / "two" / f"trial-{n:04d}"
                / "sweep.json").is_file()


def test_json_of_a_finished_study_runs_nothing_more(pareto_sweep, project):
    r = run_cli("sweep", str(project), "--name", "two", "--resume", "--json", *SMALL)
    assert r.code == 0, r.text
    data = json.loads(r.out)
    assert data["objectives"] == ["val_accuracy:max", "params:min"]
    assert data["counts"] == {"complete": 3} and len(data["results"]) == 3
    params = {t["number"]: t["values"]["params"] for t in data["results"]}
    for t in data["results"]:  # the parameter count follows the sampled width (2-w-64-3)
        w = t["params"]["fc1.out_features"]
        assert t["values"]["params"] == 2 * w + w + w * 64 + 64 + 64 * 3 + 3
    front = data["pareto"]
    assert front and all(p["number"] in params for p in front)
    for p in front:  # nothing on the front is beaten on both objectives by another trial
        assert not any(o["values"]["val_accuracy"] >= p["values"]["val_accuracy"]
                       and o["values"]["params"] < p["values"]["params"]
                       for o in data["results"])
    assert "trial " not in r.out  # no live lines on stdout with --json


@pytest.mark.parametrize(("args", "words"), [
    (["--param", "fc9.out_features=int:1..5"], "--param fc9.out_features: graph 'model' has no "
                                               "block 'fc9'"),
    (["--param", "training.lr=float:0.1..500"], "--param training.lr"),
    (["--param", "training.lr=float:x..1"], "--param training.lr=float:x..1: each end must be"),
    ([], "give at least one --param"),
    (["--param", "training.lr=float:0.01..0.1", "--objective", "params:min"],
     "the first objective must be a validation metric"),
    (["--param", "training.lr=float:0.01..0.1", "--sampler", "grid"], "grid sampler needs"),
    (["--param", "training.lr=float:0.01..0.1", "--objective", "val_accuracy:max",
      "--objective", "params:min", "--pruner", "median"], "cannot prune"),
])
def test_wrong_options_are_refused_before_anything_runs(project, args, words):
    r = run_cli("sweep", str(project), "--trials", "2", "--name", "bad", *args, *SMALL)
    assert r.code == 2, r.text
    assert words in r.err, r.err
    assert "Traceback" not in r.text
    assert not (project.parent / "runs" / "sweeps" / "bad").exists()


@pytest.mark.parametrize(("text", "lanes"), [
    ("2", (2, [])),
    ("local:2,remote:gpu1", (2, ["gpu1"])),
    ("local:0, remote:gpu1,remote:gpu2", (0, ["gpu1", "gpu2"])),
    ("remote:gpu1", (None, ["gpu1"])),  # the local workers: the project's (default 1)
])
def test_workers_name_local_lanes_and_remote_hosts(text, lanes):
    assert parse_workers(text) == lanes


@pytest.mark.parametrize(("text", "words"), [
    ("gpu1", "'gpu1' is neither local:N nor remote:HOST"),
    ("local:two", "'local:two' is neither"),
    ("remote:", "'remote:' is neither"),
    ("local:1,local:2", "local is given twice"),
    ("remote:a,remote:a", "'a' is named twice"),
])
def test_wrong_workers_are_named(text, words):
    with pytest.raises(SweepError) as info:
        parse_workers(text)
    assert words in str(info.value) and "local:N,remote:HOST" in str(info.value)


def test_an_unknown_host_or_no_lane_is_refused_before_anything_runs(project, tmp_path,
                                                                      monkeypatch):
    from engine.remote.config import HostConfig, add_host

    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(tmp_path / "config"))
    add_host(HostConfig(name="gpu1", host="gpu1.example.org"))
    add_host(HostConfig(name="gpu2", host="gpu2.example.org"))
    for workers, words in [
            ("local:1,remote:gpu9", "remote host 'gpu9' is not configured (configured: gpu1, "
                                    "gpu2); add it with `layerforge remote add"),
            ("local:0", "--workers local:0: use 1 to 64 local workers (0 only with a remote "
                        "host"),
            ("gpu1", "'gpu1' is neither local:N nor remote:HOST")]:
        r = run_cli("sweep", str(project), "--trials", "2", "--name", "bad", "--param",
                    "training.lr=float:0.01..0.1", "--workers", workers, *SMALL)
        assert r.code == 2 and words in r.err, r.text
        assert "Traceback" not in r.text
    assert not (project.parent / "runs" / "sweeps" / "bad").exists()
