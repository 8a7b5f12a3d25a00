"""Remote runs from the command line against a real sshd on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from engine.project import save_project
from engine.remote.config import load_runs
from tests.e2e.remote.conftest import Env
from tests.engine.train.helpers import tiny_mlp


def _add(env: Env, sshd, name: str = "loop", python: str = sys.executable) -> None:
    env.lf("remote", "add", name, "--host", "127.0.0.1", "--port", str(sshd.port), "--key",
           str(sshd.client_key), "--python", python, "--base-dir", str(env.remote_base), check=True)


def _seqs(path: Path) -> list[int]:
    return [json.loads(line)["seq"] for line in path.read_text().splitlines()]


def test_full_remote_run_then_local_evaluate(sshd, env) -> None:
    _add(env, sshd)
    r = env.lf("remote", "test", "loop", "--accept-new-host-key", check=True)
    assert "torch" in r.stdout and "CUDA" in r.stdout
    save_project(tiny_mlp(dataset__samples=800), env.root / "m.lforge")
    r = env.lf("train", "m.lforge", "--remote", "loop", "--epochs", "3", "--out", "run", check=True)
    assert "finished 3 epochs" in r.stdout
    run = env.root / "run"
    for name in ("weights.safetensors", "evaluation.json", "project.lforge",
                 "checkpoints/last.safetensors", "remote.json"):
        assert (run / name).is_file(), name
    seqs = _seqs(run / "events.jsonl")
    assert seqs == list(range(1, len(seqs) + 1))
    rec = load_runs()[0]
    assert (run / "events.jsonl").read_bytes() == Path(rec.remote_dir, "events.jsonl").read_bytes()
    assert rec.status == "finished" and rec.host == "loop"
    assert len(list((env.remote_base / "engine").iterdir())) == 1  # one engine version
    r = env.lf("evaluate", "run", "--json", check=True)
    assert "accuracy" in json.loads(r.stdout)
    r = env.lf("runs", "list", check=True)
    assert rec.id in r.stdout and "finished" in r.stdout
    # `runs download` fetches what changed on the host, whole, and skips what did not
    weights, last = run / "weights.safetensors", run / "checkpoints" / "last.safetensors"
    before = weights.stat().st_ino
    last.write_bytes(b"torn")
    r = env.lf("runs", "download", rec.id, check=True)
    assert "downloaded into" in r.stdout and "checkpoints/" in r.stdout
    assert last.read_bytes() == Path(rec.remote_dir, "checkpoints", "last.safetensors").read_bytes()
    assert weights.stat().st_ino == before  # unchanged: not downloaded again
    assert not list(run.rglob("*.part"))


def test_run_survives_a_cut_connection_and_reattaches_without_gaps(sshd, env) -> None:
    _add(env, sshd)
    save_project(tiny_mlp(dataset__samples=4000, training__batch_size=16), env.root / "m.lforge")
    client = env.popen("train", "m.lforge", "--remote", "loop", "--epochs", "4", "--out", "run",
                       "--accept-new-host-key")
    runs_file = Path(env.env["LAYERFORGE_CONFIG_DIR"]) / "runs.json"
    deadline = time.monotonic() + 120
    while not runs_file.exists():
        assert client.poll() is None, client.stdout.read()
        assert time.monotonic() < deadline, "the remote run did not start"
        time.sleep(0.02)
    rec = load_runs()[0]
    control = Path(rec.remote_dir, "control.jsonl")
    control.write_text('{"cmd": "pause"}\n')  # hold it while the link is cut
    while b'"paused"' not in _remote_events(rec):  # the run says it holds
        assert time.monotonic() < deadline, "the remote run did not start, or did not pause"
        time.sleep(0.05)
    client.kill()  # the client dies ...
    client.wait()
    for pid in sshd.session_pids():  # ... and so do the server's session processes
        with contextlib.suppress(ProcessLookupError):  # one may end on its own meanwhile
            os.kill(pid, signal.SIGKILL)
    assert b'"finished"' not in _remote_events(rec)
    size = len(_remote_events(rec))
    with control.open("a") as f:
        f.write('{"cmd": "resume"}\n')
    deadline = time.monotonic() + 60
    while len(_remote_events(rec)) == size:  # it goes on with nobody connected
        assert time.monotonic() < deadline, "the remote run stopped with the connection"
        time.sleep(0.05)
    folder = Path(rec.local_dir).name  # the id is the local folder's name plus a tail,
    assert rec.id.startswith(f"{folder}-")  # so the folder name finds the run
    r = env.lf("runs", "attach", folder, check=True)
    assert "finished 4 epochs" in r.stdout
    local = env.root / "run" / "events.jsonl"
    seqs = _seqs(local)
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert local.read_bytes() == _remote_events(rec)
    assert json.loads(local.read_text().splitlines()[-1])["type"] == "finished"
    assert (env.root / "run" / "weights.safetensors").is_file()


def _remote_events(rec) -> bytes:
    path = Path(rec.remote_dir, "events.jsonl")
    return path.read_bytes() if path.exists() else b""


def test_host_without_torch_gets_a_clear_message(sshd, env) -> None:
    python = "/usr/bin/python3"
    if os.system(f"{python} -c 'import torch' 2>/dev/null") == 0:
        import pytest

        pytest.skip(f"{python} has torch")
    _add(env, sshd, "bare", python)
    r = env.lf("remote", "test", "bare", "--accept-new-host-key")
    assert r.returncode == 1
    assert "torch" in r.stdout and "not installed" in r.stdout
    assert "missing torch" in r.stderr and "--python" in r.stderr
    save_project(tiny_mlp(), env.root / "m.lforge")
    r = env.lf("train", "m.lforge", "--remote", "bare", "--out", "run")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "missing torch" in r.stderr


def test_unknown_host_key_without_a_terminal_is_refused(sshd, env) -> None:
    _add(env, sshd)
    r = env.lf("remote", "test", "loop")
    assert r.returncode == 1
    assert "SHA256:" in r.stderr and "--accept-new-host-key" in r.stderr
    assert "not accepted" in r.stderr
