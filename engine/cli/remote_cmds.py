"""Remote hosts and runs: `remote add/list/test/remove`, `runs list/attach/stop`, and the
`train --remote HOST [--gpus N]` path."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from engine.cli import UsageError
from engine.project import ProjectError
from engine.remote.config import (
    LOCAL,
    HostConfig,
    RemoteError,
    RunRecord,
    add_host,
    find_run,
    get_host,
    load_hosts,
    load_runs,
    remove_host,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("remote", help="remote GPU hosts reached over SSH")
    rs = p.add_subparsers(dest="remote_command", metavar="ACTION", required=True)
    a = rs.add_parser("add", help="add a host (key file, SSH agent, or a password in the OS keyring)")
    a.add_argument("name")
    a.add_argument("--host", required=True, help="host name, address or ~/.ssh/config alias")
    a.add_argument("--port", type=int)
    a.add_argument("--user")
    auth = a.add_mutually_exclusive_group()
    auth.add_argument("--key", metavar="FILE", help="private key file (unencrypted, or use --agent)")
    auth.add_argument("--agent", action="store_true", help="authenticate with the SSH agent")
    auth.add_argument("--password", action="store_true",
                      help="log in with a password, asked now and kept in the OS keyring")
    a.add_argument("--python", default="python3", help="Python with torch on the host")
    a.add_argument("--base-dir", default="~/.layerforge", help="where runs live on the host")
    a.add_argument("--replace", action="store_true", help="overwrite a host of that name")
    a.set_defaults(func=cmd_remote_add)
    rs.add_parser("list", help="configured hosts").set_defaults(func=cmd_remote_list)
    t = rs.add_parser("test", help="connect; show Python, torch, CUDA and GPUs")
    t.add_argument("name")
    _accept_flag(t)
    t.set_defaults(func=cmd_remote_test)
    r = rs.add_parser("remove", help="forget a host")
    r.add_argument("name")
    r.set_defaults(func=cmd_remote_remove)

    p = sub.add_parser("runs", help="local and remote runs")
    rs = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    rs.add_parser("list", help="id, host, status, started, project").set_defaults(func=cmd_runs_list)
    for name, helptext, func in (("attach", "re-attach and follow a run to its end", cmd_runs_attach),
                                 ("stop", "stop a remote run (it keeps a checkpoint)", cmd_runs_stop),
                                 ("download", "fetch a remote run's artifacts as they are now "
                                  "(also mid-run: last checkpoint, samples, metrics)",
                                  cmd_runs_download)):
        x = rs.add_parser(name, help=helptext)
        x.add_argument("run", help="run id (or a unique prefix) or local run folder")
        _accept_flag(x)
        x.add_argument("--quiet", action="store_true")
        x.set_defaults(func=func)


def _accept_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accept-new-host-key", action="store_true",
                   help="trust an unknown host key without asking (scripts); a changed key is "
                   "always refused")


def add_train_args(p: argparse.ArgumentParser) -> None:
    """The remote options of `layerforge train`."""
    p.add_argument("--remote", metavar="HOST", help="train on a configured remote host")
    p.add_argument("--gpus", type=int, help="GPUs to use on the host (torchrun DDP; default "
                   "training.gpus, 1)")
    _accept_flag(p)


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


def _host(name: str, accept_new: bool):
    from engine.remote.ssh import RemoteHost

    return RemoteHost(get_host(name), terminal_confirm(accept_new))


def cmd_remote_add(args: argparse.Namespace) -> int:
    key = str(Path(args.key).expanduser().absolute()) if args.key else None
    if key and not Path(key).is_file():
        raise UsageError(f"--key {args.key}: no such file")
    cfg = HostConfig(name=args.name, host=args.host, port=args.port, user=args.user, key=key,
                     agent=args.agent, password=args.password, python=args.python,
                     base_dir=args.base_dir)
    if args.password:
        _store_password(cfg.name)
    add_host(cfg, replace=args.replace)
    print(f"added {cfg.name}: {cfg.describe()}")
    return 0


def _store_password(name: str) -> None:
    """Ask for the host's password on the terminal and put it in the OS keyring."""
    import getpass

    from engine.remote.secrets import keyring_problem, set_password

    problem = keyring_problem()
    if problem:
        raise UsageError(f"--password: {problem}")
    if not sys.stdin.isatty():
        raise UsageError("--password asks for the password on a terminal; run it in one (the "
                         "password is never read from a file or an argument)")
    password = getpass.getpass(f"Password for {name}: ")
    set_password(name, password)
    print(f"the password of {name} is in the OS keyring", file=sys.stderr)


def cmd_remote_list(args: argparse.Namespace) -> int:
    hosts = load_hosts()
    if not hosts:
        print("no remote hosts; add one with `layerforge remote add NAME --host HOST`")
    for h in hosts.values():
        print(f"{h.name}\t{h.describe()}")
    return 0


def cmd_remote_remove(args: argparse.Namespace) -> int:
    if get_host(args.name).password:
        from engine.remote.secrets import delete_password

        try:
            delete_password(args.name)
        except RemoteError as e:
            print(f"layerforge: {e}", file=sys.stderr)
    remove_host(args.name)
    print(f"removed {args.name}")
    return 0


