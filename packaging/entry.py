"""The frozen app's entry point: the ``layerforge`` console script (``app.cli:main``).

With no arguments it opens the app; ``worker`` runs a training worker (the app starts its
workers as ``<this binary> worker``); other subcommands work as from a source install.
A bare leading option that only the app knows (``--self-test``) goes to ``gui``.

A frozen app has no separate Python, so the binary also stands in for ``python -c CODE``
and ``python SCRIPT.py ARG...`` (with ``-I``/``-B``-style flags ignored): the Python
exporter checks the generated ``model.py`` that way, in a fresh process
(``[sys.executable, "-I", "-B", "-c", ...]``), the text export runs ``fresh_check.py`` and
the server export starts the folder's ``server.py`` (``[sys.executable, "-I", SCRIPT, ...]``).
"""

from __future__ import annotations

import multiprocessing
import sys

APP_OPTIONS = ("--self-test",)
INTERPRETER_FLAGS = ("-I", "-B", "-E", "-s", "-S", "-u")


def frozen_argv(argv: list[str]) -> list[str]:
    """``layerforge --self-test`` means ``layerforge gui --self-test``."""
    if argv and argv[0] in APP_OPTIONS:
        return ["gui", *argv]
    return argv


def inline_code(argv: list[str]) -> tuple[str, list[str]] | None:
    """``[-I] [-B] -c CODE ARG...`` -> (CODE, ``sys.argv`` for it); None for anything else."""
    i = 0
    while i < len(argv) and argv[i] in INTERPRETER_FLAGS:
        i += 1
    if i + 1 < len(argv) and argv[i] == "-c":
        return argv[i + 1], ["-c", *argv[i + 2:]]
    return None


def script(argv: list[str]) -> list[str] | None:
    """``[-I] [-B] SCRIPT.py ARG...`` -> ``sys.argv`` for the script; None for anything else
    (a subcommand never ends in ``.py``)."""
    i = 0
    while i < len(argv) and argv[i] in INTERPRETER_FLAGS:
        i += 1
    if i < len(argv) and argv[i].endswith(".py"):
        return argv[i:]
    return None


def main(argv: list[str]) -> int:
    code = inline_code(argv)
    if code is not None:
        source, sys.argv = code
        exec(compile(source, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
        return 0
    args = script(argv)
    if args is not None:
        import runpy

        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")
        return 0
    from app.cli import main as cli_main

    return cli_main(frozen_argv(argv))


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
