"""Training commands: train, evaluate, sample, worker."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

from engine.cli import UsageError
from engine.project import Project, ProjectError, load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a project; live progress, then a metrics table")
    p.add_argument("file", nargs="?", help="the .lforge project (not needed with --resume)")
    p.add_argument("--epochs", type=int, help="number of epochs (training.epochs)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (training.device)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (default runs/<name>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or killed run "
                   "(a remote run resumes on its host)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. training.lr=0.01 or dataset.val_fraction=0.1")
    p.add_argument("--quiet", action="store_true", help="no live progress line")
    from engine.cli.remote_cmds import add_train_args

    add_train_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a trained run")
    p.add_argument("run_dir")
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("sample", help="text from a language model, an image grid from a GAN "
                       "or autoencoder")
    p.add_argument("run_dir")
    p.add_argument("--prompt", default="def ")
    p.add_argument("--length", type=int, default=300)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="FILE", help="where to write (PNG for images)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("worker", help="(internal) a training worker speaking JSON lines")
    p.set_defaults(func=cmd_worker)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from engine.train.overrides import parse_assignment

    out: dict[str, Any] = dict(parse_assignment(s) for s in args.set)
    if args.epochs is not None:
        out["training.epochs"] = args.epochs
    if args.device is not None:
        out["training.device"] = args.device
    return out


def _absolute_data(project: Project, base: Path) -> None:
    """Dataset paths in a project are relative to the project file."""
    ds = project.dataset
    if ds.path and not Path(ds.path).expanduser().is_absolute():
        ds.path = str((base / ds.path).resolve())


def prepare_job(args: argparse.Namespace) -> tuple[Project, Path, bool]:
    """The project (overrides applied), the run folder and whether to resume."""
    from engine.train.overrides import apply_overrides
    from engine.train.rundir import RunDir

    overrides = _overrides(args)
    if args.resume:
        run = RunDir(args.resume)
        project = run.load_project()
        if not run.checkpoint("last").is_file():
            raise UsageError(f"{run.path}: nothing to resume (no checkpoints/last.safetensors)")
        return apply_overrides(project, overrides), run.path, True
    if not args.file:
        raise UsageError("train: give a project file, or --resume RUN_DIR")
    path = Path(args.file)
    project = apply_overrides(load_project(path), overrides)
    _absolute_data(project, path.resolve().parent)
    from engine.shapes import project_problems

    errors = [str(p) for p in project_problems(project) if p.severity == "error"]
    if errors:
        raise ProjectError("the project has errors:\n" + "\n".join(errors))
    if args.out:
        out = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = path.resolve().parent / "runs" / f"{path.stem}-{stamp}"
    if (out / "project.lforge").exists():
        raise UsageError(f"{out}: already holds a run (use --resume {out} to continue it)")
    return project, out, False


def _fmt_eta(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cmd_train(args: argparse.Namespace) -> int:
    from engine.cli.remote_cmds import is_remote_run, resume_remote, train_remote
    from engine.train.worker_client import WorkerClient

    if args.resume and is_remote_run(args.resume):
        return resume_remote(args)
    if getattr(args, "remote", None):
        return train_remote(args)
    project, run_dir, resume = prepare_job(args)
    if not resume and project.training.device.startswith("remote:"):
        return train_remote(args, project, run_dir)
    live = not args.quiet and sys.stderr.isatty()
    status = 1
    with WorkerClient() as client:
        client.submit(project, run_dir, resume=resume)
        old = signal.signal(signal.SIGINT, lambda *_: client.stop())
        try:
            status = _show(client.events(), live, args.quiet)
        finally:
            signal.signal(signal.SIGINT, old)
    return status


def _show(events, live: bool, quiet: bool) -> int:
    width = 0
    for ev in events:
        t = ev.type
        if t == "progress":
            line = (f"epoch {ev.epoch}  step {ev.step}/{ev.total_steps}  loss {ev.loss:.4f}  "
                    f"{ev.samples_per_s:,.0f} samples/s  ETA {_fmt_eta(ev.eta_s)}")
            if live:
                sys.stderr.write("\r" + line.ljust(width))
                sys.stderr.flush()
                width = len(line)
            continue
        if live and width:
            sys.stderr.write("\r" + " " * width + "\r")
            width = 0
        if t == "run_started":
            print(f"run {ev.run_dir}\n  {ev.dataset}\n  {ev.parameters:,} parameters on "
                  f"{ev.device} ({ev.threads} threads), {ev.total_steps} steps", flush=True)
        elif t == "epoch_ended" and not quiet:
            val = "  ".join(f"val_{k} {v:.4f}" for k, v in ev.val.items()
                            if isinstance(v, float) and k in ("loss", "accuracy", "perplexity", "rmse", "r2", "d_loss", "g_loss"))
            print(f"epoch {ev.epoch}: train_loss {ev.train.get('loss', float('nan')):.4f}  "
                  f"{val}  ({ev.seconds:.1f} s)", flush=True)
        elif t == "sample" and ev.kind == "text" and not quiet:
            print(f"  sample: {ev.text[:160]!r}", flush=True)
        elif t == "warning":
            print(f"warning: {ev.message}", file=sys.stderr, flush=True)
        elif t == "finished":
            print(f"finished {ev.epochs} epochs in {ev.seconds:.1f} s; best epoch {ev.best_epoch} "
                  f"({ev.monitor})")
            _table(ev.metrics)
            return 0
        elif t == "stopped":
            print(f"stopped at epoch {ev.epoch}, step {ev.step}; resume with --resume")
            return 0
        elif t == "failed":
            print(f"layerforge: {ev.message}", file=sys.stderr)
            return 1
    return 1


def _table(metrics: dict[str, Any]) -> None:
    rows = [(k, f"{v:.4f}") for k, v in metrics.items() if isinstance(v, int | float)]
    if not rows:
        return
    w = max(len(k) for k, _ in rows)
    print(f"  {'metric'.ljust(w)}  value")
    for k, v in rows:
        print(f"  {k.ljust(w)}  {v}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.train.inference import evaluate_run, open_run

    loaded = open_run(args.run_dir)
    metrics = evaluate_run(loaded, args.split)
    if args.json:
        print(json.dumps(metrics))
        return 0
    print(f"{loaded.run.path} ({args.split}, {loaded.bundle.describe()})")
    _table(metrics)
    cm = metrics.get("confusion_matrix")
    if cm:
        from engine.tasks.classification import confusion_lines

        print("  confusion matrix (rows: true class, columns: predicted)")
        for line in confusion_lines(cm, metrics.get("classes") or loaded.bundle.classes):
            print("   " + line)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from engine.project import atomic_write_bytes, atomic_write_text
    from engine.tasks import AutoencoderTask, GanTask, LanguageModelTask
    from engine.train.inference import open_run

    loaded = open_run(args.run_dir)
    task = loaded.task
    if isinstance(task, LanguageModelTask):
        if args.length < 1:
            raise UsageError("--length must be at least 1")
        from engine.data import DataError

        try:
            text = task.generate(args.prompt, args.length, args.temperature, args.top_k, args.seed)
        except DataError as e:
            raise UsageError(f"--prompt: {e}") from None
        if args.out:
            atomic_write_text(args.out, text)
        print(text)
        return 0
    if isinstance(task, GanTask):
        png = task.generate_png(64, seed=args.seed)
    elif isinstance(task, AutoencoderTask):
        png = task.reconstruct_png()
    else:
        raise UsageError(f"{args.run_dir}: a {task.kind} model has nothing to sample; "
                         "sampling works for language models, GANs and autoencoders")
    out = Path(args.out) if args.out else loaded.run.samples / "sample.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, png)
    print(f"wrote {out}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from engine.train.worker import main

    return main()
