"""The lanes a coordinator runs trials on, and which lane may continue which trial.

A *lane* runs one trial at a time: ``name`` (shown in tables: "local 1", or an SSH host's
name), ``source(job)`` (an :class:`engine.train.source.EventSource` running the job),
``started(more)`` and ``close()``. :class:`engine.sweep.trial.LocalLane` trains on this
computer; :class:`engine.sweep.remote_lane.RemoteLane` on a configured SSH host, and also
has ``host``, ``broken`` (why it takes no more trials) and ``catch_up(run_dir, stop)``.

A trial a dead coordinator left running goes back to where it ran: one whose run folder
names an SSH host (``remote.json``) to that host's lane, one trained here to a local lane,
and one that never started to any lane.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.remote.hostkeys import ConfirmHostKey

Lane = Any  # LocalLane | RemoteLane: the interface the module docstring describes


def make_lanes(workers: int, hosts: tuple[str, ...] | list[str],
               confirm_host_key: ConfirmHostKey | None = None) -> list[Lane]:
    """``workers`` local lanes (at least one when there is no host), then one per host."""
    from engine.sweep.trial import LocalLane

    n = workers if hosts else max(1, workers)
    lanes: list[Lane] = [LocalLane(f"local {i + 1}") for i in range(n)]
    if hosts:
        from engine.sweep.remote_lane import RemoteLane

        lanes += [RemoteLane(h, confirm_host_key=confirm_host_key) for h in hosts]
    return lanes


def where_it_ran(run_dir: str | None) -> str | None:
    """Where a trial's run lives: the SSH host named in its folder's remote.json, ``""``
    for a run trained here (its folder has a snapshot), None when it never started."""
    if not run_dir:
        return None
    folder = Path(run_dir)
    try:
        host = json.loads((folder / "remote.json").read_text(encoding="utf-8")).get("host")
    except (OSError, ValueError, AttributeError):
        host = None
    if isinstance(host, str) and host:
        return host
    return "" if (folder / "project.lforge").is_file() else None


def fits(lane: Lane, where: str | None) -> bool:
    """Whether ``lane`` can continue a trial that ran ``where`` (see :func:`where_it_ran`)."""
    host = getattr(lane, "host", None)
    return where is None or (where == "" and host is None) or (bool(where) and host == where)


def unplaced_note(number: int, where: str | None) -> str:
    """Why a trial that ran ``where`` is left alone by a sweep none of whose lanes fits."""
    if where:
        return (f"trial {number}: it runs on {where}, which this sweep does not use; left "
                f"alone: resume with --workers ...,remote:{where} to finish it")
    return (f"trial {number}: it ran on this computer, and this sweep has no local workers; "
            "left alone: resume with local workers to finish it")
