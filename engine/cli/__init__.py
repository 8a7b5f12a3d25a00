"""`layerforge` command line. Each module in this package registers its subcommands.

The console script itself lives in the app (``app.cli``): it opens the window for
``layerforge`` and ``layerforge gui`` and hands everything else to :func:`main` here, adding
its ``gui`` command through ``extra``, so the engine never imports the app.

Exit codes: 0 success, 1 failure at run time, 2 bad input (a clear message, never a traceback).
Names that come from files or hosts are printed through :func:`engine.terminal.for_terminal`.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from engine.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    UsageError,
    UserError,
    exit_code,
    user_message,
)
from engine.terminal import for_terminal

DEBUG_ENV = "LAYERFORGE_DEBUG"  # "1": an internal error also prints its traceback

__all__ = ["UsageError", "build_parser", "main"]


def _modules() -> list:
    from engine.cli import (
        doctor_cmds,
        explain_cmds,
        export_cmds,
        lr_find_cmds,
        predict,
        project_cmds,
        remote_cmds,
        serve_cmds,
        sweep_cmds,
        train_cmds,
    )

    return [project_cmds, train_cmds, lr_find_cmds, predict, export_cmds, serve_cmds,
            remote_cmds, sweep_cmds, explain_cmds, doctor_cmds]


#: adds subcommands to the parser's subparsers (the app adds ``gui``)
Register = Callable[[argparse._SubParsersAction], None]


def build_parser(extra: Sequence[Register] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerforge",
        description="Design, train and export neural networks. With no command, opens the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in extra:
        register(sub)
    for mod in _modules():
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, extra: Sequence[Register] = ()) -> int:
    """Run ``layerforge ARGV``; return the exit code.

    Never shows a traceback: a :class:`UserError` prints its sentence and exits with its code
    (2 bad input, 1 run-time failure), an OS error or running out of memory prints one
    sentence and exits 1, and anything else is a defect in LayerForge, printed as one
    "internal error" line (the traceback too when ``LAYERFORGE_DEBUG=1``), exit 1.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    try:
        parser = build_parser(extra)
        args = parser.parse_args(argv)  # argparse itself exits 2 with a usage line
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return func(args)
    except UserError as e:
        return _fail(user_message(e), exit_code(e))
    except KeyboardInterrupt:
        print("layerforge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`layerforge ... | head`): nothing to say, and nothing left
        # for the exit to flush (Python would report the broken pipe again)
        _silence_stdout()
        return EXIT_FAILED
    except (OSError, MemoryError) as e:
        # an OS failure no command turned into a sentence (a disk that fills, a folder that
        # turns read-only): "FILE: reason", a run-time failure
        return _fail(user_message(e), EXIT_FAILED)
    except Exception as e:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get(DEBUG_ENV) == "1":
            traceback.print_exc()
        return _fail(f"internal error: {user_message(e)} (please report this; "
                     f"{DEBUG_ENV}=1 shows the details)", EXIT_FAILED)


def _fail(message: str, code: int) -> int:
    # messages may span lines (one per problem) but never carry control characters
    print(f"layerforge: {for_terminal(message, keep_lines=True)}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    if sys.stdout is not None and sys.stdout is sys.__stdout__:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def _tolerant_streams() -> None:
    """Print undecodable names rather than crash on them: a console whose encoding cannot
    show a character (LANG=C, a Windows code page) gets a backslash escape instead."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
