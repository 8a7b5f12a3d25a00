"""An exported server folder runs on a machine without LayerForge: a fresh virtual
environment gets only the folder's pinned requirements (pip may reach PyPI; its cache makes
it quick), ``python -I server.py`` serves from there, and it answers what the run's PyTorch
model answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.deploy import http_check
from engine.deploy.http_check import post_file, post_json, request
from tests.engine.cli_helpers import run_cli
from tests.engine.serve_helpers import digit_png, train_lenet

PIP_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_lenet(tmp_path_factory.mktemp("run") / "lenet")


@pytest.fixture(scope="module")
def fresh(run, tmp_path_factory):
    """(server folder, the fresh environment's python) with only requirements.txt in it."""
    root = tmp_path_factory.mktemp("fresh")
    folder = root / "server"
    r = run_cli("export", str(run), "--format", "server", "--out", str(folder))
    assert r.code == 0, r.text
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                           "-q", "-r", str(folder / "requirements.txt")], env=env,
                          capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    if done.returncode != 0 and "Could not find a version" not in done.stderr and (
            "NewConnectionError" in done.stderr or "Network is unreachable" in done.stderr):
        pytest.skip(f"PyPI is not reachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return folder, python


def _pytorch_probabilities(run, x: np.ndarray) -> np.ndarray:
    """What the run's PyTorch model gives for the prepared batch ``x``."""
    import torch

    from engine.export.common import build_module, load_source

    module = build_module(load_source(run))
    with torch.no_grad():
        return torch.softmax(module(torch.from_numpy(x)), -1).numpy()


def _prepared_png(run, data: bytes, tmp_path) -> np.ndarray:
    """The PNG as training prepared images: decoded by the engine, /255, normalised."""
    from engine.data.folder import decode_image

    info = json.loads((run / "data.json").read_text())
    path = tmp_path / "digit.png"
    path.write_bytes(data)
    pixels = decode_image(path, 1, 28, 28).astype(np.float32) / 255
    mean = np.array(info["mean"], np.float32)[:, None, None]
    std = np.array(info["std"], np.float32)[:, None, None]
    return ((pixels - mean) / std)[None]


def _same(answer: dict, probabilities: np.ndarray) -> None:
    classes = [str(d) for d in range(10)]
    for prediction, p in zip(answer["predictions"], probabilities, strict=True):
        assert prediction["class"] == classes[int(p.argmax())]
        assert prediction["probability"] == pytest.approx(float(p.max()), abs=1e-5)
        for entry in prediction["top"]:
            assert entry["probability"] == pytest.approx(float(p[int(entry["class"])]), abs=1e-5)


def test_fresh_environment_has_neither_layerforge_nor_torch(fresh):
    _, python = fresh
    probe = subprocess.run([str(python), "-I", "-c", "import importlib.util as u; "
                            "print(u.find_spec('torch') is None, u.find_spec('engine') is None)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["True", "True"]


def test_fresh_environment_serves_the_runs_predictions(fresh, run, tmp_path):
    folder, python = fresh
    image = digit_png()
    rng = np.random.default_rng(0)
    arrays = rng.random((2, 1, 28, 28)).astype(np.float32)
    with http_check.running_server(folder, python=python, timeout=90) as port:
        assert request(port, "GET", "/health").json() == {"status": "ok"}
        info = request(port, "GET", "/info").json()
        assert info["classes"] == [str(d) for d in range(10)]
        assert info["inputs"][0]["shape"] == [1, 28, 28]
        uploaded = post_file(port, "digit.png", image, "image/png", {"top": "10"})
        assert uploaded.status == 200, uploaded.body
        sent = post_json(port, {"inputs": arrays.tolist(), "top": 10})
        assert sent.status == 200, sent.body
    _same(uploaded.json(), _pytorch_probabilities(run, _prepared_png(run, image, tmp_path)))
    # JSON arrays are pixel values as training read them (0-1), normalised by the server
    info = json.loads((run / "data.json").read_text())
    normalised = (arrays - np.float32(info["mean"][0])) / np.float32(info["std"][0])
    _same(sent.json(), _pytorch_probabilities(run, normalised))
