"""``layerforge sweep``: many runs of one project over search ranges, chosen by Optuna.

One line per trial as it ends (number, state, parameters, value, epochs, seconds), then the
best trials and, with two objectives, the Pareto front; ``--json`` prints one JSON object
instead (the live lines then go to stderr). docs/sweeps.md is the user's page.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.terminal import for_terminal


def register(sub: argparse._SubParsersAction) -> None:
    from engine.sweep.study import PRUNERS, SAMPLERS

    p = sub.add_parser("sweep", help="train many variants of a project over search ranges "
                       "(Optuna); resumable, several coordinators may share one study")
    p.add_argument("file", help="the .lforge project")
    p.add_argument("--trials", type=int, metavar="N",
                   help="trials in the study (default: the project's sweep settings, 20; "
                        "with --resume: as the study was made)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=SPEC",
                   help="a search range, e.g. training.lr=float:1e-4..1e-1:log, "
                        "fc1.out_features=int:16..256:16, act.kind=choice:relu,gelu; adds to "
                        "the project's ranges (or replaces the one of the same key)")
    p.add_argument("--objective", action="append", default=[], metavar="METRIC:max|min",
                   help="what to optimise: a validation metric (default val_accuracy:max for "
                        "classification, else val_loss:min); a second one may be params:min "
                        "or flops:min")
    p.add_argument("--sampler", choices=SAMPLERS,
                   help="tpe (default with one objective), random, grid, nsga2 (default "
                        "with two)")
    p.add_argument("--pruner", choices=PRUNERS,
                   help="median (default with one objective), hyperband, none")
    p.add_argument("--workers", metavar="N|local:N,remote:HOST",
                   help="where trials train, one at a time per lane: N local workers, or "
                        "local:N,remote:HOST[,remote:HOST2] for configured SSH hosts too "
                        "(local:0 trains on the hosts only; default: the project's sweep "
                        "settings, 1 local worker)")
    p.add_argument("--accept-new-host-key", action="store_true",
                   help="trust a remote host's unknown host key without asking (scripts); a "
                        "changed key is always refused")
    p.add_argument("--storage", metavar="URL", help="the study's database, any SQLAlchemy "
                   "URL (default sqlite:///RUNS/sweeps/NAME.db beside the project)")
    p.add_argument("--name", help="the study's name (default: the project's sweep settings, else "
                   "the project file's name)")
    p.add_argument("--seed", type=int, help="the sampler's seed (default: the project's "
                   "sweep settings, 0)")
    p.add_argument("--epochs", type=int, help="epochs of every trial (training.epochs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed setting for every trial, e.g. dataset.samples=2000")
    p.add_argument("--resume", action="store_true", help="continue the study: trials a "
                   "killed sweep left running resume from their checkpoints")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from engine.sweep.coordinator import TrialEnded, TrialStarted

    coordinator, project_name = _coordinator(args)
    config = coordinator.config
    out = sys.stderr if args.json else sys.stdout
    first = config.objectives[0].metric
    lanes = f"{config.workers} worker{'s' * (config.workers != 1)}"
    if config.hosts:
        lanes = (f"{config.workers} local worker{'s' * (config.workers != 1)} and remote "
                 + ", ".join(config.hosts))
    print(for_terminal(f"sweep {config.name} of {project_name}: {config.trials} trials, "
                       f"{config.sampler} sampler, {config.pruner} pruner, {lanes}"),
          file=out, flush=True)
    if config.hosts:
        from engine.cli.remote_train import terminal_confirm

        coordinator.confirm_host_key = terminal_confirm(args.accept_new_host_key)

    def listen(ev: Any) -> None:
        if isinstance(ev, TrialStarted) and ev.resumed:
            print(for_terminal(f"trial {ev.number}: resuming {ev.run_dir} from its checkpoint"
                               + (f" on {ev.lane}" if ev.lane else "")), file=out, flush=True)
        elif isinstance(ev, TrialStarted) and config.hosts:
            print(for_terminal(f"trial {ev.number}: started on {ev.lane}"), file=out,
                  flush=True)
        elif isinstance(ev, TrialEnded):
            print(_line(ev.record, first), file=out, flush=True)

    coordinator.listener = listen
    interrupted: list[bool] = []

    def on_interrupt(*_: Any) -> None:
        interrupted.append(True)
        coordinator.stop()

    old = signal.signal(signal.SIGINT, on_interrupt)
    try:
        records = coordinator.run()
    finally:
        signal.signal(signal.SIGINT, old)
    for why in coordinator.skipped:
        print(f"note: {for_terminal(why)}", file=sys.stderr)
    summary = _summary(coordinator, records)
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False, default=str))
    else:
        _print_summary(summary, coordinator)
    if interrupted:
        print("layerforge: sweep interrupted; continue it with --resume", file=sys.stderr)
        return 130
    return 0


def _coordinator(args: argparse.Namespace) -> tuple[Any, str]:
    """Load the project and build its sweep: the project's sweep settings (docs/sweeps.md),
    each overridden by a flag that is given; with ``--resume``, what the study was made with."""
    from engine.project import load_project
    from engine.sweep.config import coordinator_from_project, parse_workers
    from engine.train.overrides import apply_overrides, parse_assignment

    path = Path(args.file)
    changes: dict[str, Any] = dict(parse_assignment(s) for s in args.set)
    if args.epochs is not None:
        changes["training.epochs"] = args.epochs
    project = apply_overrides(load_project(path), changes)
    if args.trials is not None and not 1 <= args.trials <= 100_000:
        raise UsageError("--trials: give 1 to 100,000")
    workers, hosts = parse_workers(args.workers) if args.workers is not None else (None, [])
    if workers is not None and not (0 if hosts else 1) <= workers <= 64:
        raise UsageError(f"--workers {args.workers}: use 1 to 64 local workers (0 only with "
                         "a remote host: local:0,remote:HOST)")
    coordinator = coordinator_from_project(
        project, path, params=args.param, objectives=args.objective, trials=args.trials,
        sampler=args.sampler, pruner=args.pruner, workers=workers, hosts=hosts or None,
        seed=args.seed, name=args.name, storage=args.storage, resume=args.resume)
    return coordinator, path.name


def _line(r: Any, first: str) -> str:
    params = "  ".join(f"{k}={_fmt(v)}" for k, v in r.params.items())
    value = r.values.get(first)
    shown = f"{first} {value:.4f}" if value is not None else ""
    lane = f"on {r.lane:<8}  " if r.lane else ""
    text = (f"trial {r.number:>3}  {r.state:<10}  {lane}{params}  {shown}  {r.epochs} epochs  "
            f"{r.seconds:.1f} s")
    if r.message and r.state not in ("complete",):
        text += f"  ({r.message})"
    return for_terminal(text)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _summary(coordinator: Any, records: list[Any]) -> dict[str, Any]:
    from engine.sweep.results import best, pareto
    from engine.sweep.study import _safe_url

    c = coordinator.config
    counts: dict[str, int] = {}
    for r in records:
        counts[r.state] = counts.get(r.state, 0) + 1
    summary: dict[str, Any] = {
        "study": c.name, "storage": _safe_url(c.storage), "trials": c.trials,
        "objectives": [o.text() for o in c.objectives], "sampler": c.sampler,
        "pruner": c.pruner, "seed": c.seed, "workers": c.workers, "hosts": list(c.hosts),
        "counts": counts,
        "results": [r.to_dict() for r in records],
        "best": [r.to_dict() for r in best(records, c.objectives)],
    }
    if len(c.objectives) > 1:
        summary["pareto"] = [r.to_dict() for r in pareto(records, c.objectives)]
    return summary


def _print_summary(summary: dict[str, Any], coordinator: Any) -> None:
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary["counts"].items()))
    print(f"\n{sum(summary['counts'].values())} trials: {counts or 'none'}")
    metrics = [o.metric for o in coordinator.config.objectives]
    for title, key in (("best trials", "best"), ("Pareto front", "pareto")):
        rows = summary.get(key)
        if rows is None:
            continue
        print(f"{title}:" if rows else f"{title}: none (no trial completed)")
        for r in rows:
            values = "  ".join(f"{m} {r['values'][m]:.4g}" for m in metrics
                               if r["values"].get(m) is not None)
            params = "  ".join(f"{k}={_fmt(v)}" for k, v in r["params"].items())
            lane = f"on {r['lane']}  " if r.get("lane") else ""
            print(for_terminal(f"  trial {r['number']:>3}  {values}  {params}  {lane}"
                               f"{r['run_dir']}"))