def cmd_remote_test(args: argparse.Namespace) -> int:
    try:
        with _host(args.name, args.accept_new_host_key) as host:
            info = host.probe()
    except RemoteError as e:
        print(f"layerforge: {e}", file=sys.stderr)
        return 1
    print(f"{args.name}: connected\n  python  {info.python} ({info.python_version})\n"
          f"  torch   {info.torch or 'not installed'}\n  CUDA    {'yes' if info.cuda else 'no'}")
    for i, g in enumerate(info.gpus):
        print(f"  GPU {i}   {g}")
    problem = info.problem(host.cfg.python)
    if problem:
        print(f"layerforge: {problem}", file=sys.stderr)
        return 1
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    runs = load_runs()
    if not runs:
        print("no runs recorded yet")
        return 0
    rows = [(r.id, r.host, _status(r), r.started, r.project) for r in runs]
    widths = [max(len(str(x)) for x in col) for col in zip(("id", "host", "status", "started", "project"), *rows, strict=False)]
    for row in [("id", "host", "status", "started", "project"), *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip())
    return 0


def _status(r: RunRecord) -> str:
    """The index status; a local run's status comes from its own events.jsonl."""
    if r.host != LOCAL:
        return r.status
    events = Path(r.local_dir) / "events.jsonl"
    last = ""
    if events.is_file():
        for line in events.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                last = json.loads(line).get("type", last)
            except ValueError:
                continue
    return last if last in ("finished", "stopped", "failed") else ("running" if last else "unknown")


def follow_and_show(host, rec: RunRecord, quiet: bool) -> int:
    """Stream a remote run with the train command's output, Ctrl-C stopping it remotely;
    then download its artifacts."""
    from engine.cli.train_cmds import _show
    from engine.remote.runs import download_artifacts, follow, send_control

    def on_int(*_: object) -> None:
        print("\nstopping the remote run (it writes a checkpoint)...", file=sys.stderr)
        try:
            send_control(host, rec, "stop")
        except RemoteError as e:
            print(f"layerforge: {e}", file=sys.stderr)

    old = signal.signal(signal.SIGINT, on_int)
    try:
        status = _show(follow(host, rec), not quiet and sys.stderr.isatty(), quiet)
    finally:
        signal.signal(signal.SIGINT, old)
    got = download_artifacts(host, rec)
    print(f"downloaded into {rec.local_dir}: {', '.join(got) or 'nothing'}", flush=True)
    return status


def cmd_runs_attach(args: argparse.Namespace) -> int:
    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; nothing to attach to")
    with _host(rec.host, args.accept_new_host_key) as host:
        print(f"attached to {rec.id} on {rec.host}", flush=True)
        return follow_and_show(host, rec, args.quiet)


def cmd_runs_stop(args: argparse.Namespace) -> int:
    from engine.remote.runs import send_control

    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; stop it where it runs")
    with _host(rec.host, args.accept_new_host_key) as host:
        send_control(host, rec, "stop")
    print(f"asked {rec.id} on {rec.host} to stop")
    return 0


def cmd_runs_download(args: argparse.Namespace) -> int:
    from engine.remote.runs import download_artifacts

    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; its files are in {rec.local_dir}")
    with _host(rec.host, args.accept_new_host_key) as host:
        got = download_artifacts(host, rec)
    print(f"downloaded into {rec.local_dir}: {', '.join(got) or 'nothing yet'}")
    return 0


def train_remote(args: argparse.Namespace, project=None, run_dir=None) -> int:
    """`layerforge train FILE --remote HOST [--gpus N]`, or a project whose
    training.device is ``remote:HOST`` (then ``training.gpus`` unless --gpus is given)."""
    from engine.cli.train_cmds import prepare_job
    from engine.remote.config import device_host
    from engine.remote.runs import start_run

    if args.resume:
        raise UsageError("--resume takes the local folder of the remote run (it resumes on its "
                         "host); leave out --remote")
    if project is None:
        project, run_dir, _ = prepare_job(args)
    name = args.remote or device_host(project.training.device)
    gpus = args.gpus if args.gpus is not None else project.training.gpus
    if gpus < 1:
        raise UsageError("--gpus must be at least 1")

    with _host(name, args.accept_new_host_key) as host:
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
    except ProjectError:
        return None
    return rec if rec.host != LOCAL else None


def is_remote_run(ref: str) -> bool:
    """Whether ``--resume REF`` names a remote run."""
    return _remote_record(ref) is not None


def resume_remote(args: argparse.Namespace) -> int:
    """`layerforge train --resume RUN_DIR` of a remote run: continue it on its host from its
    last checkpoint, follow it, download its artifacts."""
    from engine.cli.train_cmds import _overrides
    from engine.remote.runs import resume_run

    rec = _remote_record(args.resume)
    assert rec is not None
    if args.remote and args.remote != rec.host:
        raise UsageError(f"{rec.id} ran on {rec.host}; it resumes there (leave out --remote)")
    if args.file:
        raise UsageError("--resume continues the run's own project; leave out the project file")
    overrides = _overrides(args)
    gpus = args.gpus if args.gpus is not None else None
    if gpus is not None and gpus < 1:
        raise UsageError("--gpus must be at least 1")
    with _host(rec.host, args.accept_new_host_key) as host:
        rec = resume_run(host, rec, gpus=gpus, overrides=overrides,
                         say=lambda s: print(s, flush=True))
        print(f"remote run {rec.id} resumed on {rec.host}", flush=True)
        return follow_and_show(host, rec, args.quiet)
