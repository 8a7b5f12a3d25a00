"""`layerforge serve`: a run, an ONNX model or a server folder answering HTTP requests
(see :mod:`engine.deploy.server`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a trained run or an ONNX model over HTTP "
                       "(POST /predict, GET /health, GET /info)")
    p.add_argument("source", metavar="RUN_DIR|MODEL.onnx|SERVER_DIR")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    raise NotImplementedError("being built")
