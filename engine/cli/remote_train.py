"""Training on a remote host from the command line: `train --remote HOST [--gpus N]`, a
project whose device is ``remote:HOST``, `train --resume` of a remote run, and following a
remote run's events (also for `runs attach`), with the host-key question on a terminal."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from engine.cli.remote_slurm import check_train_shape, with_queue_news
from engine.cli.running import overrides, prepare_job, show_events
from engine.errors import UsageError, UserError
from engine.remote.config import LOCAL, RemoteError, RunRecord, find_run, get_host
from engine.terminal import for_terminal


def accept_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accept-new-host-key", action="store_true",
                   help="trust an unknown host key without asking (scripts); a changed key is "
                   "always refused")


def add_train_args(p: argparse.ArgumentParser) -> None:
    """The remote options of `layerforge train`."""
    p.add_argument("--remote", metavar="HOST", help="train on a configured remote host")
    p.add_argument("--gpus", type=int, help="GPUs to use on the host (torchrun DDP; default "
                   "training.gpus, 1); on a Slurm host GPUs (or CPU processes) per node, "
                   "default the host's")
    p.add_argument("--nodes", type=int, help="Slurm hosts: nodes for the job (default the "
                   "host's); torchrun's rendezvous joins them")
    accept_flag(p)


def terminal_confirm(accept_new: bool):
    """The CLI's host-key callback: the flag, else a yes/no question on a terminal."""

    def confirm(host: str, key_type: str, fingerprint: str) -> bool:
        if accept_new:
            print(f"Trusting the new host key of {host}: {key_type} {fingerprint}", file=sys.stderr)
            return True
        if not sys.stdin.isatty():
            print(f"The host key of {host} is unknown ({key_type} {fingerprint}). Not a terminal, "
                  "so not asking: verify the fingerprint and rerun with --accept-new-host-key.",
                  file=sys.stderr)
            return False
        print(f"The authenticity of host {host} can't be established.\n"
              f"{key_type} key fingerprint is {fingerprint}.", file=sys.stderr)
        answer = input("Are you sure you want to trust it and continue connecting (yes/no)? ")
        return answer.strip().lower() in ("yes", "y")

    return confirm


def open_host(name: str, accept_new: bool):
    from engine.remote.ssh import RemoteHost

    return RemoteHost(get_host(name), terminal_confirm(accept_new))


def follow_and_show(host, rec: RunRecord, quiet: bool) -> int:
    """Stream a remote run with the train command's output, Ctrl-C stopping it remotely;
    then download its artifacts."""
    from engine.remote.runs import download_artifacts, follow, send_control

    def on_int(*_: object) -> None:
        print("\nstopping the remote run (it writes a checkpoint)...", file=sys.stderr)
        try:
            send_control(host, rec, "stop")
        except RemoteError as e:
            print(f"layerforge: {e}", file=sys.stderr)

    old = signal.signal(signal.SIGINT, on_int)
    try:
        events = with_queue_news(follow(host, rec), quiet)
        status = show_events(events, not quiet and sys.stderr.isatty(), quiet)
    finally:
        signal.signal(signal.SIGINT, old)
    got = download_artifacts(host, rec)
    print(f"downloaded into {for_terminal(rec.local_dir)}: "
          f"{for_terminal(', '.join(got)) or 'nothing'}", flush=True)
    return status


def train_remote(args: argparse.Namespace, project=None, run_dir=None) -> int:
    """`layerforge train FILE --remote HOST [--gpus N]`, or a project whose
    training.device is ``remote:HOST`` (then ``training.gpus`` unless --gpus is given)."""
    from engine.remote.config import device_host
    from engine.remote.runs import start_run

    if args.resume:
        raise UsageError("--resume takes the local folder of the remote run (it resumes on its "
                         "host); leave out --remote")
    if project is None:
        project, run_dir, _ = prepare_job(args)
    name = args.remote or device_host(project.training.device)
    cfg = get_host(name)
    nodes = getattr(args, "nodes", None)
    check_train_shape(cfg, nodes, args.gpus)
    gpus = args.gpus if args.gpus is not None else project.training.gpus
    if gpus < 1:
        raise UsageError("--gpus must be at least 1")

    with open_host(name, args.accept_new_host_key) as host:
        if cfg.kind == "slurm":  # a batch job: --nodes/--gpus, else the host's settings
            from engine.remote.slurm import submit

            rec = submit(host, project, run_dir, nodes=nodes, gpus=args.gpus,
                         progress=_upload_progress(args), say=lambda s: print(s, flush=True))
        else:
            rec = start_run(host, project, run_dir, gpus=gpus, progress=_upload_progress(args),
                            say=lambda s: print(s, flush=True))
        print(f"remote run {rec.id} started on {rec.host}; re-attach with "
              f"`layerforge runs attach {rec.id}`", flush=True)
        return follow_and_show(host, rec, args.quiet)


def _upload_progress(args: argparse.Namespace):
    def progress(name: str, done: int, total: int) -> None:
        if not args.quiet and sys.stderr.isatty():
            sys.stderr.write(f"\ruploading {name}: {done / max(total, 1):.0%}")
            sys.stderr.flush()

    return progress


def _remote_record(ref: str) -> RunRecord | None:
    """The remote run named by a local run folder (its remote.json) or a run id."""
    from engine.remote.runs import local_record

    if Path(ref).expanduser().is_dir():
        return local_record(Path(ref).expanduser())
    try:
        rec = find_run(ref)
    except UserError:
        return None
    return rec if rec.host != LOCAL else None


def is_remote_run(ref: str) -> bool:
    """Whether ``--resume REF`` names a remote run."""
    return _remote_record(ref) is not None


def resume_remote(args: argparse.Namespace) -> int:
    """`layerforge train --resume RUN_DIR` of a remote run: continue it on its host from its
    last checkpoint, follow it, download its artifacts."""
    from engine.remote.runs import resume_run

    rec = _remote_record(args.resume)
    assert rec is not None
    if args.remote and args.remote != rec.host:
        raise UsageError(f"{rec.id} ran on {rec.host}; it resumes there (leave out --remote)")
    if args.file:
        raise UsageError("--resume continues the run's own project; leave out the project file")
    changes = overrides(args)
    gpus = args.gpus if args.gpus is not None else None
    if gpus is not None and gpus < 1:
        raise UsageError("--gpus must be at least 1")
    nodes = getattr(args, "nodes", None)
    if nodes is not None and not rec.job_id:
        raise UsageError(f"--nodes applies to Slurm runs; {rec.id} ran on an SSH host")
    with open_host(rec.host, args.accept_new_host_key) as host:
        if rec.job_id:  # a Slurm run: a new batch job, on --nodes if given
            from engine.remote.slurm import resubmit

            rec = resubmit(host, rec, gpus=gpus, nodes=nodes, overrides=changes,
                           say=lambda s: print(s, flush=True))
        else:
            rec = resume_run(host, rec, gpus=gpus, overrides=changes,
                             say=lambda s: print(s, flush=True))
        print(f"remote run {rec.id} resumed on {rec.host}", flush=True)
        return follow_and_show(host, rec, args.quiet)
