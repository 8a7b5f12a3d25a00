"""The Slurm options of `layerforge remote add` (a cluster's login node as a host) and the
words the CLI prints about a cluster host and a queued job. See docs/slurm.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from engine.errors import UsageError
from engine.remote.config import HostConfig
from engine.terminal import for_terminal
from engine.train.events import Event, Status

#: the HostConfig fields these options set, by option name
FIELDS = ("kind", "partition", "account", "time_limit", "nodes", "gpus_per_node",
          "price_per_hour", "currency")


def add_slurm_args(a: argparse.ArgumentParser) -> None:
    """`remote add ... --kind slurm --partition P [--account A --time-limit T --nodes N
    --gpus-per-node G] [--price-per-hour X --currency C]`."""
    a.add_argument("--kind", choices=("ssh", "slurm"), default="ssh",
                   help="ssh: train on the host itself; slurm: the host is a cluster's login "
                        "node and training runs as a batch job (docs/slurm.md)")
    s = a.add_argument_group("Slurm hosts (--kind slurm)")
    s.add_argument("--partition", help="the partition jobs go to (default: the cluster's)")
    s.add_argument("--account", help="the account jobs are charged to")
    s.add_argument("--time-limit", metavar="TIME",
                   help="each job's time limit in Slurm's format (4:00:00, 1-00:00:00); a "
                        "run longer than that is checkpointed and requeued")
    s.add_argument("--nodes", type=int, help="nodes per job (default 1)")
    s.add_argument("--gpus-per-node", type=int, metavar="G",
                   help="GPUs each node gives the job (0: a CPU job)")
    a.add_argument("--price-per-hour", type=float, metavar="X",
                   help="what an hour of the host costs (Slurm: one node), for each run's cost")
    a.add_argument("--currency", help="the price's currency (default USD)")


def slurm_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The HostConfig fields the options give (those left out keep their defaults)."""
    out = {name: getattr(args, name, None) for name in FIELDS}
    out = {k: v for k, v in out.items() if v is not None}
    if out.get("kind", "ssh") != "slurm":
        given = [f"--{k.replace('_', '-')}" for k in ("partition", "account", "time_limit",
                                                     "nodes", "gpus_per_node") if k in out]
        if given:
            raise UsageError(f"{', '.join(given)} only apply to a Slurm host; add --kind slurm")
    return out


def check_train_shape(cfg: HostConfig, nodes: int | None, gpus: int | None) -> None:
    """Refuse `train --nodes` for an SSH host and non-positive counts."""
    if nodes is not None and cfg.kind != "slurm":
        raise UsageError(f"--nodes applies to Slurm hosts; {cfg.name} is an SSH host (one "
                         "machine): leave it out")
    if nodes is not None and nodes < 1:
        raise UsageError("--nodes must be at least 1")
    if gpus is not None and gpus < 1:
        raise UsageError("--gpus must be at least 1")


def with_queue_news(events: Iterable[Event], quiet: bool) -> Iterator[Event]:
    """Pass the events on, printing what the scheduler says (queued, running) on stderr."""
    for ev in events:
        if isinstance(ev, Status) and ev.state in ("queued", "running") and not quiet:
            print(for_terminal(ev.text), file=sys.stderr, flush=True)
        yield ev
