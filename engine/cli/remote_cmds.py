"""Remote hosts and runs: `remote add/list/test/remove`, `runs list/attach/stop/download`
(training on a host is in remote_train.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli import usage_cmds
from engine.cli.remote_slurm import add_slurm_args, slurm_fields
from engine.cli.remote_train import accept_flag, follow_and_show, open_host
from engine.errors import UsageError
from engine.remote.config import (
    LOCAL,
    HostConfig,
    RemoteError,
    RunRecord,
    find_run,
    load_hosts,
)
from engine.terminal import for_terminal


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
    add_slurm_args(a)
    a.set_defaults(func=cmd_remote_add)
    rs.add_parser("list", help="configured hosts").set_defaults(func=cmd_remote_list)
    t = rs.add_parser("test", help="connect; show Python, torch, CUDA and GPUs")
    t.add_argument("name")
    accept_flag(t)
    t.set_defaults(func=cmd_remote_test)
    r = rs.add_parser("remove", help="forget a host")
    r.add_argument("name")
    r.set_defaults(func=cmd_remote_remove)
    usage_cmds.register_price(rs)

    p = sub.add_parser("runs", help="local and remote runs")
    rs = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    ls = rs.add_parser("list", help="id, host, status, started, project, and what each run "
                       "cost (wall time, GPU- or core-hours, peak memory, cost); totals per project")
    usage_cmds.add_list_args(ls)
    ls.set_defaults(func=cmd_runs_list)
    for name, helptext, func in (("attach", "re-attach and follow a run to its end", cmd_runs_attach),
                                 ("stop", "stop a remote run (it keeps a checkpoint)", cmd_runs_stop),
                                 ("download", "fetch a remote run's artifacts as they are now "
                                  "(also mid-run: last checkpoint, samples, metrics)",
                                  cmd_runs_download)):
        x = rs.add_parser(name, help=helptext)
        x.add_argument("run", help="run id (or a unique prefix) or local run folder")
        accept_flag(x)
        x.add_argument("--quiet", action="store_true")
        x.set_defaults(func=func)


def cmd_remote_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from engine.remote.config import check_host
    from engine.remote.secrets import save_host

    key = str(Path(args.key).expanduser().absolute()) if args.key else None
    if key and not Path(key).is_file():
        raise UsageError(f"--key {args.key}: no such file")
    try:
        cfg = HostConfig(name=args.name, host=args.host, port=args.port, user=args.user,
                         key=key, agent=args.agent, password=args.password,
                         python=args.python, base_dir=args.base_dir, **slurm_fields(args))
    except ValidationError as e:
        err = e.errors()[0]
        field = "--" + "-".join(str(x) for x in err["loc"]).replace("_", "-")
        raise UsageError(f"{field}: {err['msg'].removeprefix('Value error, ')}") from None
    # everything is checked before the password is asked for, and stored last (by
    # save_host): a refused add never touches a stored password
    check_host(cfg, replace=args.replace)
    password = _ask_password(cfg.name) if args.password else None
    # the keyring is touched only for a password (set last), or to forget the password of a
    # replaced password host: key and agent users never load it
    warning = save_host(cfg, password=password, replace=args.replace)
    if password is not None:
        print(f"the password of {for_terminal(cfg.name)} is in the OS keyring", file=sys.stderr)
    if warning:
        print(f"layerforge: {for_terminal(warning)}", file=sys.stderr)
    print(f"added {for_terminal(cfg.name)}: {for_terminal(cfg.describe())}")
    if cfg.kind == "slurm":
        print(f"  {for_terminal(cfg.slurm_summary())}")
    return 0


def _ask_password(name: str) -> str:
    """Ask for the host's password on the terminal (never from a file or an argument)."""
    import getpass

    from engine.remote.secrets import keyring_problem

    problem = keyring_problem()
    if problem:
        raise UsageError(f"--password: {problem}")
    if not sys.stdin.isatty():
        raise UsageError("--password asks for the password on a terminal; run it in one (the "
                         "password is never read from a file or an argument)")
    password = getpass.getpass(f"Password for {name}: ")
    if not password:
        raise UsageError(f"--password: the password of {name} is empty; nothing was saved")
    return password


def cmd_remote_list(args: argparse.Namespace) -> int:
    hosts = load_hosts()
    if not hosts:
        print("no remote hosts; add one with `layerforge remote add NAME --host HOST`")
    for h in hosts.values():
        print(f"{for_terminal(h.name)}\t{for_terminal(h.describe())}")
        if h.kind == "slurm":
            print(f"\t{for_terminal(h.slurm_summary())}")
        elif h.price_per_hour is not None:
            print(f"\t{h.price_per_hour:g} {for_terminal(h.currency)} per hour")
    return 0


def cmd_remote_remove(args: argparse.Namespace) -> int:
    from engine.remote.secrets import forget_host

    warning = forget_host(args.name)  # hosts.json first, then (a password host) the keyring
    if warning:
        print(f"layerforge: {for_terminal(warning)}", file=sys.stderr)
    print(f"removed {for_terminal(args.name)}")
    return 0


def cmd_remote_test(args: argparse.Namespace) -> int:
    try:
        with open_host(args.name, args.accept_new_host_key) as host:
            info = host.probe()
    except RemoteError as e:
        print(f"layerforge: {for_terminal(e)}", file=sys.stderr)
        return 1
    # what the host answers is shown escaped: it must not drive this terminal
    print(f"{args.name}: connected\n  python  {for_terminal(info.python)} "
          f"({for_terminal(info.python_version)})\n"
          f"  torch   {for_terminal(info.torch or 'not installed')}\n"
          f"  CUDA    {'yes' if info.cuda else 'no'}")
    for i, g in enumerate(info.gpus):
        print(f"  GPU {i}   {for_terminal(g)}")
    problem = info.problem(host.cfg.python)
    if problem:
        print(f"layerforge: {for_terminal(problem)}", file=sys.stderr)
        return 1
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    return usage_cmds.list_runs(args, _status)


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


def cmd_runs_attach(args: argparse.Namespace) -> int:
    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; nothing to attach to")
    with open_host(rec.host, args.accept_new_host_key) as host:
        print(f"attached to {for_terminal(rec.id)} on {for_terminal(rec.host)}", flush=True)
        return follow_and_show(host, rec, args.quiet)


def cmd_runs_stop(args: argparse.Namespace) -> int:
    from engine.remote.runs import send_control

    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; stop it where it runs")
    with open_host(rec.host, args.accept_new_host_key) as host:
        send_control(host, rec, "stop")
    print(f"asked {for_terminal(rec.id)} on {for_terminal(rec.host)} to stop")
    return 0


def cmd_runs_download(args: argparse.Namespace) -> int:
    from engine.remote.runs import download_artifacts

    rec = find_run(args.run)
    if rec.host == LOCAL:
        raise UsageError(f"{rec.id} is a local run; its files are in {rec.local_dir}")
    with open_host(rec.host, args.accept_new_host_key) as host:
        got = download_artifacts(host, rec)
    print(f"downloaded into {for_terminal(rec.local_dir)}: "
          f"{for_terminal(', '.join(got)) or 'nothing yet'}")
    return 0


