"""The prediction server of a model folder: FastAPI on uvicorn, the model run by ``runtime.py``.

STANDALONE: this file is copied verbatim into every server folder and run there with
``python -I server.py`` on a machine without LayerForge, so it imports only the standard
library, FastAPI/Starlette/pydantic, uvicorn and its sibling ``runtime.py`` (never the
engine or torch). ``layerforge serve`` runs the same file through :func:`run_server`.

Endpoints: ``POST /predict`` (a JSON body, or a multipart upload in the form field
``file``), ``GET /health``, ``GET /info`` and FastAPI's ``/openapi.json`` and ``/docs``.
Every error answers JSON ``{"error": sentence}``: 400 a request the model cannot take, 413
a body over the size limit (refused from its Content-Length, or while it streams in), 415
a content type the server does not read, 422 a body that is not the JSON described, 404 and
405, and 500 when the model itself fails; the process keeps serving after any of them.
Model runs go to the thread pool, so the event loop keeps answering ``/health`` meanwhile.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__:  # imported as engine.deploy.server
    from . import runtime
else:  # a server folder: ``python -I server.py`` puts no folder on sys.path, uvicorn app_dir
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import runtime  # type: ignore[no-redef]

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

MODEL_DIR_ENV = "LAYERFORGE_MODEL_DIR"
MAX_BODY_ENV = "LAYERFORGE_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_MB = 10.0
DEFAULT_PORT = 8000
CARD = "README.md"
ENDPOINTS = (("POST", "/predict", "a JSON body or an uploaded file (form field 'file')"),
             ("GET", "/health", "{\"status\": \"ok\"} while the server runs"),
             ("GET", "/info", "the model's inputs, classes and card"),
             ("GET", "/docs", "the OpenAPI description, interactive"))


class ServerError(Exception):
    """The server cannot start (a busy port, a folder without a model); one sentence."""


# -- request and answer bodies (also the OpenAPI description) -------------------------------


class PredictOptions(BaseModel):
    """Options of a prediction, in the JSON body or as form fields beside an upload."""

    model_config = ConfigDict(extra="forbid")

    top: int | None = Field(None, ge=1, le=100,
                            description="classes listed per prediction (default 5)")
    length: int | None = Field(None, ge=1, le=1000,
                               description="language model: tokens to generate (default 100)")
    temperature: float | None = Field(None, ge=0, le=100,
                                      description="language model: 0 is greedy (default 0)")
    seed: int | None = Field(None, description="language model: seed of the sampling")


class PredictRequest(PredictOptions):
    """One of ``inputs``, ``input``, ``text`` or ``texts``, plus options."""

    inputs: list[Any] | None = Field(
        None, description="samples, each a nested array of numbers of the model's per-sample "
        "shape (a row of features for tabular data)", examples=[[[0.1, 0.2, 0.3]]])
    input: Any = Field(None, description="one sample (nested array of numbers)")
    text: str | None = Field(None, description="one text (or prompt, or sentence to translate)")
    texts: list[str] | None = Field(None, description="several texts")

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> PredictRequest:
        given = [k for k in ("inputs", "input", "text", "texts") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of inputs, input, text or texts" +
                             (f" (got {', '.join(given)})" if given else ""))
        return self


class TopClass(BaseModel):
    class_: str = Field(alias="class")
    probability: float


class Box(BaseModel):
    class_: str = Field(alias="class")
    score: float
    box: list[float] = Field(description="x0, y0, x1, y1 in the model's input pixels")


class Prediction(BaseModel):
    """One answer per input; the fields present depend on the task."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    class_: str | None = Field(None, alias="class", description="classification: best class")
    probability: float | None = Field(None, description="classification: its probability")
    top: list[TopClass] | None = Field(None, description="classification: the top classes")
    values: list[float] | None = Field(None, description="regression: the predicted values")
    classes: dict[str, float] | None = Field(None, description="segmentation: pixel share "
                                             "per class")
    mask: list[list[int]] | None = Field(None, description="segmentation: class id per pixel")
    boxes: list[Box] | None = Field(None, description="detection: the boxes found")
    output: str | None = Field(None, description="language model, seq2seq, speech: the text")


class PredictAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    task: str
    predictions: list[Prediction]


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    shape: list[int | None] = Field(description="per-sample dims (null: variable)")
    dtype: str


class InfoAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    task: str
    data: str | None = None
    inputs: list[InputSpec]
    classes: list[str] | None = None
    int8: bool = False
    graph: str | None = None
    card: str = Field("", description="the model card (Markdown)")


class HealthAnswer(BaseModel):
    status: str = "ok"


class ErrorAnswer(BaseModel):
    error: str = Field(description="what was wrong with the request, one sentence")


