"""The text files of a server folder: pinned requirements, the Dockerfile and the README.

The requirements pin the versions installed beside LayerForge (``importlib.metadata``), the
ones the export's check just ran the folder's server with, so the folder installs the stack
it was verified on. Only what the model's data needs is listed: Pillow for images,
tokenizers for text, soundfile and SciPy for sound.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from engine.export.common import ExportError

#: every server: the ASGI stack, the request bodies, the model runtime
BASE_PACKAGES = ("fastapi", "starlette", "pydantic", "uvicorn", "python-multipart", "numpy",
                 "onnxruntime")
PYTHON_IMAGE = "python:3.11-slim"
PORT = 8000


def packages(deploy: dict[str, Any]) -> list[str]:
    """The distributions the folder's ``runtime.py`` and ``server.py`` import for this model."""
    names = list(BASE_PACKAGES)
    if deploy.get("data") == "image":
        names.append("pillow")
    if deploy.get("tokenizer") or deploy.get("target_tokenizer"):
        names.append("tokenizers")
    if deploy.get("data") == "audio":
        names += ["soundfile", "scipy"]
    return names


def requirements(deploy: dict[str, Any]) -> str:
    """``requirements.txt``: ``name==version`` for each package, as installed here."""
    lines = ["# the versions this folder's server was checked with at export",
             "# install: python -m pip install -r requirements.txt"]
    for name in packages(deploy):
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            raise ExportError(f"a server folder needs {name}, which is not installed here: "
                              f"pip install {name}") from None
    return "\n".join(lines) + "\n"


def dockerfile() -> str:
    return f"""\
# Build: docker build -t my-model .
# Run:   docker run --rm -p {PORT}:{PORT} my-model
FROM {PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/model
COPY requirements.txt .
RUN python -m pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --no-create-home --uid 10001 model
USER model
EXPOSE {PORT}
CMD ["python", "-I", "server.py", "--host", "0.0.0.0", "--port", "{PORT}"]
"""


def dockerignore() -> str:
    return ".venv/\n__pycache__/\n*.pyc\n"


def _example_requests(info: dict[str, Any]) -> list[str]:
    """curl lines for the model's example request bodies (``runtime.Predictor.info``)."""
    import json

    lines = []
    for example in info.get("examples") or []:
        if "multipart" in example:
            what = "clip.wav" if info.get("data") == "audio" else "image.png"
            lines.append(f"curl -F file=@{what} http://127.0.0.1:{PORT}/predict")
        elif "json" in example:
            body = json.dumps(example["json"], separators=(",", ":"))
            if len(body) > 300:
                continue  # a full zero image says nothing a reader needs
            lines.append(f"curl -H 'Content-Type: application/json' -d '{body}' "
                         f"http://127.0.0.1:{PORT}/predict")
    return lines


def readme(card: str, info: dict[str, Any], files: list[str]) -> str:
    """The folder's README.md: how to run the server, then the model card."""
    curls = "\n".join(_example_requests(info)) or \
        f"curl http://127.0.0.1:{PORT}/info"
    listing = "\n".join(f"- `{f}`" for f in files)
    return f"""\
# Prediction server: {info.get('graph') or 'model'} ({info.get('task')})

This folder serves the model over HTTP with FastAPI, uvicorn and ONNX Runtime. It needs
neither LayerForge nor PyTorch.

## Run it

With Docker:

```
docker build -t my-model .
docker run --rm -p {PORT}:{PORT} my-model
```

With a virtual environment (Python 3.11 or later):

```
python -m venv .venv
.venv/bin/python -m pip install -r requirements.txt
.venv/bin/python -I server.py --port {PORT}
```

Options: `--host 0.0.0.0` (listen on every interface; the default is 127.0.0.1),
`--workers N` (N processes), `--max-body-mb M` (largest request body, default 10),
`--access-log`. Ctrl+C or SIGTERM stops it.

## Ask it

```
{curls}
curl http://127.0.0.1:{PORT}/health
curl http://127.0.0.1:{PORT}/info
```

`POST /predict` takes JSON (`{{"inputs": [...]}}`, `{{"input": ...}}`, `{{"text": "..."}}`,
`{{"texts": [...]}}`, options `top`, `length`, `temperature`, `seed`) or an uploaded file in
the form field `file`. `GET /docs` describes every request and answer (OpenAPI). An error
answers `{{"error": "..."}}` with 400 (the model cannot take the input), 413 (body too
large), 415 (not JSON nor an upload), 422 (not the JSON described), 404, or 500.

## Files

{listing}

---

{card}"""
