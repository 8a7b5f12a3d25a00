"""The project's own sweep settings (``Project.sweep``): what a sweep of the project is when
no flag says otherwise, ``layerforge sweep FILE`` with nothing else, flags over the
project's settings, resume against an edited project, and stale ranges reported as
problems by the shape analysis and ``layerforge validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.project import ProjectError, SweepSpec, load_project, save_project
from engine.shapes import project_problems
from engine.sweep import config_from_project, coordinator_from_project
from engine.sweep.space import SweepError
from engine.templates import load_template
from tests.engine.cli_helpers import run_cli

SMALL = ["--set", "dataset.samples=200", "--set", "training.threads=1",
         "--set", "training.device=cpu", "--epochs", "2"]


def _saved(folder: Path, file: str = "spirals", **sweep) -> Path:
    project = load_template("mlp")
    project.sweep = SweepSpec(**sweep)
    path = folder / f"{file}.lforge"
    save_project(project, path)
    return path


def test_defaults_are_resolved_without_touching_the_disk(tmp_path):
    path = _saved(tmp_path, ranges={"training.lr": "float:1e-4..1e-1:log"})
    config = config_from_project(load_project(path), path)
    assert config.name == "spirals"  # the project file's name
    assert config.storage == f"sqlite:///{tmp_path.resolve()}/runs/sweeps/spirals.db"
    assert config.runs_folder == tmp_path.resolve() / "runs"
    assert [o.text() for o in config.objectives] == ["val_accuracy:max"]
    assert (config.sampler, config.pruner) == ("tpe", "median")
    assert (config.trials, config.workers, config.seed) == (20, 1, 0)
    assert config.space["training.lr"].log and config.space["training.lr"].high == 0.1
    assert not (tmp_path / "runs").exists()  # showing the settings makes no folder


def test_the_projects_settings_and_the_task_defaults_for_two_objectives(tmp_path):
    path = _saved(tmp_path, ranges={"fc1.out_features": "int:8..64:8"},
                  objectives=["val_loss:min", "params:min"], trials=7, workers=2, seed=5,
                  name="widths", storage=f"sqlite:///{tmp_path}/elsewhere.db")
    config = config_from_project(load_project(path), path)
    assert [o.text() for o in config.objectives] == ["val_loss:min", "params:min"]
    assert (config.sampler, config.pruner) == ("nsga2", "none")  # Optuna cannot prune two
    assert (config.trials, config.workers, config.seed, config.name) == (7, 2, 5, "widths")
    assert config.storage == f"sqlite:///{tmp_path}/elsewhere.db"


def test_flags_override_and_params_add_to_or_replace_the_projects_ranges(tmp_path):
    path = _saved(tmp_path, ranges={"training.lr": "float:1e-4..1e-1:log",
                                    "fc1.out_features": "int:8..64:8"},
                  sampler="random", trials=9)
    config = config_from_project(
        load_project(path), path, params=["training.lr=float:0.01..0.02",
                                          "dataset.val_fraction=float:0.1..0.3"],
        trials=3, sampler="tpe", pruner="none", workers=2, seed=11, name="other")
    assert sorted(config.space) == ["dataset.val_fraction", "fc1.out_features", "training.lr"]
    assert config.space["training.lr"].spec() == "float:0.01..0.02"  # the flag's range wins
    assert (config.trials, config.sampler, config.pruner, config.workers, config.seed) == \
        (3, "tpe", "none", 2, 11)
    assert config.storage.endswith("/runs/sweeps/other.db")


@pytest.mark.parametrize(("sweep", "words"), [
    ({}, "give at least one --param"),
    ({"ranges": {"training.lr": "float:0.01..0.1"}, "name": "no/slash"}, "'no/slash'"),
    ({"ranges": {"training.lr": "float:0.01..0.1"}, "sampler": "grid"}, "grid sampler needs"),
])
def test_a_sweep_that_cannot_run_says_why(tmp_path, sweep, words):
    path = _saved(tmp_path, **sweep)
    with pytest.raises(SweepError) as info:
        config_from_project(load_project(path), path)
    assert words in str(info.value)


def test_the_projects_hosts_must_be_configured_ssh_hosts(tmp_path, monkeypatch):
    from engine.remote.config import HostConfig, add_host

    monkeypatch.setenv("LAYERFORGE_CONFIG_DIR", str(tmp_path / "config"))
    path = _saved(tmp_path, ranges={"training.lr": "float:0.01..0.1"}, hosts=["gpu1"])
    with pytest.raises(SweepError) as info:
        config_from_project(load_project(path), path)
    assert "remote host 'gpu1' is not configured (configured: none yet)" in str(info.value)
    add_host(HostConfig(name="gpu1", host="gpu1.example.org"))
    config = config_from_project(load_project(path), path)
    assert (config.workers, config.hosts) == (1, ("gpu1",))  # the project's hosts, one lane each
    config = config_from_project(load_project(path), path, workers=0)
    assert (config.workers, config.hosts) == (0, ("gpu1",))  # the host alone trains
    with pytest.raises(SweepError, match="0 local workers only with a remote host"):
        config_from_project(load_project(path), path, workers=0, hosts=[])


def test_the_coordinator_gets_a_copy_with_absolute_data_and_refuses_errors(tmp_path):
    project = load_template("mlp")
    project.sweep.ranges["training.lr"] = "float:0.01..0.1"
    project.dataset.path = "data/here"  # relative to the project file
    coord = coordinator_from_project(project, tmp_path / "p.lforge", trials=1)
    assert coord.project.dataset.path == str(tmp_path.resolve() / "data" / "here")
    assert project.dataset.path == "data/here"  # the caller's project is left as it was
    project.graphs["model"].edges.clear()  # the output is no longer reached from the input
    with pytest.raises(ProjectError, match="the project has errors"):
        coordinator_from_project(project, tmp_path / "p.lforge", trials=1)


def test_a_range_naming_no_field_is_a_problem_that_names_its_key(tmp_path):
    project = load_template("mlp")
    project.sweep.ranges.update({"training.lr": "float:1e-4..1e-1:log",
                                 "fc9.out_features": "int:8..64",
                                 "fc1.out_features": "int:0..64",
                                 "training.lrr": "float:0.1..0.2"})
    found = {p.message.split(":")[0]: p for p in project_problems(project)
             if "search range" in p.message}
    assert set(found) == {"search range fc9.out_features", "search range fc1.out_features",
                          "search range training.lrr"}
    assert all(p.severity == "warning" for p in found.values())  # training needs no range
    assert "no block 'fc9'" in found["search range fc9.out_features"].message
    assert found["search range fc1.out_features"].node == "fc1"  # the canvas can point at it
    assert "no such setting" in found["search range training.lrr"].message

    path = tmp_path / "stale.lforge"
    save_project(project, path)
    r = run_cli("validate", str(path))
    assert r.code == 0, r.text
    assert "warning: model: search range fc9.out_features: graph 'model' has no block" in r.out
    assert "search range training.lr:" not in r.out  # a good range is no problem
    r = run_cli("sweep", str(path), *SMALL)  # a sweep refuses to start with it
    assert r.code == 2 and "fc9.out_features" in r.err and "Traceback" not in r.text


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, object]:
    """``layerforge sweep FILE`` on a project whose file holds the whole sweep."""
    path = _saved(tmp_path_factory.mktemp("own"), ranges={"fc1.out_features": "int:4..32:4",
                                                          "training.lr": "float:1e-3..5e-2:log"},
                  trials=2, pruner="none", seed=3, name="own")
    return path, run_cli("sweep", str(path), "--json", *SMALL)


def test_sweep_file_alone_runs_the_projects_sweep(swept):
    path, r = swept
    assert r.code == 0, r.text
    data = json.loads(r.out)
    assert (data["study"], data["trials"], data["pruner"], data["seed"]) == ("own", 2, "none", 3)
    assert data["counts"] == {"complete": 2}
    assert all(sorted(t["params"]) == ["fc1.out_features", "training.lr"]
               for t in data["results"])
    assert (path.parent / "runs" / "sweeps" / "own.db").is_file()
    assert (path.parent / "runs" / "sweeps" / "own" / "trial-0001" / "sweep.json").is_file()


def test_resume_follows_the_study_even_after_the_ranges_were_edited(swept):
    path, _ = swept
    project = load_project(path)
    project.sweep.ranges = {"fc2.out_features": "int:4..8"}  # edited after the sweep
    project.sweep.trials = 5
    save_project(project, path)
    r = run_cli("sweep", str(path), "--resume", "--json", *SMALL)
    assert r.code == 0, r.text
    data = json.loads(r.out)
    assert data["trials"] == 2 and data["counts"] == {"complete": 2}  # nothing more ran
    assert all("fc2.out_features" not in t["params"] for t in data["results"])
