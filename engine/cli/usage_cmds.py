"""What runs cost on the command line: `runs list` with usage columns and a total per
project, and `remote price NAME [PRICE]` (this machine is ``local``). See docs/cost.md."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from engine.errors import UsageError, UserError
from engine.remote.config import LOCAL, RunRecord, load_hosts, load_runs, save_hosts
from engine.terminal import for_terminal
from engine.train.usage import (
    Usage,
    check_currency,
    check_price,
    describe_total,
    fmt_compute,
    fmt_cost,
    fmt_memory,
    fmt_wall,
    local_price,
    project_total,
    read_usage,
    set_local_price,
)

HEADER = ("id", "host", "status", "started", "project", "wall", "compute", "peak mem", "cost")


# --- runs list ------------------------------------------------------------------------------
def add_list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("folders", nargs="*", metavar="FOLDER",
                   help="also list these run folders, or the run folders inside them (a "
                        "project's runs/ folder): local runs are not in the runs index")


def list_runs(args: argparse.Namespace, status: Callable[[RunRecord], str]) -> int:
    """Print the runs index (and the runs in ``args.folders``) with what each cost, then a
    total per project; ``status`` gives a run's status (see remote_cmds)."""
    runs = load_runs()
    known = {Path(r.local_dir).absolute() for r in runs}
    for folder in getattr(args, "folders", None) or []:
        for path in run_folders(Path(folder).expanduser()):
            if path.absolute() not in known:
                known.add(path.absolute())
                runs.append(folder_record(path))
    if not runs:
        print("no runs recorded yet")
        return 0
    for line in runs_table(runs, status):
        print(line)
    return 0


def run_folders(folder: Path) -> list[Path]:
    """``folder`` itself when it is a run folder, else the run folders inside it."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    if _is_run(folder):
        return [folder]
    found = sorted(p for p in folder.iterdir() if p.is_dir() and _is_run(p))
    if not found:
        raise UsageError(f"{folder}: neither a run folder nor a folder of runs (no "
                         "project.lforge or remote.json in it or in its subfolders)")
    return found


def _is_run(path: Path) -> bool:
    return (path / "project.lforge").is_file() or (path / "remote.json").is_file()


def folder_record(path: Path) -> RunRecord:
    """A run folder as a runs-index entry: a remote run's own remote.json, else a local run
    named after its folder, its project's name read from the snapshot."""
    from engine.remote.runs import local_record

    try:
        rec = local_record(path)
    except UserError:  # an unreadable remote.json: list the folder as it is
        rec = None
    if rec is not None:
        return rec
    try:
        name = str(json.loads((path / "project.lforge").read_text(encoding="utf-8")).get("name", ""))
    except (OSError, ValueError, AttributeError):
        name = ""
    return RunRecord(id=path.name, host=LOCAL, local_dir=str(path.absolute()), project=name,
                     status="unknown")


def usage_cells(u: Usage | None) -> tuple[str, str, str, str]:
    """The wall, compute, peak memory and cost cells of a run ("" when not recorded)."""
    if u is None:
        return "", "", "", ""
    cost = fmt_cost(u.cost, u.currency) if u.cost is not None else "no price"
    return fmt_wall(u.wall_s), fmt_compute(u), fmt_memory(u.peak_memory_mb), cost


def runs_table(runs: list[RunRecord], status: Callable[[RunRecord], str]) -> list[str]:
    """The table's lines, then one total line per project (runs without a usage record,
    e.g. a remote run not downloaded yet, show empty cells and are not in the totals)."""
    usages = [read_usage(r.local_dir) for r in runs]
    rows = [tuple(for_terminal(x) for x in (r.id, r.host, status(r), r.started, r.project,
                                            *usage_cells(u)))
            for r, u in zip(runs, usages, strict=True)]
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
             for row in [HEADER, *rows]]
    by_project: dict[str, list[Usage | None]] = {}
    for r, u in zip(runs, usages, strict=True):
        by_project.setdefault(r.project, []).append(u)
    lines.append("")
    for project, group in sorted(by_project.items()):
        label = for_terminal(project) or "(unnamed project)"
        lines.append(f"total {label}: {describe_total(project_total(group))}")
    return lines


# --- prices -------------------------------------------------------------------------------
def register_price(rs: argparse._SubParsersAction) -> None:
    """`remote price NAME [PRICE] [--currency C] [--clear]`."""
    p = rs.add_parser("price", help="show or set what an hour of a host costs (`local`: this "
                      "machine); each run's cost is its wall hours x this price")
    p.add_argument("name", help="a configured host, or `local` for this machine")
    p.add_argument("price", nargs="?", type=float, help="price per hour (Slurm: per node-hour)")
    p.add_argument("--currency", help="currency code (default: the one set before, else USD)")
    p.add_argument("--clear", action="store_true", help="forget the price")
    p.set_defaults(func=cmd_remote_price)


def cmd_remote_price(args: argparse.Namespace) -> int:
    if args.clear and args.price is not None:
        raise UsageError("remote price: give a price or --clear, not both")
    setting = args.clear or args.price is not None
    per_hour = None if args.clear or args.price is None else check_price(args.price)
    if args.name.lower() == LOCAL:
        old, old_currency = local_price()
        currency = check_currency(args.currency or old_currency)
        if setting:
            set_local_price(per_hour, currency)
        else:
            per_hour = old
        print(f"local: {_price_words(per_hour, currency)}")
        return 0
    hosts = load_hosts()
    if args.name not in hosts:
        known = ", ".join(sorted(hosts)) or "none yet"
        raise UsageError(f"no remote host named {args.name!r} (configured: {known}; `local` "
                         "is this machine)")
    host = hosts[args.name]
    currency = check_currency(args.currency or host.currency or "USD")
    if setting:
        host = host.model_copy(update={"price_per_hour": per_hour, "currency": currency})
        hosts[host.name] = host
        save_hosts(hosts)
    per = " per node" if host.kind == "slurm" else ""
    print(f"{for_terminal(host.name)}: {_price_words(host.price_per_hour, host.currency)}{per}")
    return 0


def _price_words(per_hour: float | None, currency: str) -> str:
    if per_hour is None:
        return "no price set (runs record their usage, not a cost)"
    return f"{per_hour:g} {for_terminal(currency)} per hour"
