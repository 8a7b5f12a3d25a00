"""A remote run that starts from other weights: the file is read here, uploaded once, and
the host initialises from it as a local run would (real sshd on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from engine.project import save_project
from engine.remote.config import load_runs
from tests.e2e.remote.conftest import Env
from tests.e2e.remote.test_remote_cli import _add
from tests.engine.train.helpers import tiny_mlp


def test_a_remote_run_starts_from_a_local_run_and_keeps_frozen_blocks(sshd, env: Env) -> None:
    _add(env, sshd)
    env.lf("remote", "test", "loop", "--accept-new-host-key", check=True)
    save_project(tiny_mlp(dataset__samples=400), env.root / "a.lforge")
    env.lf("train", "a.lforge", "--epochs", "1", "--out", "first", check=True)
    project = tiny_mlp(dataset__samples=400)
    for node in project.graphs["model"].nodes:
        node.trainable = node.id == "fc3"  # only the head trains
    save_project(project, env.root / "b.lforge")
    r = env.lf("train", "b.lforge", "--remote", "loop", "--epochs", "2", "--init-from", "first",
               "--out", "second", check=True)
    assert "starting weights on loop" in r.stdout
    assert "loaded" in r.stdout.lower()
    rec = load_runs()[0]
    report = json.loads(Path(rec.remote_dir, "init.json").read_text())
    assert report["reports"][0]["loaded"], report
    first = load_file(str(env.root / "first" / "weights.safetensors"))
    second = load_file(str(env.root / "second" / "weights.safetensors"))
    frozen = [k for k in first if "/fc1." in k or "/fc2." in k]
    assert frozen and all((first[k] == second[k]).all() for k in frozen)
    head = [k for k in first if "/fc3." in k]
    assert any(not (first[k] == second[k]).all() for k in head)
    # the same starting weights again: not uploaded twice
    env.lf("train", "b.lforge", "--remote", "loop", "--epochs", "1", "--init-from", "first",
           "--out", "third", check=True)
    assert len(list((env.remote_base / "weights").glob("*.safetensors"))) == 1
