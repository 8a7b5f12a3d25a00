"""`layerforge` command line. Each module in this package registers its subcommands.

Exit codes: 0 success, 1 failure at run time, 2 bad input (a clear message, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


class UsageError(Exception):
    """Bad input from the user: printed as one message, exit code 2."""


def _modules() -> list:
    from engine.cli import export_cmds, project_cmds, remote_cmds, train_cmds

    return [project_cmds, train_cmds, export_cmds, remote_cmds]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerforge",
        description="Design, train and export neural networks. With no command, opens the app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = sub.add_parser("gui", help="open the app (optionally on a project file)")
    gui.add_argument("file", nargs="?", help="a .lforge project to open")
    gui.set_defaults(func=_cmd_gui)
    for mod in _modules():
        mod.register(sub)
    return parser


def _cmd_gui(args: argparse.Namespace) -> int:
    from app.main import main as app_main

    return app_main([args.file] if args.file else [])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] == "gui" and len(argv) <= 2 and "-h" not in argv and "--help" not in argv):
        # The app paints its window first: skip building the full command tree (pydantic,
        # every command module) on the way to it.
        from app.main import main as app_main

        return app_main(argv[1:])
    from engine.project import ProjectError

    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except (ProjectError, UsageError) as e:
        print(f"layerforge: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("layerforge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
