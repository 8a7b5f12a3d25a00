"""What running a training from the command line shares: the job a `train` command asks for
(project, overrides, run folder) and the live output of its events, local or remote."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.project import Project, load_project
from engine.terminal import for_terminal
from engine.train.events import (
    EpochEnded,
    Event,
    Failed,
    Finished,
    Privacy,
    Progress,
    RunStarted,
    Sample,
    Status,
    Stopped,
    Warning,
)
from engine.train.prepare import absolute_data, refuse_untrainable

#: the validation figures shown at each epoch's end
SHOWN = ("loss", "accuracy", "perplexity", "rmse", "r2", "d_loss", "g_loss")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    from engine.train.overrides import parse_assignment

    out: dict[str, Any] = dict(parse_assignment(s) for s in args.set)
    if args.epochs is not None:
        out["training.epochs"] = args.epochs
    if args.device is not None:
        out["training.device"] = args.device
    return out


def prepare_job(args: argparse.Namespace) -> tuple[Project, Path, bool]:
    """The project (overrides applied), the run folder and whether to resume."""
    from engine.train.overrides import apply_overrides
    from engine.train.rundir import RunDir

    changes = overrides(args)
    if args.resume:
        run = RunDir(args.resume)
        project = run.load_project()
        if not run.checkpoint("last").is_file():
            raise UsageError(f"{run.path}: nothing to resume (no checkpoints/last.safetensors)")
        return apply_overrides(project, changes), run.path, True
    if not args.file:
        raise UsageError("train: give a project file, or --resume RUN_DIR")
    path = Path(args.file)
    project = apply_overrides(load_project(path), changes)
    absolute_data(project, path.resolve().parent)
    refuse_untrainable(project)
    if args.out:
        out = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = path.resolve().parent / "runs" / f"{path.stem}-{stamp}"
    if (out / "project.lforge").exists():
        raise UsageError(f"{out}: already holds a run (use --resume {out} to continue it)")
    return project, out, False


def fmt_eta(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def show_events(events: Iterable[Event], live: bool, quiet: bool) -> int:
    """Print a run's events as they come (a live progress line on a terminal); the exit
    status its end means: 0 finished or stopped, 1 failed or cut short."""
    width = 0
    for ev in events:
        if isinstance(ev, Progress):
            line = (f"epoch {ev.epoch}  step {ev.step}/{ev.total_steps}  loss {ev.loss:.4f}  "
                    f"{ev.samples_per_s:,.0f} samples/s  ETA {fmt_eta(ev.eta_s)}")
            if live:
                sys.stderr.write("\r" + line.ljust(width))
                sys.stderr.flush()
                width = len(line)
            continue
        if live and width:
            sys.stderr.write("\r" + " " * width + "\r")
            width = 0
        match ev:
            case RunStarted():
                t = ev.trainable_parameters
                count = (f"{ev.parameters:,} parameters" if t is None or t == ev.parameters
                         else f"{t:,} trainable of {ev.parameters:,} parameters")
                # the events may come from a remote host: what they carry is shown escaped
                print(f"run {for_terminal(ev.run_dir)}\n  {for_terminal(ev.dataset)}\n  "
                      f"{count} on {for_terminal(ev.device)} ({ev.threads} "
                      f"threads), {ev.total_steps} steps", flush=True)
            case EpochEnded() if not quiet:
                val = "  ".join(f"val_{k} {v:.4f}" for k, v in ev.val.items()
                                if isinstance(v, float) and k in SHOWN)
                print(f"epoch {ev.epoch}: train_loss {ev.train.get('loss', float('nan')):.4f}  "
                      f"{val}  ({ev.seconds:.1f} s)", flush=True)
            case Privacy() if not quiet:
                print(f"  privacy: epsilon {ev.epsilon:.3f} of {ev.target:g} spent (delta "
                      f"{ev.delta:.2g}, noise {ev.noise:.3f})", flush=True)
            case Sample(kind="text") if not quiet:
                print(f"  sample: {ev.text[:160]!r}", flush=True)
            case Warning():
                print(f"warning: {for_terminal(ev.message, keep_lines=True)}", file=sys.stderr,
                      flush=True)
            case Status(state="reconnecting" | "connected" | "loading") if not quiet:
                print(for_terminal(ev.text), file=sys.stderr, flush=True)
            case Finished():
                print(f"finished {ev.epochs} epochs in {ev.seconds:.1f} s; best epoch "
                      f"{ev.best_epoch} ({for_terminal(ev.monitor)})")
                metrics_table(ev.metrics)
                return 0
            case Stopped():
                print(f"stopped at epoch {ev.epoch}, step {ev.step}; resume with --resume")
                return 0
            case Failed():
                print(f"layerforge: {for_terminal(ev.message, keep_lines=True)}",
                      file=sys.stderr)
                return 1
    return 1


def metrics_table(metrics: dict[str, Any]) -> None:
    rows = [(k, f"{v:.4f}") for k, v in metrics.items() if isinstance(v, int | float)]
    if not rows:
        return
    rows = [(for_terminal(k), v) for k, v in rows]
    w = max(len(k) for k, _ in rows)
    print(f"  {'metric'.ljust(w)}  value")
    for k, v in rows:
        print(f"  {k.ljust(w)}  {v}")