_UPLOAD_SCHEMA = {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "an image (image models) or a WAV/FLAC clip"},
                   **{k: v for k, v in PredictOptions.model_json_schema()["properties"].items()}},
}
_ERRORS = {code: {"model": ErrorAnswer, "description": what} for code, what in (
    (400, "the model cannot take this input"), (413, "the body is over the size limit"),
    (415, "not JSON nor a file upload, or a file of a kind the model does not read"),
    (422, "the body is not the JSON described"), (500, "the model failed"))}


# -- the size limit -------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over ``max_bytes``, told by its Content-Length
    before anything is read, or counted as a streamed (chunked) body arrives."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def watching_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        mb = self.max_bytes / 1e6
        await JSONResponse({"error": f"the body is larger than this server takes "
                                     f"({mb:g} MB; see --max-body-mb)"}, status_code=413)(
            {"type": "http"}, _nothing, send)


async def _nothing():  # pragma: no cover - a JSONResponse never reads its request
    return {"type": "http.disconnect"}


# -- the application ------------------------------------------------------------------------


def _sentence(errors: list[dict]) -> str:
    """pydantic's errors as one sentence naming the fields."""
    parts = []
    for e in errors[:3]:
        if e.get("type") == "json_invalid":
            return f"the body is not valid JSON: {e.get('ctx', {}).get('error', e['msg'])}"
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body",))
        msg = e["msg"].removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden":
            msg = "unknown field (see GET /docs for the fields a request takes)"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "the body is not the JSON described in /docs"


def create_app(folder: str | os.PathLike[str], max_body_bytes: int | None = None) -> FastAPI:
    """The FastAPI application serving the model folder ``folder``; the model is opened
    here, once (``runtime.Predictor``), and shared by every request."""
    folder = Path(folder)
    predictor = runtime.Predictor(folder)
    info = dict(predictor.info())
    card = folder / CARD
    info["card"] = card.read_text(encoding="utf-8", errors="replace") if card.is_file() else ""
    limit = int(DEFAULT_MAX_BODY_MB * 1e6) if max_body_bytes is None else int(max_body_bytes)
    title = f"{info.get('graph') or 'model'} ({info.get('task', 'prediction')})"
    app = FastAPI(title=title, version="1",
                  description="A LayerForge model served with ONNX Runtime. POST /predict "
                  "with JSON or an uploaded file; GET /info for what the model takes.")
    app.add_middleware(BodyLimit, max_bytes=limit)
    app.state.predictor = predictor

    @app.exception_handler(runtime.Unsupported)
    async def _unsupported(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=415)

    @app.exception_handler(runtime.BadInput)
    async def _bad_input(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _sentence(list(exc.errors()))}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = (f"no such endpoint: {request.method} {request.url.path} (endpoints: "
                       + ", ".join(f"{m} {p}" for m, p, _ in ENDPOINTS) + ")")
        elif exc.status_code == 405:
            message = f"{request.url.path} does not take {request.method} requests"
        else:
            message = str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> JSONResponse:
        # the model or the runtime failed: the client gets a sentence, the log the traceback
        return JSONResponse({"error": f"the model failed on this request "
                                      f"({type(exc).__name__}); the server log has the details"},
                            status_code=500)

    @app.post("/predict", response_model=PredictAnswer, response_model_exclude_unset=True,
              responses=_ERRORS, openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": PredictRequest.model_json_schema()},
                  "multipart/form-data": {"schema": _UPLOAD_SCHEMA}}}})
    async def predict(request: Request) -> Any:
        """Predict from a JSON body (``{"inputs": [...]}``, ``{"input": ...}``, ``{"text":
        ...}``, ``{"texts": [...]}``) or from an uploaded file (multipart field ``file``)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in ("", "application/json") or kind.endswith("+json"):
            try:
                body = PredictRequest.model_validate_json(await request.body())
            except ValidationError as e:
                raise RequestValidationError(e.errors()) from None
            return await run_in_threadpool(predictor.predict_json,
                                           body.model_dump(exclude_unset=True))
        if kind == "multipart/form-data":
            return await _predict_upload(request, predictor)
        hint = (": add -H 'Content-Type: application/json'"
                if kind == "application/x-www-form-urlencoded" else "")
        raise HTTPException(415, f"cannot read a {kind} body: send JSON (Content-Type: "
                                 f"application/json) or a file upload (multipart/form-data, "
                                 f"field 'file'){hint}")

    @app.get("/health", response_model=HealthAnswer)
    async def health() -> dict[str, str]:
        """``{"status": "ok"}`` while the server runs (answered even during long predictions)."""
        return {"status": "ok"}

    @app.get("/info", response_model=InfoAnswer, response_model_exclude_unset=True)
    async def model_info() -> dict[str, Any]:
        """What the model takes and answers: task, inputs, classes, example requests, card."""
        return info

    return app


async def _predict_upload(request: Request, predictor) -> Any:
    from starlette.datastructures import UploadFile

    async with request.form() as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestValidationError([{
                "loc": ("file",), "type": "missing",
                "msg": "the form has no file in the field 'file' (curl -F file=@image.png)"}])
        try:
            options = PredictOptions.model_validate(
                {k: v for k, v in form.items() if k != "file"})
        except ValidationError as e:
            raise RequestValidationError(e.errors()) from None
        data = await upload.read()
        return await run_in_threadpool(predictor.predict_file, data, upload.filename or "upload",
                                       upload.content_type,
                                       options.model_dump(exclude_unset=True))


# -- running it -----------------------------------------------------------------------------

_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``server:app`` for uvicorn (``--workers N`` imports it in each worker): the folder of
    ``LAYERFORGE_MODEL_DIR``, else this file's folder, built on first use."""
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        limit = os.environ.get(MAX_BODY_ENV)
        _app = create_app(os.environ.get(MODEL_DIR_ENV) or HERE,
                          int(limit) if limit else None)
    return _app


