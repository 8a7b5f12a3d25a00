"""``export --format server``: a folder that serves the run's model on any machine.

The folder holds the model folder (:func:`engine.deploy.folder.model_folder`: the ONNX
model, fp32 or int8, ``deploy.json``, tokenizers), the standalone ``runtime.py`` and
``server.py`` copied from this package, a pinned ``requirements.txt``, a ``Dockerfile`` and
a README (how to run it, then the model card). Like every export it is written in a staging
folder and checked before it is moved into place: the staged folder's own server is started
with ``python -I`` and must answer a real ``POST /predict`` on 127.0.0.1 exactly as the
model folder answers in this process.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from engine.deploy import bundle_files, http_check
from engine.export.common import ExportError, ExportReport, Progress, staged

HERE = Path(__file__).resolve().parent
STANDALONE = ("runtime.py", "server.py")
CARD = "README.md"
CHECK_LENGTH = 8  # tokens a language model generates in the check


def export_server(source, out: Path, *, graph: str | None = None, opset: int | None = None,
                  int8: bool = False, calibration: int | None = None,
                  progress: Progress = None) -> ExportReport:
    """Write the server folder of the run ``source`` to the new or empty folder ``out``.

    ExportError (nothing written) for what cannot be served (see ``model_folder``), for an
    ``out`` that holds other files, and when the staged server does not answer as the model.
    """
    from engine.deploy.folder import model_folder

    out = Path(out)
    if out.exists() and out.is_dir() and any(out.iterdir()):
        raise ExportError(f"{out}: not empty; a server folder is written into a new or empty "
                          "folder (choose another --out or empty it)")
    quantized = ExportReport("onnx-int8", graph or "model")  # int8: its tables, for the report
    with staged(out) as stage:
        deploy = model_folder(source, stage.tmp, graph=graph, opset=opset, int8=int8,
                              calibration=calibration, progress=progress,
                              int8_report=quantized)
        for name in STANDALONE:
            shutil.copyfile(HERE / name, stage.tmp / name)
        card = _read(stage.tmp / CARD)
        info = _info(stage.tmp)
        (stage.tmp / "requirements.txt").write_text(bundle_files.requirements(deploy),
                                                    encoding="utf-8")
        (stage.tmp / "Dockerfile").write_text(bundle_files.dockerfile(), encoding="utf-8")
        (stage.tmp / ".dockerignore").write_text(bundle_files.dockerignore(), encoding="utf-8")
        names = sorted(p.name for p in stage.tmp.iterdir() if p.is_file())
        (stage.tmp / CARD).write_text(bundle_files.readme(card, info, sorted({*names, CARD})),
                                      encoding="utf-8")
        names = sorted({*names, CARD})
        for name in names:
            stage.path(name)
        if progress:
            progress("starting the folder's server on 127.0.0.1 to check it answers")
        check = check_folder(stage.tmp, info)
    report = ExportReport("server", str(deploy.get("graph") or "model"), trained=True)
    report.files = [out / n for n in names]
    report.details, report.warnings = quantized.details, quantized.warnings
    report.checks.append(check)
    report.messages += [
        f"wrote the server folder {out} ({', '.join(n for n in names if n[0] != '.')})",
        check,
        f"run it: cd {out} && python -m venv .venv && .venv/bin/pip install -r "
        "requirements.txt && .venv/bin/python -I server.py (or docker build -t my-model .)"]
    return report


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _info(folder: Path) -> dict[str, Any]:
    from engine.deploy.runtime import Predictor

    return Predictor(folder).info()


def check_request(info: dict[str, Any]) -> tuple[str, Any]:
    """A request the model takes, for the check: ("json", body) or ("file", (name, bytes,
    content type)); built from the model's own example requests."""
    for example in info.get("examples") or []:
        if "json" in example:
            body = dict(example["json"])
            if "length" in body:
                body["length"] = CHECK_LENGTH
            return "json", body
    if info.get("data") == "audio":
        return "file", ("check.wav", _tone(int(info.get("sample_rate") or 16000)), "audio/wav")
    if info.get("data") == "image":
        shape = info["inputs"][0]["shape"]
        return "file", ("check.png", _gradient(int(shape[-2]), int(shape[-1])), "image/png")
    raise ExportError(f"cannot check a server for {info.get('task')} on {info.get('data')} "
                      "data: the model gave no example request")


def check_folder(folder: Path, info: dict[str, Any]) -> str:
    """Start ``folder``'s server (``python -I server.py``), send it one request and require
    the answer the model gives in this process; the sentence for the report."""
    from engine.deploy.runtime import Predictor

    kind, what = check_request(info)
    predictor = Predictor(folder)
    if kind == "json":
        expected = predictor.predict_json(what)
    else:
        expected = predictor.predict_file(what[1], what[0], what[2], {})
    expected = json.loads(json.dumps(expected))
    try:
        with http_check.running_server(folder) as port:
            if kind == "json":
                answer = http_check.post_json(port, what)
            else:
                answer = http_check.post_file(port, *what)
    except http_check.ServerFailed as e:
        raise ExportError(f"the server folder does not start: {e}") from None
    if answer.status != 200:
        raise ExportError(f"the server folder's server answered {answer.status} to a good "
                          f"request: {answer.body[:300].decode(errors='replace')}")
    if answer.json() != expected:
        raise ExportError("the server folder's server answered differently from the model "
                          f"(got {answer.body[:200].decode(errors='replace')})")
    sent = "a JSON request" if kind == "json" else f"an uploaded {what[0]}"
    return (f"the folder's server (python -I server.py) answered {sent} on 127.0.0.1 "
            "exactly as the model does")


def _gradient(height: int, width: int) -> bytes:
    import numpy as np
    from PIL import Image

    row = np.linspace(0, 255, width, dtype=np.float32)
    pixels = (row[None, :] * np.linspace(0.2, 1.0, height)[:, None]).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "L").save(buf, "PNG")
    return buf.getvalue()


def _tone(rate: int) -> bytes:
    import wave

    import numpy as np

    t = np.arange(rate) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()
