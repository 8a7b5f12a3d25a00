"""`layerforge serve`: a run, an ONNX model or a server folder answering HTTP requests
(see :mod:`engine.deploy.server`).

A run is turned into a model folder (the verified ONNX export, fp32 or int8) and an ONNX
file into one from its metadata, both in a temporary folder removed at exit, beside copies
of the standalone ``server.py`` and ``runtime.py``; a server folder is served as it is, with
its own copies. uvicorn then imports ``server:app`` from that folder, so ``layerforge
serve`` answers exactly as the exported folder will on another machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from engine.errors import UsageError, UserError
from engine.terminal import for_terminal

#: as engine.deploy.server's (not imported here: FastAPI would load for every command)
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_MB = 10.0


class ServeError(UserError):
    """The server cannot start: a busy port, a folder without a model."""


def register(sub: argparse._SubParsersAction) -> None:
    from engine.export import DEFAULT_CALIBRATION

    p = sub.add_parser("serve", help="serve a trained run or an ONNX model over HTTP "
                       "(POST /predict, GET /health, GET /info)")
    p.add_argument("source", metavar="RUN_DIR|MODEL.onnx|SERVER_DIR",
                   help="a run folder, an ONNX model exported by LayerForge, or a folder "
                        "written by export --format server")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0: every interface; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes answering requests (default 1)")
    p.add_argument("--int8", action="store_true",
                   help="a run: serve its int8 model (quantized with ONNX Runtime first)")
    p.add_argument("--calibration", type=int, default=DEFAULT_CALIBRATION, metavar="N",
                   help=f"with --int8: training samples that calibrate it (default "
                        f"{DEFAULT_CALIBRATION})")
    p.add_argument("--graph", metavar="NAME", help="a run with several graphs: which one")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB, metavar="M",
                   help=f"largest request body in MB (default {DEFAULT_MAX_BODY_MB:g})")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.deploy import server

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.max_body_mb <= 0:
        raise UsageError("--max-body-mb must be positive")
    if not 0 < args.port < 65536:
        raise UsageError("--port must be from 1 to 65535")
    if args.calibration < 1:
        raise UsageError("--calibration must be at least 1")
    source = Path(args.source)
    if not source.exists():
        raise UsageError(f"{source}: no such run folder, ONNX file or server folder")
    if (args.int8 or args.graph) and not _is_run(source):
        raise UsageError("--int8 and --graph are for a run folder; an ONNX file or server "
                         "folder is served as it is")
    # a busy port is refused before the minutes a run's export may take
    try:
        server.check_port(args.host, args.port)
    except server.ServerError as e:
        raise ServeError(str(e)) from None
    tmp = None
    try:
        if _is_server_folder(source):
            folder = source
        else:
            tmp = Path(tempfile.mkdtemp(prefix="layerforge-serve-"))
            folder = _model_folder(source, tmp, args)
        server.run_server(folder, host=args.host, port=args.port, workers=args.workers,
                          max_body_bytes=int(args.max_body_mb * 1e6),
                          access_log=args.access_log, code_dir=folder, label=str(source),
                          announce=lambda text: print(for_terminal(text, keep_lines=True),
                                                      flush=True))
    except server.ServerError as e:
        raise ServeError(str(e)) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("stopped", file=sys.stderr)
    return 0


def _is_run(p: Path) -> bool:
    return p.is_dir() and (p / "project.lforge").is_file()


def _is_server_folder(p: Path) -> bool:
    return p.is_dir() and all((p / n).is_file() for n in ("deploy.json", "server.py",
                                                          "runtime.py"))


def _model_folder(source: Path, tmp: Path, args: argparse.Namespace) -> Path:
    """The model folder of a run or an ONNX file in ``tmp``, with the standalone files."""
    from engine.deploy.bundle import STANDALONE
    from engine.deploy.folder import folder_from_onnx, model_folder

    folder = tmp / "model"
    folder.mkdir()

    def progress(msg: str) -> None:
        print(f"  {for_terminal(msg)}", file=sys.stderr)

    if source.is_file() and source.suffix == ".onnx":
        folder_from_onnx(source, folder)
    elif source.is_dir() and (source / "deploy.json").is_file():
        raise UsageError(f"{source}: a model folder without server.py and runtime.py; export "
                         "it again with layerforge export RUN --format server")
    else:
        model_folder(source, folder, graph=args.graph, int8=args.int8,
                     calibration=args.calibration, progress=progress)
    here = Path(__file__).resolve().parents[1] / "deploy"
    for name in STANDALONE:
        shutil.copyfile(here / name, folder / name)
    return folder