def check_port(host: str, port: int) -> None:
    """ServerError with one sentence when ``host:port`` cannot be listened on (in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds it
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ServerError(f"port {port} on {host} is already in use: stop the program "
                                  "using it or choose another port with --port") from None
            raise ServerError(f"cannot listen on {host} port {port}: "
                              f"{e.strerror or e}") from None


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(host: str, port: int, what: str, workers: int) -> str:
    """What the server prints when it starts: where it answers and how to stop it."""
    base = url(host, port)
    lines = [f"serving {what} at {base}" + (f" with {workers} worker processes"
                                               if workers > 1 else "")]
    lines += [f"  {m:<4} {base}{p:<9} {what}" for m, p, what in ENDPOINTS]
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def run_server(folder: str | os.PathLike[str], *, host: str = "127.0.0.1",
               port: int = DEFAULT_PORT, workers: int = 1, max_body_bytes: int | None = None,
               access_log: bool = False, code_dir: str | os.PathLike[str] | None = None,
               label: str | None = None, announce=print) -> None:
    """Serve the model folder ``folder`` with the ``server.py`` and ``runtime.py`` of
    ``code_dir`` (default: the folder itself), imported by uvicorn as ``server:app``, until
    Ctrl+C or SIGTERM; both stop it cleanly and return. ServerError when it cannot start.
    ``announce`` gets the banner (``label``, default the folder, its URL and endpoints)."""
    import uvicorn

    folder = Path(folder).resolve()
    code = folder if code_dir is None else Path(code_dir).resolve()
    if not (folder / "deploy.json").is_file():
        raise ServerError(f"{folder} is not a model folder: it has no deploy.json (export "
                          "one with layerforge export RUN --format server)")
    if not (code / "server.py").is_file() or not (code / "runtime.py").is_file():
        raise ServerError(f"{code} lacks server.py or runtime.py (export the folder again "
                          "with layerforge export RUN --format server)")
    check_port(host, port)
    os.environ[MODEL_DIR_ENV] = str(folder)  # read by every worker process
    if max_body_bytes is not None:
        os.environ[MAX_BODY_ENV] = str(int(max_body_bytes))
    announce(banner(host, port, label or str(folder), workers))
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # like Ctrl+C
    try:
        uvicorn.run("server:app", app_dir=str(code), host=host, port=port, workers=workers,
                    log_level="warning", access_log=access_log, timeout_graceful_shutdown=10)
    except SystemExit as e:
        if e.code:
            raise ServerError(f"the server for {folder} could not start (see the messages "
                              "above)") from None
    except KeyboardInterrupt:
        pass
    except Exception as e:  # noqa: BLE001 - only loading the model can fail out of uvicorn
        raise ServerError(f"the model in {folder} could not be loaded: "
                          f"{type(e).__name__}: {e}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """``python -I server.py [--host H] [--port P] [--workers N] [--model-dir DIR]
    [--max-body-mb M]``; exit 0 when stopped, 2 when it cannot start."""
    p = argparse.ArgumentParser(prog="server.py", description="Serve this folder's model.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0: every interface; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--workers", type=int, default=1, help="processes answering requests")
    p.add_argument("--model-dir", default=str(HERE), help="the model folder (default: here)")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB,
                   help=f"largest request body in MB (default {DEFAULT_MAX_BODY_MB:g})")
    p.add_argument("--access-log", action="store_true", help="log every request")
    args = p.parse_args(argv)
    if args.workers < 1 or args.max_body_mb <= 0 or not 0 <= args.port < 65536:
        p.error("--workers must be at least 1, --max-body-mb positive and --port 0-65535")
    try:
        run_server(args.model_dir, code_dir=HERE, host=args.host, port=args.port, workers=args.workers,
                   max_body_bytes=int(args.max_body_mb * 1e6), access_log=args.access_log)
    except ServerError as e:
        print(f"server.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
