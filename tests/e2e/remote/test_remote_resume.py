"""`layerforge train --resume` of a remote run: it continues on its host from its checkpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.project import save_project
from engine.remote.config import load_runs
from tests.e2e.remote.conftest import Env
from tests.e2e.remote.test_remote_cli import _add, _remote_events, _seqs
from tests.engine.train.helpers import tiny_mlp


def _types(path: Path) -> list[str]:
    return [json.loads(line)["type"] for line in path.read_text().splitlines()]


def test_stopped_remote_run_resumes_on_its_host_from_the_cli(sshd, env: Env) -> None:
    _add(env, sshd)
    # the project names the host itself (as the app's device choice does): no --remote
    save_project(tiny_mlp(dataset__samples=3000, training__batch_size=16, training__epochs=500,
                          training__device="remote:loop"), env.root / "m.lforge")
    client = env.popen("train", "m.lforge", "--out", "run", "--accept-new-host-key")
    runs_file = Path(env.env["LAYERFORGE_CONFIG_DIR"]) / "runs.json"
    deadline = time.monotonic() + 120
    while not runs_file.exists() or b'"progress"' not in _remote_events(load_runs()[0]):
        assert client.poll() is None, client.stdout.read()
        assert time.monotonic() < deadline, "the remote run did not start"
        time.sleep(0.05)
    rec = load_runs()[0]
    env.lf("runs", "stop", rec.id, check=True)
    out, _ = client.communicate(timeout=60)
    assert client.returncode == 0 and "stopped at epoch" in out, out
    run = env.root / "run"
    assert _types(run / "events.jsonl")[-1] == "stopped"
    assert load_runs()[0].status == "stopped"

    stopped = json.loads((run / "events.jsonl").read_text().splitlines()[-1])
    epochs = stopped["epoch"] + 1  # one more epoch keeps the test short
    r = env.lf("train", "--resume", "run", "--epochs", str(epochs), check=True)
    assert "resumed on loop" in r.stdout and f"finished {epochs} epochs" in r.stdout
    types = _types(run / "events.jsonl")
    assert types.count("run_started") == 2 and types[-1] == "finished"
    started = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()
               if '"run_started"' in line]
    assert started[1]["resumed_from"] > 0
    seqs = _seqs(run / "events.jsonl")
    assert seqs == list(range(1, len(seqs) + 1))  # one sequence across both jobs
    assert (run / "events.jsonl").read_bytes() == _remote_events(rec)
    assert (run / "weights.safetensors").is_file()
    assert load_runs()[0].status == "finished"
    snapshot = json.loads((run / "project.lforge").read_text())
    assert snapshot["training"]["device"] == "auto"  # the host trained on its own devices

