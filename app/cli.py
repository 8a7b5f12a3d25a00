"""The ``layerforge`` console script.

``layerforge`` and ``layerforge gui [FILE]`` open the app at once: the window paints before
the command tree (pydantic, every command module) is even built. Everything else goes to
the engine's command line (:func:`engine.cli.main`), with ``gui`` added to its commands so
``layerforge --help`` lists it. The engine never imports the app.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _app(argv: list[str]) -> int:
    from app.main import main as app_main

    return app_main(argv)


def register_gui(sub: argparse._SubParsersAction) -> None:
    gui = sub.add_parser("gui", help="open the app (optionally on a project file)")
    gui.add_argument("file", nargs="?", help="a .lforge project to open")
    gui.add_argument("--self-test", action="store_true",
                     help="train a template briefly, export ONNX, report and exit")
    gui.set_defaults(func=lambda args: _app(
        ([args.file] if args.file else []) + (["--self-test"] if args.self_test else [])))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    helping = "-h" in argv or "--help" in argv
    if not argv or (argv[0] == "gui" and len(argv) <= 3 and not helping):
        return _app(argv[1:])
    from engine.cli import main as cli_main

    return cli_main(argv, extra=[register_gui])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
