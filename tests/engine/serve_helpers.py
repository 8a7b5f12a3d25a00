"""Tiny trained runs and model folders for the server tests."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np

from tests.engine.cli_helpers import run_cli

LENET = Path(__file__).resolve().parents[2] / "resources" / "examples" / "lenet5.lforge"
DEPLOY = Path(__file__).resolve().parents[2] / "engine" / "deploy"


def train_lenet(out: Path, samples: int = 600) -> Path:
    """LeNet-5 trained one epoch on ``samples`` digits (a few seconds on a CPU)."""
    r = run_cli("train", str(LENET), "--epochs", "1", "--out", str(out), "--quiet",
                "--set", f"dataset.samples={samples}", "--set", "training.threads=1")
    assert r.code == 0, r.text
    return out


def model_folder_with_server(run: Path, folder: Path) -> Path:
    """The run's model folder plus the standalone server.py and runtime.py."""
    from engine.deploy.folder import model_folder

    folder.mkdir(parents=True)
    model_folder(run, folder)
    for name in ("server.py", "runtime.py"):
        shutil.copyfile(DEPLOY / name, folder / name)
    return folder


def png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def digit_png() -> bytes:
    """A 28x28 grey image of a plus sign: some class, the same each time."""
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255
    pixels[12:16, 6:22] = 255
    return png(pixels)
