"""`layerforge serve` and `layerforge export --format server` on a trained LeNet-5 run: what
they print, what they write, how they stop, and what they refuse."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.deploy import http_check
from engine.deploy.http_check import post_file, post_json, request
from tests.engine.cli_helpers import run_cli
from tests.engine.serve_helpers import digit_png, train_lenet

CLI = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]
GOOD = {"input": np.zeros((1, 28, 28)).tolist()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_lenet(tmp_path_factory.mktemp("run") / "lenet")


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "server"
    r = run_cli("export", str(run), "--format", "server", "--out", str(out))
    assert r.code == 0, r.text
    return out, r


def _serve(args: list[str], tmp: Path) -> tuple[subprocess.Popen, int]:
    """``layerforge serve ARGS --port P`` in a subprocess whose temp folder is ``tmp``."""
    port = http_check.free_port()
    proc = subprocess.Popen([*CLI, "serve", *args, "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if request(port, "GET", "/health", timeout=2).status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.communicate()}")


def test_export_server_writes_a_complete_verified_folder(exported):
    out, r = exported
    names = {p.name for p in out.iterdir()}
    assert {"model.onnx", "deploy.json", "server.py", "runtime.py", "requirements.txt",
            "Dockerfile", "README.md"} <= names
    assert "exactly as the model does" in r.out  # the staged folder answered over HTTP
    pins = dict(line.split("==") for line in (out / "requirements.txt").read_text().splitlines()
                if "==" in line)
    from importlib.metadata import version

    for name in ("fastapi", "uvicorn", "onnxruntime", "numpy", "python-multipart", "pillow"):
        assert pins[name] == version(name)
    assert "torch" not in pins and "tokenizers" not in pins  # images only
    docker = (out / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in docker and "USER " in docker and "EXPOSE 8000" in docker
    assert '"server.py", "--host", "0.0.0.0"' in docker
    readme = (out / "README.md").read_text()
    assert "docker build" in readme and "curl" in readme and "## Metrics" in readme


def test_standalone_files_never_import_the_engine_or_torch():
    for name in ("server.py", "runtime.py"):
        text = (Path(__file__).resolve().parents[2] / "engine" / "deploy" / name).read_text()
        assert "import torch" not in text and "from engine" not in text
        assert "import engine" not in text


def test_export_refuses_a_folder_that_holds_other_files(run, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = run_cli("export", str(run), "--format", "server", "--out", str(tmp_path))
    assert r.code == 2 and "not empty" in r.err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_serve_run_prints_url_and_endpoints_and_stops_on_sigterm(run, tmp_path):
    proc, port = _serve([str(run)], tmp_path)
    assert post_file(port, "digit.png", digit_png(), "image/png").status == 200
    assert list(tmp_path.iterdir())  # the run's model folder, while serving
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in out
    for endpoint in ("POST", "/predict", "/health", "/info", "/docs", "Ctrl+C"):
        assert endpoint in out
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())  # the temporary model folder is gone


def test_serve_stops_cleanly_on_ctrl_c(exported, tmp_path):
    proc, port = _serve([str(exported[0])], tmp_path)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err


def test_serve_onnx_file_answers_like_the_server_folder(run, exported, tmp_path):
    onnx_dir = tmp_path / "onnx"
    assert run_cli("export", str(run), "--format", "onnx", "--out", str(onnx_dir)).code == 0
    proc, port = _serve([str(onnx_dir / "model.onnx")], tmp_path / "tmp")
    try:
        from_onnx = post_json(port, GOOD).json()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    with http_check.running_server(exported[0]) as p:
        assert post_json(p, GOOD).json() == from_onnx


def test_serve_refuses_a_busy_port_with_one_sentence(exported):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("serve", str(exported[0]), "--port", str(port))
    assert r.code == 2
    assert r.err.strip() == (f"layerforge: port {port} on 127.0.0.1 is already in use: stop "
                             "the program using it or choose another port with --port")


def test_serve_refuses_what_it_cannot_serve(tmp_path):
    r = run_cli("serve", str(tmp_path / "missing"))
    assert r.code == 2 and "no such" in r.err
    r = run_cli("serve", str(Path(__file__).resolve().parents[2] / "resources" / "examples" /
                              "lenet5.lforge"))
    assert r.code == 2 and "train it first" in r.err
    r = run_cli("serve", str(tmp_path), "--workers", "0")
    assert r.code == 2 and "--workers" in r.err


def test_two_workers_answer(exported):
    with http_check.running_server(exported[0], args=["--workers", "2"]) as port:
        answers = [post_json(port, GOOD) for _ in range(6)]
        assert all(a.status == 200 for a in answers)
        assert len({json.dumps(a.json()) for a in answers}) == 1
        assert request(port, "GET", "/info").json()["classes"][0] == "0"


def test_cli_defaults_match_the_server():
    from engine.cli import serve_cmds
    from engine.deploy import server

    assert serve_cmds.DEFAULT_PORT == server.DEFAULT_PORT
    assert serve_cmds.DEFAULT_MAX_BODY_MB == server.DEFAULT_MAX_BODY_MB
