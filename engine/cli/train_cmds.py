"""Training commands: train, evaluate, sample, worker."""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from engine.cli.running import prepare_job, show_events
from engine.errors import UsageError
from engine.project import ProjectError
from engine.terminal import for_terminal


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
    p.add_argument("--init-from", metavar="PATH", help="start from the weights of a run folder "
                   "or a .safetensors file: blocks matching by id and shape take them "
                   "(training.init_from)")
    from engine.cli.remote_train import add_train_args

    add_train_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a trained run")
    p.add_argument("run_dir")
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--beam", type=int, metavar="N",
                   help="seq2seq and speech runs: decode with a beam of N (default: the "
                        "task's beam_width; 1 is greedy)")
    from engine.cli.evaluation import add_group_args

    add_group_args(p)
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


def cmd_train(args: argparse.Namespace) -> int:
    from engine.cli.remote_train import is_remote_run, resume_remote, train_remote
    from engine.train.worker_client import WorkerClient

    init = getattr(args, "init_from", None)
    if init and args.resume:
        raise UsageError("--init-from starts a new run from other weights; a resumed run "
                         "continues from its own checkpoint: leave out one of the two")
    if args.resume and is_remote_run(args.resume):
        return resume_remote(args)
    project, run_dir, resume = prepare_job(args)
    if not resume:
        # the starting weights are read here, also for a remote run (they are uploaded)
        check_finetune(project, args.file, init)
    if getattr(args, "remote", None) or (
            not resume and project.training.device.startswith("remote:")):
        return train_remote(args, project, run_dir)
    live = not args.quiet and sys.stderr.isatty()
    status = 1
    with WorkerClient() as client:
        client.submit(project, run_dir, resume=resume)
        old = signal.signal(signal.SIGINT, lambda *_: client.stop())
        try:
            status = show_events(with_finetune_lines(client.events(), args.quiet), live,
                                 args.quiet)
        finally:
            signal.signal(signal.SIGINT, old)
    return status


def check_finetune(project, project_file: str | None, init: str | None) -> None:
    """Before anything starts: ``--init-from`` (relative to the working folder), the
    project's ``training.init_from`` and its backbones' local weight files (relative to the
    project file) made absolute, the init file checked to be a readable weights source,
    and the fine-tuning settings checked (blocks to unfreeze that do not exist are an
    error, naming them)."""
    from engine.terminal import problem_line
    from engine.train.freeze import finetune_problems
    from engine.train.init import init_file

    base = Path(project_file).resolve().parent if project_file else Path.cwd()

    def absolute(text: str) -> str:
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else base / path)

    if init:
        project.training.init_from = str(Path(init).expanduser().resolve())
    elif project.training.init_from:
        project.training.init_from = absolute(project.training.init_from)
    for graph in project.graphs.values():  # a backbone's local weights file, as for data
        ref = graph.weights
        if ref is not None and not ref.source.startswith("hf:"):
            ref.source = absolute(ref.source)
    if project.training.init_from:
        init_file(project.training.init_from)
    errors = [problem_line(p) for p in finetune_problems(project) if p.severity == "error"]
    if errors:
        raise ProjectError("the fine-tuning settings have errors, so nothing was started:\n"
                           + "\n".join(errors))


def with_finetune_lines(events, quiet: bool):
    """Pass ``events`` on, printing the initialisation reports and the start of phase 2."""
    from engine.train.events import Unfrozen, WeightsLoaded

    for ev in events:
        if isinstance(ev, WeightsLoaded):
            print(f"  {for_terminal(ev.summary())}", flush=True)
            if not quiet:
                for line in ev.skipped_keys[:10]:
                    print(f"    skipped {for_terminal(line)}", flush=True)
        elif isinstance(ev, Unfrozen):
            print(f"epoch {ev.epoch}: unfroze {for_terminal(', '.join(ev.blocks)) or 'nothing'}"
                  f" ({ev.trainable_parameters:,} trainable parameters now)", flush=True)
        yield ev


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.cli.evaluation import cmd_evaluate as evaluate

    return evaluate(args)


def cmd_sample(args: argparse.Namespace) -> int:
    from engine.project import atomic_write_text
    from engine.tasks import AutoencoderTask, GanTask, LanguageModelTask
    from engine.train.inference import open_run

    _check_sample_args(args)
    loaded = open_run(args.run_dir)
    task = loaded.task
    if isinstance(task, LanguageModelTask):
        from engine.data import DataError

        try:
            text = task.generate(args.prompt, args.length, args.temperature, args.top_k, args.seed)
        except DataError as e:
            raise UsageError(f"--prompt: {e}") from None
        if args.out:
            atomic_write_text(args.out, text)  # the file gets the model's text as it is
        # the vocabulary comes from a text file: lines and tabs are the text's own, any other
        # control character (an escape sequence learned from the corpus) is shown escaped
        print(for_terminal(text, keep_lines=True))
        return 0
    if isinstance(task, GanTask):
        png = task.generate_png(64, seed=args.seed)
    elif isinstance(task, AutoencoderTask):
        png = task.reconstruct_png()
    else:
        raise UsageError(f"{args.run_dir}: a {task.kind} model has nothing to sample; "
                         "sampling works for language models, GANs and autoencoders")
    out = Path(args.out) if args.out else loaded.run.samples / "sample.png"
    _write_with_folders(out, png)
    print(f"wrote {for_terminal(out)}")
    return 0


def _write_with_folders(out: Path, data: bytes) -> None:
    """Write ``out`` atomically, making its missing folders; if the write fails, the
    folders made for it are removed again (nothing is left behind)."""
    from engine.project import atomic_write_bytes

    made: list[Path] = []
    try:
        missing = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            made.append(folder)
        atomic_write_bytes(out, data)
    except BaseException as e:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                break
        if isinstance(e, OSError):
            from engine.errors import os_reason

            raise ProjectError(f"cannot write {out}: {os_reason(e)}") from None
        raise


MAX_SAMPLE_LENGTH = 100_000  # characters; each one is a forward pass
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0  # outside: logits / T overflow or all alike


def _check_sample_args(args: argparse.Namespace) -> None:
    """Refuse values sampling cannot use, before anything is loaded."""
    from engine.project import SEED_MAX, SEED_MIN

    t = args.temperature
    if not math.isfinite(t) or (t != 0 and not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE):
        raise UsageError(f"--temperature {t}: use 0 (always the likeliest character) or a "
                         f"number from {MIN_TEMPERATURE} to {MAX_TEMPERATURE:g}")
    if args.top_k < 0:
        raise UsageError(f"--top-k {args.top_k}: use 0 (all characters) or a positive number")
    if not 1 <= args.length <= MAX_SAMPLE_LENGTH:
        raise UsageError(f"--length {args.length}: use 1 to {MAX_SAMPLE_LENGTH:,} characters")
    if not SEED_MIN <= args.seed <= SEED_MAX:
        raise UsageError(f"--seed {args.seed}: use a whole number from {SEED_MIN} to {SEED_MAX}")


def cmd_worker(args: argparse.Namespace) -> int:
    from engine.train.worker import main

    return main()
